"""fieldtable.table_well_formed: the scan agrees with a plain recursive reading of RabbitMQ
3.10's field-table grammar (rabbit_binary_parser, as probed on 3.10.8: see
interop/differential/scenarios/property_decoding.py)."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amqpbroker.protocol.fieldtable import encode_table, table_well_formed

FIXED = {"t": 1, "b": 1, "B": 1, "s": 2, "u": 2, "I": 4, "i": 4, "f": 4, "D": 5}
FIXED |= {"l": 8, "L": 8, "T": 8, "d": 8, "V": 0}


def rabbit_parses_table(data: bytes) -> bool:
    """The grammar, read recursively: entries of (key, value) filling ``data`` exactly."""
    position = 0
    while position < len(data):
        position += 1 + data[position]
        if position >= len(data):
            return False
        position = _value(data, position)
        if position < 0:
            return False
    return True


def rabbit_parses_array(data: bytes) -> bool:
    position = 0
    while position < len(data):
        position = _value(data, position)
        if position < 0:
            return False
    return True


def _value(data: bytes, position: int) -> int:
    """Where the value at ``position`` ends, or -1."""
    kind = chr(data[position])
    position += 1
    if kind in FIXED:
        end = position + FIXED[kind]
        if end > len(data):
            return -1
        if kind in "fd":
            (number,) = struct.unpack(">f" if kind == "f" else ">d", data[position:end])
            if not math.isfinite(number):
                return -1
        return end
    if kind not in "SxFA" or position + 4 > len(data):
        return -1
    (length,) = struct.unpack_from(">I", data, position)
    start, end = position + 4, position + 4 + length
    if end > len(data):
        return -1
    if kind == "F" and not rabbit_parses_table(data[start:end]):
        return -1
    if kind == "A" and not rabbit_parses_array(data[start:end]):
        return -1
    return end


values = st.recursive(
    st.one_of(
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(width=32, allow_nan=False, allow_infinity=False),  # pamqp writes "f"
        st.text(max_size=5),
        st.none(),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=3), inner, max_size=3),
    ),
    max_leaves=12,
)
tables = st.dictionaries(st.text(max_size=4), values, max_size=4)


INTERESTING = list(b"\x00\x01\x02\x7f\xffZLuIiFAsSxdfVtTD")


def contents(table: dict[str, object]) -> bytes:
    return encode_table(table)[4:]


@given(tables)
def test_what_pamqp_writes_is_well_formed(table: dict[str, object]) -> None:
    data = contents(table)
    assert table_well_formed(data, 0, len(data))
    assert table_well_formed(b"junk" + data + b"more", 4, 4 + len(data))  # a slice of a header


@given(tables, st.data())
def test_the_scan_agrees_with_the_grammar_on_damaged_tables(
    table: dict[str, object], data: st.DataObject
) -> None:
    raw = bytearray(contents(table))
    for _ in range(data.draw(st.integers(1, 3))):
        if not raw:
            break
        where = data.draw(st.integers(0, len(raw) - 1))
        how = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if how == "flip":
            raw[where] = data.draw(st.one_of(st.sampled_from(INTERESTING), st.integers(0, 255)))
        elif how == "cut":
            del raw[where:]
        else:
            raw.insert(where, data.draw(st.integers(0, 255)))
    damaged = bytes(raw)
    assert table_well_formed(damaged, 0, len(damaged)) == rabbit_parses_table(damaged)


@pytest.mark.parametrize(
    ("kind", "octets"),
    [
        ("f", struct.pack(">f", math.nan)),
        ("f", struct.pack(">f", math.inf)),
        ("d", struct.pack(">d", -math.inf)),
        ("d", bytes.fromhex("7ff0000000000001")),  # a signalling NaN
    ],
)
def test_floats_that_are_not_finite_are_refused(kind: str, octets: bytes) -> None:
    data = b"\x01k" + kind.encode() + octets
    assert not table_well_formed(data, 0, len(data))
    in_array = b"\x01a" + b"A" + struct.pack(">I", len(octets) + 1) + kind.encode() + octets
    assert not table_well_formed(in_array, 0, len(in_array))


def test_tables_nested_past_pythons_recursion_are_scanned() -> None:
    data = b"\x01zI\x00\x00\x00\x01"
    for _ in range(5000):
        data = b"\x01n" + b"F" + struct.pack(">I", len(data)) + data
    assert table_well_formed(data, 0, len(data))
    assert not table_well_formed(data[:-1], 0, len(data) - 1)


# What the reference took, probed with every type octet followed by 0, 1, 2, 4, 5 or 8 zero
# octets: the sizes it accepted after each octet (4 zeros being an empty string or table).
PROBED = {"A": 4, "B": 1, "D": 5, "F": 4, "I": 4, "L": 8, "S": 4, "T": 8, "V": 0}
PROBED |= {"b": 1, "d": 8, "f": 4, "i": 4, "l": 8, "s": 2, "t": 1, "u": 2, "x": 4}


def test_exactly_the_type_octets_rabbitmq_parses() -> None:
    for octet in range(256):
        for size in (0, 1, 2, 4, 5, 8):
            data = b"\x01k" + bytes((octet,)) + bytes(size)
            expected = PROBED.get(chr(octet)) == size
            assert table_well_formed(data, 0, len(data)) is expected, (chr(octet), size)
