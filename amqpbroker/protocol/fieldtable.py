"""Argument tables that remember each top-level value's wire type.

RabbitMQ names the wire type in its error texts ("of type 'signedint'"), and pamqp's decoded
tables lose it.  Every method whose ``arguments`` table is its last field gets that table
replaced by a ``TypedTable``: the same dict pamqp decoded, plus ``types`` (key -> type name).
"""

from __future__ import annotations

import struct
from typing import Any

from pamqp import encode

from . import erlang

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
    """A decoded field table plus the RabbitMQ type name of each top-level value, and how
    Erlang prints the values whose decoded form cannot show it (tables, arrays, timestamps,
    decimals, floats: ``[{<<"a">>,signedint,1}]``)."""

    types: dict[str, str]
    terms: dict[str, str]

    def __init__(
        self, values: dict[str, Any], types: dict[str, str], terms: dict[str, str] | None = None
    ) -> None:
        super().__init__(values)
        self.types = types
        self.terms = terms or {}


def table_types(data: bytes, offset: int) -> dict[str, str]:
    """Type names of the top-level entries of the table encoded at ``data[offset:]``."""
    (length,) = struct.unpack_from(">I", data, offset)
    position, end = offset + 4, offset + 4 + length
    types: dict[str, str] = {}
    try:
        while position < end:
            key_length = data[position]
            key = data[position + 1 : position + 1 + key_length].decode("utf-8", "replace")
            position += 1 + key_length
            kind = chr(data[position])
            types[key] = TYPE_NAMES.get(kind, kind)
            position = value_end(data, position)
    except (IndexError, ValueError):  # lengths past the end, which pamqp reads leniently
        pass
    return types


_TERM_TYPES = frozenset(("table", "array", "timestamp", "decimal", "float", "double"))
_NUMBERS = {
    "b": struct.Struct(">b"),
    "B": struct.Struct(">B"),
    "s": struct.Struct(">h"),
    "u": struct.Struct(">H"),
    "I": struct.Struct(">i"),
    "i": struct.Struct(">I"),
    "l": struct.Struct(">q"),
    "T": struct.Struct(">Q"),
    "f": struct.Struct(">f"),
    "d": struct.Struct(">d"),
}


def table_terms(data: bytes, offset: int, types: dict[str, str]) -> dict[str, str]:
    """Erlang's ``~p`` of the top-level values of the table at ``data[offset:]`` whose
    decoded form prints differently (see ``TypedTable``); nothing when it has none."""
    if not _TERM_TYPES.intersection(types.values()):
        return {}
    (length,) = struct.unpack_from(">I", data, offset)
    table = data[offset + 4 : offset + 4 + length]
    terms: dict[str, str] = {}
    position = 0
    try:
        while position < len(table):
            key_length = table[position]
            key = table[position + 1 : position + 1 + key_length].decode("utf-8", "replace")
            term, position = erlang_term(table, position + 1 + key_length)
            if types.get(key) in _TERM_TYPES:
                terms[key] = term
    except (ValueError, IndexError, struct.error):  # a type pamqp reads but RabbitMQ would
        # not, or lengths past the end that pamqp reads leniently: print what pamqp made
        return {}
    return terms


def erlang_term(data: bytes, position: int) -> tuple[str, int]:
    """The field value encoded at ``data[position:]`` as RabbitMQ's ``~p`` prints it, and
    where it ends."""
    kind = chr(data[position])
    position += 1
    if kind in _NUMBERS:
        number = _NUMBERS[kind]
        (value,) = number.unpack_from(data, position)
        text = erlang.float_(value) if kind in "fd" else str(value)
        return text, position + number.size
    if kind == "t":
        return ("true" if data[position] else "false"), position + 1
    if kind == "V":
        return "undefined", position
    if kind == "D":
        scale, unscaled = struct.unpack_from(">BI", data, position)
        return f"{{{scale},{unscaled}}}", position + 5
    (length,) = struct.unpack_from(">I", data, position)
    start, end = position + 4, position + 4 + length
    if kind in "Sx":
        return erlang.binary(data[start:end]), end
    if kind not in "FA":
        raise ValueError(f"unknown field type {kind!r}")
    items = []
    while start < end:
        if kind == "F":  # {Key, Type, Value}
            key_length = data[start]
            key = data[start + 1 : start + 1 + key_length]
            start += 1 + key_length
            prefix = f"{erlang.binary(key)},{TYPE_NAMES.get(chr(data[start]), '?')}"
        else:  # A: {Type, Value}
            prefix = TYPE_NAMES.get(chr(data[start]), "?")
        term, start = erlang_term(data, start)
        items.append(f"{{{prefix},{term}}}")
    return "[" + ",".join(items) + "]", end


# Octets after the type tag of the fixed-size field types (pamqp also reads "L" and "\0").
_VALUE_SIZES = {
    **{kind: number.size for kind, number in _NUMBERS.items()},
    "L": 8,
    "t": 1,
    "D": 5,
    "V": 0,
    "\0": 0,
}


def value_end(data: bytes, position: int) -> int:
    """Where the field value at ``data[position:]`` (type tag first) ends, read without
    decoding it (a timestamp beyond datetime's years is still 8 octets).  ValueError for an
    unknown type or a value that runs past the end of ``data``."""
    kind = chr(data[position])
    size = _VALUE_SIZES.get(kind)
    if size is not None:
        end = position + 1 + size
    elif kind in "SxFA":
        (length,) = struct.unpack_from(">I", data, position + 1)
        end = position + 5 + length
    else:
        raise ValueError(f"unknown field type {kind!r}")
    if end > len(data):
        raise ValueError("a field value runs past the end of its table")
    return end


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


# -- RabbitMQ's parse, as a scan ------------------------------------------------------------------

# The field types RabbitMQ 3.10 parses (rabbit_binary_parser; probed on 3.10.8: no other octet
# is accepted), by octet: fixed sizes after the type octet, or LENGTHED (a 32-bit length and
# that many octets: longstr and binary; table and array hold more values).
_LENGTHED = -1
_PARSED_SIZES: dict[int, int] = {
    **{ord(kind): size for kind, size in _VALUE_SIZES.items() if kind != "\0"},
    **{ord(kind): _LENGTHED for kind in "SxFA"},
}
_FLOAT, _DOUBLE, _TABLE, _ARRAY = ord("f"), ord("d"), ord("F"), ord("A")
# For the flat scan, by type octet: the value's whole size (type octet included) when fixed,
# _LENGTHED for a longstr or binary, _INSIDE for what needs a look inside (a table, an array,
# a float or double), _REFUSED for the octets RabbitMQ does not parse.
_INSIDE, _REFUSED = -2, 0


def _step(octet: int) -> int:
    if octet in (_TABLE, _ARRAY, _FLOAT, _DOUBLE):
        return _INSIDE
    size = _PARSED_SIZES.get(octet)
    if size is None:
        return _REFUSED
    return size + 1 if size >= 0 else _LENGTHED


_STEPS = tuple(map(_step, range(256)))


def table_well_formed(data: bytes, start: int, end: int) -> bool:
    """Whether RabbitMQ would parse ``data[start:end]`` as a field table's contents: entries
    of a short-string key and a value, each value of a type it knows and within its table,
    nested tables and arrays alike, and no float or double that is a NaN or an infinity (its
    binary matching takes none).  Keys and strings need not be UTF-8.  A scan, without
    decoding.

    The usual table (strings and numbers) is scanned flat: an entry running past the table
    shows at the end, as the scan is then past it too.  A table with a table, an array, a
    float or a double in it is scanned again by ``_scan_nested``."""
    steps = _STEPS
    position = start
    try:
        while position < end:
            position += data[position] + 1  # the key
            step = steps[data[position]]
            if step > 0:
                position += step
            elif step == _LENGTHED:
                length = data[position + 1] << 24 | data[position + 2] << 16
                position += 5 + (length | data[position + 3] << 8 | data[position + 4])
            else:
                return step == _INSIDE and _scan_nested(data, start, end)
    except IndexError:  # past the end of the header itself
        return False
    return position == end


def _scan_nested(data: bytes, start: int, end: int) -> bool:
    """``table_well_formed`` for any table, without recursion (a header may nest tables
    thousands deep)."""
    enclosing: list[tuple[int, bool]] = []  # (end, is an array) of the tables we are inside
    in_array = False
    position = start
    while True:
        if position >= end:
            if position > end:
                return False
            if not enclosing:
                return True
            end, in_array = enclosing.pop()
            continue
        if not in_array:
            position += 1 + data[position]  # the key
            if position >= end:  # past the table, or no type octet left
                return False
        kind = data[position]
        size = _PARSED_SIZES.get(kind)
        if size is None:
            return False
        if size >= 0:
            position += 1 + size
            if position <= end and kind in (_FLOAT, _DOUBLE) and _not_finite(data, kind, position):
                return False
            continue
        if position + 5 > end:
            return False
        value_end = position + 5 + int.from_bytes(data[position + 1 : position + 5], "big")
        if value_end > end:
            return False
        if kind in (_TABLE, _ARRAY):
            enclosing.append((end, in_array))
            end, in_array = value_end, kind == _ARRAY
            position += 5
        else:
            position = value_end


def _not_finite(data: bytes, kind: int, end: int) -> bool:
    """Whether the float (``kind`` f) or double (d) ending at ``end`` has all exponent bits
    set: a NaN or an infinity."""
    if kind == _FLOAT:
        return data[end - 4] & 0x7F == 0x7F and data[end - 3] & 0x80 == 0x80
    return data[end - 8] & 0x7F == 0x7F and data[end - 7] & 0xF0 == 0xF0
