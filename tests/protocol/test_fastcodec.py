"""The hand-written hot-path codec must produce exactly the bytes pamqp produces."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pamqp import commands, frame
from pamqp.body import ContentBody
from pamqp.header import ContentHeader

from amqpbroker.core.message import routing_bytes
from amqpbroker.errors import FrameError
from amqpbroker.protocol.fastcodec import (
    Publish,
    content_header_fields,
    decode_publish,
    encode_confirm,
    encode_deliver,
    encode_get_ok,
    encode_return,
    short_str,
)
from amqpbroker.protocol.framing import FRAME_BODY, FrameReader

# Names pamqp's marshal() accepts (RabbitMQ accepts more; see test_methods.py).
names = st.text(alphabet="abcXYZ019-_.:@#,/+ ", max_size=127)
routing_keys = st.text(max_size=60).filter(lambda key: len(key.encode()) <= 255)
tags = st.text(max_size=80).filter(lambda tag: len(tag.encode()) <= 255)
delivery_tags = st.integers(0, 2**63 - 1)  # pamqp encodes longlong signed
channels = st.integers(1, 65535)
bodies = st.binary(max_size=600)
max_bodies = st.integers(1, 256)


def pamqp_frames(channel: int, method, body: bytes, max_body: int, properties=None) -> bytes:
    """What pamqp.frame.marshal produces for method + content header + body frames."""
    header = ContentHeader(0, len(body), properties or commands.Basic.Properties())
    parts = [frame.marshal(method, channel), frame.marshal(header, channel)]
    for start in range(0, len(body), max_body):
        parts.append(frame.marshal(ContentBody(body[start : start + max_body]), channel))
    return b"".join(parts)


def header_bytes(body: bytes, **properties) -> bytes:
    return ContentHeader(0, len(body), commands.Basic.Properties(**properties)).marshal()


def method_payload(method) -> bytes:
    return frame.marshal(method, 1)[7:-1]


@given(exchange=names, routing_key=routing_keys, mandatory=st.booleans(), immediate=st.booleans())
def test_decode_publish_matches_pamqp(exchange, routing_key, mandatory, immediate):
    method = commands.Basic.Publish(
        exchange=exchange, routing_key=routing_key, mandatory=mandatory, immediate=immediate
    )
    decoded = decode_publish(method_payload(method))
    assert decoded == Publish(
        exchange, routing_key, mandatory, immediate, routing_bytes(exchange, routing_key)
    )


def test_decode_publish_accepts_names_pamqp_rejects():
    payload = b"\x00\x3c\x00\x28\x00\x00" + short_str("logs!") + short_str("a.b") + b"\x01"
    assert decode_publish(payload) == Publish("logs!", "a.b", True, False, b"\x05logs!\x03a.b")


@pytest.mark.parametrize(
    "arguments",
    [
        b"\x00\x00",  # ticket only
        b"\x00\x00\x03ex",  # exchange cut short
        b"\x00\x00\x02ex",  # no routing key
        b"\x00\x00\x02ex\x02rk",  # no bits
    ],
)
def test_truncated_publish_is_frame_error(arguments):
    with pytest.raises(FrameError) as error:
        decode_publish(b"\x00\x3c\x00\x28" + arguments)
    numbers = ",".join(str(octet) for octet in arguments)
    assert error.value.message == f"cannot decode <<{numbers}>>"
    assert (error.value.class_id, error.value.method_id) == (60, 40)


@given(
    channel=channels,
    consumer_tag=tags,
    delivery_tag=delivery_tags,
    redelivered=st.booleans(),
    exchange=names,
    routing_key=routing_keys,
    body=bodies,
    max_body=max_bodies,
)
def test_encode_deliver_matches_pamqp(
    channel, consumer_tag, delivery_tag, redelivered, exchange, routing_key, body, max_body
):
    method = commands.Basic.Deliver(consumer_tag, delivery_tag, redelivered, exchange, routing_key)
    wire = encode_deliver(
        channel,
        short_str(consumer_tag),
        delivery_tag,
        redelivered,
        routing_bytes(exchange, routing_key),
        header_bytes(body),
        body,
        max_body,
    )
    assert wire == pamqp_frames(channel, method, body, max_body)


@given(
    channel=channels,
    delivery_tag=delivery_tags,
    redelivered=st.booleans(),
    exchange=names,
    routing_key=routing_keys,
    message_count=st.integers(0, 2**32 - 1),
    body=bodies,
    max_body=max_bodies,
)
def test_encode_get_ok_matches_pamqp(
    channel, delivery_tag, redelivered, exchange, routing_key, message_count, body, max_body
):
    method = commands.Basic.GetOk(delivery_tag, redelivered, exchange, routing_key, message_count)
    wire = encode_get_ok(
        channel,
        delivery_tag,
        redelivered,
        routing_bytes(exchange, routing_key),
        message_count,
        header_bytes(body),
        body,
        max_body,
    )
    assert wire == pamqp_frames(channel, method, body, max_body)


@given(
    channel=channels,
    reply_code=st.sampled_from([312, 313]),
    reply_text=st.sampled_from(["NO_ROUTE", "NO_CONSUMERS"]),
    exchange=names,
    routing_key=routing_keys,
    body=bodies,
    max_body=max_bodies,
)
def test_encode_return_matches_pamqp(
    channel, reply_code, reply_text, exchange, routing_key, body, max_body
):
    method = commands.Basic.Return(reply_code, reply_text, exchange, routing_key)
    wire = encode_return(
        channel,
        reply_code,
        reply_text,
        routing_bytes(exchange, routing_key),
        header_bytes(body),
        body,
        max_body,
    )
    assert wire == pamqp_frames(channel, method, body, max_body)


@given(channel=channels, delivery_tag=delivery_tags, multiple=st.booleans())
def test_encode_confirm_ack_matches_pamqp(channel, delivery_tag, multiple):
    expected = frame.marshal(commands.Basic.Ack(delivery_tag, multiple), channel)
    assert encode_confirm(channel, delivery_tag, multiple) == expected


@given(channel=channels, delivery_tag=delivery_tags, multiple=st.booleans())
def test_encode_confirm_nack_matches_pamqp(channel, delivery_tag, multiple):
    # requeue is set, as RabbitMQ sends its publisher nacks
    expected = frame.marshal(commands.Basic.Nack(delivery_tag, multiple, requeue=True), channel)
    assert encode_confirm(channel, delivery_tag, multiple, ack=False) == expected


def test_client_properties_are_forwarded_unchanged():
    body = b"payload"
    header = header_bytes(
        body,
        content_type="application/json",
        delivery_mode=2,
        headers={"x-double": 1.5, "big": 2**40, "nested": {"k": "v"}},
    )
    wire = encode_deliver(1, short_str("ctag"), 1, False, routing_bytes("", "q"), header, body, 100)
    frames = list(FrameReader().feed(wire))
    assert frames[1][2] == header


def body_frame_sizes(wire: bytes) -> list[int]:
    return [
        len(payload) for kind, _, payload in FrameReader(1 << 20).feed(wire) if kind == FRAME_BODY
    ]


@pytest.mark.parametrize(
    ("size", "max_body", "expected"),
    [
        (0, 10, []),
        (1, 10, [1]),
        (10, 10, [10]),
        (11, 10, [10, 1]),
        (20, 10, [10, 10]),
        (25, 10, [10, 10, 5]),
        (131072, 131064, [131064, 8]),
    ],
)
def test_body_split_at_max_body(size, max_body, expected):
    body = bytes(index % 251 for index in range(size))
    wire = encode_deliver(
        3, short_str("t"), 1, False, routing_bytes("x", "k"), header_bytes(body), body, max_body
    )
    assert body_frame_sizes(wire) == expected
    joined = b"".join(p for kind, _, p in FrameReader(1 << 20).feed(wire) if kind == FRAME_BODY)
    assert joined == body


def test_empty_body_sends_method_and_header_only():
    wire = encode_get_ok(5, 1, False, routing_bytes("", "q"), 0, header_bytes(b""), b"", 4088)
    assert [kind for kind, _, _ in FrameReader().feed(wire)] == [1, 2]


def test_content_header_fields():
    assert content_header_fields(header_bytes(b"x" * 1234, delivery_mode=2)) == (60, 0, 1234)
    assert content_header_fields(
        b"\x00\x14\x00\x00" + (2**40).to_bytes(8, "big") + b"\x00\x00"
    ) == (20, 0, 2**40)


def test_short_content_header_is_frame_error():
    with pytest.raises(FrameError) as error:
        content_header_fields(b"\x00\x3c\x00\x00\x00")
    assert error.value.message == "type 2, all octets = <<0,60,0,0,0>>: unknown_frame"


def test_short_str_limits():
    assert short_str("") == b"\x00"
    assert short_str("é") == b"\x02\xc3\xa9"
    assert len(short_str("x" * 255)) == 256
    with pytest.raises(ValueError, match="longer than 255"):
        short_str("x" * 256)
