"""Quorum queues (x-queue-type quorum) in the session layer: declaration rules, the arguments
each queue type refuses, x-delivery-count, requeue order and x-delivery-limit
(tests/server/test_quorum.py asserts the same over sockets, polling for what RabbitMQ's
quorum queues apply asynchronously)."""

from __future__ import annotations

from typing import Any

import pytest
from pamqp import commands
from sessionutil import got, props

from amqpbroker.testing.harness import ClientChannel

QUORUM = {"x-queue-type": "quorum"}


def refused(ch: ClientChannel, queue: str, arguments: dict[str, Any], **flags: Any) -> str:
    """queue.declare on a new channel must be refused with 406: its reply text."""
    other = ch.client.channel()
    other.send(commands.Queue.Declare(queue=queue, arguments=arguments, **flags))
    return other.expect_close(406).reply_text


def type_refuses(queue: str, key: str, module: str) -> str:
    return (
        f"PRECONDITION_FAILED - invalid arg '{key}' for queue '{queue}' in vhost '/' "
        f"of queue type {module}"
    )


def quorum(ch: ClientChannel, name: str = "qq", **arguments: Any) -> str:
    return str(ch.declare(name, durable=True, arguments={**QUORUM, **arguments}).queue)


@pytest.mark.parametrize(
    ("flags", "property_name"),
    [
        ({"durable": False}, "non-durable"),
        ({"durable": True, "exclusive": True}, "exclusive-owner"),
        ({"durable": True, "auto_delete": True}, "auto-delete"),
        ({"durable": True, "exclusive": True, "auto_delete": True}, "auto-delete"),
    ],
)
def test_quorum_queue_properties_are_checked(ch, flags, property_name):
    assert refused(ch, "qq", QUORUM, **flags) == (
        f"PRECONDITION_FAILED - invalid property '{property_name}' for queue 'qq' in vhost '/'"
    )


def test_quorum_queue_cannot_be_server_named(ch):
    assert refused(ch, "", QUORUM, durable=True) == (
        "PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_quorum_queue"
    )


@pytest.mark.parametrize(
    ("key", "value"), [("x-delivery-limit", 5), ("x-max-in-memory-length", -1), ("x-max-age", "1D")]
)
def test_classic_queue_refuses_other_types_arguments(ch, key, value):
    for arguments in ({key: value}, {"x-queue-type": "classic", key: value}):
        assert refused(ch, "classic", arguments, exclusive=True) == type_refuses(
            "classic", key, "rabbit_classic_queue"
        )


@pytest.mark.parametrize(
    ("key", "value"), [("x-max-priority", 500), ("x-queue-mode", "lazy"), ("x-queue-version", 2)]
)
def test_quorum_queue_refuses_other_types_arguments(ch, key, value):
    assert refused(ch, "qq", {**QUORUM, key: value}, durable=True) == type_refuses(
        "qq", key, "rabbit_quorum_queue"
    )


def test_redeclare_compares_only_the_arguments_of_the_queues_type(ch):
    quorum(ch, **{"x-delivery-limit": 5})
    quorum(ch, **{"x-delivery-limit": 5, "x-max-priority": 9})
    assert refused(ch, "qq", {**QUORUM, "x-delivery-limit": 6}, durable=True) == (
        "PRECONDITION_FAILED - inequivalent arg 'x-delivery-limit' for queue 'qq' in vhost "
        "'/': received '6' but current is '5'"
    )


def test_basic_get_always_carries_the_delivery_count(ch):
    q = quorum(ch)
    ch.publish(b"m", q, properties=props(headers={"zz": 1, "x-delivery-count": 99, "aa": "t"}))
    ch.publish(b"bare", q)
    seen = []
    for _ in range(2):
        for _ in range(2):
            message = got(ch, q, no_ack=False)
            seen.append((message.body, message.method.redelivered, message.headers))
        ch.nack(0, multiple=True, requeue=True)
    assert seen == [
        (b"m", False, {"aa": "t", "x-delivery-count": 0, "zz": 1}),
        (b"bare", False, {"x-delivery-count": 0}),
        (b"m", True, {"aa": "t", "x-delivery-count": 1, "zz": 1}),
        (b"bare", True, {"x-delivery-count": 1}),
    ]
    assert list(seen[2][2]) == ["aa", "x-delivery-count", "zz"]


def test_a_consumer_sees_the_count_only_on_redeliveries(ch):
    q = quorum(ch)
    ch.publish(b"m", q, properties=props(headers={"zz": 1, "x-delivery-count": 99}))
    consumer = ch.client.channel()
    consumer.qos(1)
    consumer.consume(q)
    seen = []
    settle = [
        lambda tag: consumer.reject(tag, requeue=True),
        lambda tag: consumer.nack(tag, requeue=True),
        lambda tag: consumer.call(commands.Basic.Recover(requeue=True), commands.Basic.RecoverOk),
        consumer.ack,
    ]
    for settling in settle:
        [delivery] = consumer.deliveries()
        seen.append((delivery.method.redelivered, delivery.headers))
        settling(delivery.method.delivery_tag)
    assert seen == [
        (False, {"zz": 1, "x-delivery-count": 99}),  # untouched, in the publisher's order
        (True, {"x-delivery-count": 1, "zz": 1}),
        (True, {"x-delivery-count": 2, "zz": 1}),
        (True, {"x-delivery-count": 3, "zz": 1}),
    ]


def test_nacked_messages_go_to_the_back_a_closed_channels_to_the_front(ch):
    q = quorum(ch)
    for body in (b"m1", b"m2", b"m3", b"m4"):
        ch.publish(body, q)
    taker = ch.client.channel()
    taker.nack(got(taker, q, no_ack=False).method.delivery_tag, requeue=True)  # m1 to the back
    got(taker, q, no_ack=False)
    got(taker, q, no_ack=False)
    taker.close()  # m2, m3 to the front
    left = [got(ch, q) for _ in range(4)]
    assert [(m.body, m.headers["x-delivery-count"]) for m in left] == [
        (b"m2", 1),
        (b"m3", 1),
        (b"m4", 0),
        (b"m1", 1),
    ]


def test_beyond_the_delivery_limit_a_message_is_dead_lettered(ch):
    ch.declare("dead", exclusive=True)
    q = quorum(
        ch,
        **{
            "x-delivery-limit": 2,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": "dead",
        },
    )
    ch.publish(b"m", q, properties=props(headers={"k": "v"}, expiration="60000"))
    counts = []
    for _ in range(3):
        message = got(ch, q, no_ack=False)
        counts.append(message.headers["x-delivery-count"])
        ch.nack(message.method.delivery_tag, requeue=True)
    assert counts == [0, 1, 2]
    message = got(ch, "dead")
    assert (message.body, message.properties.expiration) == (b"m", None)
    assert list(message.headers) == [
        "k",
        "x-death",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
    ], "the stored message, without x-delivery-count"
    [death] = message.headers["x-death"]
    assert (death["reason"], death["queue"], death["count"]) == ("delivery_limit", q, 1)
    assert death["original-expiration"] == "60000"
    assert ch.message_count(q) == 0


@pytest.mark.parametrize(("limit", "deliveries"), [(0, 1), (-1, 1), (1, 2), ("1", 4)])
def test_without_a_dead_letter_exchange_the_message_is_dropped(ch, limit, deliveries):
    q = quorum(ch, **{"x-delivery-limit": limit})
    ch.publish(b"m", q)
    counts = []
    while (message := ch.get(q, no_ack=False)) is not None and len(counts) < 4:
        counts.append(message.headers["x-delivery-count"])
        if len(counts) < 4:
            ch.nack(message.method.delivery_tag, requeue=True)
    assert counts == list(range(deliveries))


def test_quorum_overflow_is_rabbitmqs_quorum_overflow(ch):
    """RabbitMQ 3.10.8's quorum queues (recorded): reject-publish refuses a message only
    once the queue is beyond its limit, so one gets past; reject-publish-dlx is drop-head."""
    ch.select_confirms()
    quorum(ch, "rp", **{"x-max-length": 1, "x-overflow": "reject-publish"})
    assert [ch.publish(b"m", "rp") for _ in range(4)] == [True, True, False, False]
    assert ch.declare("rp", passive=True).message_count == 2
    quorum(ch, "rpdlx", **{"x-max-length": 1, "x-overflow": "reject-publish-dlx"})
    assert [ch.publish(bytes([n]), "rpdlx") for n in range(3)] == [True, True, True]
    assert ch.declare("rpdlx", passive=True).message_count == 1
    assert got(ch, "rpdlx").body == b"\x02"
