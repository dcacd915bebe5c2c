"""Consumers and their ring (core.consumers): RabbitMQ's rotation, consumer priorities,
the single active consumer, and prefetch decided in one place (``Consumer.can_take``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fakes import Sink, make_queue, message, publish, subscribe

import amqpbroker.core
from amqpbroker.core.consumers import Consumer, ConsumerRing, SharedPrefetch
from amqpbroker.core.message import Envelope


def member(tag: str, sink: Sink, *, priority: int = 0, prefetch: int = 0) -> Consumer[str]:
    arguments = {"x-priority": priority} if priority else {}
    return Consumer(
        tag, b"", "q", sink, no_ack=False, exclusive=False, prefetch=prefetch, arguments=arguments
    )


def turns(ring: ConsumerRing[str], count: int) -> list[str]:
    """Who the ring picks ``count`` times (each one served takes the message)."""
    picked = []
    for _ in range(count):
        consumer = ring.next()
        if consumer is None:
            break
        consumer.deliver(Envelope(message("m"), 1))
        picked.append(consumer.tag)
    return picked


# -- the ring -----------------------------------------------------------------------------------


def test_round_robin_in_subscription_order() -> None:
    ring: ConsumerRing[str] = ConsumerRing()
    sink = Sink()
    for tag in ("a", "b", "c"):
        ring.add(member(tag, sink))
    assert turns(ring, 7) == ["a", "b", "c", "a", "b", "c", "a"]


def test_consumers_found_at_their_limit_go_behind_the_one_served() -> None:
    """RabbitMQ's rotation: a skipped consumer comes back behind the served one."""
    ring: ConsumerRing[str] = ConsumerRing()
    sink = Sink()
    a, b, c = member("a", sink, prefetch=1), member("b", sink), member("c", sink)
    for consumer in (a, b, c):
        ring.add(consumer)
    a.deliver(Envelope(message("m"), 1))  # at its limit
    assert turns(ring, 1) == ["b"]
    assert [m.tag for m in ring.members] == ["c", "b", "a"]
    a.settled()
    assert turns(ring, 3) == ["c", "b", "a"]


def test_nobody_can_take_one() -> None:
    ring: ConsumerRing[str] = ConsumerRing()
    ring.add(member("a", Sink(capacity=False)))
    assert ring.next() is None
    assert ConsumerRing[str]().next() is None


def test_only_the_highest_priority_that_can_take_one_is_served() -> None:
    ring: ConsumerRing[str] = ConsumerRing()
    sink = Sink()
    low = member("low", sink)
    high1 = member("h1", sink, priority=5, prefetch=1)
    high2 = member("h2", sink, priority=5, prefetch=1)
    for consumer in (low, high1, high2):
        ring.add(consumer)
    assert turns(ring, 4) == ["h1", "h2", "low", "low"]


def test_negative_priorities_rank_below_the_default() -> None:
    ring: ConsumerRing[str] = ConsumerRing()
    sink = Sink()
    ring.add(member("neg", sink, priority=-1))
    ring.add(member("zero", sink))
    assert turns(ring, 2) == ["zero", "zero"]


def test_removing_a_consumer() -> None:
    ring: ConsumerRing[str] = ConsumerRing()
    sink = Sink()
    a, b = member("a", sink), member("b", sink)
    ring.add(a)
    ring.add(b)
    assert ring.remove(a) and not ring.remove(a)
    assert [m.tag for m in ring] == ["b"] and len(ring) == 1
    assert not ring.takes_turns


def test_single_active_consumer_is_the_first_and_never_rotates() -> None:
    ring: ConsumerRing[str] = ConsumerRing(single_active=True)
    sink = Sink()
    for tag in ("a", "b", "c"):
        ring.add(member(tag, sink))
    assert ring.active is not None and ring.active.tag == "a"
    assert turns(ring, 3) == ["a", "a", "a"]
    assert not ring.takes_turns


def test_single_active_at_its_limit_means_nobody() -> None:
    ring: ConsumerRing[str] = ConsumerRing(single_active=True)
    sink = Sink()
    first = member("a", sink, prefetch=1)
    ring.add(first)
    ring.add(member("b", sink))
    assert turns(ring, 2) == ["a"]


def test_the_highest_priority_takes_over_earliest_among_equals() -> None:
    ring: ConsumerRing[str] = ConsumerRing(single_active=True)
    sink = Sink()
    first = member("first", sink)
    ring.add(first)
    ring.add(member("low", sink))
    ring.add(member("high1", sink, priority=3))
    ring.add(member("high2", sink, priority=3))
    ring.remove(first)
    assert ring.active is not None and ring.active.tag == "high1"
    ring.remove(ring.active)
    assert ring.active is not None and ring.active.tag == "high2"
    ring.remove(ring.active)
    assert ring.active is not None and ring.active.tag == "low"
    ring.remove(ring.active)
    assert ring.active is None


def test_exclusive_consumers_are_seen() -> None:
    ring: ConsumerRing[str] = ConsumerRing()
    ring.add(member("a", Sink()))
    assert not ring.has_exclusive()
    exclusive = Consumer(
        "x", b"", "q", Sink(), no_ack=False, exclusive=True, prefetch=0, arguments={}
    )
    ring.add(exclusive)
    assert ring.has_exclusive()


# -- prefetch -----------------------------------------------------------------------------------


def test_a_consumer_takes_up_to_its_prefetch_and_more_once_settled() -> None:
    consumer = member("a", Sink(), prefetch=2)
    for _ in range(2):
        assert consumer.can_take()
        consumer.deliver(Envelope(message("m"), 1))
    assert not consumer.can_take()
    consumer.settled()
    assert consumer.can_take() and consumer.unacked == 1


def test_a_channel_wide_limit_is_shared_by_its_consumers() -> None:
    shared = SharedPrefetch(limit=2)
    sink = Sink()
    a = Consumer("a", b"", "q", sink, no_ack=False, exclusive=False, prefetch=0, arguments={})
    a.shared = shared
    b = Consumer(
        "b", b"", "q", sink, no_ack=False, exclusive=False, prefetch=0, arguments={}, shared=shared
    )
    a.deliver(Envelope(message("1"), 1))
    b.deliver(Envelope(message("2"), 2))
    assert shared.unacked == 2 and not a.can_take() and not b.can_take()
    b.settled()
    shared.settled(1)  # the channel tells the shared count once per batch
    assert a.can_take() and b.can_take()


def test_a_limit_set_from_none_counts_what_the_channel_holds_unacked() -> None:
    """RabbitMQ 3.10's limiter: a channel-wide limit set when there was none starts from the
    channel's unacked deliveries (basic.get ones too); one changed keeps its count."""
    shared = SharedPrefetch()
    shared.unacked = 7  # counted while unlimited: irrelevant
    shared.limit_to(2, channel_unacked=3)
    assert (shared.limit, shared.unacked) == (2, 3)
    shared.limit_to(5, channel_unacked=0)
    assert (shared.limit, shared.unacked) == (5, 3)
    shared.limit_to(0)
    assert (shared.limit, shared.unacked) == (0, 0)


def test_settlements_count_only_under_a_limit_and_not_from_zero() -> None:
    shared = SharedPrefetch()
    shared.unacked = 4
    shared.settled(2)  # no limit: not counted
    assert shared.unacked == 4
    shared.limit_to(3, channel_unacked=1)
    shared.settled(3)  # a batch larger than the count takes it below zero
    assert shared.unacked == -2
    shared.unacked = 0
    shared.settled(1)  # but a batch at zero leaves it there
    assert shared.unacked == 0


def test_the_smaller_of_the_two_limits_wins() -> None:
    consumer = Consumer(
        "a",
        b"",
        "q",
        Sink(),
        no_ack=False,
        exclusive=False,
        prefetch=5,
        arguments={},
        shared=SharedPrefetch(limit=1),
    )
    consumer.deliver(Envelope(message("1"), 1))
    assert not consumer.can_take()


def test_no_ack_consumers_ignore_their_own_prefetch_and_are_not_counted() -> None:
    shared = SharedPrefetch(limit=1)
    consumer = Consumer(
        "a", b"", "q", Sink(), no_ack=True, exclusive=False, prefetch=1, arguments={}, shared=shared
    )
    for seq in range(3):
        consumer.deliver(Envelope(message("m"), seq))
    assert (consumer.unacked, shared.unacked, consumer.can_take()) == (0, 0, True)


def test_a_full_channel_limit_stops_its_no_ack_consumers_too() -> None:
    """As before the split: the channel-wide limit, once reached by acking consumers, holds
    every consumer of the channel."""
    shared = SharedPrefetch(limit=1)
    sink = Sink()
    acking = Consumer(
        "a", b"", "q", sink, no_ack=False, exclusive=False, prefetch=0, arguments={}, shared=shared
    )
    no_ack = Consumer(
        "n", b"", "q", sink, no_ack=True, exclusive=False, prefetch=0, arguments={}, shared=shared
    )
    acking.deliver(Envelope(message("m"), 1))
    assert not no_ack.can_take()


def test_a_sink_without_room_takes_nothing_whatever_the_prefetch() -> None:
    sink = Sink(capacity=False)
    assert not member("a", sink).can_take()
    sink.capacity = True
    assert member("a", sink).can_take()


def test_x_priority_that_is_not_an_integer_is_zero() -> None:
    consumer = Consumer(
        "a",
        b"",
        "q",
        Sink(),
        no_ack=False,
        exclusive=False,
        prefetch=0,
        arguments={"x-priority": "9"},
    )
    assert consumer.priority == 0


# -- through a queue ----------------------------------------------------------------------------


def test_a_queue_hands_a_lone_consumer_a_run_up_to_its_prefetch() -> None:
    queue = make_queue()
    sink = Sink()
    consumer = subscribe(queue, sink, "c", prefetch=3)
    publish(queue, *"abcde")
    assert sink.bodies() == [b"a", b"b", b"c"] and consumer.unacked == 3
    assert queue.message_count == 2


def test_a_queue_serves_consumer_priorities_then_round_robin() -> None:
    queue = make_queue()
    sink = Sink()
    subscribe(queue, sink, "low")
    subscribe(queue, sink, "high", priority=10, prefetch=2)
    publish(queue, *"abcd")
    assert sink.tags() == ["high", "high", "low", "low"]


def test_a_queue_with_a_single_active_consumer_serves_only_it_until_it_leaves() -> None:
    queue = make_queue(**{"x-single-active-consumer": True})
    sink = Sink()
    first = subscribe(queue, sink, "first", prefetch=1)
    subscribe(queue, sink, "second")
    publish(queue, *"abc")
    assert sink.tags() == ["first"]
    queue.remove_consumer(first)
    queue.dispatch()
    assert sink.tags() == ["first", "second", "second"]


# -- module boundaries --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "module",
    ["consumers", "ready", "paging", "queue_timers", "publisher_flow", "queue_settings"],
)
def test_the_queue_s_parts_import_no_queue(module: str) -> None:
    """What the queue is built from knows nothing of the queue, not even for type checking
    (no import cycle inside core through them)."""
    source = Path(amqpbroker.core.__file__).parent / f"{module}.py"
    imported = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            imported.add(node.module.rsplit(".", 1)[-1])
    assert not imported & {"queue", "quorum", "vhost", "broker"}
