"""Content in the session layer: bodies of every size and how they are framed, the basic
properties, user_id checking (tests/server/test_content.py asserts the same over sockets)."""

from __future__ import annotations

import struct

import pytest
from pamqp import commands
from pamqp import frame as pframe
from rawframes import BODY, HEADER, assert_connection_closed, frame, hp, publish_method
from sessionutil import got, props

from amqpbroker.testing.harness import ClientChannel

ALL_PROPERTIES = {
    "content_type": "application/json",
    "content_encoding": "gzip",
    "headers": {"str": "v", "int": 7, "bool": True, "nested": {"a": 1}, "list": [1, "x"]},
    "delivery_mode": 2,
    "priority": 5,
    "correlation_id": "corr-1",
    "reply_to": "reply-queue",
    "expiration": "60000",
    "message_id": "msg-1",
    "message_type": "order.created",
    "user_id": "guest",
    "app_id": "test-app",
}  # (pamqp sends no cluster_id: tests/server covers it, through pika)


@pytest.fixture
def q(ch: ClientChannel) -> str:
    return str(ch.declare("", exclusive=True).queue)


def test_all_properties_roundtrip_and_unset_ones_stay_unset(ch, q):
    ch.publish(b"p", q, properties=props(**ALL_PROPERTIES))
    arrived = got(ch, q).properties
    assert {k: getattr(arrived, k) for k in ALL_PROPERTIES} == ALL_PROPERTIES
    ch.publish(b"p", q, properties=props(message_id="only"))
    arrived = got(ch, q).properties
    assert arrived.message_id == "only"
    assert all(getattr(arrived, k) is None for k in ALL_PROPERTIES if k != "message_id")


def test_user_id_of_another_user_is_406(ch, q):
    ch.publish(b"x", q, properties=props(user_id="bob"))
    assert ch.expect_close(406).reply_text == (
        "PRECONDITION_FAILED - user_id property set to 'bob' but authenticated user was 'guest'"
    )


def test_empty_body_has_a_header_and_no_body_frame(ch, q):
    ch.publish(b"", q)
    ch.consume(q, "e", no_ack=True)
    [delivery] = ch.deliveries()
    assert (delivery.body, delivery.body_size, delivery.body_frames) == (b"", 0, [])


@pytest.mark.parametrize(("extra", "frames"), [(0, 1), (1, 2)])
def test_a_body_of_frame_max_minus_8_fits_one_frame(ch, q, extra, frames):
    limit = ch.client.frame_max - 8
    body = bytes(i % 251 for i in range(limit + extra))
    ch.publish(body, q)
    message = got(ch, q)
    assert message.body_frames == [limit, 1][:frames]
    assert message.body == body


def test_bodies_are_split_at_a_small_negotiated_frame_max(broker):
    ch = broker.connect(frame_max=4096).channel()
    ch.declare("q", exclusive=True)
    body = bytes(i % 253 for i in range(10_000))
    ch.publish(body, "q")
    message = got(ch, "q")
    assert (message.body_frames, message.body) == ([4088, 4088, 1824], body)


def test_many_small_body_frames_are_reassembled_into_one(ch, q):
    body = bytes(range(200))
    pieces = [frame(BODY, 1, body[i : i + 7]) for i in range(0, len(body), 7)]
    ch.client.send_bytes(publish_method(1, q) + frame(HEADER, 1, hp(len(body))) + b"".join(pieces))
    ch.expect(commands.Basic.Ack)  # (ch confirms)
    message = got(ch, q)
    assert (message.body_frames, message.body) == ([200], body)


def test_a_one_mib_body_arrives_intact(ch, q):
    body = bytes(i % 256 for i in range(1 << 20))
    limit = ch.client.frame_max - 8
    ch.publish(body, q)
    ch.consume(q, no_ack=True)
    [delivery] = ch.deliveries()
    assert all(size == limit for size in delivery.body_frames[:-1])
    assert 0 < delivery.body_frames[-1] <= limit
    assert delivery.body == body


def test_get_ok_counts_what_is_left(ch, q):
    for i in range(3):
        ch.publish(b"%d" % i, q)
    assert [got(ch, q).method.message_count for _ in range(3)] == [2, 1, 0]
    ch.send(commands.Basic.Get(queue=q))
    assert isinstance(ch.next(), commands.Basic.GetEmpty)


# -- properties RabbitMQ cannot decode (interop: property_decoding.*) ----------------------------

HEADERS_ONLY = 0x2000


def _raw_publish(ch: ClientChannel, exchange: str, flags: int, properties: bytes) -> None:
    method = pframe.marshal(commands.Basic.Publish(exchange=exchange, routing_key="k"), 1)
    header = struct.pack(">HHQH", 60, 0, 1, flags) + properties
    ch.client.send_bytes(method + frame(HEADER, 1, header) + frame(BODY, 1, b"x"))


@pytest.mark.parametrize(
    ("flags", "properties"),
    [
        (HEADERS_ONLY, b"\x00\x00\x00\x03\x01aZ"),  # a type RabbitMQ does not parse
        (HEADERS_ONLY, b"\x00\x00\x00\x00junk"),  # octets after the last property
        (0, b"junk"),  # ... after no properties at all
    ],
)
@pytest.mark.parametrize("exchange", ["", "amq.headers"])
def test_undecodable_properties_close_the_connection_541_naming_no_method(
    ch, flags, properties, exchange
):
    _raw_publish(ch, exchange, flags, properties)
    assert_connection_closed(ch.client, 541, "INTERNAL_ERROR")


def test_a_missing_exchange_is_reported_before_undecodable_properties(ch):
    _raw_publish(ch, "nowhere", HEADERS_ONLY, b"\x00\x00\x00\x03\x01aZ")
    close = ch.expect_close(404)
    assert close.reply_text == "NOT_FOUND - no exchange 'nowhere' in vhost '/'"
    assert not ch.client.closed
