"""Frame-level codec.

Theory of operation: ``FrameReader.feed(data)`` buffers bytes and returns every complete
frame as a ``(frame_type, channel, payload)`` tuple.  It checks the frame-end octet and the
negotiated frame_max and raises ``FrameError`` otherwise, exactly where RabbitMQ's reader does.
The protocol header is handled separately (``check_protocol_header``) because it is not a frame.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from amqpbroker.errors import FrameError

from . import erlang

FRAME_METHOD = 1
FRAME_HEADER = 2
FRAME_BODY = 3
FRAME_HEARTBEAT = 8
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


def encode_frame(frame_type: int, channel: int, payload: bytes) -> bytes:
    """One frame on the wire."""
    return FRAME_HEADER_STRUCT.pack(frame_type, channel, len(payload)) + payload + FRAME_END_BYTE


class FrameReader:
    """Splits a byte stream into frames, enforcing frame_max and the frame-end octet."""

    __slots__ = ("_buffer", "frame_max")

    def __init__(self, frame_max: int = FRAME_MIN_SIZE) -> None:
        self._buffer = bytearray()
        self.frame_max = frame_max

    def push(self, data: bytes) -> None:
        """Buffer bytes without parsing them yet (the reader's owner is busy)."""
        self._buffer += data

    def feed(self, data: bytes) -> Iterator[Frame]:
        """Yield each complete frame; a framing error is raised after the frames before it.

        Frames the caller does not consume (it stops iterating) stay buffered.
        """
        buf = self._buffer
        buf += data
        offset = 0
        end = len(buf)
        unpack = FRAME_HEADER_STRUCT.unpack_from
        try:
            while end - offset >= 7:
                frame_type, channel, size = unpack(buf, offset)
                # RabbitMQ tolerates payloads up to frame_max: clients miscount the 8 octets
                # of frame overhead.  The payload is not read, hence "all octets = <<>>".
                if size > self.frame_max:
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
                    break
                payload = bytes(buf[offset + 7 : stop])
                if buf[stop] != FRAME_END:
                    raise FrameError(
                        erlang.after(
                            f"type {frame_type}, {erlang.frame_octets(payload)}: ",
                            "invalid_frame_end_marker",
                            str(buf[stop]),
                        )
                    )
                offset = stop + 1
                yield frame_type, channel, payload
        finally:
            del buf[:offset]


def check_protocol_header(data: bytes) -> bool:
    """True when ``data`` (8 bytes) is a protocol header this broker speaks."""
    return data in ACCEPTED_PROTOCOL_HEADERS
