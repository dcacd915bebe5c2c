"""Publisher flow control: a queue its consumers are draining holds its publishers back once
it is FLOW_HIGH messages behind, and lets them go under FLOW_LOW (core.queue)."""

from __future__ import annotations

import pytest
from test_queue import FakeSink, consumer, fill, make_queue

from amqpbroker.core.ports import ManualClock
from amqpbroker.core.queue import FLOW_HIGH, FLOW_LOW, FLOW_STALL


def test_a_drained_queue_far_behind_holds_publishers_until_it_catches_up() -> None:
    queue = make_queue()
    sink = FakeSink(capacity=False)  # the consumer's socket is backed up
    queue.add_consumer(consumer(queue, sink, "c", no_ack=True))
    fill(queue, FLOW_HIGH)
    assert not queue.holds_publishers()
    fill(queue, 1)
    assert queue.holds_publishers()
    released: list[str] = []
    queue.hold_publisher("publisher", lambda: released.append("publisher"))
    sink.capacity = True
    taken = 0

    def stop_at_low_mark(_envelope: object) -> None:
        nonlocal taken
        taken += 1
        if queue.message_count == FLOW_LOW:
            sink.capacity = False

    sink.on_deliver = stop_at_low_mark
    queue.dispatch()
    assert (queue.message_count, released) == (FLOW_LOW, [])  # not yet under the low mark
    sink.capacity, sink.on_deliver = True, None
    queue.dispatch()
    assert released == ["publisher"] and not queue.holds_publishers()


def test_queues_without_consumers_never_hold_publishers() -> None:
    queue = make_queue()
    fill(queue, FLOW_HIGH + 10)
    assert not queue.holds_publishers()


def test_consumers_at_their_prefetch_limit_hold_publishers_until_they_stall() -> None:
    """Acks will make room, so publishers wait; but consumers that deliver nothing for
    FLOW_STALL seconds are stuck: the publishers go, and nobody is held until the queue
    delivers again."""
    clock = ManualClock()
    queue = make_queue(clock=clock)
    sink = FakeSink()
    stuck = consumer(queue, sink, "c", prefetch=5)
    queue.add_consumer(stuck)
    fill(queue, FLOW_HIGH + 100)
    assert len(sink.delivered) == 5 and queue.holds_publishers()
    released: list[str] = []
    queue.hold_publisher("p", lambda: released.append("p"))
    clock.advance(FLOW_STALL - 0.1)
    assert released == []
    clock.advance(0.1)
    assert released == ["p"] and not queue.holds_publishers()
    stuck.unacked = 0  # acks arrive: the queue delivers again and holds publishers again
    queue.dispatch()
    assert queue.holds_publishers()


def test_a_slow_consumer_is_not_a_stuck_one() -> None:
    clock = ManualClock()
    queue = make_queue(clock=clock)
    sink = FakeSink()
    slow = consumer(queue, sink, "c", prefetch=5)
    queue.add_consumer(slow)
    fill(queue, FLOW_HIGH + 100)
    released: list[str] = []
    queue.hold_publisher("p", lambda: released.append("p"))
    for _ in range(3):
        clock.advance(FLOW_STALL - 1)
        slow.unacked = 0
        queue.dispatch()  # five more delivered within each FLOW_STALL
    assert released == [] and queue.holds_publishers()


@pytest.mark.parametrize("let_go", ["cancel", "purge"])
def test_a_held_publisher_is_let_go_when_the_consumer_leaves_or_the_queue_is_purged(
    let_go: str,
) -> None:
    queue = make_queue()
    sink = FakeSink(capacity=False)
    only = consumer(queue, sink, "c", no_ack=True)
    queue.add_consumer(only)
    fill(queue, FLOW_HIGH + 1)
    released: list[str] = []
    queue.hold_publisher("p", lambda: released.append("p"))
    if let_go == "cancel":
        queue.remove_consumer(only)
    else:
        queue.purge()
    assert released == ["p"]


def test_a_publisher_that_went_away_is_forgotten() -> None:
    queue = make_queue()
    sink = FakeSink(capacity=False)
    queue.add_consumer(consumer(queue, sink, "c", no_ack=True))
    fill(queue, FLOW_HIGH + 1)
    released: list[str] = []
    queue.hold_publisher("p", lambda: released.append("p"))
    queue.forget_publisher("p")
    queue.purge()
    assert released == []
