"""A small blocking raw-socket AMQP 0-9-1 client for tests.

Built on ``socket`` and pamqp: it lets a test send exactly the bytes it wants (including
malformed frames, via :meth:`RawAMQP.send_frame` / :meth:`RawAMQP.send`) and observe exactly
the frames the broker answers with.

    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        c.send_method(1, commands.Queue.Declare(queue="q"))
        ch, ok = c.expect_method(commands.Queue.DeclareOk)
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from typing import Any

from pamqp import body as pbody
from pamqp import commands, encode
from pamqp import exceptions as pexceptions
from pamqp import frame as pframe
from pamqp import header as pheader
from pamqp import heartbeat as pheartbeat

from amqpbroker.testing.harness import CAPABILITIES  # what pika announces

__all__ = ["FRAME_END", "PROTOCOL_HEADER", "BrokerClosed", "RawAMQP"]

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
FRAME_END = b"\xce"

FRAME_METHOD = 1
FRAME_HEADER = 2
FRAME_BODY = 3
FRAME_HEARTBEAT = 8

DEFAULT_CLIENT_PROPERTIES: dict[str, Any] = {"product": "rawamqp", "capabilities": CAPABILITIES}


class BrokerClosed(Exception):
    """The broker answered the handshake with connection.close."""

    def __init__(self, reply_code: int, reply_text: str, class_id: int, method_id: int) -> None:
        super().__init__(reply_code, reply_text, class_id, method_id)
        self.reply_code = reply_code
        self.reply_text = reply_text
        self.class_id = class_id
        self.method_id = method_id


def _shortstr(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return struct.pack(">B", len(raw)) + raw


def _longstr(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return struct.pack(">I", len(raw)) + raw


def _decode_close(frame_type: int, payload: bytes) -> Any:
    """connection.close / channel.close whose reply text is not UTF-8 (RabbitMQ echoes raw
    latin-1 octets in some FRAME_ERROR texts): decode the text with surrogateescape."""
    if frame_type != FRAME_METHOD or len(payload) < 7:
        return None
    class_id, method_id, code, text_len = struct.unpack(">HHHB", payload[:7])
    if (class_id, method_id) not in ((10, 50), (20, 40)) or len(payload) != 7 + text_len + 4:
        return None
    text = payload[7 : 7 + text_len].decode("utf-8", "surrogateescape")
    cid, mid = struct.unpack(">HH", payload[7 + text_len :])
    cls = commands.Connection.Close if class_id == 10 else commands.Channel.Close
    return cls(reply_code=code, reply_text=text, class_id=cid, method_id=mid)


class RawAMQP:
    """One raw AMQP connection: send arbitrary bytes/frames, receive parsed frames."""

    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = bytearray()
        self._eof = False
        self.start: commands.Connection.Start | None = None
        self.tune: commands.Connection.Tune | None = None
        self.frame_max = 0

    # -- construction -------------------------------------------------------------------
    @classmethod
    def connect(
        cls, host: str, port: int, timeout: float = 5.0, **handshake_kwargs: Any
    ) -> RawAMQP:
        conn = cls(host, port, timeout=timeout)
        try:
            conn.handshake(**handshake_kwargs)
        except BaseException:
            conn.close()
            raise
        return conn

    def __enter__(self) -> RawAMQP:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    # -- sending ------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Send raw bytes. Errors from a peer that already closed are swallowed."""
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.sock.sendall(data)

    def send_method(self, channel: int, method: Any) -> None:
        self.send(pframe.marshal(method, channel))

    def send_frame(
        self, frame_type: int, channel: int, payload: bytes, frame_end: bytes = FRAME_END
    ) -> None:
        """Hand-pack one frame: type, channel, size (= len(payload)), payload, frame_end."""
        self.send(struct.pack(">BHI", frame_type, channel, len(payload)) + payload + frame_end)

    def send_heartbeat(self) -> None:
        self.send(pheartbeat.Heartbeat.marshal())

    @staticmethod
    def method_payload(class_id: int, method_id: int, args: bytes = b"") -> bytes:
        """A method frame payload from raw ids and already-encoded arguments."""
        return struct.pack(">HH", class_id, method_id) + args

    @staticmethod
    def header_payload(
        body_size: int, class_id: int = 60, flags: int = 0, props: bytes = b""
    ) -> bytes:
        """A content header payload: class-id, weight 0, body-size, property flags, properties."""
        return struct.pack(">HHQH", class_id, 0, body_size, flags) + props

    @staticmethod
    def publish_bytes(
        channel: int,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: commands.Basic.Properties | None = None,
        mandatory: bool = False,
    ) -> bytes:
        """The wire bytes of basic.publish + content header + one body frame (if non-empty)."""
        out = [
            pframe.marshal(
                commands.Basic.Publish(
                    exchange=exchange, routing_key=routing_key, mandatory=mandatory
                ),
                channel,
            ),
            pframe.marshal(
                pheader.ContentHeader(0, len(body), properties or commands.Basic.Properties()),
                channel,
            ),
        ]
        if body:
            out.append(pframe.marshal(pbody.ContentBody(body), channel))
        return b"".join(out)

    def publish(
        self,
        channel: int,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: commands.Basic.Properties | None = None,
        mandatory: bool = False,
    ) -> None:
        self.send(self.publish_bytes(channel, exchange, routing_key, body, properties, mandatory))

    # -- receiving ----------------------------------------------------------------------
    def _fill(self, n: int, deadline: float) -> None:
        while len(self._buf) < n:
            if self._eof:
                raise EOFError("peer closed the connection")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"timed out waiting for {n} bytes (have {len(self._buf)})")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError as exc:
                raise TimeoutError(
                    f"timed out waiting for {n} bytes (have {len(self._buf)})"
                ) from exc
            except (ConnectionResetError, ConnectionAbortedError):
                chunk = b""
            if not chunk:
                self._eof = True
                continue
            self._buf.extend(chunk)

    def recv_exact(self, n: int, timeout: float | None = None) -> bytes:
        """Exactly ``n`` bytes (e.g. the protocol header a broker answers a bad header with)."""
        self._fill(n, time.monotonic() + (self.timeout if timeout is None else timeout))
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def recv_raw_frame(self, timeout: float | None = None) -> tuple[int, int, bytes]:
        """(frame_type, channel, payload) of the next frame; EOFError if the peer closed."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        self._fill(7, deadline)
        frame_type, channel, size = struct.unpack(">BHI", bytes(self._buf[:7]))
        self._fill(7 + size + 1, deadline)
        end = self._buf[7 + size]
        if end != 0xCE:
            raise ValueError(
                f"bad frame end {end:#x} from peer (frame type {frame_type}, size {size})"
            )
        payload = bytes(self._buf[7 : 7 + size])
        del self._buf[: 7 + size + 1]
        return frame_type, channel, payload

    def recv_frame(self, timeout: float | None = None) -> tuple[int, Any]:
        """(channel, pamqp frame object); heartbeats come back as pamqp.heartbeat.Heartbeat."""
        frame_type, channel, payload = self.recv_raw_frame(timeout)
        if frame_type == FRAME_HEARTBEAT:
            return channel, pheartbeat.Heartbeat()
        raw = struct.pack(">BHI", frame_type, channel, len(payload)) + payload + FRAME_END
        try:
            _, ch, value = pframe.unmarshal(raw)
        except pexceptions.UnmarshalingException:
            close = _decode_close(frame_type, payload)
            if close is None:
                raise
            return channel, close
        return ch, value

    def expect_method(self, cls: type, timeout: float | None = None) -> tuple[int, Any]:
        """Skip frames until one is an instance of ``cls``; return (channel, frame)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            channel, value = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if isinstance(value, cls):
                return channel, value

    def wait_closed(self, timeout: float) -> bool:
        """True when the peer closes the socket within ``timeout`` (data received is discarded)."""
        deadline = time.monotonic() + timeout
        self._buf.clear()
        while not self._eof:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return False
            except (ConnectionResetError, ConnectionAbortedError):
                chunk = b""
            if not chunk:
                self._eof = True
        return True

    # -- connection / channel setup -------------------------------------------------------
    def handshake(
        self,
        user: str = "guest",
        password: str = "guest",
        vhost: str = "/",
        heartbeat: int = 0,
        frame_max: int = 0,
        channel_max: int = 0,
        mechanism: str = "PLAIN",
        client_properties: dict[str, Any] | None = None,
    ) -> commands.Connection.Tune:
        """Protocol header, start-ok, tune-ok, connection.open; returns the server's Tune.

        Tune-ok carries the given heartbeat/frame_max/channel_max where non-zero, else the
        server's values. Raises BrokerClosed if the server answers with connection.close.
        """
        self.send(PROTOCOL_HEADER)
        _, start = self._expect_or_close(commands.Connection.Start)
        self.start = start
        if mechanism == "AMQPLAIN":
            table = encode.field_table({"LOGIN": user, "PASSWORD": password})
            response = table[4:]  # AMQPLAIN is the table body without its length prefix
        else:
            response = b"\x00" + user.encode() + b"\x00" + password.encode()
        props = DEFAULT_CLIENT_PROPERTIES if client_properties is None else client_properties
        args = (
            encode.field_table(props)
            + _shortstr(mechanism)
            + _longstr(response)
            + _shortstr("en_US")
        )
        self.send_frame(FRAME_METHOD, 0, self.method_payload(10, 11, args))
        _, tune = self._expect_or_close(commands.Connection.Tune)
        self.tune = tune
        ok = commands.Connection.TuneOk(
            channel_max=channel_max or tune.channel_max,
            frame_max=frame_max or tune.frame_max,
            heartbeat=heartbeat or tune.heartbeat,
        )
        self.frame_max = ok.frame_max
        self.send_method(0, ok)
        self.send_frame(
            FRAME_METHOD, 0, self.method_payload(10, 40, _shortstr(vhost) + b"\x00\x00")
        )
        self._expect_or_close(commands.Connection.OpenOk)
        return tune

    def _expect_or_close(self, cls: type) -> tuple[int, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            channel, value = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if isinstance(value, cls):
                return channel, value
            if isinstance(value, commands.Connection.Close):
                self.send_method(0, commands.Connection.CloseOk())
                raise BrokerClosed(
                    value.reply_code, value.reply_text, value.class_id, value.method_id
                )

    def open_channel(self, n: int) -> commands.Channel.OpenOk:
        self.send_method(n, commands.Channel.Open())
        _, ok = self.expect_method(commands.Channel.OpenOk)
        return ok

    def expect_connection_close(self, timeout: float | None = None) -> commands.Connection.Close:
        """Wait for connection.close (skipping other frames), answer close-ok, return it."""
        _, close = self.expect_method(commands.Connection.Close, timeout)
        self.send_method(0, commands.Connection.CloseOk())
        return close

    def expect_channel_close(
        self, timeout: float | None = None
    ) -> tuple[int, commands.Channel.Close]:
        """Wait for channel.close (skipping other frames), answer close-ok; (channel, close)."""
        channel, close = self.expect_method(commands.Channel.Close, timeout)
        self.send_method(channel, commands.Channel.CloseOk())
        return channel, close
