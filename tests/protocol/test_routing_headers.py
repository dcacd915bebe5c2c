"""CC and BCC read from a content header's octets: keys, BCC removal, unacceptable types."""

from __future__ import annotations

import struct

import pytest
from pamqp import commands
from pamqp.header import ContentHeader

from amqpbroker.protocol.routing_headers import UnacceptableType, sender_selected


def header_with(table: bytes, content_type: str = "text/plain") -> bytes:
    """A content header with content-type and a raw headers table (flags 0xA000)."""
    raw_type = content_type.encode()
    props = bytes((len(raw_type),)) + raw_type + table
    return struct.pack(">HHQH", 60, 0, 1, 0xA000) + props


def raw_table(*entries: bytes) -> bytes:
    body = b"".join(entries)
    return struct.pack(">I", len(body)) + body


def entry(key: str, typed_value: bytes) -> bytes:
    return bytes((len(key),)) + key.encode() + typed_value


def array(*typed_values: bytes) -> bytes:
    body = b"".join(typed_values)
    return b"A" + struct.pack(">I", len(body)) + body


def longstr(text: str) -> bytes:
    return b"S" + struct.pack(">I", len(text)) + text.encode()


def test_keys_are_the_longstr_elements_of_cc_then_bcc():
    header = header_with(
        raw_table(
            entry("BCC", array(longstr("b1"), b"I\x00\x00\x00\x05")),
            entry("CC", array(b"x\x00\x00\x00\x02c0", longstr("c1"), b"V", longstr("c2"))),
        )
    )
    keys, _ = sender_selected(header)
    assert keys == ("c1", "c2", "b1")


def test_bcc_is_cut_out_and_the_rest_keeps_its_octets():
    a, cc, z = entry("a", b"s\x00\x01"), entry("CC", array(longstr("c"))), entry("z", b"t\x01")
    header = header_with(raw_table(a, entry("BCC", array(longstr("b"))), cc, z))
    keys, stripped = sender_selected(header)
    assert keys == ("c", "b")
    assert stripped == header_with(raw_table(a, cc, z))


def test_without_bcc_the_header_is_the_same_object():
    header = header_with(raw_table(entry("CC", array())))
    assert sender_selected(header) == ((), header)
    assert sender_selected(header)[1] is header


@pytest.mark.parametrize(
    ("typed_value", "type_name"),
    [
        (longstr("k"), "longstr"),
        (b"x\x00\x00\x00\x01k", "binary"),
        (b"I\x00\x00\x00\x05", "signedint"),
        (b"V", "void"),
        (b"F\x00\x00\x00\x00", "table"),
        (b"t\x01", "bool"),
    ],
)
@pytest.mark.parametrize("name", ["CC", "BCC"])
def test_anything_but_an_array_is_unacceptable(name, typed_value, type_name):
    with pytest.raises(UnacceptableType) as info:
        sender_selected(header_with(raw_table(entry(name, typed_value))))
    assert (info.value.header, info.value.type_name) == (name, type_name)


def test_cc_is_checked_before_bcc():
    table = raw_table(entry("BCC", b"V"), entry("CC", b"t\x00"))
    with pytest.raises(UnacceptableType) as info:
        sender_selected(header_with(table))
    assert info.value.header == "CC"


def test_a_header_without_headers_has_no_keys():
    header = ContentHeader(0, 1, commands.Basic.Properties(content_type="x")).marshal()
    assert sender_selected(header) == ((), header)
