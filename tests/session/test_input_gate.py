"""InputGate: what pauses a connection's input, and the dispatch at the end of a run."""

from __future__ import annotations

from collections.abc import Callable

from amqpbroker.session.input_gate import InputGate
from amqpbroker.session.throttle import PublisherThrottle, ResourceAlarm


class FlowQueue:
    """A queue as the gate sees it: it records dispatches and holds publishers on demand."""

    def __init__(self, name: str, behind: bool = False) -> None:
        self.name = name
        self.behind = behind  # far behind its consumers: holds publishers
        self.dispatched = 0
        self.waiting: dict[object, Callable[[], None]] = {}
        self.holds: list[object] = []  # every hold_publisher call

    def __repr__(self) -> str:
        return f"<FlowQueue {self.name}>"

    def dispatch(self) -> None:
        self.dispatched += 1

    def holds_publishers(self) -> bool:
        return self.behind

    def hold_publisher(self, publisher: object, resume: Callable[[], None]) -> None:
        self.holds.append(publisher)
        self.waiting[publisher] = resume

    def forget_publisher(self, publisher: object) -> None:
        self.waiting.pop(publisher, None)

    def catch_up(self) -> None:
        self.behind = False
        waiting, self.waiting = self.waiting, {}
        for resume in waiting.values():
            resume()


class Gate:
    def __init__(self) -> None:
        self.alarm = ResourceAlarm()
        self.flushes = 0
        self.publisher = object()
        self.gate = InputGate(
            PublisherThrottle(self.alarm, lambda: True), self.publisher, self.flush
        )

    def flush(self) -> None:
        self.flushes += 1


def test_a_new_gate_is_open_in_every_state() -> None:
    gate = Gate().gate
    assert not gate.paused(connection_open=True)
    assert not gate.paused(connection_open=False)


def test_held_commands_pause_input_in_every_state_and_ask_for_a_flush() -> None:
    g = Gate()
    g.gate.hold()
    assert g.gate.paused(connection_open=True)
    assert g.gate.paused(connection_open=False)
    assert g.flushes == 1  # the transport then stops reading
    g.gate.resume()
    assert not g.gate.paused(connection_open=True)


def test_a_blocked_publisher_pauses_only_while_the_connection_is_open() -> None:
    g = Gate()
    g.alarm.reason = "low on memory"
    assert g.gate.content_received() is not None
    assert g.gate.paused(connection_open=True)
    assert not g.gate.paused(connection_open=False)  # closing: reads its close-ok


def test_a_run_dispatches_each_queue_once_at_its_end() -> None:
    g = Gate()
    q1, q2 = FlowQueue("q1"), FlowQueue("q2")
    for _ in range(3):
        g.gate.dispatch_later([q1, q2])
    assert (q1.dispatched, q2.dispatched) == (0, 0)
    g.gate.dispatch_pending()
    assert (q1.dispatched, q2.dispatched) == (1, 1)
    assert not g.gate.pending
    g.gate.dispatch_pending()
    assert q1.dispatched == 1


def test_a_queue_far_behind_holds_its_publisher_until_it_catches_up() -> None:
    g = Gate()
    queue = FlowQueue("q", behind=True)
    g.gate.dispatch_later([queue])
    g.gate.dispatch_pending()
    assert g.gate.paused(connection_open=True)
    assert not g.gate.paused(connection_open=False)
    assert g.gate.held_by_queues
    assert g.publisher in queue.waiting
    queue.catch_up()
    assert not g.gate.paused(connection_open=True)


def test_input_resumes_from_the_next_flush_not_from_the_queue_letting_go() -> None:
    g = Gate()
    queue = FlowQueue("q", behind=True)
    g.gate.dispatch_later([queue])
    g.gate.dispatch_pending()
    assert g.gate.take_resumed() is False
    flushes = g.flushes
    queue.catch_up()
    assert g.flushes == flushes + 1
    assert g.gate.take_resumed() is True
    assert g.gate.take_resumed() is False  # once


def test_input_resumes_only_once_every_holding_queue_let_go() -> None:
    g = Gate()
    q1, q2 = FlowQueue("q1", behind=True), FlowQueue("q2", behind=True)
    g.gate.dispatch_later([q1, q2])
    g.gate.dispatch_pending()
    q1.catch_up()
    assert g.gate.paused(connection_open=True)
    assert not g.gate.take_resumed()
    q2.catch_up()
    assert not g.gate.paused(connection_open=True)
    assert g.gate.take_resumed()


def test_an_ack_run_never_makes_a_queue_hold_the_connection() -> None:
    g = Gate()
    queue = FlowQueue("q", behind=True)
    g.gate.dispatch_later([queue], published=False)
    g.gate.dispatch_pending()
    assert queue.dispatched == 1
    assert not g.gate.paused(connection_open=True)


def test_a_publish_in_the_run_counts_even_after_an_ack_named_the_queue() -> None:
    g = Gate()
    queue = FlowQueue("q", behind=True)
    g.gate.dispatch_later([queue], published=False)
    g.gate.dispatch_later([queue])
    g.gate.dispatch_later([queue], published=False)  # does not undo the publish
    g.gate.dispatch_pending()
    assert g.gate.paused(connection_open=True)


def test_a_queue_is_asked_to_hold_the_publisher_once() -> None:
    g = Gate()
    queue = FlowQueue("q", behind=True)
    for _ in range(2):
        g.gate.dispatch_later([queue])
        g.gate.dispatch_pending()
    assert queue.holds == [g.publisher]


def test_forget_lets_every_holding_queue_forget_the_publisher() -> None:
    g = Gate()
    q1, q2 = FlowQueue("q1", behind=True), FlowQueue("q2", behind=True)
    g.gate.dispatch_later([q1, q2])
    g.gate.dispatch_pending()
    g.gate.forget()
    assert q1.waiting == {} and q2.waiting == {}
    assert not g.gate.paused(connection_open=True)


def test_the_alarm_clearing_reopens_a_blocked_connection_and_says_unblocked() -> None:
    g = Gate()
    g.alarm.reason = "low on disk"
    blocked = g.gate.content_received()
    assert blocked is not None and blocked.reason == "low on disk"
    assert g.gate.content_received() is None  # told once per block
    g.alarm.reason = None
    assert g.gate.alarm_cleared() is not None
    assert not g.gate.paused(connection_open=True)


def test_content_without_an_alarm_blocks_no_one() -> None:
    g = Gate()
    assert g.gate.content_received() is None
    assert not g.gate.paused(connection_open=True)
