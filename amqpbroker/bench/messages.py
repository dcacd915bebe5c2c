"""What a bench message looks like on the wire.

Every body starts with a stamp: the publisher's id, its sequence number (0, 1, 2, ...) and the
send time in ``time.monotonic_ns()`` (CLOCK_MONOTONIC is system-wide on Linux, so a consumer in
another process can subtract it from its own clock).  The rest of the body is padding.

A publish (method + content header + body frames) is encoded once; a batch is that template
repeated, and each copy gets its sequence number and send time with one ``pack_into``.
"""

from __future__ import annotations

import struct

from pamqp import commands
from pamqp.header import ContentHeader

from amqpbroker.protocol.framing import FRAME_BODY, FRAME_HEADER, encode_frame
from amqpbroker.protocol.methods import encode_method, make_method

STAMP = struct.Struct(">HIQ")  # publisher id, sequence number, send time (monotonic ns)
_SEQUENCE_AND_TIME = struct.Struct(">IQ")
MIN_BODY = STAMP.size
_FRAME_HEAD = 7


class PublishTemplate:
    """basic.publish + header + body for one publisher, pre-encoded."""

    def __init__(
        self,
        publisher_id: int,
        exchange: str,
        routing_key: str,
        body_size: int,
        persistent: bool,
    ) -> None:
        if body_size < MIN_BODY:
            raise ValueError(f"bodies need at least {MIN_BODY} bytes for the stamp")
        body = bytearray(body_size)
        STAMP.pack_into(body, 0, publisher_id, 0, 0)
        properties = commands.Basic.Properties(delivery_mode=2 if persistent else 1)
        header = ContentHeader(0, body_size, properties).marshal()
        publish = make_method(commands.Basic.Publish, exchange=exchange, routing_key=routing_key)
        method_frame = encode_method(1, publish)
        header_frame = encode_frame(FRAME_HEADER, 1, header)
        self.frames = method_frame + header_frame + encode_frame(FRAME_BODY, 1, bytes(body))
        # The sequence number follows the 2-byte publisher id at the start of the body.
        self._stamp_at = len(method_frame) + len(header_frame) + _FRAME_HEAD + 2
        self._blocks: dict[int, bytes] = {}

    def batch(self, first_sequence: int, count: int, now: int) -> bytearray:
        """``count`` publishes numbered from ``first_sequence``, all sent at ``now``."""
        block = self._blocks.get(count)
        if block is None:
            block = self._blocks[count] = self.frames * count
        data = bytearray(block)
        step = len(self.frames)
        pack = _SEQUENCE_AND_TIME.pack_into
        position = self._stamp_at
        for sequence in range(first_sequence, first_sequence + count):
            pack(data, position, sequence, now)
            position += step
        return data

    def batch_size(self, budget: int = 65536, most: int = 256) -> int:
        """How many publishes make one write of about ``budget`` bytes."""
        return max(1, min(most, budget // len(self.frames)))
