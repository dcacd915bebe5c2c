"""A binding's ``properties_key``, exactly as RabbitMQ 3.10.8 computes it.

The key names a binding in ``/api/bindings/{v}/e/{source}/{q|e}/{destination}/{key}``:

- "~" for an empty routing key and no arguments;
- otherwise the routing key form-encoded (letters, digits and ``-_.`` kept, a space as
  ``+``, every other octet of its UTF-8 as ``%XX``; ``~`` too, as ``%7E``), and, when the
  binding has arguments, ``~`` and a hash of them: ``a.%23``, ``b.%2A~EDqv5Q``.

The hash is the management plugin's: ``erlang:phash2(Args, 1 bsl 32)`` of the arguments as
the Erlang term RabbitMQ keeps (a list of ``{Key, Type, Value}`` tuples, sorted by key), as
4 big-endian octets in unpadded URL-safe base64.  ``phash2`` is Erlang's portable term hash
(Bob Jenkins' lookup2 mixing over the term's structure); this module reimplements it for
the terms a field table can hold: binaries, atoms, integers, floats, tuples and lists.
Checked against keys RabbitMQ 3.10.8 gave (tests/management_views/test_binding_keys.py).
"""

from __future__ import annotations

import base64
import datetime
import decimal
import struct
from collections.abc import Mapping
from typing import Any

_MASK = 0xFFFFFFFF
_GOLDEN = 0x9E3779B9  # HCONST; the n-th constant is n times it, modulo 2**32


def _constant(n: int) -> int:
    return (_GOLDEN * n) & _MASK


_INTEGER = _GOLDEN
_NIL = _constant(2)
_ATOM = _constant(3)
_BYTES = _constant(4)
_TUPLE = _constant(9)
_FLOAT = _constant(12)
_NEGATIVE_BIG = _constant(10)
_POSITIVE_BIG = _constant(11)
_BINARY = _constant(13)
_NIL_VALUE = 2  # what the empty list is mixed in as
_SMALL_LIMIT = 1 << 27  # integers beyond 28 bits are bignums to Erlang's hash

_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def properties_key(routing_key: str, arguments: Mapping[str, Any]) -> str:
    """The binding's ``properties_key`` (see the module docstring)."""
    if not routing_key and not arguments:
        return "~"
    quoted = quote_routing_key(routing_key)
    return f"{quoted}~{arguments_hash(arguments)}" if arguments else quoted


def quote_routing_key(routing_key: str) -> str:
    """Form encoding as the management plugin does it (``~`` is encoded too)."""
    out = []
    for octet in routing_key.encode("utf-8", "surrogateescape"):
        if octet in _SAFE:
            out.append(chr(octet))
        elif octet == 0x20:
            out.append("+")
        else:
            out.append(f"%{octet:02X}")
    return "".join(out)


def arguments_hash(arguments: Mapping[str, Any]) -> str:
    """The 6-character hash of a binding's arguments."""
    digest = phash2(arguments_term(arguments))
    return base64.urlsafe_b64encode(struct.pack(">I", digest)).decode("ascii").rstrip("=")


# -- the arguments as Erlang terms ------------------------------------------------------------


class Atom(str):
    """An Erlang atom (a plain ``str`` is not used as a term: text is a binary)."""


def arguments_term(arguments: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """``[{Key, Type, Value}]`` sorted by key: the table as RabbitMQ holds it.  A table
    decoded from the wire knows each top-level value's type (``TypedTable.types``);
    others are typed as the management API types JSON (integers ``long``, text
    ``longstr``, fractions ``double``)."""
    types: Mapping[str, str] = getattr(arguments, "types", None) or {}
    rows = [
        (key.encode("utf-8", "surrogateescape"), key, value) for key, value in arguments.items()
    ]
    rows.sort(key=lambda row: row[0])
    return [(encoded, *_typed(value, types.get(key))) for encoded, key, value in rows]


def _typed(value: Any, wire_type: str | None) -> tuple[Atom, Any]:
    kind = wire_type or _type_of(value)
    if kind == "table":
        return Atom(kind), arguments_term(value)
    if kind == "array":
        return Atom(kind), [_typed(item, None) for item in value]
    return Atom(kind), _value_term(value)


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, bytes | bytearray):
        return "binary"
    if isinstance(value, dict):
        return "table"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, datetime.datetime):
        return "timestamp"
    if isinstance(value, decimal.Decimal):
        return "decimal"
    return "void" if value is None else "longstr"


def _value_term(value: Any) -> Any:
    if isinstance(value, bool):
        return Atom("true" if value else "false")
    if value is None:
        return Atom("undefined")
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, datetime.datetime):
        return int(value.timestamp())
    if isinstance(value, decimal.Decimal):
        sign, digits, exponent = value.as_tuple()
        unscaled = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
        return (-int(exponent), unscaled) if isinstance(exponent, int) else (0, 0)
    return value


# -- erlang:phash2/1 ----------------------------------------------------------------------------


def _mix(a: int, b: int, c: int) -> int:
    """Bob Jenkins' lookup2 mix of three 32-bit words; returns the new ``c``."""
    a = ((a - b - c) & _MASK) ^ (c >> 13)
    b = ((b - c - a) & _MASK) ^ ((a << 8) & _MASK)
    c = ((c - a - b) & _MASK) ^ (b >> 13)
    a = ((a - b - c) & _MASK) ^ (c >> 12)
    b = ((b - c - a) & _MASK) ^ ((a << 16) & _MASK)
    c = ((c - a - b) & _MASK) ^ (b >> 5)
    a = ((a - b - c) & _MASK) ^ (c >> 3)
    b = ((b - c - a) & _MASK) ^ ((a << 10) & _MASK)
    return ((c - a - b) & _MASK) ^ (b >> 15)


def _word(value: int, constant: int, state: int, second: int = 0) -> int:
    return _mix((constant + value) & _MASK, (constant + second) & _MASK, state)


def _atom_value(name: str) -> int:
    """The atom table's hash of an atom's name (hashpjw)."""
    value = 0
    for octet in name.encode("latin-1"):
        value = ((value << 4) + octet) & _MASK
        high = value & 0xF0000000
        if high:
            value ^= high >> 24
            value ^= high
    return value


def _block(data: bytes, state: int) -> int:
    """lookup2 over a binary's octets, seeded with ``state``."""
    a = b = _GOLDEN
    c = state
    full = len(data) - len(data) % 12
    for start in range(0, full, 12):
        x, y, z = struct.unpack_from("<III", data, start)
        a, b, c = (a + x) & _MASK, (b + y) & _MASK, (c + z) & _MASK
        a, b, c = _mix3(a, b, c)
    rest = data[full:] + bytes(12 - (len(data) - full))
    x, y, z = struct.unpack("<III", rest)
    c = (c + len(data) + (z << 8)) & _MASK  # the low octet of the last word is the length
    return _mix((a + x) & _MASK, (b + y) & _MASK, c)


def _mix3(a: int, b: int, c: int) -> tuple[int, int, int]:
    a = ((a - b - c) & _MASK) ^ (c >> 13)
    b = ((b - c - a) & _MASK) ^ ((a << 8) & _MASK)
    c = ((c - a - b) & _MASK) ^ (b >> 13)
    a = ((a - b - c) & _MASK) ^ (c >> 12)
    b = ((b - c - a) & _MASK) ^ ((a << 16) & _MASK)
    c = ((c - a - b) & _MASK) ^ (b >> 5)
    a = ((a - b - c) & _MASK) ^ (c >> 3)
    b = ((b - c - a) & _MASK) ^ ((a << 10) & _MASK)
    c = ((c - a - b) & _MASK) ^ (b >> 15)
    return a, b, c


def phash2(term: Any) -> int:
    """``erlang:phash2(Term, 1 bsl 32)`` for binaries (``bytes``), ``Atom``s, integers,
    floats, tuples and lists of those."""
    return _hash(term, 0)


def _hash(term: Any, state: int) -> int:
    if isinstance(term, Atom):
        # An atom met while the hash is still 0 (a bare atom, the head of a list at the
        # top) becomes the hash unmixed, as erts does it.
        value = _atom_value(term)
        return _word(value, _ATOM, state) if state else value
    if isinstance(term, bytes):
        seed = (_BINARY + state) & _MASK
        return _block(term, seed) if term else seed
    if isinstance(term, int):
        return _integer(term, state)
    if isinstance(term, float):
        low, high = struct.unpack("<II", struct.pack("<d", term + 0.0))  # -0.0 as 0.0
        return _word(high, _FLOAT, state, low)
    if isinstance(term, tuple):
        state = _word(len(term), _TUPLE, state)
        for element in term:
            state = _hash(element, state)
        return state
    if isinstance(term, list):
        return _list(term, state)
    raise TypeError(f"no Erlang term for {term!r}")


def _integer(value: int, state: int) -> int:
    if not -_SMALL_LIMIT <= value < _SMALL_LIMIT:
        return _bignum(value, state)
    if value < 0:
        state = _word(-value, _INTEGER, state)  # (negatives are mixed twice)
    return _word(value & _MASK, _INTEGER, state)


def _bignum(value: int, state: int) -> int:
    """Integers beyond 28 bits: the magnitude's 64-bit digits, low word first."""
    constant = _NEGATIVE_BIG if value < 0 else _POSITIVE_BIG
    magnitude = abs(value)
    while True:
        digit = magnitude & 0xFFFFFFFFFFFFFFFF
        state = _word(digit & _MASK, constant, state, digit >> 32)
        magnitude >>= 64
        if not magnitude:
            return state


def _list(items: list[Any], state: int) -> int:
    """Runs of integers 0..255 are packed four to a word (Erlang's string shortcut); the
    other elements are hashed in order, then the empty list that ends it."""
    packed, count = 0, 0
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool) and 0 <= item < 256:
            packed = ((packed << 8) + item) & _MASK
            count += 1
            if count == 4:
                state = _word(packed, _BYTES, state)
                packed, count = 0, 0
            continue
        if count:
            state = _word(packed, _BYTES, state)
            packed, count = 0, 0
        state = _hash(item, state)
    if count:
        state = _word(packed, _BYTES, state)
    return _word(_NIL_VALUE, _NIL, state)
