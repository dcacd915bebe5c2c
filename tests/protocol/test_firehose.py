"""A firehose copy's content header (``protocol/firehose.py``): rabbit_trace's fields, their
AMQP types and order, read back with pamqp."""

from __future__ import annotations

import datetime
import struct

from pamqp import commands
from pamqp.header import ContentHeader

from amqpbroker.protocol.firehose import properties_table, signedint, trace_header


def _header(**properties: object) -> bytes:
    return ContentHeader(0, 5, commands.Basic.Properties(**properties)).marshal()


def _decoded(header: bytes) -> commands.Basic.Properties:
    content = ContentHeader()
    content.unmarshal(header)
    return content.properties


def _table_types(table: bytes) -> list[str]:
    """'name:type' of each entry of an encoded table (F + length + entries)."""
    out, pos, end = [], 5, 5 + struct.unpack(">I", table[1:5])[0]
    while pos < end:
        size = table[pos]
        name = table[pos + 1 : pos + 1 + size].decode()
        kind = chr(table[pos + 1 + size])
        out.append(f"{name}:{kind}")
        pos += 2 + size
        if kind in "SFA":
            pos += 4 + struct.unpack(">I", table[pos : pos + 4])[0]
        else:
            pos += {"I": 4, "t": 1}[kind]
    return out


def test_properties_come_last_first_with_rabbitmqs_types():
    header = _header(
        content_type="text/plain",
        headers={"a": 1},
        delivery_mode=2,
        priority=3,
        timestamp=datetime.datetime.fromtimestamp(1_700_000_000, datetime.UTC),
        app_id="app",
    )
    assert _table_types(properties_table(header)) == [
        "app_id:S",
        "timestamp:I",
        "priority:I",
        "delivery_mode:I",
        "headers:F",
        "content_type:S",
    ]


def test_the_copy_has_only_headers_in_rabbit_traces_order():
    header = trace_header(
        exchange="x",
        routing_keys=["k", "cc"],
        header=_header(message_id="m1"),
        node="amqpbroker@host",
        extra=[("vhost", "/"), ("channel", 1), ("routed_queues", ["q1", "q2"])],
        body_size=5,
    )
    properties = _decoded(header)
    assert properties.delivery_mode is None and properties.message_id is None
    assert properties.headers == {
        "exchange_name": "x",
        "routing_keys": ["k", "cc"],
        "properties": {"message_id": "m1"},
        "node": "amqpbroker@host",
        "vhost": "/",
        "channel": 1,
        "routed_queues": ["q1", "q2"],
    }
    assert struct.unpack(">Q", header[4:12])[0] == 5


def test_signedint_keeps_the_low_32_bits_as_erlang_does():
    assert signedint(1) == b"I\x00\x00\x00\x01"
    assert signedint(2**31) == b"I\x80\x00\x00\x00"
    assert signedint(2**32 + 7) == b"I\x00\x00\x00\x07"


def test_a_header_short_of_its_properties_gives_an_empty_table():
    truncated = _header(message_id="m1")[:-1]
    assert properties_table(truncated) == b"F\x00\x00\x00\x00"
