"""The part of a queue's backlog that lives on disk.

Theory of operation: a durable queue keeps at most a window of messages in memory.  Behind
that window the backlog is a sequence of chunks in queue order: ``DiskChunk``s hold only
where each persistent message is stored (compact arrays, ~25 bytes a message, bodies on
disk), and in-memory chunks hold messages that cannot be paged (transient ones, which have
no disk copy).  The ready list (``core.ready``) pages back in from the front as its window
drains.
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Iterator
from typing import NamedTuple

from .message import Envelope
from .ports import StoreRef

NO_EXPIRY = -1.0


class Stored(NamedTuple):
    """A paged-out message: where it is and what its queue knows of it."""

    seq: int
    ref: StoreRef
    redelivered: bool
    expires_at: float | None


class DiskChunk:
    """Stored messages in queue order: sequence numbers, store refs and redelivered flags."""

    __slots__ = (
        "_expires",
        "_flags",
        "_offsets",
        "_segments",
        "_seqs",
        "_sizes",
        "segments_used",
        "start",
    )

    def __init__(self) -> None:
        self._seqs = array("Q")
        self._segments = array("I")
        self._offsets = array("Q")
        self._sizes = array("I")
        self._flags = array("B")
        self._expires = array("d")  # clock time, or NO_EXPIRY
        self.start = 0  # entries before this were paged back in
        self.segments_used: set[int] = set()  # store segments referenced (for compaction)

    def __len__(self) -> int:
        return len(self._seqs) - self.start

    def append(
        self, seq: int, ref: StoreRef, redelivered: bool, expires_at: float | None = None
    ) -> None:
        self._expires.append(NO_EXPIRY if expires_at is None else expires_at)
        self._seqs.append(seq)
        segment, offset, size = ref
        self.segments_used.add(segment)
        self._segments.append(segment)
        self._offsets.append(offset)
        self._sizes.append(size)
        self._flags.append(redelivered)

    def take(self, count: int) -> list[Stored]:
        """Remove and return up to ``count`` entries from the front."""
        stop = min(self.start + count, len(self._seqs))
        taken = [
            Stored(
                self._seqs[i],
                StoreRef(self._segments[i], self._offsets[i], self._sizes[i]),
                bool(self._flags[i]),
                None if self._expires[i] == NO_EXPIRY else self._expires[i],
            )
            for i in range(self.start, stop)
        ]
        self.start = stop
        return taken

    def head_expires_at(self) -> float | None:
        expiry = self._expires[self.start] if len(self) else NO_EXPIRY
        return None if expiry == NO_EXPIRY else expiry

    def entries(self) -> Iterator[tuple[int, StoreRef]]:
        for i in range(self.start, len(self._seqs)):
            yield self._seqs[i], StoreRef(self._segments[i], self._offsets[i], self._sizes[i])

    def in_segment(self, segment: int) -> Iterator[tuple[int, int, StoreRef]]:
        """(position, seq, ref) of the entries stored in ``segment``."""
        if segment not in self.segments_used:
            return
        segments = self._segments
        for i in range(self.start, len(segments)):
            if segments[i] == segment:
                yield i, self._seqs[i], StoreRef(segment, self._offsets[i], self._sizes[i])

    def move(self, position: int, ref: StoreRef) -> None:
        """The entry at ``position`` now lives at ``ref`` (compaction moved it)."""
        segment, offset, size = ref
        self.segments_used.add(segment)
        self._segments[position] = segment
        self._offsets[position] = offset
        self._sizes[position] = size


Chunk = DiskChunk | deque[Envelope]


class ChunkSlot(NamedTuple):
    """Where a paged-out entry sits: compaction points it at the message's new place."""

    chunk: DiskChunk
    position: int

    def move(self, ref: StoreRef) -> None:
        self.chunk.move(self.position, ref)


class Backlog:
    """The chunks behind a queue's in-memory window, in queue order; only the ready list
    that owns it reads or changes them."""

    __slots__ = ("_chunks", "count")

    def __init__(self) -> None:
        self._chunks: deque[Chunk] = deque()
        self.count = 0  # messages in the backlog (read it; the methods below change it)

    def __len__(self) -> int:
        return self.count

    def add_stored(
        self, seq: int, ref: StoreRef, redelivered: bool = False, expires_at: float | None = None
    ) -> None:
        last = self._chunks[-1] if self._chunks else None
        if not isinstance(last, DiskChunk):
            last = DiskChunk()
            self._chunks.append(last)
        last.append(seq, ref, redelivered, expires_at)
        self.count += 1

    def add_in_memory(self, envelope: Envelope) -> None:
        last = self._chunks[-1] if self._chunks else None
        if not isinstance(last, deque):
            last = deque()
            self._chunks.append(last)
        last.append(envelope)
        self.count += 1

    def take_in_memory(self) -> deque[Envelope] | None:
        """The front chunk if it is held in memory (removed), else None."""
        chunk = self._chunks[0] if self._chunks else None
        if chunk is None or isinstance(chunk, DiskChunk):
            return None
        self._chunks.popleft()
        self.count -= len(chunk)
        return chunk

    def take_stored(self, count: int) -> list[Stored]:
        """Up to ``count`` entries from the front chunk, which is on disk (removed)."""
        chunk = self._chunks[0] if self._chunks else None
        if not isinstance(chunk, DiskChunk):
            return []
        entries = chunk.take(count)
        self.count -= len(entries)
        if not chunk:
            self._chunks.popleft()
        return entries

    def head_expires_at(self) -> float | None:
        """When the first message of the backlog expires (None: never, or no backlog)."""
        if not self._chunks:
            return None
        head = self._chunks[0]
        if isinstance(head, DiskChunk):
            return head.head_expires_at()
        return head[0].expires_at if head else None

    def on_disk(self) -> int:
        return sum(len(c) for c in self._chunks if isinstance(c, DiskChunk))

    def in_memory_prefix(self) -> Iterator[Envelope]:
        """The messages in memory before the first paged-out one."""
        for chunk in self._chunks:
            if isinstance(chunk, DiskChunk):
                return
            yield from chunk

    def clear(self) -> list[tuple[int, StoreRef]]:
        """Drop everything; return the stored entries that were dropped."""
        dropped = list(self.stored_entries())
        self._chunks.clear()
        self.count = 0
        return dropped

    def stored_entries(self) -> Iterator[tuple[int, StoreRef]]:
        for chunk in self._chunks:
            if isinstance(chunk, DiskChunk):
                yield from chunk.entries()

    def in_segment(self, segment: int) -> Iterator[tuple[int, StoreRef, ChunkSlot]]:
        """(seq, ref, slot) of the paged-out entries stored in ``segment``."""
        for chunk in self._chunks:
            if isinstance(chunk, DiskChunk):
                for position, seq, ref in chunk.in_segment(segment):
                    yield seq, ref, ChunkSlot(chunk, position)
