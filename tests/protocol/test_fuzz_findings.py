"""Field tables the session fuzzer (amqpbroker.testing.fuzz) broke the codec with: each
raised something other than an AMQP error out of ``receive_data``."""

from __future__ import annotations

import struct

import pytest
from pamqp import commands

from amqpbroker.errors import FrameError, InternalError
from amqpbroker.protocol.fieldtable import table_terms, table_types, value_end
from amqpbroker.protocol.framing import FrameReader
from amqpbroker.protocol.methods import decode_method, encode_method
from amqpbroker.protocol.routing_headers import sender_selected
from amqpbroker.testing.fuzz.wire import (
    content_header,
    field_value,
    longstr,
    nested_tables,
    shortstr,
)

HUGE_TIMESTAMP = 2**64 - 1  # a valid AMQP timestamp; no datetime has its year


def test_cc_is_read_past_a_timestamp_no_datetime_can_hold() -> None:
    headers = [(b"stamp", b"T", HUGE_TIMESTAMP), (b"CC", b"A", [(b"S", b"q1")])]
    keys, _ = sender_selected(content_header(1, {"headers": headers}))
    assert keys == ("q1",)


@pytest.mark.parametrize(
    "raw",
    [
        longstr(shortstr(b"CC") + b"Z" + b"\x00" * 4),  # an unknown type tag
        longstr(shortstr(b"CC") + b"S" + struct.pack(">I", 99) + b"ab"),  # a string too long
        # after a CC entry, a key longer than the table (a table without a CC or BCC key
        # is not looked into: the lookup looks for their octets first)
        longstr(shortstr(b"CC") + b"A" + struct.pack(">I", 0) + b"\x09CC"),
    ],
    ids=["unknown-type", "string-past-end", "key-past-end"],
)
def test_unparsable_headers_in_a_cc_lookup_are_internal_error(raw: bytes) -> None:
    """541, what RabbitMQ answers to properties it cannot parse (not a ValueError)."""
    with pytest.raises(InternalError):
        sender_selected(content_header(1, {"headers": raw}))


def test_value_end_measures_without_decoding() -> None:
    for tag, value in ((b"T", HUGE_TIMESTAMP), (b"D", (2, 5)), (b"V", None), (b"F", [])):
        encoded = field_value(tag, value)
        assert value_end(encoded + b"rest", 0) == len(encoded)
    with pytest.raises(ValueError, match="runs past"):
        value_end(b"S" + struct.pack(">I", 5) + b"ab", 0)
    with pytest.raises(ValueError, match="unknown field type"):
        value_end(b"Z\x00", 0)


def _declare_with_table(raw_table: bytes) -> bytes:
    method = commands.Queue.Declare(queue="q", arguments={})
    return encode_method(0, method)[7:-5] + raw_table


def test_tables_nested_deeper_than_python_recursion_cannot_be_decoded() -> None:
    nested = nested_tables(5000)
    with pytest.raises(FrameError, match="cannot decode"):
        decode_method(_declare_with_table(nested))


def test_wire_types_are_read_as_leniently_as_pamqp_reads_the_values() -> None:
    """pamqp cuts a longstr short at the end of the octets: its type is still named, and a
    table whose length runs past the end is printed as pamqp made it (no term)."""
    string_past_end = longstr(shortstr(b"k") + b"S" + struct.pack(">I", 5) + b"ab")
    assert table_types(string_past_end, 0) == {"k": "longstr"}
    table_past_end = longstr(shortstr(b"t") + b"F" + struct.pack(">I", 40) + b"\x01k")
    assert table_terms(table_past_end, 0, {"t": "table"}) == {}


@pytest.mark.parametrize(
    "bad_frame",
    [b"\x01\x00\x01\x00\x00\x00\x04abcdX", b"\x03\x00\x01\x00\x01\x00\x00"],
    ids=["invalid-frame-end", "frame-too-large"],
)
def test_nothing_is_kept_after_a_framing_error(bad_frame: bytes) -> None:
    """Was: every octet after the bad frame stayed buffered (and was copied again on every
    read) until the socket was dropped, as nothing past it can ever be read."""
    reader = FrameReader(4096)
    with pytest.raises(FrameError):
        list(reader.read_commands(bad_frame + b"\x08\x00\x00\x00\x00\x00\x00\xce"))
    assert reader.broken
    for _ in range(3):
        assert list(reader.read_commands(b"\x08\x00\x00\x00\x00\x00\x00\xce" * 1000)) == []
        reader.push(b"x" * 1000)
    assert reader.buffered == 0


def test_a_reader_keeps_an_incomplete_frame() -> None:
    reader = FrameReader(4096)
    assert list(reader.read_commands(b"\x08\x00\x00\x00")) == []
    assert reader.buffered == 4
    assert list(reader.read_commands(b"\x00\x00\x00\xce")) == [(8, 0, b"", b"", b"")]
    assert (reader.buffered, reader.broken) == (0, False)
