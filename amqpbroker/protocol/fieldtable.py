"""Argument tables that remember each top-level value's wire type.

RabbitMQ names the wire type in its error texts ("of type 'signedint'"), and pamqp's decoded
tables lose it.  Every method whose ``arguments`` table is its last field gets that table
replaced by a ``TypedTable``: the same dict pamqp decoded, plus ``types`` (key -> type name).
"""

from __future__ import annotations

import struct
from typing import Any

from pamqp import decode, encode

# RabbitMQ's names for the AMQP field types.
TYPE_NAMES = {
    "t": "bool",
    "b": "byte",
    "B": "unsignedbyte",
    "s": "short",
    "u": "unsignedshort",
    "I": "signedint",
    "i": "unsignedint",
    "l": "long",
    "f": "float",
    "d": "double",
    "D": "decimal",
    "S": "longstr",
    "x": "binary",
    "T": "timestamp",
    "F": "table",
    "A": "array",
    "V": "void",
}


class TypedTable(dict[str, Any]):
    """A decoded field table plus the RabbitMQ type name of each top-level value."""

    types: dict[str, str]

    def __init__(self, values: dict[str, Any], types: dict[str, str]) -> None:
        super().__init__(values)
        self.types = types


def table_types(data: bytes, offset: int) -> dict[str, str]:
    """Type names of the top-level entries of the table encoded at ``data[offset:]``."""
    (length,) = struct.unpack_from(">I", data, offset)
    position, end = offset + 4, offset + 4 + length
    types: dict[str, str] = {}
    while position < end:
        key_length = data[position]
        key = data[position + 1 : position + 1 + key_length].decode("utf-8", "replace")
        position += 1 + key_length
        kind = chr(data[position])
        consumed, _ = decode.embedded_value(data[position:end])
        types[key] = TYPE_NAMES.get(kind, kind)
        position += consumed
    return types


def encode_table(table: dict[str, Any]) -> bytes:
    """A field table in the mapping's own order (pamqp sorts keys; RabbitMQ does not)."""
    parts = []
    for key, value in table.items():
        raw_key = key.encode("utf-8")
        if isinstance(value, dict):
            item = b"F" + encode_table(value)
        else:
            item = encode.encode_table_value(value)
        parts.append(bytes((len(raw_key),)) + raw_key + item)
    body = b"".join(parts)
    return struct.pack(">I", len(body)) + body
