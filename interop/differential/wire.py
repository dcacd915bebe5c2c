"""Raw AMQP for the scenarios: hand-packed requests in, JSON-able descriptions of replies out.

Requests are packed by hand (not by pamqp) so that a scenario can send exactly the bytes it
means, including names pamqp refuses and field-table value types pamqp would rewrite.  Replies
are decoded with pamqp and *described*: every frame becomes a small dict (channel, method name
and fields, or content header / body) that two brokers' runs can be compared by.

    w = run.raw()                                   # handshake done, channel 1 open
    w.call(1, M.queue_declare("q", passive=True))   # {'ch': 1, 'method': 'Channel.Close', ...}
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TESTS_SERVER = str(Path(__file__).resolve().parents[2] / "tests" / "server")
if _TESTS_SERVER not in sys.path:
    sys.path.insert(0, _TESTS_SERVER)

from pamqp import frame as pframe  # noqa: E402
from rawamqp import DEFAULT_CLIENT_PROPERTIES, PROTOCOL_HEADER, RawAMQP  # noqa: E402

__all__ = ["PROTOCOL_HEADER", "M", "T", "Wire", "describe_frame", "jsonable", "table"]

FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT = 1, 2, 3, 8
CONTENT_METHODS = {"Basic.Deliver", "Basic.GetOk", "Basic.Return"}


# -- encoding ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class T:
    """A field-table value with an explicit AMQP type octet: ``T("s", 5)`` is a short int."""

    type: str
    value: Any


_FIXED = {
    "b": ">b",
    "B": ">B",
    "s": ">h",
    "u": ">H",
    "I": ">i",
    "i": ">I",
    "l": ">q",
    "f": ">f",
    "d": ">d",
    "t": ">B",
    "T": ">Q",
}


def shortstr(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return struct.pack(">B", len(raw)) + raw


def longstr(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return struct.pack(">I", len(raw)) + raw


def bits(*flags: bool) -> bytes:
    return struct.pack(">B", sum(1 << i for i, flag in enumerate(flags) if flag))


def field_value(value: Any) -> bytes:
    """One typed field value; plain Python values get the types pika would give them."""
    if isinstance(value, T):
        return _typed_value(value.type, value.value)
    if isinstance(value, bool):
        return b"t" + struct.pack(">B", value)
    if isinstance(value, int):
        return field_value(T("I" if -(2**31) <= value < 2**31 else "l", value))
    if isinstance(value, str):
        return b"S" + longstr(value)
    if isinstance(value, bytes):
        return b"x" + longstr(value)
    if isinstance(value, float):
        return field_value(T("d", value))
    if isinstance(value, dict):
        return b"F" + table(value)
    if isinstance(value, list):
        return field_value(T("A", value))
    if value is None:
        return b"V"
    raise TypeError(f"cannot encode {value!r}")


def _typed_value(kind: str, inner: Any) -> bytes:
    if kind in _FIXED:
        return kind.encode() + struct.pack(_FIXED[kind], inner)
    if kind in "Sx":
        return kind.encode() + longstr(inner)
    if kind == "D":
        scale, unscaled = inner
        return b"D" + struct.pack(">Bi", scale, unscaled)
    if kind == "A":
        items = b"".join(field_value(item) for item in inner)
        return b"A" + struct.pack(">I", len(items)) + items
    if kind == "F":
        return b"F" + table(inner)
    if kind == "V":
        return b"V"
    raise ValueError(f"unknown field type {kind!r}")


def table(mapping: dict[str, Any] | None) -> bytes:
    body = b"".join(shortstr(k) + field_value(v) for k, v in (mapping or {}).items())
    return struct.pack(">I", len(body)) + body


def method(class_id: int, method_id: int, *parts: bytes) -> bytes:
    return struct.pack(">HH", class_id, method_id) + b"".join(parts)


def frame(frame_type: int, channel: int, payload: bytes, end: bytes = b"\xce") -> bytes:
    return struct.pack(">BHI", frame_type, channel, len(payload)) + payload + end


_TICKET = b"\x00\x00"


class M:
    """Method payloads, packed by hand.  Names and defaults follow the AMQP 0-9-1 spec."""

    @staticmethod
    def start_ok(
        response: bytes = b"\x00guest\x00guest",
        mechanism: str = "PLAIN",
        client_properties: dict[str, Any] | None = None,
        locale: str = "en_US",
    ) -> bytes:
        props = DEFAULT_CLIENT_PROPERTIES if client_properties is None else client_properties
        return method(
            10, 11, table(props), shortstr(mechanism), longstr(response), shortstr(locale)
        )

    @staticmethod
    def tune_ok(channel_max: int = 2047, frame_max: int = 131072, heartbeat: int = 0) -> bytes:
        return method(10, 31, struct.pack(">HIH", channel_max, frame_max, heartbeat))

    @staticmethod
    def connection_open(vhost: str = "/") -> bytes:
        return method(10, 40, shortstr(vhost), shortstr(""), bits(False))

    @staticmethod
    def connection_close(code: int = 200, text: str = "bye") -> bytes:
        return method(10, 50, struct.pack(">H", code), shortstr(text), struct.pack(">HH", 0, 0))

    @staticmethod
    def connection_close_ok() -> bytes:
        return method(10, 51)

    @staticmethod
    def channel_open() -> bytes:
        return method(20, 10, shortstr(""))

    @staticmethod
    def channel_flow(active: bool) -> bytes:
        return method(20, 20, bits(active))

    @staticmethod
    def channel_flow_ok(active: bool) -> bytes:
        return method(20, 21, bits(active))

    @staticmethod
    def channel_close(code: int = 200, text: str = "bye") -> bytes:
        return method(20, 40, struct.pack(">H", code), shortstr(text), struct.pack(">HH", 0, 0))

    @staticmethod
    def channel_close_ok() -> bytes:
        return method(20, 41)

    @staticmethod
    def exchange_declare(
        name: str,
        kind: str = "direct",
        *,
        passive: bool = False,
        durable: bool = False,
        auto_delete: bool = False,
        internal: bool = False,
        nowait: bool = False,
        args: dict[str, Any] | None = None,
    ) -> bytes:
        flags = bits(passive, durable, auto_delete, internal, nowait)
        return method(40, 10, _TICKET, shortstr(name), shortstr(kind), flags, table(args))

    @staticmethod
    def exchange_delete(name: str, *, if_unused: bool = False, nowait: bool = False) -> bytes:
        return method(40, 20, _TICKET, shortstr(name), bits(if_unused, nowait))

    @staticmethod
    def exchange_bind(
        destination: str, source: str, key: str = "", args: dict[str, Any] | None = None
    ) -> bytes:
        names = shortstr(destination) + shortstr(source) + shortstr(key)
        return method(40, 30, _TICKET, names, bits(False), table(args))

    @staticmethod
    def exchange_unbind(
        destination: str, source: str, key: str = "", args: dict[str, Any] | None = None
    ) -> bytes:
        names = shortstr(destination) + shortstr(source) + shortstr(key)
        return method(40, 40, _TICKET, names, bits(False), table(args))

    @staticmethod
    def queue_declare(
        name: str,
        *,
        passive: bool = False,
        durable: bool = False,
        exclusive: bool = False,
        auto_delete: bool = False,
        nowait: bool = False,
        args: dict[str, Any] | None = None,
    ) -> bytes:
        flags = bits(passive, durable, exclusive, auto_delete, nowait)
        return method(50, 10, _TICKET, shortstr(name), flags, table(args))

    @staticmethod
    def queue_bind(
        queue: str,
        exchange: str,
        key: str = "",
        *,
        nowait: bool = False,
        args: dict[str, Any] | None = None,
    ) -> bytes:
        names = shortstr(queue) + shortstr(exchange) + shortstr(key)
        return method(50, 20, _TICKET, names, bits(nowait), table(args))

    @staticmethod
    def queue_unbind(
        queue: str, exchange: str, key: str = "", args: dict[str, Any] | None = None
    ) -> bytes:
        names = shortstr(queue) + shortstr(exchange) + shortstr(key)
        return method(50, 50, _TICKET, names, table(args))

    @staticmethod
    def queue_purge(queue: str, *, nowait: bool = False) -> bytes:
        return method(50, 30, _TICKET, shortstr(queue), bits(nowait))

    @staticmethod
    def queue_delete(
        queue: str, *, if_unused: bool = False, if_empty: bool = False, nowait: bool = False
    ) -> bytes:
        return method(50, 40, _TICKET, shortstr(queue), bits(if_unused, if_empty, nowait))

    @staticmethod
    def basic_qos(size: int = 0, count: int = 0, global_: bool = False) -> bytes:
        return method(60, 10, struct.pack(">IH", size, count), bits(global_))

    @staticmethod
    def basic_consume(
        queue: str,
        tag: str = "",
        *,
        no_local: bool = False,
        no_ack: bool = False,
        exclusive: bool = False,
        nowait: bool = False,
        args: dict[str, Any] | None = None,
    ) -> bytes:
        flags = bits(no_local, no_ack, exclusive, nowait)
        return method(60, 20, _TICKET, shortstr(queue), shortstr(tag), flags, table(args))

    @staticmethod
    def basic_cancel(tag: str, *, nowait: bool = False) -> bytes:
        return method(60, 30, shortstr(tag), bits(nowait))

    @staticmethod
    def basic_publish(
        exchange: str, key: str, *, mandatory: bool = False, immediate: bool = False
    ) -> bytes:
        names = shortstr(exchange) + shortstr(key)
        return method(60, 40, _TICKET, names, bits(mandatory, immediate))

    @staticmethod
    def basic_get(queue: str, *, no_ack: bool = False) -> bytes:
        return method(60, 70, _TICKET, shortstr(queue), bits(no_ack))

    @staticmethod
    def basic_ack(tag: int, *, multiple: bool = False) -> bytes:
        return method(60, 80, struct.pack(">Q", tag), bits(multiple))

    @staticmethod
    def basic_reject(tag: int, *, requeue: bool = True) -> bytes:
        return method(60, 90, struct.pack(">Q", tag), bits(requeue))

    @staticmethod
    def basic_recover_async(requeue: bool) -> bytes:
        return method(60, 100, bits(requeue))

    @staticmethod
    def basic_recover(requeue: bool) -> bytes:
        return method(60, 110, bits(requeue))

    @staticmethod
    def basic_nack(tag: int, *, multiple: bool = False, requeue: bool = True) -> bytes:
        return method(60, 120, struct.pack(">Q", tag), bits(multiple, requeue))

    @staticmethod
    def confirm_select(*, nowait: bool = False) -> bytes:
        return method(85, 10, bits(nowait))

    @staticmethod
    def tx_select() -> bytes:
        return method(90, 10)

    @staticmethod
    def tx_commit() -> bytes:
        return method(90, 20)

    @staticmethod
    def tx_rollback() -> bytes:
        return method(90, 30)

    @staticmethod
    def content_header(
        body_size: int, flags: int = 0, props: bytes = b"", class_id: int = 60, weight: int = 0
    ) -> bytes:
        return struct.pack(">HHQH", class_id, weight, body_size, flags) + props


# Property flag bits of basic's content header, in spec order.
PROPERTY_FLAGS = {
    "content_type": 1 << 15,
    "content_encoding": 1 << 14,
    "headers": 1 << 13,
    "delivery_mode": 1 << 12,
    "priority": 1 << 11,
    "correlation_id": 1 << 10,
    "reply_to": 1 << 9,
    "expiration": 1 << 8,
    "message_id": 1 << 7,
    "timestamp": 1 << 6,
    "type": 1 << 5,
    "user_id": 1 << 4,
    "app_id": 1 << 3,
    "cluster_id": 1 << 2,
}


def properties(**props: Any) -> tuple[int, bytes]:
    """(flags, packed property list) for basic properties given by their spec names."""
    flags, out = 0, []
    for name, bit in PROPERTY_FLAGS.items():
        if name not in props:
            continue
        value = props[name]
        flags |= bit
        if name == "headers":
            out.append(table(value))
        elif name in ("delivery_mode", "priority"):
            out.append(struct.pack(">B", value))
        elif name == "timestamp":
            out.append(struct.pack(">Q", value))
        else:
            out.append(shortstr(value))
    return flags, b"".join(out)


# -- describing -------------------------------------------------------------------------------
def jsonable(value: Any) -> Any:
    """A JSON-able rendering of a decoded AMQP value that keeps its Python type visible."""
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytes": bytes(value).hex()}
    if isinstance(value, datetime.datetime):
        return {"timestamp": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"decimal": str(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return {"repr": repr(value)}


def body_text(body: bytes) -> Any:
    """Short printable bodies as text, others by length and digest."""
    if len(body) <= 200:
        try:
            return body.decode("ascii")
        except UnicodeDecodeError:
            return {"hex": body.hex()}
    return {"len": len(body), "sha1": hashlib.sha1(body).hexdigest()}


def _method_fields(obj: Any) -> dict[str, Any]:
    return {slot: jsonable(getattr(obj, slot, None)) for slot in getattr(obj, "__slots__", [])}


def describe_frame(frame_type: int, channel: int, payload: bytes) -> dict[str, Any]:
    """One frame as a dict: ``{'ch': 1, 'method': 'Queue.DeclareOk', 'queue': ...}`` etc."""
    if frame_type == FRAME_HEARTBEAT:
        return {"ch": channel, "frame": "heartbeat", "payload": payload.hex()}
    if frame_type == FRAME_BODY:
        return {"ch": channel, "body": body_text(payload)}
    raw = frame(frame_type, channel, payload)
    try:
        _, _, obj = pframe.unmarshal(raw)
    except Exception:
        obj = _decode_close_raw(payload) if frame_type == FRAME_METHOD else None
        if obj is None:
            return {"ch": channel, "frame_type": frame_type, "payload": payload.hex()}
    if frame_type == FRAME_HEADER:
        (flags,) = struct.unpack(">H", payload[12:14])
        fields = _method_fields(obj.properties)
        props = {
            name: jsonable(fields.get("message_type" if name == "type" else name))
            for name, bit in PROPERTY_FLAGS.items()
            if flags & bit
        }
        header = {"class_id": obj.class_id, "body_size": obj.body_size, "props": props}
        return {"ch": channel, "header": header}
    return {"ch": channel, "method": obj.name, **_method_fields(obj)}


def _decode_close_raw(payload: bytes) -> Any:
    from rawamqp import _decode_close  # noqa: PLC0415 - private helper, used only here

    return _decode_close(FRAME_METHOD, payload)


_FIELD_SIZES = {
    "t": 1,
    "b": 1,
    "B": 1,
    "s": 2,
    "u": 2,
    "I": 4,
    "i": 4,
    "l": 8,
    "L": 8,
    "f": 4,
    "d": 8,
    "D": 5,
    "T": 8,
    "V": 0,
}


def field_types(raw: bytes) -> list[list[Any]]:
    """[key, type octet] of each entry of an encoded field table (with its length prefix),
    nested tables as [key, 'F', [...]]: what a dict of decoded values cannot show."""
    (size,) = struct.unpack(">I", raw[:4])
    data, pos, out = raw[4 : 4 + size], 0, []
    while pos < len(data):
        klen = data[pos]
        key = data[pos + 1 : pos + 1 + klen].decode("utf-8", "replace")
        pos += 1 + klen
        kind = chr(data[pos])
        pos += 1
        if kind in _FIELD_SIZES:
            out.append([key, kind])
            pos += _FIELD_SIZES[kind]
            continue
        (vlen,) = struct.unpack(">I", data[pos : pos + 4])
        out.append(
            [key, kind, field_types(data[pos : pos + 4 + vlen])] if kind == "F" else [key, kind]
        )
        pos += 4 + vlen
    return out


# -- the connection ---------------------------------------------------------------------------
class Wire(RawAMQP):
    """A raw connection whose reads return descriptions instead of raising."""

    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        super().__init__(host, port, timeout)
        self._held: list[dict[str, Any]] = []  # frames read while waiting on another channel
        self.publisher_open = False
        self.raw_headers = False  # True: content headers are also shown octet for octet

    def m(self, channel: int, payload: bytes) -> None:
        """Send one method frame."""
        self.send(frame(FRAME_METHOD, channel, payload))

    def next(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next frame described; ``{'eof': True}`` or ``{'timeout': True}`` otherwise."""
        try:
            frame_type, channel, payload = self.recv_raw_frame(timeout)
        except EOFError:
            return {"eof": True}
        except TimeoutError:
            return {"timeout": True}
        except ValueError as exc:  # a bad frame end from the peer
            return {"bad_frame": str(exc)}
        return describe_frame(frame_type, channel, payload)

    def reply(
        self, timeout: float = 5.0, *, channel: int | None = None, content: bool = True
    ) -> dict[str, Any]:
        """The next non-heartbeat frame (on ``channel`` or channel 0, if given: frames for
        other channels are kept for later reads).  Closes are answered with close-ok; a
        method that carries content gets its header and body attached."""
        for i, held in enumerate(self._held):
            if channel is None or held.get("ch") in (channel, 0):
                return self._held.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            f = self.next(max(0.0, deadline - time.monotonic()))
            if f.get("frame") == "heartbeat":
                continue
            name = f.get("method")
            if name == "Channel.Close":
                self.m(f["ch"], M.channel_close_ok())
            elif name == "Connection.Close":
                self.m(0, M.connection_close_ok())
            elif name in CONTENT_METHODS and content:
                f.update(self.content(deadline - time.monotonic()))
            if channel is None or f.get("ch", 0) in (channel, 0):
                return f
            self._held.append(f)

    def content(self, timeout: float = 5.0) -> dict[str, Any]:
        """The header and body frames that follow a deliver / get-ok / return."""
        frame_type, channel, payload = self.recv_raw_frame(timeout)
        header = describe_frame(frame_type, channel, payload)
        out: dict[str, Any] = {"header": header.get("header", header)}
        if self.raw_headers:
            out["header_octets"] = payload.hex()
        size = header.get("header", {}).get("body_size", 0)
        body, sizes = b"", []
        while len(body) < size:
            frame_type, _, payload = self.recv_raw_frame(timeout)
            if frame_type != FRAME_BODY:
                raise AssertionError(f"expected a body frame, got type {frame_type}")
            body += payload
            sizes.append(len(payload))
        out["body"] = body_text(body)
        if len(sizes) > 1:
            out["body_frames"] = sizes
        return out

    def call(self, channel: int, payload: bytes, timeout: float = 5.0) -> dict[str, Any]:
        """Send a method and describe the reply."""
        self.m(channel, payload)
        return self.reply(timeout, channel=channel)

    def attempt(self, channel: int, payload: bytes) -> dict[str, Any]:
        """Like ``call``; if the broker closed the channel, reopen it for the next step."""
        got = self.call(channel, payload)
        if got.get("method") == "Channel.Close":
            self.open(channel)
        return got

    def ok(self, channel: int, payload: bytes, expect: str) -> dict[str, Any]:
        """Like ``call``, for set-up steps: anything but ``expect`` fails the scenario."""
        got = self.call(channel, payload)
        if got.get("method") != expect:
            raise AssertionError(f"set-up step expected {expect}, got {got}")
        return got

    def probe(self, channel: int = 1) -> dict[str, Any]:
        """A harmless round trip: what comes back shows the state of the channel."""
        return self.call(channel, M.exchange_declare("amq.direct", "direct", passive=True))

    def open(self, channel: int) -> dict[str, Any]:
        return self.ok(channel, M.channel_open(), "Channel.OpenOk")

    def publish(
        self,
        channel: int,
        exchange: str,
        key: str,
        body: bytes = b"",
        *,
        mandatory: bool = False,
        immediate: bool = False,
        flags: int = 0,
        props: bytes = b"",
    ) -> None:
        """basic.publish + header + body frames (the body split at the negotiated frame_max)."""
        out = frame(
            FRAME_METHOD,
            channel,
            M.basic_publish(exchange, key, mandatory=mandatory, immediate=immediate),
        )
        out += frame(FRAME_HEADER, channel, M.content_header(len(body), flags, props))
        step = (self.frame_max or 131072) - 8
        for i in range(0, len(body), step):
            out += frame(FRAME_BODY, channel, body[i : i + step])
        self.send(out)

    def closed_silently(self, timeout: float = 8.0) -> dict[str, Any]:
        """Wait for the peer to drop the socket; report what arrived first and how soon."""
        started = time.monotonic()
        got = bytearray()
        closed = False
        while time.monotonic() - started < timeout:
            self.sock.settimeout(max(0.01, timeout - (time.monotonic() - started)))
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                break
            except (ConnectionResetError, ConnectionAbortedError):
                chunk = b""
            if not chunk:
                closed = True
                break
            got.extend(chunk)
        delay = time.monotonic() - started
        return {
            "closed": closed,
            "bytes": bytes(got).hex(),
            "delay": "immediate" if delay < 1.5 else "delayed",
        }
