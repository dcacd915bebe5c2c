"""The ready lists (core.ready) on their own: order, requeue position, priority levels,
quorum returns, paging through a window to an in-memory store, and what the store hears.

The hypothesis machines drive a list with pushes, takes and returns of any subset of what
was taken, in any order, and compare it with a model of the variant's order rule
(RabbitMQ's classic_queue_prop_SUITE does the same for its backing queue).
"""

from __future__ import annotations

from typing import Any

import pytest
from fakes import MemoryStore, message
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from amqpbroker.core.message import Envelope
from amqpbroker.core.paging import ChunkSlot
from amqpbroker.core.ports import NullStore, Paging, StoreRef
from amqpbroker.core.ready import PriorityReadyList, QuorumReadyList, ReadyList

OWNER = "queue"


def fifo(store: Any = None, *, durable: bool = False) -> ReadyList[str]:
    store = store or NullStore()
    return ReadyList(OWNER, store, store.paging, durable=durable)


def envelope(seq: int, body: str | None = None, **options: Any) -> Envelope:
    return Envelope(message(body or f"m{seq}", **options), seq)


def seqs(ready: ReadyList[Any]) -> list[int]:
    return [e.seq for e in ready.in_memory()]


def fill(ready: ReadyList[Any], count: int, **options: Any) -> list[Envelope]:
    pushed = [envelope(seq, **options) for seq in range(1, count + 1)]
    for one in pushed:
        ready.push(one)
    return pushed


def take_all(ready: ReadyList[Any], store: MemoryStore | None = None) -> list[int]:
    """Take everything as the queue does (refilling after each take), answering reads
    from disk as the list asks for them."""
    taken = []
    while len(ready):
        if ready.head() is None:
            ready.refill(force=True)
            if ready.head() is None:
                assert store is not None and store.complete_reads(), "nothing to wait for"
            continue
        taken.append(ready.take().seq)
        ready.refill()
    return taken


# -- FIFO -------------------------------------------------------------------------------------


def test_push_take_in_order_counting_messages_and_bytes() -> None:
    ready = fifo()
    fill(ready, 3)
    assert (len(ready), ready.bytes, ready.in_memory_count) == (3, 6, 3)
    assert [ready.take().seq for _ in range(3)] == [1, 2, 3]
    assert (len(ready), ready.bytes, ready.head()) == (0, 0, None)


def test_requeue_goes_back_to_the_original_position_marked_redelivered() -> None:
    ready = fifo()
    fill(ready, 5)
    taken = [ready.take() for _ in range(4)]
    ready.requeue([taken[3], taken[1]])
    assert seqs(ready) == [2, 4, 5]
    ready.requeue([taken[0]])
    assert seqs(ready) == [1, 2, 4, 5]
    assert [e.redelivered for e in ready.in_memory()] == [True, True, True, False]
    assert ready.bytes == 8


def test_drop_while_takes_from_the_head_only() -> None:
    ready = fifo()
    fill(ready, 4)
    dropped = ready.drop_while(lambda e: e.seq != 3)
    assert [e.seq for e in dropped] == [1, 2]
    assert seqs(ready) == [3, 4]
    assert ready.drop_while(lambda e: False) == []


def test_drop_transient_keeps_persistent_messages_in_order() -> None:
    ready = fifo()
    for seq in range(1, 5):
        ready.push(envelope(seq, persistent=seq % 2 == 0))
    ready.drop_transient()
    assert seqs(ready) == [2, 4]
    assert ready.bytes == 4


def test_an_in_memory_list_never_pages() -> None:
    ready = fifo(MemoryStore(window=2), durable=False)
    fill(ready, 10, persistent=True)
    assert ready.in_memory_count == 10 and ready.paged_out_count == 0


# -- what the store hears ----------------------------------------------------------------------


def test_a_durable_list_stores_persistent_messages_only() -> None:
    store = MemoryStore(window=100)
    ready = fifo(store, durable=True)
    ready.push(envelope(1, persistent=True))
    ready.push(envelope(2))
    assert store.enqueued_seqs == [1]
    first, second = ready.take(), ready.take()
    ready.handed_out(first, acknowledged_later=True)
    ready.handed_out(second, acknowledged_later=True)
    assert store.delivered_seqs == [1]
    ready.forget([first, second])
    assert store.removed_seqs == [1]


def test_handed_out_without_an_ack_to_come_is_removed_at_once() -> None:
    store = MemoryStore(window=100)
    ready = fifo(store, durable=True)
    ready.push(envelope(1, persistent=True))
    ready.handed_out(ready.take(), acknowledged_later=False)
    assert (store.delivered_seqs, store.removed_seqs) == ([], [1])


def test_purge_removes_stored_messages_in_memory_and_on_disk() -> None:
    store = MemoryStore(window=2)
    ready = fifo(store, durable=True)
    fill(ready, 5, persistent=True)
    ready.push(envelope(6))  # transient: never stored
    assert ready.purge() == 6
    assert sorted(store.removed_seqs) == [1, 2, 3, 4, 5]
    assert (len(ready), ready.bytes) == (0, 0)


def test_purge_during_a_read_from_disk_drops_what_the_read_brings_back() -> None:
    store = MemoryStore(window=2, refill_batch=3)
    ready = fifo(store, durable=True)
    fill(ready, 6, persistent=True)  # 1-2 in memory, 3-6 on disk
    ready.take(), ready.take()
    ready.refill()  # 3-5 on their way back
    assert store.pending
    assert ready.purge() == 4
    ready.push(envelope(7, persistent=True))  # behind the read in flight
    store.complete_reads()
    ready.refill()  # (as the queue does once a read is back)
    store.complete_reads()
    assert seqs(ready) == [7]
    assert sorted(store.removed_seqs) == [3, 4, 5, 6]
    assert (len(ready), ready.bytes) == (1, len(b"m7"))


def test_a_non_durable_list_tells_the_store_nothing() -> None:
    store = MemoryStore()
    ready = fifo(store, durable=False)
    fill(ready, 2, persistent=True)
    ready.handed_out(ready.take(), acknowledged_later=False)
    ready.purge()
    assert (store.enqueued_seqs, store.removed_seqs) == ([], [])


# -- paging -------------------------------------------------------------------------------------


def test_beyond_the_window_messages_wait_on_disk_and_come_back_in_order() -> None:
    store = MemoryStore(window=4, refill_batch=3)
    ready = fifo(store, durable=True)
    fill(ready, 10, persistent=True)
    assert (ready.in_memory_count, ready.paged_out_count, len(ready)) == (4, 6, 10)
    assert take_all(ready, store) == list(range(1, 11))


def test_transient_messages_behind_the_window_wait_in_memory() -> None:
    store = MemoryStore(window=2, refill_batch=2)
    ready = fifo(store, durable=True)
    for seq in range(1, 7):
        ready.push(envelope(seq, persistent=seq % 3 != 0))
    assert ready.paged_out_count == 2  # 4 and 5 on disk; 3 and 6 in memory
    assert [e.seq for e in ready.listed()] == [1, 2, 3]  # up to the first one on disk
    assert take_all(ready, store) == [1, 2, 3, 4, 5, 6]


def test_refill_waits_until_the_window_is_half_empty() -> None:
    store = MemoryStore(window=4, refill_batch=2)
    ready = fifo(store, durable=True)
    fill(ready, 8, persistent=True)
    ready.take()
    ready.refill()
    assert store.pending == []  # 3 in memory: not under half the window
    ready.take()
    ready.take()
    ready.refill()
    assert len(store.pending) == 1
    assert len(ready) == 5  # messages on their way back still count


def test_a_push_while_a_read_is_in_flight_waits_behind_it() -> None:
    store = MemoryStore(window=2, refill_batch=2)
    ready = fifo(store, durable=True)
    fill(ready, 4, persistent=True)
    ready.take()
    ready.take()
    ready.refill()  # 3 and 4 are being read
    assert ready.head() is None and not ready.head_ready()
    ready.push(envelope(5))
    assert take_all(ready, store) == [3, 4, 5]


def test_when_head_ready_is_called_once_the_read_is_back() -> None:
    store = MemoryStore(window=2, refill_batch=2)
    ready = fifo(store, durable=True)
    fill(ready, 4, persistent=True)
    ready.take()
    ready.take()
    woken: list[int] = []
    ready.on_paged_in = ready.wake_head_waiters
    ready.when_head_ready(lambda: woken.append(ready.head().seq))
    assert woken == []
    store.complete_reads()
    assert woken == [3]


def test_a_closed_list_drops_what_comes_back_and_still_wakes_waiters() -> None:
    store = MemoryStore(window=2, refill_batch=2)
    ready = fifo(store, durable=True)
    fill(ready, 4, persistent=True)
    ready.take()
    ready.take()
    woken: list[str] = []
    ready.when_head_ready(lambda: woken.append("woken"))
    ready.closed = True
    store.complete_reads()
    assert woken == ["woken"] and ready.head() is None


def test_a_failed_read_loses_the_messages_but_not_the_list() -> None:
    store = MemoryStore(window=2, refill_batch=2)
    ready = fifo(store, durable=True)
    fill(ready, 4, persistent=True)
    ready.take()
    ready.take()
    ready.refill()
    _, callback = store.pending.pop()
    callback(None)  # type: ignore[arg-type]
    assert (len(ready), ready.head_ready()) == (0, True)


def test_restored_messages_wait_on_disk_until_needed() -> None:
    store = MemoryStore(window=4, refill_batch=2)
    ready = fifo(store, durable=True)
    for seq in (3, 5, 9):
        ref = StoreRef(1, seq * 10, 7)
        store.written[ref] = b"m%d" % seq
        ready.restore(seq, ref, redelivered=seq == 5, expires_at=100.0 + seq)
    assert (len(ready), ready.bytes, ready.in_memory_count) == (3, 21, 0)
    assert ready.backlog_head_expires_at() == 103.0
    ready.refill(force=True)
    store.complete_reads()
    back = list(ready.in_memory())
    assert [(e.seq, e.redelivered, e.expires_at) for e in back[:2]] == [
        (3, False, 103.0),
        (5, True, 105.0),
    ]


def test_compaction_finds_and_moves_stored_messages_in_memory_and_on_disk() -> None:
    store = MemoryStore(window=2, refill_batch=2)
    ready = fifo(store, durable=True)
    fill(ready, 4, persistent=True)
    found = ready.stored_in_segment(1)
    assert [seq for seq, _, _ in found] == [1, 2, 3, 4]
    assert isinstance(found[3][2], ChunkSlot)  # paged out: its place is in a chunk
    assert ready.stored_in_segment(2) == []
    for _, ref, place in found:
        ready.move_stored(place, StoreRef(2, ref.offset, ref.size))
    assert [seq for seq, _, _ in ready.stored_in_segment(2)] == [1, 2, 3, 4]
    assert [ref.segment for _, ref in ready.stored_entries()] == [2, 2, 2, 2]


# -- priority -----------------------------------------------------------------------------------


def priority_list(top: int = 3) -> PriorityReadyList[str]:
    return PriorityReadyList(OWNER, NullStore(), None, durable=False, top=top)


def test_higher_priorities_first_fifo_within_one() -> None:
    ready = priority_list()
    for seq, priority in enumerate([0, 2, 1, 2, 0, 9], start=1):
        ready.push(envelope(seq, priority=priority))
    assert seqs(ready) == [6, 2, 4, 3, 1, 5]  # 9 counts as the top, 3
    assert [ready.take().seq for _ in range(6)] == [6, 2, 4, 3, 1, 5]


def test_a_returned_message_goes_behind_higher_and_ahead_of_later_equal_priorities() -> None:
    ready = priority_list()
    for seq, priority in enumerate([1, 1, 2, 1], start=1):
        ready.push(envelope(seq, priority=priority))
    first = ready.take()  # 3 (priority 2)
    second = ready.take()  # 1
    ready.requeue([second, first])
    assert seqs(ready) == [3, 1, 2, 4]
    assert len(ready) == 4


def test_a_priority_list_counts_and_drops_like_any_other() -> None:
    ready = priority_list(top=1)
    for seq in range(1, 5):
        ready.push(envelope(seq, priority=seq % 2))
    assert ready.bytes == 8
    assert [e.seq for e in ready.drop_while(lambda e: e.message.priority == 1)] == [1, 3]
    ready.purge()
    assert (len(ready), ready.head(), list(ready.in_memory())) == (0, None, [])


def test_a_durable_priority_list_keeps_new_messages_in_memory() -> None:
    store = MemoryStore(window=2)
    ready = PriorityReadyList(OWNER, store, store.paging, durable=True, top=2)
    fill(ready, 6, persistent=True)
    assert ready.in_memory_count == 6 and store.pending == []


# -- quorum -------------------------------------------------------------------------------------


def quorum_list(store: Any = None) -> QuorumReadyList[str]:
    store = store or NullStore()
    return QuorumReadyList(OWNER, store, store.paging, durable=store.paging is not None)


def test_quorum_returns_go_to_the_back_in_the_order_given() -> None:
    ready = quorum_list()
    fill(ready, 4)
    one, two = ready.take(), ready.take()
    ready.requeue([two, one])
    assert seqs(ready) == [3, 4, 2, 1]


def test_quorum_closed_channel_returns_go_to_the_front_behind_earlier_ones() -> None:
    ready = quorum_list()
    fill(ready, 4)
    one, two, three = ready.take(), ready.take(), ready.take()
    ready.requeue([two, one], closing=True)
    ready.requeue([three], closing=True)
    assert seqs(ready) == [2, 1, 3, 4]
    again = ready.take()
    ready.requeue([again], closing=True)
    assert seqs(ready) == [1, 3, 2, 4]
    ready.purge()
    fill(ready, 1)
    ready.requeue([ready.take()], closing=True)
    ready.push(envelope(7))
    assert seqs(ready) == [1, 7]


def test_quorum_returns_behind_a_backlog_keep_their_delivery_count() -> None:
    store = MemoryStore(window=2, refill_batch=2)
    ready = quorum_list(store)
    fill(ready, 5, persistent=True)
    first = ready.take()
    first.delivery_count = 3
    ready.requeue([first])  # a backlog exists: to its end, on disk
    assert ready.in_memory_count == 1 and len(ready) == 5
    order = []
    while len(ready):
        if ready.head() is None:
            ready.refill(force=True)
            store.complete_reads()
            continue
        taken = ready.take()
        order.append((taken.seq, taken.delivery_count, taken.redelivered))
    assert order == [(2, 0, False), (3, 0, False), (4, 0, False), (5, 0, False), (1, 3, True)]


def test_quorum_keeps_transient_messages_on_disk_too() -> None:
    store = MemoryStore(window=10)
    ready = quorum_list(store)
    ready.push(envelope(1))
    assert store.enqueued_seqs == [1] and ready.keeps_on_disk(message("x"))


# -- order models (hypothesis) ------------------------------------------------------------------


class OrderMachine(RuleBasedStateMachine):
    """Push, take and return any subset of what is out, in any order; the list holds what
    the model says, in the model's order."""

    def __init__(self) -> None:
        super().__init__()
        self.ready = self.make()
        self.next_seq = 0
        self.model: list[Envelope] = []  # the order the variant must keep
        self.out: list[Envelope] = []

    def make(self) -> ReadyList[str]:
        return fifo()

    def placed(self, returned: list[Envelope], closing: bool) -> None:
        """FIFO: every message at its sequence number's place."""
        self.model = sorted([*self.model, *returned], key=lambda e: e.seq)

    @rule(priority=st.integers(0, 6))
    def push(self, priority: int) -> None:
        self.next_seq += 1
        pushed = envelope(self.next_seq, priority=priority)
        self.ready.push(pushed)
        self.model.append(pushed)
        self.model = self.ordered(self.model)

    def ordered(self, model: list[Envelope]) -> list[Envelope]:
        return model

    @precondition(lambda self: self.model)
    @rule()
    def take(self) -> None:
        taken = self.ready.take()
        assert taken is self.model.pop(0)
        self.out.append(taken)

    @precondition(lambda self: self.out)
    @rule(data=st.data(), closing=st.booleans())
    def give_back(self, data: st.DataObject, closing: bool) -> None:
        returned = data.draw(st.permutations(self.out))
        returned = returned[: data.draw(st.integers(1, len(returned)))]
        self.out = [e for e in self.out if e not in returned]
        self.ready.requeue(list(returned), closing)
        self.placed(list(returned), closing)

    @invariant()
    def matches_the_model(self) -> None:
        assert list(self.ready.in_memory()) == self.model
        assert len(self.ready) == len(self.model)
        assert self.ready.bytes == sum(len(e.message.body) for e in self.model)


class PriorityOrderMachine(OrderMachine):
    """Priority then sequence number (priorities above the top count as the top)."""

    def make(self) -> ReadyList[str]:
        return priority_list(top=4)

    def ordered(self, model: list[Envelope]) -> list[Envelope]:
        return sorted(model, key=lambda e: (-min(e.message.priority, 4), e.seq))

    def placed(self, returned: list[Envelope], closing: bool) -> None:
        self.model = self.ordered([*self.model, *returned])


class QuorumOrderMachine(OrderMachine):
    """Returns to the back in the order given; a closing channel's to the front, behind
    those closing channels returned before that are still waiting there."""

    def __init__(self) -> None:
        super().__init__()
        self.front = 0

    def make(self) -> ReadyList[str]:
        return quorum_list()

    @precondition(lambda self: self.model)
    @rule()
    def take(self) -> None:
        super().take()
        self.front = max(0, self.front - 1)

    def placed(self, returned: list[Envelope], closing: bool) -> None:
        for one in returned:
            if closing:
                self.model.insert(self.front, one)
                self.front += 1
            else:
                self.model.append(one)


class PagedOrderMachine(RuleBasedStateMachine):
    """FIFO through a window of 3 over a store whose reads come back when they like: every
    take is the lowest sequence number in the list, whatever is on disk."""

    def __init__(self) -> None:
        super().__init__()
        self.store = MemoryStore(window=3, refill_batch=2)
        self.ready = fifo(self.store, durable=True)
        self.next_seq = 0
        self.held: set[int] = set()
        self.out: list[Envelope] = []

    @rule(persistent=st.booleans())
    def push(self, persistent: bool) -> None:
        self.next_seq += 1
        self.ready.push(envelope(self.next_seq, persistent=persistent))
        self.held.add(self.next_seq)

    @precondition(lambda self: self.ready.head() is not None)
    @rule()
    def take(self) -> None:
        taken = self.ready.take()
        assert taken.seq == min(self.held)
        self.held.remove(taken.seq)
        self.out.append(taken)
        self.ready.refill()

    @precondition(lambda self: self.out)
    @rule(data=st.data())
    def give_back(self, data: st.DataObject) -> None:
        returned = data.draw(st.permutations(self.out))[:1]
        self.out.remove(returned[0])
        self.ready.requeue(list(returned))
        self.held.add(returned[0].seq)

    @rule()
    def reads_come_back(self) -> None:
        self.store.complete_reads()

    @invariant()
    def counts(self) -> None:
        assert len(self.ready) == len(self.held)

    def teardown(self) -> None:
        assert take_all(self.ready, self.store) == sorted(self.held)


FAST = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestFifoOrder = OrderMachine.TestCase
TestFifoOrder.settings = FAST
TestPriorityOrder = PriorityOrderMachine.TestCase
TestPriorityOrder.settings = FAST
TestQuorumOrder = QuorumOrderMachine.TestCase
TestQuorumOrder.settings = FAST
TestPagedOrder = PagedOrderMachine.TestCase
TestPagedOrder.settings = FAST


@pytest.mark.parametrize("window", [1, 2, 5])
def test_any_window_gives_the_same_order(window: int) -> None:
    store = MemoryStore(window=window, refill_batch=max(1, window - 1))
    ready = fifo(store, durable=True)
    for seq in range(1, 13):
        ready.push(envelope(seq, persistent=seq % 4 != 0))
    assert take_all(ready, store) == list(range(1, 13))


def test_paging_defaults_are_the_documented_window_and_batch() -> None:
    assert (Paging().window, Paging().refill_batch) == (20_000, 5_000)
