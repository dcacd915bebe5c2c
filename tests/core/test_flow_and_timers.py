"""The queue's small machines on their own: publisher flow control (FLOW_HIGH, FLOW_LOW,
FLOW_STALL) and its two timers (the head's expiry, x-expires), with a ManualClock."""

from __future__ import annotations

from amqpbroker.core.ports import ManualClock
from amqpbroker.core.publisher_flow import FLOW_HIGH, FLOW_LOW, FLOW_STALL, PublisherFlow
from amqpbroker.core.queue_timers import HeadTimer, IdleTimer


def released_into(flow: PublisherFlow, *publishers: str) -> list[str]:
    released: list[str] = []
    for publisher in publishers:
        flow.hold(publisher, lambda p=publisher: released.append(p))
    return released


# -- publisher flow -----------------------------------------------------------------------------


def test_publishers_are_held_above_the_high_mark_with_consumers_only() -> None:
    flow = PublisherFlow(ManualClock())
    assert not flow.holds(FLOW_HIGH, consumers=True)
    assert flow.holds(FLOW_HIGH + 1, consumers=True)
    assert not flow.holds(FLOW_HIGH + 1, consumers=False)


def test_held_publishers_go_once_under_the_low_mark() -> None:
    flow = PublisherFlow(ManualClock())
    released = released_into(flow, "p1", "p2")
    assert flow.holding
    flow.dispatched(True, FLOW_LOW, consumers=True)
    assert released == []
    flow.dispatched(True, FLOW_LOW - 1, consumers=True)
    assert released == ["p1", "p2"] and not flow.holding


def test_held_publishers_go_when_the_consumers_do() -> None:
    flow = PublisherFlow(ManualClock())
    released = released_into(flow, "p")
    flow.release(FLOW_HIGH * 2, consumers=False)
    assert released == ["p"]


def test_stuck_consumers_let_publishers_go_until_a_delivery() -> None:
    clock = ManualClock()
    flow = PublisherFlow(clock)
    released = released_into(flow, "p")
    clock.advance(FLOW_STALL)
    assert released == ["p"]
    assert not flow.holds(FLOW_HIGH * 2, consumers=True)  # stalled: hold nobody
    flow.dispatched(True, FLOW_HIGH * 2, consumers=True)
    assert flow.holds(FLOW_HIGH * 2, consumers=True)


def test_slow_consumers_keep_publishers_held() -> None:
    clock = ManualClock()
    flow = PublisherFlow(clock)
    released = released_into(flow, "p")
    for _ in range(3):
        clock.advance(FLOW_STALL - 0.5)
        flow.dispatched(True, FLOW_HIGH * 2, consumers=True)
    assert released == []


def test_a_forgotten_publisher_is_not_resumed() -> None:
    flow = PublisherFlow(ManualClock())
    released = released_into(flow, "p")
    flow.forget("p")
    flow.release(0, consumers=True)
    assert released == [] and not flow.holding


# -- timers -------------------------------------------------------------------------------------


def test_the_head_timer_moves_only_when_the_time_does() -> None:
    clock = ManualClock()
    fired: list[float] = []
    timer = HeadTimer(clock, lambda: fired.append(clock.now()))
    timer.follow(2.0)
    timer.follow(2.0)
    timer.follow(1.0)  # a new head: earlier
    timer.follow(None)  # no head: the armed timer stays (its callback checks)
    clock.advance(3)
    assert fired == [1.0]


def test_the_idle_timer_counts_from_the_last_use() -> None:
    clock = ManualClock()
    expired: list[float] = []
    timer = IdleTimer(clock, 1000, expire=lambda: expired.append(clock.now()), idle=lambda: True)
    clock.advance(0.7)
    timer.touch()
    clock.advance(1.0)
    assert expired == [1.7]


def test_the_idle_timer_waits_while_the_queue_is_in_use() -> None:
    clock = ManualClock()
    in_use = True
    expired: list[str] = []
    timer = IdleTimer(clock, 500, expire=lambda: expired.append("gone"), idle=lambda: not in_use)
    clock.advance(5)
    assert expired == []
    in_use = False
    timer.touch()  # the last consumer left
    clock.advance(0.5)
    assert expired == ["gone"]


def test_rearming_the_idle_timer() -> None:
    clock = ManualClock()
    expired: list[str] = []
    timer = IdleTimer(clock, None, expire=lambda: expired.append("gone"), idle=lambda: True)
    clock.advance(100)
    timer.rearm(200)
    clock.advance(0.2)
    assert expired == ["gone"]
    timer.rearm(None)
    clock.advance(100)
    assert expired == ["gone"]
