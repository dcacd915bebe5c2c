"""x-delivery-count in a raw content header: set as a long, the table sorted, every other
property byte kept (the expected octets are RabbitMQ 3.10's, seen in the differential suite)."""

from __future__ import annotations

import struct

from pamqp import commands
from pamqp.header import ContentHeader

from amqpbroker.protocol.delivery_count import with_delivery_count


def header(**properties: object) -> bytes:
    return ContentHeader(0, 5, commands.Basic.Properties(**properties)).marshal()


def table(*entries: bytes) -> bytes:
    body = b"".join(entries)
    return struct.pack(">I", len(body)) + body


def entry(key: str, typed: bytes) -> bytes:
    return bytes((len(key),)) + key.encode() + typed


COUNT_1 = entry("x-delivery-count", b"l" + struct.pack(">q", 1))


def test_a_header_without_properties_gains_a_headers_table() -> None:
    got = with_delivery_count(header(), 1)
    assert got == header()[:12] + b"\x20\x00" + table(COUNT_1)


def test_the_table_goes_in_its_place_among_the_other_properties() -> None:
    original = header(content_type="text/plain", message_id="mid", app_id="app")
    got = with_delivery_count(original, 1)
    expected = (
        original[:12]
        + struct.pack(">H", 0x8000 | 0x2000 | 0x0080 | 0x0008)
        + b"\x0atext/plain"
        + table(COUNT_1)
        + b"\x03mid"
        + b"\x03app"
    )
    assert got == expected


def test_the_publishers_count_is_replaced_and_the_table_sorted() -> None:
    raw_table = table(
        entry("zz", b"I" + struct.pack(">i", 1)),
        entry("x-delivery-count", b"I" + struct.pack(">i", 99)),
        entry("aa", b"S\x00\x00\x00\x04text"),
    )
    original = header()[:12] + b"\x20\x00" + raw_table
    got = with_delivery_count(original, 1)
    expected_table = table(
        entry("aa", b"S\x00\x00\x00\x04text"),
        COUNT_1,
        entry("zz", b"I" + struct.pack(">i", 1)),
    )
    assert got == header()[:12] + b"\x20\x00" + expected_table


def test_an_undecodable_table_is_forwarded_as_it_came() -> None:
    original = header()[:12] + b"\x20\x00" + table(entry("k", b"Z\x00"))
    assert with_delivery_count(original, 3) is original
