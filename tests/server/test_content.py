"""Message content: bodies (empty, frame-sized, split, 1 MiB) and the 14 basic properties.

Through pika and aio-pika the content must round-trip intact; through raw sockets the body frames
must be split at the negotiated frame_max (a body frame carries at most frame_max - 8 bytes) and a
content header with every property and a headers table holding every AMQP field type must be
delivered byte for byte as published. Also the 406 errors RabbitMQ 3.10 raises for a user_id that
is not the connection's user and for an invalid expiration.
"""

from __future__ import annotations

import asyncio
import datetime
import struct
from collections.abc import Callable, Iterator

import aio_pika
import pika
import pika.exceptions
import pytest
from pamqp import commands
from rawamqp import RawAMQP

ONE_MIB = bytes(range(256)) * 4096


@pytest.fixture
def ch(broker_url: str) -> Iterator:
    c = pika.BlockingConnection(pika.URLParameters(broker_url))
    channel = c.channel()
    channel.confirm_delivery()
    yield channel
    if c.is_open:
        c.close()


@pytest.fixture
def queue(ch, unique: Callable[[str], str]) -> str:
    return ch.queue_declare(unique("q"), exclusive=True).method.queue


def roundtrip(ch, queue: str, body: bytes, props: pika.BasicProperties | None = None):
    ch.basic_publish("", queue, body, props)
    method, got_props, got_body = ch.basic_get(queue, auto_ack=True)
    assert method is not None
    return got_props, got_body


ALL_PIKA_PROPERTIES = {
    "content_type": "application/json",
    "content_encoding": "gzip",
    "headers": {"str": "v", "int": 7, "bool": True, "nested": {"a": 1}, "list": [1, "x"]},
    "delivery_mode": 2,
    "priority": 5,
    "correlation_id": "corr-1",
    "reply_to": "reply-queue",
    "expiration": "60000",
    "message_id": "msg-1",
    "timestamp": 1700000000,
    "type": "order.created",
    "user_id": "guest",
    "app_id": "test-app",
    "cluster_id": "cluster-1",
}


# -- bodies through clients ------------------------------------------------------------------------
def test_empty_body_roundtrips_pika(ch, queue):
    _props, body = roundtrip(ch, queue, b"")
    assert body == b""


def test_one_mib_body_roundtrips_pika(ch, queue):
    _props, body = roundtrip(ch, queue, ONE_MIB)
    assert len(body) == len(ONE_MIB) and body == ONE_MIB


def test_large_body_delivered_to_consumer_pika(ch, queue):
    ch.basic_publish("", queue, ONE_MIB)
    for _method, _props, body in ch.consume(queue, auto_ack=True, inactivity_timeout=5):
        assert body == ONE_MIB
        break
    ch.cancel()


async def test_empty_and_one_mib_bodies_roundtrip_aio_pika(broker_url, unique):
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(unique("q"), exclusive=True)
        for body in (b"", ONE_MIB):
            await channel.default_exchange.publish(aio_pika.Message(body), routing_key=queue.name)
        inbox: asyncio.Queue = asyncio.Queue()
        await queue.consume(inbox.put, no_ack=True)
        first = await asyncio.wait_for(inbox.get(), 5)
        second = await asyncio.wait_for(inbox.get(), 5)
        assert (first.body, first.body_size) == (b"", 0)
        assert (second.body == ONE_MIB, second.body_size) == (True, len(ONE_MIB))


# -- properties through clients --------------------------------------------------------------------
def test_all_14_properties_roundtrip_pika(ch, queue):
    props, body = roundtrip(ch, queue, b"p", pika.BasicProperties(**ALL_PIKA_PROPERTIES))
    assert body == b"p"
    assert {k: getattr(props, k) for k in ALL_PIKA_PROPERTIES} == ALL_PIKA_PROPERTIES


def test_unset_properties_stay_unset_pika(ch, queue):
    props, _ = roundtrip(ch, queue, b"p", pika.BasicProperties(message_id="only"))
    assert props.message_id == "only"
    assert all(getattr(props, k) is None for k in ALL_PIKA_PROPERTIES if k != "message_id")


async def test_all_14_properties_roundtrip_aio_pika(broker_url, unique):
    sent = {
        "content_type": "text/plain",
        "content_encoding": "utf-8",
        "headers": {"h": "v", "n": 42},
        "delivery_mode": aio_pika.DeliveryMode.PERSISTENT,
        "priority": 3,
        "correlation_id": "corr",
        "reply_to": "rq",
        "expiration": 30,  # seconds; sent as "30000"
        "message_id": "mid",
        "timestamp": datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=datetime.UTC),
        "type": "t",
        "user_id": "guest",
        "app_id": "app",
    }
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(unique("q"), exclusive=True)
        await channel.default_exchange.publish(
            aio_pika.Message(b"p", **sent), routing_key=queue.name
        )
        msg = await queue.get(no_ack=True)
    assert msg.properties.expiration == "30000"
    got = {k: getattr(msg, k) for k in sent if k != "expiration"}
    expected = {k: v for k, v in sent.items() if k != "expiration"}
    assert got == expected


def test_user_id_of_other_user_is_406(ch, queue):
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch.basic_publish("", queue, b"x", pika.BasicProperties(user_id="bob"))
    assert (info.value.reply_code, info.value.reply_text) == (
        406,
        "PRECONDITION_FAILED - user_id property set to 'bob' but authenticated user was 'guest'",
    )


@pytest.mark.parametrize(
    ("expiration", "reason"),
    [("abc", "no_integer"), ("-5", "{value_negative,-5}")],
)
def test_invalid_expiration_is_406(ch, queue, expiration, reason):
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch.basic_publish("", queue, b"x", pika.BasicProperties(expiration=expiration))
    assert (info.value.reply_code, info.value.reply_text) == (
        406,
        f"PRECONDITION_FAILED - invalid expiration '{expiration}': {reason}",
    )


# -- raw: frames and bytes -------------------------------------------------------------------------
def _shortstr(s: str) -> bytes:
    raw = s.encode()
    return struct.pack(">B", len(raw)) + raw


def _longstr(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def _field(name: str, tag: bytes, value: bytes) -> bytes:
    return _shortstr(name) + tag + value


def every_field_type_table() -> bytes:
    """A hand-packed field table (with its length prefix) using all of t b B s u I i l f d D S A
    T F V x."""
    nested = _field("k", b"S", _longstr(b"v"))
    array = b"I" + struct.pack(">i", -5) + b"S" + _longstr(b"x") + b"t\x01" + b"V"
    fields = b"".join(
        [
            _field("t", b"t", b"\x01"),
            _field("b", b"b", struct.pack(">b", -7)),
            _field("B", b"B", struct.pack(">B", 250)),
            _field("s", b"s", struct.pack(">h", -300)),
            _field("u", b"u", struct.pack(">H", 65000)),
            _field("I", b"I", struct.pack(">i", -70000)),
            _field("i", b"i", struct.pack(">I", 4000000000)),
            _field("l", b"l", struct.pack(">q", -(2**40))),
            _field("f", b"f", struct.pack(">f", 1.5)),
            _field("d", b"d", struct.pack(">d", -2.25)),
            _field("D", b"D", struct.pack(">Bi", 2, 12345)),
            _field("S", b"S", _longstr("héllo".encode())),
            _field("A", b"A", _longstr(array)),
            _field("T", b"T", struct.pack(">Q", 1700000000)),
            _field("F", b"F", _longstr(nested)),
            _field("V", b"V", b""),
            _field("x", b"x", _longstr(b"\x00\x01\xff")),
        ]
    )
    return _longstr(fields)


def all_properties_bytes() -> tuple[int, bytes]:
    """(flags, property list) for all 14 basic properties, headers holding every field type."""
    props = b"".join(
        [
            _shortstr("application/octet-stream"),  # content-type
            _shortstr("identity"),  # content-encoding
            every_field_type_table(),  # headers
            b"\x02",  # delivery-mode
            b"\x09",  # priority
            _shortstr("corr"),  # correlation-id
            _shortstr("replies"),  # reply-to
            _shortstr("60000"),  # expiration
            _shortstr("mid"),  # message-id
            struct.pack(">Q", 1700000000),  # timestamp
            _shortstr("kind"),  # type
            _shortstr("guest"),  # user-id
            _shortstr("app"),  # app-id
            _shortstr("cluster"),  # cluster-id (reserved)
        ]
    )
    return 0xFFFC, props


def _raw_queue(c: RawAMQP) -> str:
    c.send_method(1, commands.Queue.Declare(queue="", exclusive=True))
    _, ok = c.expect_method(commands.Queue.DeclareOk)
    return ok.queue


def _publish_raw_header(c: RawAMQP, queue: str, header: bytes, body: bytes) -> None:
    c.send_method(1, commands.Basic.Publish(exchange="", routing_key=queue))
    c.send_frame(2, 1, header)
    c.send_frame(3, 1, body)


def _deliver_frames(c: RawAMQP, queue: str) -> list[tuple[int, int, bytes]]:
    """Consume one message (no-ack); the raw frames after basic.deliver, up to the full body."""
    c.send_method(1, commands.Basic.Consume(queue=queue, consumer_tag="raw", no_ack=True))
    c.expect_method(commands.Basic.ConsumeOk)
    c.expect_method(commands.Basic.Deliver)
    header = c.recv_raw_frame()
    assert header[0] == 2
    (body_size,) = struct.unpack(">Q", header[2][4:12])
    frames = [header]
    received = 0
    while received < body_size:
        frames.append(c.recv_raw_frame())
        assert frames[-1][0] == 3
        received += len(frames[-1][2])
    return frames


def test_raw_every_field_type_header_table_delivered_byte_for_byte(broker):
    body = b"payload"
    header = RawAMQP.header_payload(len(body), flags=0x2000, props=every_field_type_table())
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        q = _raw_queue(c)
        _publish_raw_header(c, q, header, body)
        frames = _deliver_frames(c, q)
    assert frames == [(2, 1, header), (3, 1, body)]


def test_raw_all_14_properties_delivered_byte_for_byte(broker):
    body = b"payload"
    flags, props = all_properties_bytes()
    header = RawAMQP.header_payload(len(body), flags=flags, props=props)
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        q = _raw_queue(c)
        _publish_raw_header(c, q, header, body)
        frames = _deliver_frames(c, q)
    assert frames == [(2, 1, header), (3, 1, body)]


def test_raw_every_field_type_header_table_decodes_in_pika(broker, ch, queue):
    header = RawAMQP.header_payload(1, flags=0x2000, props=every_field_type_table())
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        c.send_method(1, commands.Confirm.Select())
        c.expect_method(commands.Confirm.SelectOk)
        _publish_raw_header(c, queue, header, b"x")
        c.expect_method(commands.Basic.Ack)
    _method, props, _body = ch.basic_get(queue, auto_ack=True)
    h = props.headers
    assert (h["t"], h["b"], h["s"], h["I"], h["l"], h["S"]) == (
        True,
        -7,
        -300,
        -70000,
        -(2**40),
        "héllo",
    )
    assert (h["F"], h["V"], h["x"]) == ({"k": "v"}, None, b"\x00\x01\xff")


def test_raw_empty_body_has_header_and_no_body_frame(broker):
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        q = _raw_queue(c)
        c.publish(1, "", q, b"")
        c.send_method(1, commands.Basic.Consume(queue=q, consumer_tag="e", no_ack=True))
        c.expect_method(commands.Basic.ConsumeOk)
        c.expect_method(commands.Basic.Deliver)
        assert c.recv_raw_frame() == (2, 1, RawAMQP.header_payload(0))
        c.send_method(1, commands.Basic.Qos(prefetch_count=1))
        _, next_frame = c.recv_frame()
        assert type(next_frame) is commands.Basic.QosOk


@pytest.mark.parametrize(("extra", "sizes"), [(0, "one"), (1, "two")])
def test_raw_body_of_frame_max_minus_8_fits_one_frame(broker, extra, sizes):
    with RawAMQP.connect(broker.host, broker.port) as c:
        limit = c.frame_max - 8
        body = bytes(i % 251 for i in range(limit + extra))
        c.open_channel(1)
        q = _raw_queue(c)
        c.send_method(1, commands.Basic.Publish(exchange="", routing_key=q))
        c.send_frame(2, 1, RawAMQP.header_payload(len(body)))
        for i in range(0, len(body), limit):
            c.send_frame(3, 1, body[i : i + limit])
        frames = _deliver_frames(c, q)
    body_frames = [payload for _t, _ch, payload in frames[1:]]
    expected = [limit] if sizes == "one" else [limit, 1]
    assert [len(p) for p in body_frames] == expected
    assert b"".join(body_frames) == body


def test_raw_body_split_at_small_negotiated_frame_max(broker):
    body = bytes(i % 253 for i in range(10_000))
    with RawAMQP.connect(broker.host, broker.port, frame_max=4096) as c:
        c.open_channel(1)
        q = _raw_queue(c)
        c.send_method(1, commands.Basic.Publish(exchange="", routing_key=q))
        c.send_frame(2, 1, RawAMQP.header_payload(len(body)))
        for i in range(0, len(body), 4088):
            c.send_frame(3, 1, body[i : i + 4088])
        frames = _deliver_frames(c, q)
    assert [len(p) for _t, _ch, p in frames[1:]] == [4088, 4088, 1824]
    assert b"".join(p for _t, _ch, p in frames[1:]) == body


def test_raw_many_small_body_frames_are_reassembled(broker):
    body = bytes(range(200))
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        q = _raw_queue(c)
        c.send_method(1, commands.Basic.Publish(exchange="", routing_key=q))
        c.send_frame(2, 1, RawAMQP.header_payload(len(body)))
        for i in range(0, len(body), 7):
            c.send_frame(3, 1, body[i : i + 7])
        frames = _deliver_frames(c, q)
    assert frames == [(2, 1, RawAMQP.header_payload(len(body))), (3, 1, body)]


def test_raw_one_mib_body_arrives_intact(broker):
    with RawAMQP.connect(broker.host, broker.port) as c:
        limit = c.frame_max - 8
        c.open_channel(1)
        q = _raw_queue(c)
        c.send_method(1, commands.Basic.Publish(exchange="", routing_key=q))
        c.send_frame(2, 1, RawAMQP.header_payload(len(ONE_MIB)))
        for i in range(0, len(ONE_MIB), limit):
            c.send_frame(3, 1, ONE_MIB[i : i + limit])
        frames = _deliver_frames(c, q)
    sizes = [len(p) for _t, _ch, p in frames[1:]]
    assert all(s == limit for s in sizes[:-1]) and 0 < sizes[-1] <= limit
    assert b"".join(p for _t, _ch, p in frames[1:]) == ONE_MIB
