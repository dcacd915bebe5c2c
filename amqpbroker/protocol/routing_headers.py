"""Sender-selected distribution: the CC and BCC headers, read from a content header's octets.

RabbitMQ (``rabbit_basic:header_routes``) takes the longstr elements of the CC and BCC arrays
as routing keys besides the publish's own, skips any other element, and refuses a message
whose CC or BCC is not an array at all.  BCC is then cut out of the headers table (every other
entry keeps its octets and place), so no consumer ever sees it.
"""

from __future__ import annotations

import struct

from amqpbroker.errors import InternalError

from . import headers_table
from .fieldtable import TYPE_NAMES, value_end
from .properties import property_spans

_U32 = struct.Struct(">I")


class UnacceptableType(ValueError):
    """CC or BCC holds something other than an array."""

    def __init__(self, header: str, type_name: str) -> None:
        super().__init__(f"{header} is a {type_name}")
        self.header = header
        self.type_name = type_name


def sender_selected(header: bytes) -> tuple[tuple[str, ...], bytes]:
    """The CC keys then the BCC keys of ``header``, and the header without BCC (``header``
    itself when it has no BCC).

    A headers table that does not parse is 541 INTERNAL_ERROR, as RabbitMQ answers
    unparsable properties."""
    if b"\x02CC" not in header and b"\x03BCC" not in header:
        return (), header  # no such key anywhere: the usual case, seen without a walk
    try:
        entries = headers_table.entries(header, property_spans(header))
        keys: list[str] = []
        for name in ("CC", "BCC"):
            entry = entries.get(name)
            if entry is None:
                continue
            kind = chr(entry[1 + len(name)])
            if kind != "A":
                raise UnacceptableType(name, TYPE_NAMES.get(kind, kind))
            keys.extend(_longstrs(entry[2 + len(name) :]))
    except UnacceptableType:
        raise
    except (ValueError, IndexError, struct.error):
        raise InternalError("") from None
    if "BCC" in entries:
        header = headers_table.without_entry(header, "BCC")
    return tuple(keys), header


def _longstrs(array: bytes) -> list[str]:
    """The longstr elements of an encoded array (its length prefix first)."""
    (size,) = _U32.unpack_from(array)
    data, position, out = array[4 : 4 + size], 0, []
    while position < len(data):
        if data[position : position + 1] == b"S":
            (length,) = _U32.unpack_from(data, position + 1)
            start = position + 5
            out.append(data[start : start + length].decode("utf-8", "surrogateescape"))
            position = start + length
        else:
            position = value_end(data, position)
    return out
