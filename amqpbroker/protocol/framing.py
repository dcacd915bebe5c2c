"""Frame-level codec.

Theory of operation: ``FrameReader.feed(data)`` buffers bytes and returns every complete
frame as a ``(frame_type, channel, payload)`` tuple.  It checks the frame-end octet and the
negotiated frame_max and raises ``FrameError`` otherwise, exactly where RabbitMQ's reader does.
No frame boundary can be trusted after that, so the reader is then ``broken``: like RabbitMQ's,
it reads no further, and what arrives is dropped (not kept, and copied, until the socket goes).
The protocol header is handled separately (``check_protocol_header``) because it is not a frame.

The hot path reads with ``read_commands`` instead: the same frames, except that a small
basic.publish whose three frames (method, content header, one body frame; or no body frame
for an empty body) are all in the buffer, well formed and on one channel comes out as one
``FRAME_PUBLISH`` item carrying all three payloads.  Anything unusual about them (another
frame in between, a split body, a bad size or frame end) leaves them to the frame-by-frame
path, which reports the error exactly as before.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from amqpbroker.errors import FrameError

from . import erlang
from .ids import BASIC_CLASS, PUBLISH_INDEX

FRAME_METHOD = 1
FRAME_HEADER = 2
FRAME_BODY = 3
FRAME_HEARTBEAT = 8
FRAME_PUBLISH = -1  # not on the wire: a whole basic.publish (see ``read_commands``)
FRAME_END = 0xCE
FRAME_END_BYTE = b"\xce"
FRAME_OVERHEAD = 8  # 7-byte header + frame-end octet

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
# RabbitMQ also accepts the header some 0-9-1 clients send by mistake.
ACCEPTED_PROTOCOL_HEADERS = frozenset({PROTOCOL_HEADER, b"AMQP\x01\x01\x00\x09"})
# Before tune-ok the frame size is bounded by the spec minimum.
FRAME_MIN_SIZE = 4096

FRAME_HEADER_STRUCT = struct.Struct(">BHI")
HEARTBEAT_FRAME = FRAME_HEADER_STRUCT.pack(FRAME_HEARTBEAT, 0, 0) + FRAME_END_BYTE

Frame = tuple[int, int, bytes]
# (frame type, channel, payload, content header, body): the last two are empty but for
# FRAME_PUBLISH, whose payload is then the method's.
Command = tuple[int, int, bytes, bytes, bytes]

METHOD_HEAD_STRUCT = struct.Struct(">BHII")  # frame header + method index
_CONTENT_HEAD = struct.Struct(">BHIHHQ")  # frame header + class, weight, body size


def encode_frame(frame_type: int, channel: int, payload: bytes) -> bytes:
    """One frame on the wire."""
    return FRAME_HEADER_STRUCT.pack(frame_type, channel, len(payload)) + payload + FRAME_END_BYTE


class FrameReader:
    """Splits a byte stream into frames, enforcing frame_max and the frame-end octet."""

    __slots__ = ("_buffer", "_wanted", "body_max", "broken", "frame_max")

    def __init__(self, frame_max: int = FRAME_MIN_SIZE) -> None:
        self._buffer = bytearray()  # an incomplete frame (or input not read yet: ``push``)
        self._wanted = 0  # octets the buffer needs before a frame can complete in it
        self.frame_max = frame_max
        # a body the whole-publish path takes: min(frame_max, max_message_size); a larger
        # one goes frame by frame, where the assembler refuses it for its size
        self.body_max = frame_max
        self.broken = False  # a framing error: nothing after it can be read as frames

    @property
    def buffered(self) -> int:
        """Octets held: an incomplete frame, or input pushed and not parsed yet."""
        return len(self._buffer)

    def push(self, data: bytes) -> None:
        """Buffer bytes without parsing them yet (the reader's owner is busy)."""
        if self.broken:
            return
        if not self._buffer:
            self._wanted = 0
        self._buffer += data

    def feed(self, data: bytes) -> Iterator[Frame]:
        """Yield each complete frame; a framing error is raised after the frames before it.

        Frames the caller does not consume (it stops iterating) stay buffered.
        """
        for frame_type, channel, payload, _, _ in self.read_commands(data, whole_publishes=False):
            yield frame_type, channel, payload

    def read_commands(self, data: bytes, whole_publishes: bool = True) -> Iterator[Command]:
        """Like ``feed``, but with whole publishes as single ``FRAME_PUBLISH`` items."""
        if self.broken:
            return
        buf = self._buffer
        if buf:  # parse from one bytes object: its slices are the payloads, copied once
            buf += data
            if len(buf) < self._wanted:
                return  # (a large body arriving piece by piece is not copied each time)
            data = bytes(buf)
            buf.clear()
        offset = 0
        end = len(data)
        unpack = FRAME_HEADER_STRUCT.unpack_from
        wanted = 7
        publish_id = PUBLISH_INDEX & 0xFF  # basic.publish's method id, its frame's octet 10
        try:
            while end - offset >= 7:
                if whole_publishes and end - offset > 11 and data[offset + 10] == publish_id:
                    publish = self._whole_publish(data, offset, end)
                    if publish is not None:
                        offset, command = publish
                        yield command
                        continue
                frame_type, channel, size = unpack(data, offset)
                # RabbitMQ tolerates payloads up to frame_max: clients miscount the 8 octets
                # of frame overhead.  The payload is not read, hence "all octets = <<>>".
                if size > self.frame_max:
                    self.broken = True
                    raise FrameError(
                        erlang.after(
                            f"type {frame_type}, all octets = <<>>: ",
                            "frame_too_large",
                            str(size),
                            str(self.frame_max - FRAME_OVERHEAD),
                        )
                    )
                stop = offset + 7 + size
                if stop >= end:
                    wanted = stop + 1 - offset
                    break
                payload = data[offset + 7 : stop]
                if data[stop] != FRAME_END:
                    self.broken = True
                    raise FrameError(
                        erlang.after(
                            f"type {frame_type}, {erlang.frame_octets(payload)}: ",
                            "invalid_frame_end_marker",
                            str(data[stop]),
                        )
                    )
                offset = stop + 1
                yield frame_type, channel, payload, b"", b""
        finally:
            if offset < end and not self.broken:  # what is left (or not taken) waits
                buf += data[offset:]
                self._wanted = wanted

    def _whole_publish(self, buf: bytes, offset: int, end: int) -> tuple[int, Command] | None:
        """(offset after it, the FRAME_PUBLISH item) when a whole, well-formed publish starts
        at ``offset``; None to leave it to the frame-by-frame path."""
        if end - offset < 11:
            return None
        kind, channel, size, index = METHOD_HEAD_STRUCT.unpack_from(buf, offset)
        method_end = offset + 7 + size
        frame_max = self.frame_max
        if kind != FRAME_METHOD or index != PUBLISH_INDEX or size < 4 or size > frame_max:
            return None
        if not channel:
            return None
        if method_end + 22 > end:  # a content header frame: 7 + 14 octets at least, and its end
            return None
        if buf[method_end] != FRAME_END:
            return None
        header_at = method_end + 1
        kind, header_channel, header_size, class_id, weight, body_size = _CONTENT_HEAD.unpack_from(
            buf, header_at
        )
        header_end = header_at + 7 + header_size
        if (
            kind != FRAME_HEADER
            or header_channel != channel
            or header_size > frame_max
            or header_size < 14
            or class_id != BASIC_CLASS
            or weight
            or header_end >= end
            or buf[header_end] != FRAME_END
        ):
            return None
        method = buf[offset + 7 : method_end]
        header = buf[header_at + 7 : header_end]
        if not body_size:
            return header_end + 1, (FRAME_PUBLISH, channel, method, header, b"")
        body_at = header_end + 1
        if end - body_at < 8:
            return None
        kind, body_channel, size = FRAME_HEADER_STRUCT.unpack_from(buf, body_at)
        body_end = body_at + 7 + size
        if (
            kind != FRAME_BODY
            or body_channel != channel
            or size != body_size
            or size > self.body_max
            or body_end >= end
            or buf[body_end] != FRAME_END
        ):
            return None
        body = buf[body_at + 7 : body_end]
        return body_end + 1, (FRAME_PUBLISH, channel, method, header, body)


def check_protocol_header(data: bytes) -> bool:
    """True when ``data`` (8 bytes) is a protocol header this broker speaks."""
    return data in ACCEPTED_PROTOCOL_HEADERS
