"""Priority queues (``x-max-priority``), single active consumer (``x-single-active-consumer``)
and consumer priorities (the ``x-priority`` consume argument) through pika and aio-pika, as
RabbitMQ 3.10 applies them to classic queues.

What RabbitMQ does (each point observed on 3.10.8 and asserted below):

- priority queues: waiting messages leave highest priority first, FIFO within a priority; no
  priority property is priority 0; a priority above ``x-max-priority`` counts as the maximum
  (FIFO with the messages at the maximum) and is delivered unchanged; ``x-max-priority`` 0 is
  accepted and the queue is FIFO; a queue without the argument ignores priorities;
- priorities only order what waits: a consumer with capacity gets each message as published;
- a requeued message returns to its place: by priority, and within a priority by the order
  in which the messages were first enqueued (also behind later arrivals of a higher priority
  and ahead of later arrivals of its own);
- ``x-max-priority`` must be an integer in 0..255, else 406 (value_negative,
  max_value_exceeded, "expected integer, got <type>");
- single active consumer: only one consumer receives (even while it is at its prefetch
  limit); declare-ok counts every consumer; when it cancels or its channel closes, the next
  takes over: the highest-priority consumer (x-priority), the earliest registered among equals;
  basic.get is not affected; an exclusive consumer is refused (403) even on an idle queue;
- consumer priorities: the highest-priority consumers that have capacity get the messages,
  round-robin among them; lower ones (also negative ones, below the default 0) only while the
  higher are at their prefetch limit; the rotation is a queue: each delivery moves the consumer
  to the back, a new consumer joins at the back, and a consumer found at its prefetch limit
  leaves the rotation and rejoins at the back once it has capacity again.

Nothing sleeps for a fixed time: deliveries are awaited up to a deadline. That a consumer got
nothing is shown by accounting (every published message was seen elsewhere) or by the queue's
message_count; both are settled once a confirm has come back.
"""

from __future__ import annotations

import asyncio
import decimal
import random
import uuid
from typing import Any

import aio_pika
import pika
import pika.exceptions
import pytest

from amqpbroker.testing.polling import DEADLINE, wait_until


# -- helpers -------------------------------------------------------------------------------------
@pytest.fixture
def ch(channel: Any) -> Any:
    return channel


def declare(ch: Any, name: str, **arguments: Any) -> str:
    """An exclusive queue; ``declare(ch, q, **{"x-max-priority": 5})``."""
    return ch.queue_declare(name, exclusive=True, arguments=arguments).method.queue


def priority_queue(ch: Any, name: str, max_priority: int) -> str:
    return declare(ch, name, **{"x-max-priority": max_priority})


def sac_queue(ch: Any, name: str) -> str:
    return declare(ch, name, **{"x-single-active-consumer": True})


def publish(ch: Any, queue: str, body: str, priority: int | None = None) -> None:
    """Publish through the default exchange; ``ch`` is in confirm mode, so on return the
    message is in the queue (and handed to a consumer, if one could take it)."""
    ch.basic_publish("", queue, body.encode(), pika.BasicProperties(priority=priority))


def drain(ch: Any, queue: str) -> list[tuple[str, int | None]]:
    """basic.get (auto-ack) until empty: (body, priority property) of each message."""
    out: list[tuple[str, int | None]] = []
    while True:
        method, props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            return out
        out.append((body.decode(), props.priority))
        assert len(out) < 1000


def counts(ch: Any, queue: str) -> tuple[int, int]:
    """(message_count, consumer_count) from a passive declare."""
    ok = ch.queue_declare(queue, passive=True).method
    return ok.message_count, ok.consumer_count


def serve_until(connection: Any, done: Any, what: Any) -> None:
    """Service ``connection`` (its consumers' callbacks run) until ``done()``."""
    wait_until(done, what, pause=lambda: connection.process_data_events(time_limit=0.01))


class Consumer:
    """A pika consumer on a channel of its own, collecting (body, delivery_tag, redelivered)."""

    def __init__(
        self,
        connection: Any,
        queue: str,
        prefetch: int = 0,
        priority: int | None = None,
        auto_ack: bool = False,
    ) -> None:
        self.connection = connection
        self.channel = connection.channel()
        if prefetch:
            self.channel.basic_qos(prefetch_count=prefetch)
        self.got: list[tuple[str, int, bool]] = []
        arguments = {} if priority is None else {"x-priority": priority}
        self.tag = self.channel.basic_consume(
            queue, self._on_message, auto_ack=auto_ack, arguments=arguments
        )

    def _on_message(self, _ch: Any, method: Any, _props: Any, body: bytes) -> None:
        self.got.append((body.decode(), method.delivery_tag, method.redelivered))

    def bodies(self) -> list[str]:
        return [body for body, _, _ in self.got]

    def cancel(self) -> None:
        self.channel.basic_cancel(self.tag)

    def nack(self, body: str) -> None:
        tag = next(tag for b, tag, _ in self.got if b == body)
        self.channel.basic_nack(tag, requeue=True)


def wait_for_all(connection: Any, consumers: list[Consumer], total: int) -> list[list[str]]:
    """Wait until the consumers together got ``total`` deliveries: what each got."""
    serve_until(
        connection,
        lambda: sum(len(c.got) for c in consumers) >= total,
        lambda: [c.got for c in consumers],
    )
    return [c.bodies() for c in consumers]


class Consumers:
    """Several consumers on one pika channel (each with its own prefetch, set by basic.qos
    before its basic.consume), so their deliveries arrive in one ordered stream: ``log`` is
    [(label, body)] in the order the queue handed the messages out."""

    def __init__(self, connection: Any, queue: str) -> None:
        self.connection = connection
        self.queue = queue
        self.channel = connection.channel()
        self.log: list[tuple[str, str]] = []
        self.consumer_tags: dict[str, str] = {}
        self._tags: dict[str, int] = {}

    def consume(self, label: str, prefetch: int = 0, priority: int | None = None) -> None:
        self.channel.basic_qos(prefetch_count=prefetch)
        arguments = {} if priority is None else {"x-priority": priority}

        def on_message(_ch: Any, method: Any, _props: Any, body: bytes) -> None:
            self.log.append((label, body.decode()))
            self._tags[body.decode()] = method.delivery_tag

        self.consumer_tags[label] = self.channel.basic_consume(
            self.queue,
            on_message,
            arguments=arguments,
            consumer_tag=f"{label}-{uuid.uuid4().hex[:8]}",
        )

    def wait_for(self, count: int) -> list[tuple[str, str]]:
        serve_until(self.connection, lambda: len(self.log) >= count, lambda: self.log)
        return self.log

    def ack(self, *bodies: str, settle: bool = True) -> None:
        """Ack these deliveries; with ``settle``, wait until the queue has taken the acks
        into account (RabbitMQ orders a basic.get on the same channel after them; the queue
        must be empty then)."""
        for body in bodies:
            self.channel.basic_ack(self._tags[body])
        if settle:
            assert self.channel.basic_get(self.queue) == (None, None, None)


def who(log: list[tuple[str, str]]) -> list[str]:
    return [label for label, _ in log]


def channel_error(connection: Any, action: Any) -> tuple[int, str]:
    ch = connection.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        action(ch)
    return info.value.reply_code, info.value.reply_text


# -- priority queues: order ----------------------------------------------------------------------
def test_messages_leave_in_priority_order_fifo_within_a_priority(ch, unique):
    q = priority_queue(ch, unique("q"), 10)
    published = [("a", 1), ("b", 7), ("c", 1), ("d", 10), ("e", 7), ("f", 3), ("g", 10)]
    for body, priority in published:
        publish(ch, q, body, priority)
    assert counts(ch, q) == (7, 0)
    assert drain(ch, q) == [
        ("d", 10),
        ("g", 10),
        ("b", 7),
        ("e", 7),
        ("f", 3),
        ("a", 1),
        ("c", 1),
    ]


def test_get_ok_message_count_counts_every_priority(ch, unique):
    q = priority_queue(ch, unique("q"), 5)
    for body, priority in [("low", 1), ("high", 5), ("none", None)]:
        publish(ch, q, body, priority)
    first = ch.basic_get(q, auto_ack=True)
    assert (first[2], first[0].message_count) == (b"high", 2)


def test_no_priority_property_is_priority_zero(ch, unique):
    q = priority_queue(ch, unique("q"), 5)
    for body, priority in [
        ("none1", None),
        ("zero1", 0),
        ("one", 1),
        ("none2", None),
        ("zero2", 0),
    ]:
        publish(ch, q, body, priority)
    assert drain(ch, q) == [
        ("one", 1),
        ("none1", None),
        ("zero1", 0),
        ("none2", None),
        ("zero2", 0),
    ]


def test_priority_above_the_maximum_counts_as_the_maximum(ch, unique):
    """Above max 5: FIFO with the 5s, ahead of 4; the property is delivered as published."""
    q = priority_queue(ch, unique("q"), 5)
    published = [("four", 4), ("nine", 9), ("five", 5), ("max", 255), ("six", 6)]
    for body, priority in published:
        publish(ch, q, body, priority)
    assert drain(ch, q) == [("nine", 9), ("five", 5), ("max", 255), ("six", 6), ("four", 4)]


@pytest.mark.parametrize("max_priority", [1, 2, 255])
def test_every_level_up_to_the_maximum_is_its_own(ch, unique, max_priority):
    """Priorities 0..max+2 (at most 255, the property being an octet), twice, shuffled
    (seeded): they leave sorted by min(priority, max), FIFO among equals."""
    q = priority_queue(ch, unique("q"), max_priority)
    priorities = list(range(min(max_priority + 3, 256))) * 2
    random.Random(max_priority).shuffle(priorities)
    published = [(f"m{i}", p) for i, p in enumerate(priorities)]
    for body, priority in published:
        publish(ch, q, body, priority)
    expected = sorted(published, key=lambda m: -min(m[1], max_priority))  # sorted() is stable
    assert drain(ch, q) == expected


def test_max_priority_zero_is_a_fifo_queue(ch, unique):
    q = priority_queue(ch, unique("q"), 0)
    for body, priority in [("a", None), ("b", 1), ("c", 0), ("d", 2)]:
        publish(ch, q, body, priority)
    assert drain(ch, q) == [("a", None), ("b", 1), ("c", 0), ("d", 2)]


def test_queue_without_max_priority_ignores_priorities(ch, unique):
    q = declare(ch, unique("q"))
    for body, priority in [("a", None), ("b", 3), ("c", 9)]:
        publish(ch, q, body, priority)
    assert drain(ch, q) == [("a", None), ("b", 3), ("c", 9)]


def test_consumer_with_capacity_gets_messages_as_they_are_published(connection, ch, unique):
    """Priorities only order messages that wait."""
    q = priority_queue(ch, unique("q"), 9)
    consumer = Consumer(connection, q)
    for body, priority in [("x1", 1), ("x9", 9), ("x5", 5)]:
        publish(ch, q, body, priority)
    assert wait_for_all(connection, [consumer], 3) == [["x1", "x9", "x5"]]


def test_consumer_gets_the_backlog_in_priority_order(connection, ch, unique):
    """With prefetch 1: the highest waiting first; one published meanwhile with a higher
    priority overtakes those still waiting."""
    q = priority_queue(ch, unique("q"), 9)
    for body, priority in [("p1", 1), ("p2", 2), ("p3", 3)]:
        publish(ch, q, body, priority)
    consumer = Consumer(connection, q, prefetch=1)
    wait_for_all(connection, [consumer], 1)
    publish(ch, q, "p9", 9)
    for expected in range(2, 5):
        consumer.channel.basic_ack(consumer.got[-1][1])
        wait_for_all(connection, [consumer], expected)
    assert consumer.bodies() == ["p3", "p9", "p2", "p1"]


# -- priority queues: requeue --------------------------------------------------------------------
def test_requeued_messages_return_to_their_place(ch, unique):
    """Taken b(3) d(3) a(1) c(1), requeued in the order a, c, d, b: back in the original
    order, redelivered, ahead of e(1) that stayed."""
    q = priority_queue(ch, unique("q"), 5)
    for body, priority in zip("abcde", [1, 3, 1, 3, 1], strict=True):
        publish(ch, q, body, priority)
    taken = [ch.basic_get(q) for _ in range(4)]
    assert [body for _, _, body in taken] == [b"b", b"d", b"a", b"c"]
    for index in (2, 3, 1, 0):
        ch.basic_nack(taken[index][0].delivery_tag, requeue=True)
    got = []
    for _ in range(5):
        method, props, body = ch.basic_get(q, auto_ack=True)
        got.append((body.decode(), props.priority, method.redelivered))
    assert got == [
        ("b", 3, True),
        ("d", 3, True),
        ("a", 1, True),
        ("c", 1, True),
        ("e", 1, False),
    ]


def test_requeued_messages_go_behind_higher_and_ahead_of_later_equal_priorities(ch, unique):
    """b(3) d(3) a(1) taken; f(1) and g(3) published; all three nacked (multiple): g (a
    later 3) goes behind b and d, a goes ahead of c, e, f."""
    q = priority_queue(ch, unique("q"), 5)
    for body, priority in zip("abcde", [1, 3, 1, 3, 1], strict=True):
        publish(ch, q, body, priority)
    taken = [ch.basic_get(q) for _ in range(3)]
    assert [body for _, _, body in taken] == [b"b", b"d", b"a"]
    publish(ch, q, "f", 1)
    publish(ch, q, "g", 3)
    ch.basic_nack(taken[-1][0].delivery_tag, multiple=True, requeue=True)
    assert drain(ch, q) == [("b", 3), ("d", 3), ("g", 3), ("a", 1), ("c", 1), ("e", 1), ("f", 1)]


def test_requeued_message_above_the_maximum_returns_among_the_maximum(ch, unique):
    q = priority_queue(ch, unique("q"), 5)
    publish(ch, q, "nine", 9)
    publish(ch, q, "five", 5)
    publish(ch, q, "one", 1)
    method, _props, body = ch.basic_get(q)
    assert body == b"nine"
    ch.basic_reject(method.delivery_tag, requeue=True)
    assert drain(ch, q) == [("nine", 9), ("five", 5), ("one", 1)]


def test_unacked_messages_requeued_on_channel_close_return_by_priority(connection, ch, unique):
    q = priority_queue(ch, unique("q"), 9)
    consumer = Consumer(connection, q)
    for body, priority in [("x1", 1), ("x9", 9), ("x5", 5), ("y0", 0), ("y5", 5)]:
        publish(ch, q, body, priority)
    wait_for_all(connection, [consumer], 5)
    consumer.channel.close()
    serve_until(connection, lambda: counts(ch, q)[0] == 5, lambda: counts(ch, q))
    got = []
    for _ in range(5):
        method, _props, body = ch.basic_get(q, auto_ack=True)
        got.append((body.decode(), method.redelivered))
    assert got == [("x9", True), ("x5", True), ("y5", True), ("x1", True), ("y0", True)]


# -- priority queues: the argument ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (-1, "{value_negative,-1}"),
        (-(2**40), f"{{value_negative,{-(2**40)}}}"),
        (256, "{max_value_exceeded,256}"),
        (2**40, f"{{max_value_exceeded,{2**40}}}"),
        ("5", '"expected integer, got longstr"'),
        (True, '"expected integer, got bool"'),
        (decimal.Decimal("1.5"), '"expected integer, got decimal"'),
        (None, '"expected integer, got void"'),
        ({"a": 1}, '"expected integer, got table"'),
        ([1], '"expected integer, got array"'),
    ],
    ids=["neg", "neg-big", "256", "big", "longstr", "bool", "decimal", "void", "table", "array"],
)
def test_invalid_max_priority_is_406(connection, unique, value, reason):
    q = unique("q")
    error = channel_error(
        connection,
        lambda ch: ch.queue_declare(q, exclusive=True, arguments={"x-max-priority": value}),
    )
    assert error == (
        406,
        f"PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue '{q}' in vhost '/': "
        + reason,
    )
    assert channel_error(connection, lambda ch: ch.queue_declare(q, passive=True))[0] == 404


@pytest.mark.parametrize("value", [0, 1, 255])
def test_max_priority_bounds_are_accepted(ch, unique, value):
    q = priority_queue(ch, unique("q"), value)
    assert counts(ch, q) == (0, 0)


# -- single active consumer ----------------------------------------------------------------------
def test_only_the_first_consumer_receives(connection, ch, unique):
    q = sac_queue(ch, unique("q"))
    first, second, third = (Consumer(connection, q) for _ in range(3))
    for i in range(4):
        publish(ch, q, f"m{i}")
    assert wait_for_all(connection, [first, second, third], 4) == [
        ["m0", "m1", "m2", "m3"],
        [],
        [],
    ]


def test_declare_ok_counts_every_consumer(connection, ch, unique):
    q = sac_queue(ch, unique("q"))
    first, _second, _third = (Consumer(connection, q) for _ in range(3))
    assert counts(ch, q) == (0, 3)
    first.cancel()
    assert counts(ch, q) == (0, 2)


def test_next_consumer_takes_over_when_the_active_one_cancels(connection, ch, unique):
    """First cancels: the second (registered before the third) gets the next messages;
    cancelling the third (inactive) changes nothing."""
    q = sac_queue(ch, unique("q"))
    consumers = [Consumer(connection, q) for _ in range(3)]
    first, _second, third = consumers
    publish(ch, q, "m0")
    wait_for_all(connection, consumers, 1)
    first.cancel()
    publish(ch, q, "m1")
    publish(ch, q, "m2")
    wait_for_all(connection, consumers, 3)
    third.cancel()
    publish(ch, q, "m3")
    assert wait_for_all(connection, consumers, 4) == [["m0"], ["m1", "m2", "m3"], []]


def test_next_consumer_takes_over_when_the_active_channel_closes(connection, ch, unique):
    """The active consumer (prefetch 1) holds n0 while n1, n2 wait; the second gets nothing.
    Its channel closes: the second gets n0 (redelivered), n1, n2."""
    q = sac_queue(ch, unique("q"))
    first = Consumer(connection, q, prefetch=1)
    second = Consumer(connection, q)
    for i in range(3):
        publish(ch, q, f"n{i}")
    wait_for_all(connection, [first], 1)
    assert counts(ch, q) == (2, 2)  # the others wait: not given to the second consumer
    first.channel.close()
    wait_for_all(connection, [second], 3)
    assert [(body, redelivered) for body, _, redelivered in second.got] == [
        ("n0", True),
        ("n1", False),
        ("n2", False),
    ]


def test_active_consumer_at_its_prefetch_limit_keeps_the_queue(connection, ch, unique):
    q = sac_queue(ch, unique("q"))
    first = Consumer(connection, q, prefetch=1)
    second = Consumer(connection, q)
    for i in range(3):
        publish(ch, q, f"m{i}")
    wait_for_all(connection, [first], 1)
    assert counts(ch, q) == (2, 2)
    first.channel.basic_ack(first.got[0][1])
    wait_for_all(connection, [first], 2)
    first.channel.basic_ack(first.got[1][1])
    assert wait_for_all(connection, [first, second], 3) == [["m0", "m1", "m2"], []]


def test_consumers_take_over_in_registration_order(connection, ch, unique):
    q = sac_queue(ch, unique("q"))
    consumers = [Consumer(connection, q, auto_ack=True) for _ in range(4)]
    for i, consumer in enumerate(consumers):
        publish(ch, q, f"m{i}")
        wait_for_all(connection, consumers, i + 1)
        consumer.cancel()
    assert [c.bodies() for c in consumers] == [["m0"], ["m1"], ["m2"], ["m3"]]


def test_highest_priority_consumer_takes_over(connection, ch, unique):
    """x-priority 0, 0, 10, 10 in that order: the first registered is active (it was alone);
    when the active one leaves, the highest priority takes over, the earliest registered among
    equals: a, c, d, b."""
    q = sac_queue(ch, unique("q"))
    consumers = [
        Consumer(connection, q, priority=priority, auto_ack=True) for priority in (0, 0, 10, 10)
    ]
    order = []
    for i in range(4):
        publish(ch, q, f"m{i}")
        wait_for_all(connection, consumers, i + 1)
        active = next(c for c in consumers if f"m{i}" in c.bodies())
        order.append(consumers.index(active))
        active.cancel()
    assert order == [0, 2, 3, 1]


def test_highest_priority_consumer_takes_over_when_the_channel_closes(connection, ch, unique):
    q = sac_queue(ch, unique("q"))
    low = Consumer(connection, q)
    later_low = Consumer(connection, q)
    high = Consumer(connection, q, priority=5)
    publish(ch, q, "m0")
    wait_for_all(connection, [low], 1)
    low.channel.close()
    wait_for_all(connection, [later_low, high], 1)
    assert (later_low.got, [(b, r) for b, _, r in high.got]) == ([], [("m0", True)])


def test_basic_get_is_not_limited_to_the_active_consumer(connection, ch, unique):
    q = sac_queue(ch, unique("q"))
    first = Consumer(connection, q, prefetch=1)
    Consumer(connection, q)
    for i in range(3):
        publish(ch, q, f"g{i}")
    wait_for_all(connection, [first], 1)
    method, _props, body = ch.basic_get(q, auto_ack=True)
    assert (body, method.message_count) == (b"g1", 1)


def test_cancel_of_a_blocked_active_consumer_leaves_the_waiting_messages(connection, ch, unique):
    """The active consumer, at its prefetch limit, cancels: the waiting messages stay in the
    queue (RabbitMQ does not dispatch on cancel); once its unacked delivery is requeued, the
    next consumer gets all three. (Publishing to the queue in between crashes RabbitMQ
    3.10.8's queue process: 404 'has crashed and failed to restart'; not done here.)"""
    q = sac_queue(ch, unique("q"))
    first = Consumer(connection, q, prefetch=1)
    second = Consumer(connection, q)
    for i in range(3):
        publish(ch, q, f"k{i}")
    wait_for_all(connection, [first], 1)
    first.cancel()
    assert counts(ch, q) == (2, 1)
    first.nack("k0")
    wait_for_all(connection, [second], 3)
    assert [(b, r) for b, _, r in second.got] == [("k0", True), ("k1", False), ("k2", False)]
    assert first.bodies() == ["k0"]


def test_exclusive_consumer_is_refused_on_a_single_active_consumer_queue(connection, ch, unique):
    q = sac_queue(ch, unique("q"))
    error = channel_error(connection, lambda c: c.basic_consume(q, lambda *_: None, exclusive=True))
    assert error == (403, f"ACCESS_REFUSED - queue '{q}' in vhost '/' in exclusive use")


# -- consumer priorities -------------------------------------------------------------------------
def test_higher_priority_consumer_gets_messages_while_it_has_capacity(connection, ch, unique):
    """low (0, no limit) registered first, high (10, prefetch 2): high gets two, low the
    rest; high acks one: the next goes to high again, the ones after to low."""
    q = declare(ch, unique("q"))
    consumers = Consumers(connection, q)
    consumers.consume("low")
    consumers.consume("high", prefetch=2, priority=10)
    for i in range(5):
        publish(ch, q, f"m{i}")
    assert consumers.wait_for(5) == [
        ("high", "m0"),
        ("high", "m1"),
        ("low", "m2"),
        ("low", "m3"),
        ("low", "m4"),
    ]
    consumers.ack("m0")
    for i in range(5, 8):
        publish(ch, q, f"m{i}")
    assert consumers.wait_for(8)[5:] == [("high", "m5"), ("low", "m6"), ("low", "m7")]


def test_round_robin_within_a_priority(connection, ch, unique):
    q = declare(ch, unique("q"))
    consumers = Consumers(connection, q)
    consumers.consume("h1", priority=5)
    consumers.consume("low")
    consumers.consume("h2", priority=5)
    for i in range(6):
        publish(ch, q, f"m{i}")
    assert who(consumers.wait_for(6)) == ["h1", "h2", "h1", "h2", "h1", "h2"]


def test_negative_priorities_rank_below_the_default(connection, ch, unique):
    """-5 (no limit), default (prefetch 2), -1 (prefetch 1): default, default, -1, then -5."""
    q = declare(ch, unique("q"))
    consumers = Consumers(connection, q)
    consumers.consume("minus5", priority=-5)
    consumers.consume("default", prefetch=2)
    consumers.consume("minus1", prefetch=1, priority=-1)
    for i in range(5):
        publish(ch, q, f"m{i}")
    assert who(consumers.wait_for(5)) == ["default", "default", "minus1", "minus5", "minus5"]


def test_explicit_zero_and_no_priority_share_a_level(connection, ch, unique):
    q = declare(ch, unique("q"))
    consumers = Consumers(connection, q)
    consumers.consume("none")
    consumers.consume("zero", priority=0)
    for i in range(4):
        publish(ch, q, f"m{i}")
    assert who(consumers.wait_for(4)) == ["none", "zero", "none", "zero"]


def test_lower_priority_consumer_takes_what_waits_once_it_has_capacity(connection, ch, unique):
    """Four waiting; low (prefetch 1) registers first and takes m0, high (prefetch 1) m1;
    low acks first: m2 goes to low (high is still full), then high's ack: m3 to high."""
    q = declare(ch, unique("q"))
    for i in range(4):
        publish(ch, q, f"m{i}")
    consumers = Consumers(connection, q)
    consumers.consume("low", prefetch=1)
    consumers.consume("high", prefetch=1, priority=1)
    assert consumers.wait_for(2) == [("low", "m0"), ("high", "m1")]
    consumers.ack("m0", "m1", settle=False)  # m2, m3 wait: no basic.get here
    assert consumers.wait_for(4)[2:] == [("low", "m2"), ("high", "m3")]


def test_new_consumer_joins_the_rotation_at_the_back(connection, ch, unique):
    """a, b get m0..m2 (a, b, a): the rotation is b, a; c joins behind them: b, a, c, ..."""
    q = declare(ch, unique("q"))
    consumers = Consumers(connection, q)
    consumers.consume("a")
    consumers.consume("b")
    for i in range(3):
        publish(ch, q, f"m{i}")
    consumers.wait_for(3)
    consumers.consume("c")
    for i in range(3, 9):
        publish(ch, q, f"m{i}")
    assert who(consumers.wait_for(9)) == ["a", "b", "a", "b", "a", "c", "b", "a", "c"]


def test_consumer_found_at_its_limit_rejoins_the_rotation_at_the_back(connection, ch, unique):
    """a, b, c with prefetch 1 get m0..m2. a and c ack: m3 goes to a; for m4, b (next in
    turn) is full and leaves the rotation, c takes it. b acks (rejoining behind a and c),
    then a and c: m5..m7 go to a, c, b."""
    q = declare(ch, unique("q"))
    consumers = Consumers(connection, q)
    for label in "abc":
        consumers.consume(label, prefetch=1)
    for i in range(3):
        publish(ch, q, f"m{i}")
    assert who(consumers.wait_for(3)) == ["a", "b", "c"]
    consumers.ack("m0", "m2")
    publish(ch, q, "m3")
    consumers.wait_for(4)
    publish(ch, q, "m4")
    assert who(consumers.wait_for(5))[3:] == ["a", "c"]
    consumers.ack("m1", "m3", "m4")
    for i in range(5, 8):
        publish(ch, q, f"m{i}")
    assert who(consumers.wait_for(8))[5:] == ["a", "c", "b"]


def test_cancelled_consumer_leaves_the_rotation(connection, ch, unique):
    q = declare(ch, unique("q"))
    consumers = Consumers(connection, q)
    for label in "abc":
        consumers.consume(label)
    publish(ch, q, "m0")
    publish(ch, q, "m1")
    consumers.wait_for(2)
    consumers.channel.basic_cancel(consumers.consumer_tags["b"])
    for i in range(2, 6):
        publish(ch, q, f"m{i}")
    assert who(consumers.wait_for(6)) == ["a", "b", "c", "a", "c", "a"]


def test_consumer_priorities_on_a_priority_queue(connection, ch, unique):
    """Both at once: the high consumer (prefetch 1) gets the highest waiting message, the low
    one the next."""
    q = priority_queue(ch, unique("q"), 5)
    for body, priority in [("p1", 1), ("p5", 5), ("p3", 3)]:
        publish(ch, q, body, priority)
    consumers = Consumers(connection, q)
    consumers.consume("high", prefetch=1, priority=2)
    consumers.consume("low", prefetch=1)
    assert consumers.wait_for(2) == [("high", "p5"), ("low", "p3")]


# -- aio-pika ------------------------------------------------------------------------------------
async def test_priority_queue_aio_pika(broker_url, unique):
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()  # publisher confirms are on by default
        queue = await channel.declare_queue(
            unique("q"), exclusive=True, arguments={"x-max-priority": 10}
        )
        for body, priority in [(b"a", None), (b"b", 4), (b"c", 10), (b"d", 4), (b"e", 200)]:
            message = aio_pika.Message(body, priority=priority)
            await channel.default_exchange.publish(message, routing_key=queue.name)
        got = []
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            got.append((message.body, message.priority))
        # (aio-pika sends priority 0 for a message created without one)
        assert got == [(b"c", 10), (b"e", 200), (b"b", 4), (b"d", 4), (b"a", 0)]


async def test_single_active_consumer_aio_pika(broker_url, unique):
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(
            unique("q"), exclusive=True, arguments={"x-single-active-consumer": True}
        )
        inboxes: list[asyncio.Queue[bytes]] = [asyncio.Queue(), asyncio.Queue()]
        tags = []
        for inbox in inboxes:

            async def on_message(message: Any, inbox: asyncio.Queue[bytes] = inbox) -> None:
                await inbox.put(message.body)

            tags.append(await queue.consume(on_message, no_ack=True))
        declared = await channel.declare_queue(queue.name, passive=True)
        assert declared.declaration_result.consumer_count == 2
        for body in (b"m0", b"m1"):
            await channel.default_exchange.publish(aio_pika.Message(body), routing_key=queue.name)
        got = [await asyncio.wait_for(inboxes[0].get(), DEADLINE) for _ in range(2)]
        assert got == [b"m0", b"m1"]
        await queue.cancel(tags[0])
        await channel.default_exchange.publish(aio_pika.Message(b"m2"), routing_key=queue.name)
        assert await asyncio.wait_for(inboxes[1].get(), DEADLINE) == b"m2"
        assert inboxes[0].empty()


async def test_consumer_priorities_aio_pika(broker_url, unique):
    """aio-pika sends x-priority as a long: the high consumer (prefetch 1 on its channel)
    gets the first message, the low one the rest until the high one acks."""
    async with await aio_pika.connect(broker_url) as connection:
        publisher = await connection.channel()
        queue_name = unique("q")
        await publisher.declare_queue(queue_name, exclusive=True)
        log: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        queues = {}
        for label, priority in (("low", None), ("high", 10)):
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=1 if label == "high" else 0)
            queues[label] = await channel.get_queue(queue_name, ensure=False)

            async def on_message(message: Any, label: str = label) -> None:
                await log.put((label, message))

            arguments = {} if priority is None else {"x-priority": priority}
            await queues[label].consume(on_message, arguments=arguments)

        async def publish_aio(body: bytes) -> None:
            await publisher.default_exchange.publish(aio_pika.Message(body), routing_key=queue_name)

        for body in (b"m0", b"m1", b"m2"):
            await publish_aio(body)
        got = [await asyncio.wait_for(log.get(), DEADLINE) for _ in range(3)]
        assert {message.body: label for label, message in got} == {
            b"m0": "high",
            b"m1": "low",
            b"m2": "low",
        }
        await next(message for label, message in got if label == "high").ack()
        # A basic.get on the acking channel is ordered after the ack (the queue is empty).
        assert await queues["high"].get(no_ack=True, fail=False) is None
        await publish_aio(b"m3")
        label, message = await asyncio.wait_for(log.get(), DEADLINE)
        assert (label, message.body) == ("high", b"m3")
