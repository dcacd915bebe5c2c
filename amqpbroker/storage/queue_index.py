"""One durable queue's index: its directory, the segment being appended to, and which of
its segments can go.

A queue's index is segmented (``NNNNNNNN.idx`` files of records, see ``store``).  The oldest
index segment is deleted once every message it enqueued has left the queue, and only the
oldest, so that no later record refers to a deleted one; a queue that holds no stored
message at all starts afresh in a new file once its current one has grown.
"""

from __future__ import annotations

import hashlib
import secrets
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path

from .records import segment_name

# An index whose queue holds no stored message restarts in a new file after this many entries.
INDEX_RESET_ENTRIES = 10_000


def queue_directory_name(vhost: str, name: str) -> str:
    """Unique to one incarnation of the queue (a redeclared queue starts afresh)."""
    digest = hashlib.sha256(f"{vhost}\0{name}".encode()).hexdigest()[:24]
    return f"{digest}-{secrets.token_hex(4)}"


@dataclass(slots=True)
class QueueIndex:
    """Where one durable queue's index lives and which of its segments can go."""

    directory: Path
    segment: int = 1  # the index segment being appended to
    entries_in_segment: int = 0
    oldest_file: int = 1  # no index segment below this exists any more
    first_seqs: list[int] = field(default_factory=list)  # first seq of each live segment
    segments: list[int] = field(default_factory=list)  # their numbers, oldest first
    live: list[int] = field(default_factory=list)  # live messages enqueued in each
    # Where this index's records go in the batch being filled: its chunk list there, for
    # which batch and which index segment (looked up again when either changes).
    chunks: list[bytes] = field(default_factory=list)
    chunks_batch: int = 0
    chunks_segment: int = 0
    # DELIVERED and REMOVED events not appended yet, as runs of consecutive seqs (kind ->
    # [first, last]): one record per run, appended when it breaks or at the flush.
    runs: dict[bytes, list[int]] = field(default_factory=dict)

    def path(self, number: int) -> Path:
        return self.directory / segment_name(number, "idx")

    def note_enqueue(self, seq: int) -> None:
        if not self.segments or self.segments[-1] != self.segment:
            self.segments.append(self.segment)
            self.first_seqs.append(seq)
            self.live.append(0)
        self.live[-1] += 1

    def note_removed(self, seqs: list[int]) -> bool:
        """Count removals; True when ``dead_files`` may find something to delete."""
        first_seqs, live = self.first_seqs, self.live
        for seq in seqs:
            if first_seqs and seq >= first_seqs[-1]:  # the usual case: the newest segment
                live[-1] -= 1
                continue
            position = bisect_right(first_seqs, seq) - 1
            if position >= 0:
                live[position] -= 1
        return not live or live[0] <= 0 or self.oldest_file < self.segments[0]

    def dead_files(self) -> list[Path]:
        """Index files that can go: the oldest segments without live messages, or, once the
        queue holds no stored message at all and the current segment has grown, every file
        (appending then starts afresh)."""
        while self.segments and self.live[0] <= 0 and self.segments[0] != self.segment:
            del self.segments[0], self.first_seqs[0], self.live[0]
        if not self.segments and self.entries_in_segment >= INDEX_RESET_ENTRIES:
            last = self.segment
            self.segment += 1
            self.entries_in_segment = 0
        else:
            last = self.segments[0] - 1 if self.segments else self.segment - 1
        dead = [self.path(n) for n in range(self.oldest_file, last + 1)]
        self.oldest_file = max(self.oldest_file, last + 1)
        return dead
