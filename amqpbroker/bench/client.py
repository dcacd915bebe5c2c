"""A minimal asyncio AMQP client for load generation (pika would be the bottleneck).

It speaks just enough: handshake, channel.open, declare/bind, confirm.select, qos, consume,
publish (pre-encoded frames), ack.  Frames are parsed with the broker's own sans-IO codec.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

from pamqp import commands
from pamqp.header import ContentHeader

from amqpbroker.protocol.fastcodec import encode_confirm
from amqpbroker.protocol.framing import (
    FRAME_BODY,
    FRAME_HEADER,
    FRAME_METHOD,
    PROTOCOL_HEADER,
    FrameReader,
    encode_frame,
)
from amqpbroker.protocol.methods import Method, decode_method, encode_method

M = TypeVar("M", bound=Method)
_DELIVER = b"\x00\x3c\x00\x3c"
_ACK = b"\x00\x3c\x00\x50"


class BenchConnection:
    """One connection, one channel (number 1)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.frames = FrameReader(131072)
        self.on_deliver: Callable[[int, bytes], None] | None = None  # delivery tag, body
        self.on_confirm: Callable[[int, bool], None] | None = None  # tag, multiple
        self._waiting: asyncio.Future[Method] | None = None
        self._body_tag = 0
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str) -> BenchConnection:
        parts = urlparse(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 5672)
        connection = cls(reader, writer)
        await connection._handshake(
            unquote(parts.username or "guest"),
            unquote(parts.password or "guest"),
            unquote(parts.path[1:]) if len(parts.path) > 1 else "/",
        )
        return connection

    async def _handshake(self, user: str, password: str, vhost: str) -> None:
        self.writer.write(PROTOCOL_HEADER)
        await self._expect(commands.Connection.Start)
        self.send(0, commands.Connection.StartOk(response=f"\0{user}\0{password}"))
        tune = await self._expect(commands.Connection.Tune)
        self.send(0, commands.Connection.TuneOk(tune.channel_max, tune.frame_max, 0))
        self.send(0, commands.Connection.Open(virtual_host=vhost))
        await self._expect(commands.Connection.OpenOk)
        self.frames.frame_max = tune.frame_max
        self._task = asyncio.get_running_loop().create_task(self._read_forever())
        await self.call(commands.Channel.Open(), commands.Channel.OpenOk)

    def send(self, channel: int, method: Method) -> None:
        self.writer.write(encode_method(channel, method))

    async def call(self, method: Method, reply: type[M]) -> M:
        self._waiting = asyncio.get_running_loop().create_future()
        self.send(1, method)
        result = await self._waiting
        if not isinstance(result, reply):
            raise RuntimeError(f"expected {reply.name}, got {result!r}")
        return result

    def ack(self, tag: int, multiple: bool = False) -> None:
        self.writer.write(encode_confirm(1, tag, multiple))

    async def _expect(self, kind: type[Method]) -> Any:
        while True:
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionError("broker closed the connection")
            for frame_type, _, payload in self.frames.feed(data):
                if frame_type == FRAME_METHOD:
                    method = decode_method(payload)
                    if isinstance(method, kind):
                        return method

    async def _read_forever(self) -> None:
        while data := await self.reader.read(1 << 20):
            for frame_type, _, payload in self.frames.feed(data):
                self._frame(frame_type, payload)

    def _frame(self, frame_type: int, payload: bytes) -> None:
        if frame_type == FRAME_METHOD:
            head = payload[:4]
            if head == _DELIVER:
                # consumer tag, then the delivery tag (8 bytes)
                tag_length = payload[4]
                self._body_tag = int.from_bytes(payload[5 + tag_length : 13 + tag_length], "big")
            elif head == _ACK and self.on_confirm is not None:
                self.on_confirm(int.from_bytes(payload[4:12], "big"), bool(payload[12] & 1))
            else:
                method = decode_method(payload)
                if self._waiting is not None and not self._waiting.done():
                    self._waiting.set_result(method)
        elif frame_type == FRAME_BODY and self.on_deliver is not None:
            self.on_deliver(self._body_tag, payload)  # bench bodies fit one frame

    async def close(self) -> None:
        self.send(0, commands.Connection.Close(200, "bench done", 0, 0))
        if self._task is not None:
            self._task.cancel()
        self.writer.close()


def publish_frames(exchange: str, routing_key: str, body: bytes, persistent: bool) -> bytes:
    """basic.publish + header + body, encoded once and sent many times."""
    properties = commands.Basic.Properties(delivery_mode=2 if persistent else 1)
    header = ContentHeader(0, len(body), properties).marshal()
    method = encode_method(1, commands.Basic.Publish(exchange=exchange, routing_key=routing_key))
    return method + encode_frame(FRAME_HEADER, 1, header) + encode_frame(FRAME_BODY, 1, body)
