"""Priority queues (``x-max-priority``) in the session layer
(tests/server/test_priorities.py asserts the same over sockets)."""

from __future__ import annotations

import random

import pytest
from pamqp import commands
from sessionutil import bodies, declare, got, props

from amqpbroker.testing.harness import ClientChannel


def priority_queue(ch: ClientChannel, max_priority: int) -> str:
    return declare(ch, "q", **{"x-max-priority": max_priority})


def publish_all(ch: ClientChannel, q: str, messages: list[tuple[str, int | None]]) -> None:
    for body, priority in messages:
        assert ch.publish(body.encode(), q, properties=props(priority=priority))


def drain(ch: ClientChannel, q: str) -> list[tuple[str, int | None]]:
    """basic.get until empty: (body, priority property) of each message."""
    out = []
    while (message := ch.get(q)) is not None:
        out.append((message.body.decode(), message.properties.priority))
    return out


def test_messages_leave_in_priority_order_fifo_within_a_priority(ch):
    q = priority_queue(ch, 10)
    publish_all(ch, q, [("a", 1), ("b", 7), ("c", 1), ("d", 10), ("e", 7), ("f", 3), ("g", 10)])
    assert ch.message_count(q) == 7
    assert drain(ch, q) == [
        ("d", 10),
        ("g", 10),
        ("b", 7),
        ("e", 7),
        ("f", 3),
        ("a", 1),
        ("c", 1),
    ]


def test_get_ok_message_count_counts_every_priority(ch):
    q = priority_queue(ch, 5)
    publish_all(ch, q, [("low", 1), ("high", 5), ("none", None)])
    first = got(ch, q)
    assert (first.body, first.method.message_count) == (b"high", 2)


def test_no_priority_property_is_priority_zero(ch):
    q = priority_queue(ch, 5)
    published = [("none1", None), ("zero1", 0), ("one", 1), ("none2", None), ("zero2", 0)]
    publish_all(ch, q, published)
    assert drain(ch, q) == [published[2], published[0], published[1], *published[3:]]


def test_priority_above_the_maximum_counts_as_the_maximum(ch):
    q = priority_queue(ch, 5)
    publish_all(ch, q, [("four", 4), ("nine", 9), ("five", 5), ("max", 255), ("six", 6)])
    assert drain(ch, q) == [("nine", 9), ("five", 5), ("max", 255), ("six", 6), ("four", 4)]


@pytest.mark.parametrize("max_priority", [1, 2, 255])
def test_every_level_up_to_the_maximum_is_its_own(ch, max_priority):
    q = priority_queue(ch, max_priority)
    priorities = list(range(min(max_priority + 3, 256))) * 2
    random.Random(max_priority).shuffle(priorities)
    published = [(f"m{i}", p) for i, p in enumerate(priorities)]
    publish_all(ch, q, published)
    assert drain(ch, q) == sorted(published, key=lambda m: -min(m[1], max_priority))


def test_max_priority_zero_is_a_fifo_queue(ch):
    q = priority_queue(ch, 0)
    published = [("a", None), ("b", 1), ("c", 0), ("d", 2)]
    publish_all(ch, q, published)
    assert drain(ch, q) == published


def test_queue_without_max_priority_ignores_priorities(ch):
    q = declare(ch, "q")
    published = [("a", None), ("b", 3), ("c", 9)]
    publish_all(ch, q, published)
    assert drain(ch, q) == published


def test_consumer_with_capacity_gets_messages_as_they_are_published(ch):
    q = priority_queue(ch, 9)
    consumer = ch.client.channel()
    consumer.consume(q)
    publish_all(ch, q, [("x1", 1), ("x9", 9), ("x5", 5)])
    assert bodies(consumer.deliveries()) == [b"x1", b"x9", b"x5"]


def test_consumer_gets_the_backlog_in_priority_order(ch):
    q = priority_queue(ch, 9)
    publish_all(ch, q, [("p1", 1), ("p2", 2), ("p3", 3)])
    consumer = ch.client.channel()
    consumer.qos(1)
    consumer.consume(q)
    seen = consumer.deliveries()
    publish_all(ch, q, [("p9", 9)])
    for _ in range(3):
        consumer.ack(seen[-1].method.delivery_tag)
        seen += consumer.deliveries()
    assert bodies(seen) == [b"p3", b"p9", b"p2", b"p1"]


def test_requeued_messages_return_to_their_place(ch):
    q = priority_queue(ch, 5)
    publish_all(ch, q, list(zip("abcde", [1, 3, 1, 3, 1], strict=True)))
    taken = [got(ch, q, no_ack=False) for _ in range(4)]
    assert bodies(taken) == [b"b", b"d", b"a", b"c"]
    for index in (2, 3, 1, 0):
        ch.nack(taken[index].method.delivery_tag, requeue=True)
    again = [got(ch, q) for _ in range(5)]
    assert [(m.body, m.properties.priority, m.method.redelivered) for m in again] == [
        (b"b", 3, True),
        (b"d", 3, True),
        (b"a", 1, True),
        (b"c", 1, True),
        (b"e", 1, False),
    ]


def test_requeued_messages_go_behind_higher_and_ahead_of_later_equal_priorities(ch):
    q = priority_queue(ch, 5)
    publish_all(ch, q, list(zip("abcde", [1, 3, 1, 3, 1], strict=True)))
    taken = [got(ch, q, no_ack=False) for _ in range(3)]
    publish_all(ch, q, [("f", 1), ("g", 3)])
    ch.nack(taken[-1].method.delivery_tag, multiple=True, requeue=True)
    assert drain(ch, q) == [("b", 3), ("d", 3), ("g", 3), ("a", 1), ("c", 1), ("e", 1), ("f", 1)]


def test_requeued_message_above_the_maximum_returns_among_the_maximum(ch):
    q = priority_queue(ch, 5)
    publish_all(ch, q, [("nine", 9), ("five", 5), ("one", 1)])
    ch.reject(got(ch, q, no_ack=False).method.delivery_tag, requeue=True)
    assert drain(ch, q) == [("nine", 9), ("five", 5), ("one", 1)]


def test_unacked_messages_requeued_on_channel_close_return_by_priority(ch):
    q = priority_queue(ch, 9)
    consumer = ch.client.channel()
    consumer.consume(q)
    publish_all(ch, q, [("x1", 1), ("x9", 9), ("x5", 5), ("y0", 0), ("y5", 5)])
    assert len(consumer.deliveries()) == 5
    consumer.close()
    again = [got(ch, q) for _ in range(5)]
    assert [(m.body, m.method.redelivered) for m in again] == [
        (b"x9", True),
        (b"x5", True),
        (b"y5", True),
        (b"x1", True),
        (b"y0", True),
    ]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (-1, "{value_negative,-1}"),
        (256, "{max_value_exceeded,256}"),
        (2**40, f"{{max_value_exceeded,{2**40}}}"),
        ("5", '"expected integer, got longstr"'),
        (True, '"expected integer, got bool"'),
        ({"a": 1}, '"expected integer, got table"'),
    ],
)
def test_invalid_max_priority_is_406(ch, value, reason):
    ch.send(commands.Queue.Declare(queue="q", arguments={"x-max-priority": value}))
    assert ch.expect_close(406).reply_text == (
        "PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue 'q' in vhost '/': " + reason
    )
    other = ch.client.channel()
    other.send(commands.Queue.Declare(queue="q", passive=True))
    other.expect_close(404)


@pytest.mark.parametrize("value", [0, 1, 255])
def test_max_priority_bounds_are_accepted(ch, value):
    ok = ch.declare("q", arguments={"x-max-priority": value})
    assert (ok.message_count, ok.consumer_count) == (0, 0)
