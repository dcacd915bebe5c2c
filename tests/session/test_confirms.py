"""ConfirmTracker: sequence numbers, waiting for the disk, and the fewest frames in order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from amqpbroker.session.confirms import Confirm, ConfirmTracker, ConfirmWait


def test_sequence_numbers_start_at_one_and_count_every_publish() -> None:
    tracker = ConfirmTracker()
    tracker.published()
    tracker.published(ack=False)
    assert tracker.last_seq == 2


def test_nothing_settled_nothing_to_send() -> None:
    assert ConfirmTracker().settled() == []


def test_one_ack_is_a_single_ack() -> None:
    tracker = ConfirmTracker()
    assert tracker.published() is ConfirmWait.NONE
    assert tracker.settled() == [Confirm(1, multiple=False, ack=True)]
    assert tracker.settled() == []  # sent once


def test_a_run_of_acks_is_one_multiple_ack() -> None:
    tracker = ConfirmTracker()
    for _ in range(5):
        tracker.published()
    assert tracker.settled() == [Confirm(5, multiple=True, ack=True)]


def test_a_nack_splits_the_run_and_goes_alone() -> None:
    tracker = ConfirmTracker()
    for ack in (True, True, False, True):
        tracker.published(ack)
    assert tracker.settled() == [
        Confirm(2, multiple=True, ack=True),
        Confirm(3, multiple=True, ack=False),  # everything before it is settled
        Confirm(4, multiple=False, ack=True),
    ]


def test_a_publish_waiting_for_the_disk_holds_back_those_after_it() -> None:
    tracker = ConfirmTracker()
    tracker.published()
    assert tracker.published(batch=7) is ConfirmWait.NEW_BATCH
    tracker.published()  # in memory only, but after the one on its way to disk
    assert tracker.settled() == [Confirm(1, multiple=False, ack=True)]
    tracker.durable(7)
    assert tracker.settled() == [Confirm(3, multiple=True, ack=True)]


def test_one_callback_per_store_batch() -> None:
    tracker = ConfirmTracker()
    assert tracker.published(batch=3) is ConfirmWait.NEW_BATCH
    assert tracker.published(batch=3) is ConfirmWait.SAME_BATCH
    assert tracker.published(batch=4) is ConfirmWait.NEW_BATCH


def test_a_batch_already_on_disk_is_settled_at_once() -> None:
    tracker = ConfirmTracker()
    tracker.published(batch=2)
    tracker.durable(2)
    tracker.settled()
    assert tracker.published(batch=1) is ConfirmWait.NONE
    assert tracker.published(batch=2) is ConfirmWait.NONE


def test_a_later_batch_on_disk_covers_the_earlier_ones() -> None:
    tracker = ConfirmTracker()
    tracker.published(batch=1)
    tracker.published(batch=2)
    tracker.durable(2)
    assert tracker.settled() == [Confirm(2, multiple=True, ack=True)]
    tracker.durable(1)  # late news changes nothing
    assert tracker.published(batch=2) is ConfirmWait.NONE


def test_clear_drops_what_was_not_sent() -> None:
    tracker = ConfirmTracker()
    tracker.published(batch=5)
    tracker.clear()
    tracker.durable(5)
    assert tracker.settled() == []


def _covered(confirms: list[Confirm]) -> dict[int, bool]:
    """What a client makes of the frames: each seq's outcome."""
    seen: dict[int, bool] = {}
    floor = 0
    for seq, multiple, ack in confirms:
        for covered in range(floor + 1 if multiple else seq, seq + 1):
            seen.setdefault(covered, ack)
        floor = max(floor, seq)
    return seen


publishes = st.lists(st.tuples(st.booleans(), st.integers(0, 4)), max_size=40)


@given(publishes, st.lists(st.integers(0, 4), max_size=6))
def test_every_publish_is_confirmed_once_in_order_with_its_outcome(
    steps: list[tuple[bool, int]], disk_news: list[int]
) -> None:
    tracker = ConfirmTracker()
    frames: list[Confirm] = []
    durable = 0
    for ack, batch in steps:
        tracker.published(ack, batch)
        if disk_news:
            durable = max(durable, disk_news.pop(0))
            tracker.durable(durable)
        frames += tracker.settled()
    tracker.durable(4)
    frames += tracker.settled()
    seqs = [frame.seq for frame in frames]
    assert seqs == sorted(set(seqs)), "in order, each frame once"
    assert _covered(frames) == {seq: ack for seq, (ack, _) in enumerate(steps, 1)}


@given(publishes)
def test_no_publish_is_confirmed_before_its_batch_is_on_disk(steps: list[tuple[bool, int]]) -> None:
    tracker = ConfirmTracker()
    for ack, batch in steps:
        tracker.published(ack, batch)
    durable = 2
    tracker.durable(durable)
    confirmed = set(_covered(tracker.settled()))
    for seq, (_, batch) in enumerate(steps, 1):
        if seq in confirmed:
            assert batch <= durable
    first_waiting = next((seq for seq, (_, b) in enumerate(steps, 1) if b > durable), None)
    if first_waiting is not None:
        assert all(seq < first_waiting for seq in confirmed), "order is kept"
