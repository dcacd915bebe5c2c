"""The x-delivery-count header a quorum queue adds to a message it hands out again.

Like RabbitMQ (rabbit_basic:add_header), the header is a long that replaces any
x-delivery-count the publisher set, and the changed table is written back sorted by key;
every other property keeps its bytes.  The stored message is not changed.
"""

from __future__ import annotations

import struct

from . import headers_table
from .properties import property_spans

_KEY = "x-delivery-count"
_LONG = struct.Struct(">q")


def with_delivery_count(header: bytes, count: int) -> bytes:
    """``header`` (a raw basic content header) with x-delivery-count set to ``count``."""
    try:
        spans = property_spans(header)
        table = headers_table.entries(header, spans)
    except (ValueError, IndexError, struct.error):  # undecodable: forwarded as it came
        return header
    table[_KEY] = headers_table.entry(_KEY, b"l" + _LONG.pack(count))
    return headers_table.with_entries(header, spans, table)
