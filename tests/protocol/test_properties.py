"""Content-header properties read from raw octets agree with pamqp's decoding of them."""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pamqp import commands, decode, encode
from pamqp.header import ContentHeader

from amqpbroker.protocol import properties as props
from amqpbroker.protocol.properties import (
    DELIVERY_MODE,
    EXPIRATION,
    HEADERS,
    PROPERTY_LAYOUT,
    REPLY_TO,
    MalformedProperties,
    delivery_mode,
    expiration,
    plain_delivery_mode,
    priority,
    property_flags,
    property_spans,
    reply_to,
    span,
    well_formed,
    with_value,
    with_values,
)

# (pamqp leaves an empty string out: see test_empty_short_strings for those)
short_strings = st.text(min_size=1, max_size=40).filter(lambda text: len(text.encode()) <= 255)
octets = st.integers(0, 255)  # the broker reads any octet, valid or not
tables = st.dictionaries(
    st.text(alphabet="abcxyz-_CB", min_size=1, max_size=8),
    st.one_of(short_strings, st.integers(-(2**31), 2**31 - 1), st.booleans()),
    max_size=4,
)
timestamps = st.integers(0, 2**32).map(lambda seconds: datetime.fromtimestamp(seconds, UTC))

# pamqp's attribute name and values for each property, in wire order.
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "content_type": short_strings,
    "content_encoding": short_strings,
    "headers": tables,
    "delivery_mode": octets,
    "priority": octets,
    "correlation_id": short_strings,
    "reply_to": short_strings,
    "expiration": short_strings,
    "message_id": short_strings,
    "timestamp": timestamps,
    "message_type": short_strings,
    "user_id": short_strings,
    "app_id": short_strings,
    "cluster_id": short_strings,
}
BITS = {name: bit for name, (bit, _) in zip(FIELDS, PROPERTY_LAYOUT, strict=True)}


@st.composite
def property_sets(draw: st.DrawFn) -> dict[str, Any]:
    """Any subset of the 14 properties, with values pamqp can encode."""
    return {name: draw(values) for name, values in FIELDS.items() if draw(st.booleans())}


def encoded(values: dict[str, Any], body_size: int = 5) -> bytes:
    """The content header pamqp writes (values set after construction: pamqp's validation
    would refuse delivery modes other than 1 and 2, and a cluster id)."""
    properties = commands.Basic.Properties()
    for name, value in values.items():
        setattr(properties, name, value)
    return ContentHeader(0, body_size, properties).marshal()


def pamqp_decoded(header: bytes) -> commands.Basic.Properties:
    content_header = ContentHeader()
    content_header.unmarshal(header)
    return content_header.properties


def test_the_layout_is_pamqps() -> None:
    assert list(commands.Basic.Properties.flags.items()) == list(BITS.items())  # wire order
    kinds = {"octet": 1, "timestamp": 8, "shortstr": props.SHORT_STRING, "table": props.TABLE}
    pamqp_kinds = [kinds[commands.Basic.Properties.amqp_type(name)] for name in FIELDS]
    assert [kind for _, kind in PROPERTY_LAYOUT] == pamqp_kinds


@given(property_sets())
def test_each_span_holds_the_value_pamqp_decodes(values: dict[str, Any]) -> None:
    header = encoded(values)
    spans = property_spans(header)
    assert list(spans) == [BITS[name] for name in values]
    assert spans == {bit: span(header, bit) for bit in spans}  # with or without a walk
    decoded = pamqp_decoded(header)
    for name in values:
        start, end = spans[BITS[name]]
        assert _value(name, header[start:end]) == getattr(decoded, name)
    assert max((end for _, end in spans.values()), default=14) == len(header)


def _value(name: str, raw: bytes) -> Any:
    kind = commands.Basic.Properties.amqp_type(name)
    if kind == "octet":
        return raw[0]
    if kind == "shortstr":
        return raw[1:].decode()
    consumed, value = {"table": decode.field_table, "timestamp": decode.timestamp}[kind](raw)
    assert consumed == len(raw)
    return value


@given(property_sets(), st.booleans())
def test_the_accessors_read_what_pamqp_decodes(values: dict[str, Any], walked: bool) -> None:
    header = encoded(values)
    if walked:  # as a publish's header is: checked on arrival, then read
        assert well_formed(header)
    decoded = pamqp_decoded(header)
    assert delivery_mode(header) == (decoded.delivery_mode or 0)
    assert priority(header) == decoded.priority
    assert expiration(header) == _octets(decoded.expiration)
    assert reply_to(header) == _octets(decoded.reply_to)
    flags = sum(BITS[name] for name in values)
    assert property_flags(header) == flags
    plain = plain_delivery_mode(header)
    assert plain is None or plain == delivery_mode(header)
    assert (plain is not None) == (flags in (0, DELIVERY_MODE))


def _octets(text: str | None) -> bytes | None:
    return None if text is None else text.encode()


@given(property_sets(), st.binary(min_size=1, max_size=3))
def test_a_whole_header_is_well_formed_and_octets_after_it_are_not(
    values: dict[str, Any], extra: bytes
) -> None:
    """RabbitMQ 3.10 refuses octets after the last property (probed: 541)."""
    assert well_formed(encoded(values))
    assert not well_formed(encoded(values) + extra)


@given(property_sets().filter(bool), st.data())
def test_a_header_cut_short_is_malformed(values: dict[str, Any], data: st.DataObject) -> None:
    header = encoded(values)
    cut = header[: data.draw(st.integers(14, len(header) - 1))]
    assert not well_formed(cut)
    with pytest.raises(MalformedProperties):
        property_spans(cut)


@given(property_sets())
def test_the_continuation_bit_and_the_unused_bit_are_ignored(values: dict[str, Any]) -> None:
    header = encoded(values)
    (flags,) = struct.unpack_from(">H", header, 12)
    for extra_bit in (0x0001, 0x0002):
        flagged = header[:12] + struct.pack(">H", flags | extra_bit) + header[14:]
        assert well_formed(flagged)
        assert property_spans(flagged) == property_spans(header)
    assert property_flags(header[:12] + struct.pack(">H", flags | 3) + header[14:]) == flags


@pytest.mark.parametrize(
    ("flags", "properties"),
    [
        (DELIVERY_MODE, b""),  # announced, missing
        (DELIVERY_MODE | props.TIMESTAMP, b"\x02" + bytes(7)),  # timestamp one octet short
        (props.CONTENT_TYPE, b"\x05text"),  # short string longer than what is left
        (props.CONTENT_TYPE, b""),  # not even its length
        (HEADERS, b"\x00\x00\x00\x09" + bytes(8)),  # table longer than what is left
        (HEADERS, b"\x00\x00\x00"),  # length cut short
    ],
)
def test_announced_properties_that_are_not_there(flags: int, properties: bytes) -> None:
    header = struct.pack(">HHQH", 60, 0, 0, flags) + properties
    assert not well_formed(header)
    with pytest.raises(MalformedProperties):
        property_spans(header)


@pytest.mark.parametrize(
    ("flags", "properties", "expected"),
    [
        (0, b"", 0),
        (0, b"\x02", None),  # octets after no properties: the long way (refused there)
        (DELIVERY_MODE, b"\x02", 2),
        (DELIVERY_MODE, b"\x07", 7),  # (refused later, by the session)
        (DELIVERY_MODE, b"\x02\x00", None),  # one octet too many: read the long way
        (DELIVERY_MODE | 0x0001, b"\x02", None),  # continuation bit
        (0x0001, b"", None),
        (props.PRIORITY, b"\x05", None),
        (DELIVERY_MODE | props.PRIORITY, b"\x02\x05", None),
    ],
)
def test_plain_delivery_mode_reads_only_the_two_commonest_headers(
    flags: int, properties: bytes, expected: int | None
) -> None:
    header = struct.pack(">HHQH", 60, 0, 0, flags) + properties
    assert plain_delivery_mode(header) == expected


def test_empty_short_strings() -> None:
    flags = props.CONTENT_TYPE | DELIVERY_MODE | REPLY_TO | EXPIRATION
    header = struct.pack(">HHQH", 60, 0, 0, flags) + b"\x00" + b"\x02" + b"\x00" + b"\x00"
    assert property_spans(header) == {
        props.CONTENT_TYPE: (14, 15),
        DELIVERY_MODE: (15, 16),
        REPLY_TO: (16, 17),
        EXPIRATION: (17, 18),
    }
    assert (delivery_mode(header), reply_to(header), expiration(header)) == (2, b"", b"")
    assert well_formed(header)
    assert not well_formed(header[:-1])


def test_reads_follow_the_header_asked_about_not_the_last_one_walked() -> None:
    first = encoded({"content_type": "x", "delivery_mode": 2})
    second = encoded({"content_type": "longer", "delivery_mode": 1, "priority": 7})
    assert well_formed(first) and well_formed(second)  # each walked, the second last
    assert (delivery_mode(first), priority(first)) == (2, None)
    assert (delivery_mode(second), priority(second)) == (1, 7)
    shorter = with_value(second, props.CONTENT_TYPE, b"\x01y")
    assert (delivery_mode(shorter), priority(shorter)) == (1, 7)
    assert property_spans(shorter)[DELIVERY_MODE] == (16, 17)


def test_a_header_with_no_properties() -> None:
    header = encoded({})
    assert (well_formed(header), property_spans(header), plain_delivery_mode(header)) == (
        True,
        {},
        0,
    )
    assert (delivery_mode(header), priority(header), expiration(header)) == (0, None, None)


@given(property_sets(), short_strings)
def test_with_value_changes_one_property(values: dict[str, Any], new: str) -> None:
    values.setdefault("reply_to", "r")
    header = encoded(values)
    changed = with_value(header, REPLY_TO, encode.short_string(new))
    assert reply_to(changed) == new.encode()
    assert _decoded_dict(changed) == {**_decoded_dict(header), "reply_to": new}
    assert changed[:14] == header[:14]


@given(property_sets(), tables)
def test_with_values_sets_adds_and_drops(values: dict[str, Any], table: dict[str, Any]) -> None:
    header = encoded(values)
    raw_table = encode.field_table(table)
    changed = with_values(header, property_spans(header), {HEADERS: raw_table}, EXPIRATION)
    expected = {**_decoded_dict(header), "headers": table, "expiration": None}
    assert _decoded_dict(changed) == expected
    assert property_flags(changed) & ~(HEADERS | EXPIRATION) == property_flags(header) & ~(
        HEADERS | EXPIRATION
    )


def _decoded_dict(header: bytes) -> dict[str, Any]:
    decoded = pamqp_decoded(header)
    return {name: getattr(decoded, name) for name in FIELDS}


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (b"", True),
        (b"\x01aI\x00\x00\x00\x01", True),
        (b"\x01aZ", False),  # a type RabbitMQ does not parse
        (b"\x01aI\x00\x00", False),  # a value cut short
        (b"\x01aF\x00\x00\x00\x03\x01bZ", False),  # ... or bad, a table deeper
    ],
)
def test_the_headers_table_is_checked_as_rabbitmq_parses_it(table: bytes, expected: bool) -> None:
    header = struct.pack(">HHQH", 60, 0, 0, HEADERS | DELIVERY_MODE)
    header += struct.pack(">I", len(table)) + table + b"\x02"
    assert well_formed(header) is expected
    assert delivery_mode(header) == 2  # the walk that found the table was kept either way
