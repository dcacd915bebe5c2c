"""Hand-written codec for the hot methods: Basic.Publish in; Deliver, GetOk, Return, Ack, Nack out.

pamqp costs ~13 µs to decode a publish and ~12 µs to encode a delivery; these precompiled
structs do it in about 1 µs.  The routing part of a publish (exchange + routing key, two
contiguous short strings) is kept as raw bytes and copied into deliveries unchanged, and the
content header travels as the client's raw bytes, so client properties are never re-encoded.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from amqpbroker.errors import FrameError

from .erlang import binary, frame_octets
from .framing import (
    FRAME_BODY,
    FRAME_END_BYTE,
    FRAME_HEADER,
    FRAME_HEADER_STRUCT,
    FRAME_METHOD,
    METHOD_HEAD_STRUCT,
)
from .ids import (
    ACK_INDEX,
    DELIVER_INDEX,
    GET_OK_INDEX,
    NACK_INDEX,
    PUBLISH_IDS,
    RETURN_INDEX,
    prefix,
)

_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")
_PUBLISH_HEAD = struct.Struct(">IHB")  # method index, ticket, exchange length
_CONTENT_HEADER = struct.Struct(">HHQ")  # class id, weight, body size
_GET_OK_PREFIX = prefix(GET_OK_INDEX)
_RETURN_PREFIX = prefix(RETURN_INDEX)
_TAG_AND_BIT = struct.Struct(">QB")
_ACK = struct.Struct(">BHIIQB")  # whole frame but the end octet
ACK_PREFIX = prefix(ACK_INDEX)
# basic.ack, nack and reject: method index, delivery tag, bits (13 octets, all three)
SETTLEMENT = struct.Struct(">IQB")
_SHORT_STR_MAX = 255


class Publish(NamedTuple):
    """A decoded Basic.Publish: names as str, plus the raw routing bytes for deliveries
    (``Message.routing``: exchange and routing key as the short strings they came as)."""

    exchange: str
    routing_key: str
    mandatory: bool
    immediate: bool
    routing: bytes


def short_str(value: str) -> bytes:
    """A length-prefixed AMQP short string."""
    raw = value.encode("utf-8", "surrogateescape")
    if len(raw) > _SHORT_STR_MAX:
        raise ValueError("short string longer than 255 bytes")
    return bytes((len(raw),)) + raw


def decode_publish(payload: bytes) -> Publish:
    """Decode a Basic.Publish method payload (the method index already checked)."""
    try:
        _, _, ex_len = _PUBLISH_HEAD.unpack_from(payload)
        ex_end = 7 + ex_len
        rk_len = payload[ex_end]
        rk_end = ex_end + 1 + rk_len
        bits = payload[rk_end]
    except (struct.error, IndexError):
        raise FrameError(
            f"cannot decode {binary(payload[4:], as_numbers=True)}", *PUBLISH_IDS
        ) from None
    # RabbitMQ does not check publish names for UTF-8; keep any octets round-trippable.
    exchange = payload[7:ex_end].decode("utf-8", "surrogateescape")
    routing_key = payload[ex_end + 1 : rk_end].decode("utf-8", "surrogateescape")
    return Publish(exchange, routing_key, bool(bits & 1), bool(bits & 2), payload[6:rk_end])


def content_header_fields(header: bytes) -> tuple[int, int, int]:
    """(class id, weight, body size) of a content header; FrameError when too short."""
    if len(header) < 14:
        raise FrameError(f"type 2, {frame_octets(header)}: unknown_frame")
    class_id, weight, body_size = _CONTENT_HEADER.unpack_from(header)
    return int(class_id), int(weight), int(body_size)


def content_frames(channel: int, header: bytes, body: bytes, max_body: int) -> bytes:
    """The content header frame and the body frames (``max_body`` octets at most each)."""
    pack = FRAME_HEADER_STRUCT.pack
    size = len(body)
    if size <= max_body:
        if not size:
            return pack(FRAME_HEADER, channel, len(header)) + header + FRAME_END_BYTE
        return b"".join(
            (
                pack(FRAME_HEADER, channel, len(header)),
                header,
                FRAME_END_BYTE,
                pack(FRAME_BODY, channel, size),
                body,
                FRAME_END_BYTE,
            )
        )
    parts: list[bytes | memoryview] = [pack(FRAME_HEADER, channel, len(header)), header]
    view = memoryview(body)
    for start in range(0, size, max_body):
        chunk = view[start : start + max_body]
        parts += (FRAME_END_BYTE, pack(FRAME_BODY, channel, len(chunk)), chunk)
    parts.append(FRAME_END_BYTE)
    return b"".join(parts)


def _content_frames(
    channel: int, method_payload: bytes, header: bytes, body: bytes, max_body: int
) -> bytes:
    method = FRAME_HEADER_STRUCT.pack(FRAME_METHOD, channel, len(method_payload))
    content = content_frames(channel, header, body, max_body)
    return b"".join((method, method_payload, FRAME_END_BYTE, content))


def deliver_frame(
    channel: int, consumer_tag: bytes, delivery_tag: int, redelivered: bool, routing: bytes
) -> bytes:
    """The Basic.Deliver method frame; ``consumer_tag`` and ``routing`` are pre-encoded."""
    return b"".join(
        (
            METHOD_HEAD_STRUCT.pack(
                FRAME_METHOD, channel, 13 + len(consumer_tag) + len(routing), DELIVER_INDEX
            ),
            consumer_tag,
            _TAG_AND_BIT.pack(delivery_tag, redelivered),
            routing,
            FRAME_END_BYTE,
        )
    )


def encode_deliver(
    channel: int,
    consumer_tag: bytes,
    delivery_tag: int,
    redelivered: bool,
    routing: bytes,
    header: bytes,
    body: bytes,
    max_body: int,
) -> bytes:
    """Basic.Deliver + content; ``consumer_tag`` and ``routing`` are pre-encoded short strings."""
    method = deliver_frame(channel, consumer_tag, delivery_tag, redelivered, routing)
    return method + content_frames(channel, header, body, max_body)


def encode_get_ok(
    channel: int,
    delivery_tag: int,
    redelivered: bool,
    routing: bytes,
    message_count: int,
    header: bytes,
    body: bytes,
    max_body: int,
) -> bytes:
    """Basic.GetOk + content."""
    payload = (
        _GET_OK_PREFIX
        + _TAG_AND_BIT.pack(delivery_tag, redelivered)
        + routing
        + _U32.pack(message_count)
    )
    return _content_frames(channel, payload, header, body, max_body)


def encode_return(
    channel: int,
    reply_code: int,
    reply_text: str,
    routing: bytes,
    header: bytes,
    body: bytes,
    max_body: int,
) -> bytes:
    """Basic.Return + content."""
    payload = _RETURN_PREFIX + _U16.pack(reply_code) + short_str(reply_text) + routing
    return _content_frames(channel, payload, header, body, max_body)


def encode_confirm(channel: int, delivery_tag: int, multiple: bool, ack: bool = True) -> bytes:
    """Basic.Ack, or Basic.Nack (with RabbitMQ's requeue bit set) for publisher confirms."""
    if ack:
        return _ACK.pack(FRAME_METHOD, channel, 13, ACK_INDEX, delivery_tag, multiple) + (
            FRAME_END_BYTE
        )
    bits = multiple | 2  # requeue=true, as RabbitMQ sends it
    return _ACK.pack(FRAME_METHOD, channel, 13, NACK_INDEX, delivery_tag, bits) + FRAME_END_BYTE


def decode_ack(payload: bytes) -> tuple[int, bool]:
    """(delivery tag, multiple) of a basic.ack payload (13 octets, ``ACK_PREFIX`` checked)."""
    _, delivery_tag, bits = SETTLEMENT.unpack(payload)
    return delivery_tag, bool(bits & 1)
