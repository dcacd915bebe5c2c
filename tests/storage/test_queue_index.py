"""QueueIndex: which of a durable queue's index segments are still needed (pure)."""

from __future__ import annotations

from pathlib import Path

from amqpbroker.storage.queue_index import INDEX_RESET_ENTRIES, QueueIndex, queue_directory_name

ROOT = Path("/nowhere")


def index_with(*segments: list[int]) -> QueueIndex:
    """An index whose segments 1, 2, ... enqueued the given seqs."""
    index = QueueIndex(ROOT)
    for number, seqs in enumerate(segments, start=1):
        index.segment = number
        for seq in seqs:
            index.note_enqueue(seq)
    return index


def test_the_oldest_segment_goes_once_all_it_enqueued_left():
    index = index_with([1, 2, 3], [4, 5], [6])
    assert (index.segments, index.first_seqs, index.live) == ([1, 2, 3], [1, 4, 6], [3, 2, 1])
    assert index.note_removed([1, 2]) is False
    assert index.note_removed([3]) is True
    assert index.dead_files() == [ROOT / "00000001.idx"]
    assert (index.oldest_file, index.segments) == (2, [2, 3])


def test_a_segment_emptied_behind_a_live_one_waits_for_it():
    index = index_with([1, 2], [3], [4])
    index.note_removed([3])  # segment 2 empty, but segment 1 still holds 1 and 2
    assert index.dead_files() == []
    index.note_removed([1, 2])
    assert index.dead_files() == [ROOT / "00000001.idx", ROOT / "00000002.idx"]
    assert index.oldest_file == 3


def test_the_segment_being_appended_to_stays():
    index = index_with([1, 2])
    index.note_removed([1, 2])
    assert index.dead_files() == []
    assert index.segment == 1


def test_an_index_with_nothing_stored_starts_afresh_once_it_has_grown():
    index = index_with([1])
    index.segment = 2  # appending moved on (removal records fill segments too)
    index.entries_in_segment = INDEX_RESET_ENTRIES - 1
    index.note_removed([1])
    assert index.dead_files() == [ROOT / "00000001.idx"]
    assert index.segments == []
    index.entries_in_segment += 1
    assert index.dead_files() == [ROOT / "00000002.idx"]
    assert (index.segment, index.entries_in_segment, index.oldest_file) == (3, 0, 3)


def test_queue_directories_are_unique_to_one_incarnation():
    first, second = queue_directory_name("/", "q"), queue_directory_name("/", "q")
    assert first != second
    assert first.split("-")[0] == second.split("-")[0]  # the name's digest
    assert queue_directory_name("/", "r").split("-")[0] != first.split("-")[0]
