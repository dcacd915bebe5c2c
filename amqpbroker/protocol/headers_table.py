"""The headers property's field table, edited entry by entry in a raw content header.

The broker changes a message's headers in three places: dead-lettering adds x-death and
x-first-death-*, a quorum queue sets x-delivery-count, and BCC is cut out before delivery.
Each keeps every other entry's octets.  Where RabbitMQ writes a changed table back sorted by
key (``with_entries``) the table is sorted; removing BCC keeps the order (``without_entry``).
"""

from __future__ import annotations

import struct

from .fieldtable import value_end
from .properties import HEADERS, Spans, property_spans, with_value, with_values

_U32 = struct.Struct(">I")


def entries(header: bytes, spans: Spans) -> dict[str, bytes]:
    """Key -> the entry's raw octets (key, type and value), in table order; ValueError or
    IndexError for a table that does not parse (a publish checks only its length)."""
    found: dict[str, bytes] = {}
    span = spans.get(HEADERS)
    if span is None:
        return found
    table = header[span[0] + 4 : span[1]]
    offset = 0
    while offset < len(table):
        key_length = table[offset]
        key = table[offset + 1 : offset + 1 + key_length].decode("utf-8", "replace")
        value_start = offset + 1 + key_length
        value_stop = value_end(table, value_start)
        found[key] = table[offset:value_stop]
        offset = value_stop
    return found


def entry(key: str, typed_value: bytes) -> bytes:
    """One table entry: the key as a short string, then the type octet and value."""
    raw_key = key.encode()
    return bytes((len(raw_key),)) + raw_key + typed_value


def with_entries(header: bytes, spans: Spans, table: dict[str, bytes], without: int = 0) -> bytes:
    """The content header with ``table``'s entries as its headers, sorted by key as RabbitMQ
    writes a table it changed (and without the property whose flag bit is ``without``)."""
    raw = b"".join(table[key] for key in sorted(table, key=lambda k: k.encode()))
    return with_values(header, spans, {HEADERS: _U32.pack(len(raw)) + raw}, without)


def without_entry(header: bytes, key: str) -> bytes:
    """The content header minus one entry of its headers table (``header`` itself when the
    table has no such entry)."""
    spans = property_spans(header)
    table = entries(header, spans)
    if table.pop(key, None) is None:
        return header
    raw = b"".join(table.values())
    return with_value(header, HEADERS, _U32.pack(len(raw)) + raw, spans)
