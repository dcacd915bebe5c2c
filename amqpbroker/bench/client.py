"""A minimal AMQP 0-9-1 client for load generation: one connection, one channel (number 1).

Theory of operation: ``Client`` is an ``asyncio.Protocol``.  Its ``data_received`` walks the
frames in place and never decodes the hot methods with a codec: a basic.deliver yields its
delivery tag, the body frame after it goes to ``listener.delivered`` as an offset into the
receive buffer, and basic.ack / basic.nack from the broker (publisher confirms) go to
``listener.confirmed``.  Every other method is decoded with the broker's own codec and answers
the oldest ``call`` waiting for a reply (control replies arrive in order on one channel).
Publishing is the caller's business: it writes pre-encoded frames (see ``messages.py``) with
``write`` and awaits ``flow()`` after each write, which waits while the transport pushes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections import deque
from collections.abc import Sequence
from time import monotonic_ns
from typing import Any, Protocol, TypeVar, cast
from urllib.parse import unquote, urlparse

from pamqp import commands

from amqpbroker.protocol.fastcodec import encode_confirm
from amqpbroker.protocol.framing import FRAME_BODY, FRAME_METHOD, PROTOCOL_HEADER
from amqpbroker.protocol.ids import ACK_INDEX, DELIVER_INDEX, NACK_INDEX
from amqpbroker.protocol.methods import Method, decode_method, encode_method

M = TypeVar("M", bound=Method)

_FRAME_HEAD = struct.Struct(">BHI")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_TAG_AND_BITS = struct.Struct(">QB")
_DELIVER_ID = DELIVER_INDEX & 0xFF  # basic.deliver's method id (the last octet of the index)
_CLOSE_TIMEOUT = 5.0
_HANDSHAKE_TIMEOUT = 30.0
_NOTICES = (commands.Basic.Cancel, commands.Connection.Blocked, commands.Connection.Unblocked)


class BrokerClosed(Exception):
    """The broker closed the channel or the connection (the reply text says why)."""


class Listener(Protocol):
    """What a client reports while it reads; the worker roles implement it."""

    def data_started(self, now: int) -> None:
        """A chunk of bytes arrived at ``now`` (monotonic ns); its frames follow."""

    def delivered(self, delivery_tag: int, buffer: bytearray, offset: int, now: int) -> None:
        """A message body starts at ``buffer[offset]`` (valid during this call only)."""

    def confirmed(self, delivery_tag: int, multiple: bool, ack: bool) -> None:
        """A publisher confirm (basic.ack) or its refusal (basic.nack)."""

    def data_ended(self) -> None:
        """Every frame of the chunk has been handled."""


class _Deaf:
    def data_started(self, now: int) -> None:
        pass

    def delivered(self, delivery_tag: int, buffer: bytearray, offset: int, now: int) -> None:
        pass

    def confirmed(self, delivery_tag: int, multiple: bool, ack: bool) -> None:
        pass

    def data_ended(self) -> None:
        pass


class Client(asyncio.Protocol):
    """One AMQP connection with channel 1 open."""

    def __init__(self) -> None:
        self.listener: Listener = _Deaf()
        self.error: BaseException | None = None
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._delivery_tag = 0
        self._replies: deque[asyncio.Future[Method]] = deque()
        self._unclaimed: deque[Method] = deque()
        self._writable = asyncio.Event()
        self._writable.set()

    @classmethod
    async def connect(cls, url: str, name: str, send_buffer: int = 0) -> Client:
        """Open a connection to ``url`` (amqp://user:pass@host:port/vhost) and channel 1.

        ``send_buffer`` caps the kernel's send buffer (SO_SNDBUF): a publisher's writes then
        measure what the broker reads, not what megabytes of socket buffers absorb.
        """
        parts = urlparse(url)
        loop = asyncio.get_running_loop()
        host = parts.hostname or "localhost"
        transport, client = await loop.create_connection(cls, host, parts.port or 5672)
        if send_buffer:
            sock = transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
        vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
        user, password = unquote(parts.username or "guest"), unquote(parts.password or "guest")
        await asyncio.wait_for(client._handshake(user, password, vhost, name), _HANDSHAKE_TIMEOUT)
        return client

    async def _handshake(self, user: str, password: str, vhost: str, name: str) -> None:
        await self._reply(commands.Connection.Start)
        properties: dict[str, Any] = {"connection_name": name, "product": "amqpbroker bench"}
        response = f"\0{user}\0{password}"
        self.send(0, commands.Connection.StartOk(client_properties=properties, response=response))
        tune = await self._reply(commands.Connection.Tune)
        self.send(0, commands.Connection.TuneOk(tune.channel_max, tune.frame_max, 0))
        self.send(0, commands.Connection.Open(virtual_host=vhost))
        await self._reply(commands.Connection.OpenOk)
        await self.call(commands.Channel.Open(), commands.Channel.OpenOk)

    # -- sending --------------------------------------------------------------------------------

    def write(self, data: bytes | bytearray) -> None:
        """Raw frames; the caller must not change ``data`` afterwards."""
        if self._transport is None:
            raise self.error or ConnectionError("not connected")
        self._transport.write(data)

    def send(self, channel: int, method: Method) -> None:
        self.write(encode_method(channel, method))

    def ack(self, delivery_tags: list[int]) -> None:
        """One basic.ack per tag, in one write."""
        self.write(b"".join([encode_confirm(1, tag, False) for tag in delivery_tags]))

    async def call(self, method: Method, reply: type[M]) -> M:
        """Send a synchronous method on channel 1 and wait for its reply."""
        self.send(1, method)
        return await self._reply(reply)

    async def call_many(self, methods: Sequence[Method], reply: type[M]) -> None:
        """Pipeline ``methods`` (one write) and wait for all their replies."""
        self.write(b"".join(encode_method(1, method) for method in methods))
        for _ in methods:
            await self._reply(reply)

    async def flow(self, deadline_ns: int = 0) -> None:
        """Let the loop run (reads, timers); wait while the transport pushes back, but not
        past ``deadline_ns`` (monotonic; 0: no deadline)."""
        if self._writable.is_set():
            await asyncio.sleep(0)
        elif not deadline_ns:
            await self._writable.wait()
        else:
            timeout = max(0, deadline_ns - monotonic_ns()) / 1e9
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._writable.wait(), timeout)

    async def close(self) -> None:
        """connection.close, then wait (briefly) for close-ok."""
        if self._transport is None:
            return
        if self.error is not None:
            self._transport.close()
            return
        self.send(0, commands.Connection.Close(200, "bench done", 0, 0))
        with contextlib.suppress(TimeoutError, BrokerClosed, ConnectionError):
            await asyncio.wait_for(self._reply(commands.Connection.CloseOk), _CLOSE_TIMEOUT)
        if self._transport is not None:
            self._transport.close()

    async def _reply(self, kind: type[M]) -> M:
        if self._unclaimed:
            method = self._unclaimed.popleft()
        else:
            if self.error is not None:
                raise self.error
            future = asyncio.get_running_loop().create_future()
            self._replies.append(future)
            method = await future
        if not isinstance(method, kind):
            raise BrokerClosed(f"expected {kind.name}, got {method.name}")
        return method

    # -- asyncio.Protocol -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._transport.write(PROTOCOL_HEADER)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._fail(self.error or ConnectionError(f"connection lost: {exc or 'closed by broker'}"))
        self._writable.set()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def data_received(self, data: bytes) -> None:
        now = monotonic_ns()
        listener = self.listener
        listener.data_started(now)
        buffer = self._buffer
        buffer += data
        end = len(buffer)
        offset = 0
        head = _FRAME_HEAD.unpack_from
        while end - offset > 7:
            frame_type, _, size = head(buffer, offset)
            start = offset + 7
            stop = start + size
            if stop >= end:
                break
            if frame_type == FRAME_METHOD and buffer[start + 3] == _DELIVER_ID:
                after = self._delivery(buffer, start, stop, end, now)
                if after < 0:
                    break  # the rest of the message has not arrived yet
                offset = after
                continue
            if frame_type == FRAME_BODY:
                listener.delivered(self._delivery_tag, buffer, start, now)
            elif frame_type == FRAME_METHOD:
                self._method(buffer, start, stop)
            offset = stop + 1
        del buffer[:offset]
        listener.data_ended()

    def _delivery(self, buffer: bytearray, start: int, stop: int, end: int, now: int) -> int:
        """basic.deliver with its header and body frames at once (bench bodies are never
        empty and fit one frame); the offset after them, or -1 if they are not all here."""
        (index,) = _U32.unpack_from(buffer, start)
        if index != DELIVER_INDEX:
            self._method(buffer, start, stop)
            return stop + 1
        header_size: int
        body_size: int
        header_at = stop + 1
        if end - header_at < 8:
            return -1
        (header_size,) = _U32.unpack_from(buffer, header_at + 3)
        body_at = header_at + 8 + header_size
        if end - body_at < 8:
            return -1
        (body_size,) = _U32.unpack_from(buffer, body_at + 3)
        body_stop = body_at + 7 + body_size
        if body_stop >= end:
            return -1
        tag_at = start + 5 + buffer[start + 4]  # after the consumer tag (a short string)
        (tag,) = _U64.unpack_from(buffer, tag_at)
        self.listener.delivered(tag, buffer, body_at + 7, now)
        return body_stop + 1

    def _method(self, buffer: bytearray, start: int, stop: int) -> None:
        (index,) = _U32.unpack_from(buffer, start)
        if index == DELIVER_INDEX:
            tag_at = start + 5 + buffer[start + 4]  # after the consumer tag (a short string)
            (self._delivery_tag,) = _U64.unpack_from(buffer, tag_at)
        elif index in (ACK_INDEX, NACK_INDEX):
            tag, bits = _TAG_AND_BITS.unpack_from(buffer, start + 4)
            self.listener.confirmed(tag, bool(bits & 1), index == ACK_INDEX)
        else:
            self._control(decode_method(bytes(buffer[start:stop])))

    def _control(self, method: Method) -> None:
        if isinstance(method, commands.Connection.Close | commands.Channel.Close):
            closing = "connection" if isinstance(method, commands.Connection.Close) else "channel"
            text = f"broker closed the {closing}: {method.reply_code} {method.reply_text}"
            self._fail(BrokerClosed(text))
            if isinstance(method, commands.Connection.Close):
                self.send(0, commands.Connection.CloseOk())
            return
        if isinstance(method, _NOTICES):
            return  # asynchronous, not replies
        if self._replies:
            waiter = self._replies.popleft()
            if not waiter.done():  # a caller that gave up still gets (and drops) its reply
                waiter.set_result(method)
        else:
            self._unclaimed.append(method)

    def _fail(self, error: BaseException) -> None:
        if self.error is None:
            self.error = error
        while self._replies:
            future = self._replies.popleft()
            if not future.done():
                future.set_exception(error)
