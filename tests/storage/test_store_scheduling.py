"""What the durable store asks of the event loop, seen through a fake one: one flush per
tick, whatever the tick recorded, and every result of the writer thread handed back through
``call_soon_threadsafe`` (no asyncio here)."""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from storeutil import make_message

from amqpbroker.config import BrokerConfig
from amqpbroker.core.broker import BrokerState
from amqpbroker.core.ports import ManualClock
from amqpbroker.storage.recovery import recover
from amqpbroker.storage.store import DurableStore

TIMEOUT = 10.0


class FakeLoop:
    """Keeps what the store schedules; the test runs it."""

    def __init__(self) -> None:
        self.soon: list[Callable[[], None]] = []
        self.handed_back: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()

    def call_soon(self, callback: Callable[[], None]) -> None:
        self.soon.append(callback)

    def call_soon_threadsafe(self, callback: Callable[[], None]) -> None:
        self.handed_back.put(callback)

    def end_of_tick(self) -> None:
        callbacks, self.soon = self.soon, []
        for callback in callbacks:
            callback()

    def next_hand_back(self) -> None:
        self.handed_back.get(timeout=TIMEOUT)()


@pytest.fixture
def started(tmp_path: Path) -> Iterator[tuple[DurableStore, BrokerState, FakeLoop]]:
    store = DurableStore(tmp_path / "data", fsync=False)
    state = BrokerState(BrokerConfig(), store)
    recover(store, state)
    loop = FakeLoop()
    store.start(loop, ManualClock())
    yield store, state, loop
    store.close()


def test_a_tick_of_records_is_one_flush_and_its_confirm_comes_back_after_the_write(
    started: tuple[DurableStore, BrokerState, FakeLoop],
) -> None:
    store, state, loop = started
    q = state.vhost("/").declare_queue(
        "q", passive=False, durable=True, exclusive=False, auto_delete=False, arguments={}, owner=1
    )
    for i in range(3):
        q.enqueue(make_message(b"m%d" % i))
    durable: list[int] = []
    store.when_durable(lambda: durable.append(store.batch_number))
    assert len(loop.soon) == 1  # one flush, however much the tick recorded
    loop.end_of_tick()
    assert durable == []  # not before the writer thread wrote it
    loop.next_hand_back()
    assert durable == [2]  # (run on the loop, after the batch was handed over)
    assert store.message_path(1).stat().st_size > 0


def test_a_read_comes_back_through_the_loop(
    started: tuple[DurableStore, BrokerState, FakeLoop],
) -> None:
    store, state, loop = started
    q = state.vhost("/").declare_queue(
        "q", passive=False, durable=True, exclusive=False, auto_delete=False, arguments={}, owner=1
    )
    q.enqueue(make_message(b"stored"))
    ref = q.ready.stored_entries()[0][1]
    read: list[list[bytes] | None] = []
    store.read([ref], lambda messages: read.append(messages and [m.body for m in messages]))
    loop.end_of_tick()
    loop.next_hand_back()
    assert read == [[b"stored"]]
