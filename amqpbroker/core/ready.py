"""A queue's ready messages, in delivery order: RabbitMQ's backing queue.

Theory of operation.  A ``ReadyList`` holds what a queue has not handed out yet and knows
nothing of the queue's rules (TTL, limits, consumers): the queue pushes, takes the head,
returns messages and drops from the head, and the list keeps the order, the count and the
body bytes.  Three variants differ only in order:

- ``ReadyList``: FIFO by the queue's sequence numbers; a returned message goes back to the
  position its number gives it (``FifoWindow.merge``), so it is redelivered in order.
- ``PriorityReadyList``: one FIFO per priority level, the highest first (RabbitMQ's priority
  queue is a backing queue per priority).
- ``QuorumReadyList``: returns go to the back in the order given, or, when their channel
  closed, to the front behind earlier such returns; delivery counts of returns paged out
  are kept until they are read back.

Durability: the list of a durable queue tells the store what happens to the messages it
keeps on disk (persistent ones, or every one for a quorum queue): enqueued, handed out
(delivered, or removed when no ack will come), forgotten (acked, dropped), purged.

Memory: a list keeps at most ``Paging.window`` messages in memory (``pages_out``: durable
queues on a store that reads messages back); the rest wait in the ``Backlog`` (bodies of
stored messages on disk) and are read back ``Paging.refill_batch`` at a time, off the loop,
as the window drains below half.  A message pushed while a backlog exists (or a read is in
flight) waits behind it.  A queue recovered from disk starts with everything in the
backlog.  ``on_paged_in`` tells the queue when a read came back; ``when_head_ready`` lets
basic.get wait for one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Generic, Protocol, TypeVar

from .message import Envelope, Message
from .paging import Backlog, ChunkSlot, Stored
from .ports import Paging, StoreRef
from .queue_settings import QueueSettings

Q = TypeVar("Q")  # the queue a list belongs to (core.queue.Queue)
Q_contra = TypeVar("Q_contra", contravariant=True)


class StoreFor(Protocol[Q_contra]):
    """What a ready list asks of its queue's store (``core.ports.Store``)."""

    def enqueued(self, queue: Q_contra, envelope: Envelope) -> None: ...
    def delivered(self, queue: Q_contra, envelope: Envelope) -> None: ...
    def removed(self, queue: Q_contra, seqs: list[int], refs: list[StoreRef]) -> None: ...
    def read(
        self, refs: list[StoreRef], callback: Callable[[list[Message] | None], None]
    ) -> None: ...


# Where compaction finds a stored message still in a list: on the message (in memory) or
# in a chunk of the backlog (paged out).
StoredPlace = Message | ChunkSlot


class FifoWindow(deque[Envelope]):
    """Ready messages in memory, in sequence order."""

    def merge(self, envelopes: list[Envelope]) -> None:
        """Put ``envelopes`` (sorted by seq) back where their sequence numbers go."""
        if not self or envelopes[-1].seq < self[0].seq:
            self.extendleft(reversed(envelopes))
            return
        merged = sorted([*self, *envelopes], key=_seq)
        self.clear()
        self.extend(merged)


class PriorityWindow:
    """Ready messages in memory: one ``FifoWindow`` per priority level, highest first.
    Offers the deque operations a ``ReadyList`` uses."""

    __slots__ = ("_count", "_levels", "_top")

    def __init__(self, top: int) -> None:
        self._levels = [FifoWindow() for _ in range(top + 1)]  # priorities 0..top
        self._top = 0  # no level above this holds a message
        self._count = 0

    def _level(self, envelope: Envelope) -> int:
        return min(envelope.message.priority, len(self._levels) - 1)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Envelope]:
        for level in reversed(self._levels):
            yield from level

    def __getitem__(self, index: int) -> Envelope:
        if index != 0 or not self._count:
            raise IndexError(index)
        return self._levels[self._highest()][0]

    def level_lengths(self) -> list[int]:
        """Messages at each priority, 0 upwards (the management API's priority_lengths)."""
        return [len(level) for level in self._levels]

    def _highest(self) -> int:
        while self._top and not self._levels[self._top]:
            self._top -= 1
        return self._top

    def append(self, envelope: Envelope) -> None:
        level = self._level(envelope)
        self._levels[level].append(envelope)
        self._top = max(self._top, level)
        self._count += 1

    def extend(self, envelopes: Iterable[Envelope]) -> None:
        for envelope in envelopes:
            self.append(envelope)

    def popleft(self) -> Envelope:
        if not self._count:
            raise IndexError("pop from an empty window")
        self._count -= 1
        return self._levels[self._highest()].popleft()

    def merge(self, envelopes: list[Envelope]) -> None:
        by_level: dict[int, list[Envelope]] = {}
        for envelope in envelopes:
            by_level.setdefault(self._level(envelope), []).append(envelope)
        for level, returned in by_level.items():
            self._levels[level].merge(returned)
            self._top = max(self._top, level)
        self._count += len(envelopes)

    def clear(self) -> None:
        for level in self._levels:
            level.clear()
        self._top = self._count = 0


class ReadyList(Generic[Q]):
    """FIFO ready messages with original-position requeue (see the module docstring).

    ``paging``: the store's (None: it never reads messages back); only a durable queue's
    list pages new messages out."""

    def __init__(
        self,
        owner: Q,
        store: StoreFor[Q],
        paging: Paging | None,
        *,
        durable: bool,
        keeps_transient: bool = False,
    ) -> None:
        self._owner = owner
        self._store = store
        self._durable = durable
        self._window_limit = paging.window if durable and paging is not None else None
        paging = paging or Paging()
        self._low_water = paging.window // 2
        self._refill_batch = paging.refill_batch
        self.keeps_transient = keeps_transient
        # The messages in memory, head first (others read it; only this list changes it).
        self.window: FifoWindow | PriorityWindow = FifoWindow()
        self._backlog = Backlog()
        self._loading = False
        self._loading_count = 0  # messages on their way back from disk
        self._read_purged = False  # the queue was purged while they were on their way
        self._head_waiters: list[Callable[[], None]] = []
        self.bytes = 0  # body bytes (stored size for paged-out messages never read)
        self.closed = False  # the queue was deleted: reads that come back are dropped
        self.on_paged_in: Callable[[], None] = _nothing  # set by the queue
        self.disk_writes = 0  # messages written to the store (RabbitMQ's disk_writes)
        self.disk_reads = 0  # messages read back from it

    def __len__(self) -> int:
        return len(self.window) + self._backlog.count + self._loading_count

    @property
    def in_memory_count(self) -> int:
        return len(self.window)

    def keeps_on_disk(self, message: Message) -> bool:
        """Whether a durable queue stores ``message``: a persistent one, or any message in a
        queue type that keeps transient ones too."""
        return message.persistent or self.keeps_transient

    # -- push, take, return, drop ---------------------------------------------------------------

    def push(self, envelope: Envelope) -> None:
        """A new message at the back (stored first if the queue keeps it on disk: then it
        can wait there)."""
        stored = self._durable and self.keeps_on_disk(envelope.message)
        if stored:
            self._store.enqueued(self._owner, envelope)
            self.disk_writes += 1
        self.bytes += len(envelope.message.body)
        window = self.window
        if (
            self._backlog.count
            or self._loading
            or (self._window_limit is not None and len(window) >= self._window_limit)
        ):
            ref = envelope.message.store_ref
            if stored and ref is not None:
                self._backlog.add_stored(envelope.seq, ref, expires_at=envelope.expires_at)
            else:
                self._backlog.add_in_memory(envelope)
        else:
            window.append(envelope)

    def head(self) -> Envelope | None:
        """The next message, if it is in memory."""
        window = self.window
        return window[0] if window else None

    def take(self) -> Envelope:
        """Remove and return the head (``head()`` is not None)."""
        envelope = self.window.popleft()
        self.bytes -= len(envelope.message.body)
        return envelope

    def drop_while(self, condition: Callable[[Envelope], bool]) -> list[Envelope]:
        """Take messages from the head while ``condition(head)`` holds."""
        dropped = []
        window = self.window
        while window and condition(window[0]):
            dropped.append(self.take())
        return dropped

    def requeue(self, envelopes: list[Envelope], closing: bool = False) -> None:
        """Return unacked messages, marked redelivered, to their original positions
        (``closing``: their channel closed, which makes no difference here)."""
        for envelope in envelopes:
            envelope.redelivered = True
            self.bytes += len(envelope.message.body)
        envelopes.sort(key=_seq)
        self.window.merge(envelopes)

    def drop_transient(self) -> None:
        """Lose the messages kept only in memory (a restart of an in-memory broker)."""
        window = self.window
        kept = [e for e in window if e.message.persistent]
        self.bytes -= sum(len(e.message.body) for e in window if not e.message.persistent)
        window.clear()
        window.extend(kept)

    def purge(self) -> int:
        """Drop everything (the store forgets it too); return how many messages went."""
        count = len(self)
        dropped = self._stored_in_window()
        dropped += self._backlog.clear()
        self.window.clear()
        self.bytes = 0
        if self._loading:  # what the read brings back is purged too (``_loaded``)
            self._read_purged = True
            self._loading_count = 0
        if self._durable and dropped:
            self._store.removed(self._owner, [seq for seq, _ in dropped], [r for _, r in dropped])
        return count

    # -- what the store hears -------------------------------------------------------------------

    def handed_out(self, envelope: Envelope, acknowledged_later: bool) -> None:
        """A message left for a consumer or basic.get: delivered, or gone if no ack comes."""
        message = envelope.message
        if self._durable and message.store_ref is not None and self.keeps_on_disk(message):
            if acknowledged_later:
                self._store.delivered(self._owner, envelope)
            else:
                self._store.removed(self._owner, [envelope.seq], [message.store_ref])

    def forget(self, envelopes: list[Envelope]) -> None:
        """Acked or dropped (or returned to a deleted queue): they leave for good."""
        if not self._durable:
            return
        seqs, refs = [], []
        for envelope in envelopes:
            ref = envelope.message.store_ref
            if ref is not None and self.keeps_on_disk(envelope.message):
                seqs.append(envelope.seq)
                refs.append(ref)
        if seqs:
            self._store.removed(self._owner, seqs, refs)

    # -- what is where --------------------------------------------------------------------------

    def in_memory(self) -> Iterator[Envelope]:
        """The ready messages held in memory (the window), in delivery order."""
        return iter(self.window)

    def listed(self) -> Iterator[Envelope]:
        """Ready messages in delivery order as far as memory holds them: the window, then
        the backlog up to its first paged-out part (the rest is on disk)."""
        yield from self.window
        if not self._loading:  # (else the next messages are on their way back from disk)
            yield from self._backlog.in_memory_prefix()

    @property
    def paged_out_count(self) -> int:
        """Ready messages whose bodies are on disk (or on their way back from it)."""
        return self._backlog.on_disk() + self._loading_count

    def _stored_in_window(self) -> list[tuple[int, StoreRef]]:
        return [
            (e.seq, e.message.store_ref)
            for e in self.window
            if e.message.store_ref is not None and self.keeps_on_disk(e.message)
        ]

    def stored_entries(self) -> list[tuple[int, StoreRef]]:
        """Every stored message still in the list (for the store, when it is deleted)."""
        return self._stored_in_window() + list(self._backlog.stored_entries())

    def stored_in_segment(self, segment: int) -> list[tuple[int, StoreRef, StoredPlace]]:
        """(seq, ref, place) of the stored messages of ``segment`` still in this list;
        ``place`` is what ``move_stored`` needs to point one elsewhere (compaction)."""
        found: list[tuple[int, StoreRef, StoredPlace]] = [
            (e.seq, e.message.store_ref, e.message)
            for e in self.window
            if e.message.store_ref is not None and e.message.store_ref.segment == segment
        ]
        found.extend(self._backlog.in_segment(segment))
        return found

    @staticmethod
    def move_stored(place: object, ref: StoreRef) -> None:
        """Point the message at ``place`` (from ``stored_in_segment``) to ``ref``."""
        if isinstance(place, ChunkSlot):
            place.move(ref)
        elif isinstance(place, Message):
            place.store_ref = ref

    # -- paging ---------------------------------------------------------------------------------

    def restore(
        self, seq: int, ref: StoreRef, redelivered: bool, expires_at: float | None = None
    ) -> None:
        """A stored message found at recovery (its body stays on disk until needed)."""
        self.bytes += ref.size  # (the record's size: the body's is not known until read)
        self._backlog.add_stored(seq, ref, redelivered, expires_at)

    def backlog_head_expires_at(self) -> float | None:
        return None if self.window else self._backlog.head_expires_at()

    def recovered(self) -> None:
        """After recovery: read the head back from disk if it can expire (its queue
        drops it now if it expired while the broker was down)."""
        if self.backlog_head_expires_at() is not None:
            self.refill(force=True)

    def head_ready(self) -> bool:
        """True when the head can be taken now (a message in memory, or none at all)."""
        return bool(self.window) or not (self._backlog.count or self._loading)

    def when_head_ready(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the window holds a message again (after a read from disk)."""
        self._head_waiters.append(callback)
        self.refill(force=True)

    def refill(self, force: bool = False) -> None:
        """Move backlog into the window when it runs low (or at once: ``force``): chunks in
        memory at once, stored messages by an asynchronous read."""
        backlog = self._backlog
        while backlog.count and not self._loading and (force or len(self.window) < self._low_water):
            force = False
            chunk = backlog.take_in_memory()
            if chunk is not None:
                self.window.extend(chunk)
                continue
            entries = backlog.take_stored(self._refill_batch)
            self._loading = True
            self._loading_count = len(entries)
            self._store.read([entry.ref for entry in entries], partial(self._loaded, entries))
        if self.window and self._head_waiters:
            self.wake_head_waiters()

    def _loaded(self, entries: list[Stored], messages: list[Message] | None) -> None:
        self._loading = False
        self._loading_count = 0
        if self._read_purged:
            self._read_purged = False
            if self._durable and entries:
                self._store.removed(self._owner, [e.seq for e in entries], [e.ref for e in entries])
            messages, entries = [], []
        if messages is None:  # the store failed to read them (and logged why)
            messages, entries = [], []
        if self.closed:
            self.wake_head_waiters()
            return
        for entry, message in zip(entries, messages, strict=True):
            self.window.append(self._paged_in(entry, message))
        self.disk_reads += len(messages)
        self.on_paged_in()

    def _paged_in(self, entry: Stored, message: Message) -> Envelope:
        message.store_ref = entry.ref
        envelope = Envelope(message, entry.seq, entry.expires_at)
        envelope.redelivered = entry.redelivered
        return envelope

    def wake_head_waiters(self) -> None:
        waiters, self._head_waiters = self._head_waiters, []
        for waiter in waiters:
            waiter()


class PriorityReadyList(ReadyList[Q]):
    """Higher priorities first, FIFO within one (such lists never page new messages out)."""

    def __init__(
        self,
        owner: Q,
        store: StoreFor[Q],
        paging: Paging | None,
        *,
        durable: bool,
        top: int,
    ) -> None:
        super().__init__(owner, store, paging, durable=durable)
        self._window_limit = None
        self.window = PriorityWindow(top)

    def _paged_in(self, entry: Stored, message: Message) -> Envelope:
        # A message read back from disk (after a restart) knows its priority only from its
        # stored header; the session read it from the header on publish.
        priority = message.properties.priority
        message.priority = priority if isinstance(priority, int) else 0
        return super()._paged_in(entry, message)


class QuorumReadyList(ReadyList[Q]):
    """Returns to the back, or (closed channel) to the front; see the module docstring."""

    def __init__(
        self, owner: Q, store: StoreFor[Q], paging: Paging | None, *, durable: bool
    ) -> None:
        super().__init__(owner, store, paging, durable=durable, keeps_transient=True)
        self._fifo = FifoWindow()
        self.window = self._fifo
        self._front_returns = 0  # messages at the head of the window a closed channel returned
        self._paged_counts: dict[int, int] = {}  # seq -> count of returned messages on disk

    def take(self) -> Envelope:
        if self._front_returns:
            self._front_returns -= 1
        return super().take()

    def requeue(self, envelopes: list[Envelope], closing: bool = False) -> None:
        """Return messages in the order given (their counts already raised)."""
        for envelope in envelopes:
            envelope.redelivered = True
            self.bytes += len(envelope.message.body)
            if closing:
                self._fifo.insert(self._front_returns, envelope)
                self._front_returns += 1
            else:
                self._to_back(envelope)

    def _to_back(self, envelope: Envelope) -> None:
        if not (self._backlog.count or self._loading):
            self.window.append(envelope)
            return
        ref = envelope.message.store_ref
        if ref is not None and self.keeps_on_disk(envelope.message):
            self._backlog.add_stored(envelope.seq, ref, True, envelope.expires_at)
            self._paged_counts[envelope.seq] = envelope.delivery_count
        else:
            self._backlog.add_in_memory(envelope)

    def _paged_in(self, entry: Stored, message: Message) -> Envelope:
        envelope = super()._paged_in(entry, message)
        envelope.delivery_count = self._paged_counts.pop(entry.seq, int(entry.redelivered))
        return envelope

    def purge(self) -> int:
        self._front_returns = 0
        self._paged_counts.clear()
        return super().purge()


def _seq(envelope: Envelope) -> int:
    return envelope.seq


def _nothing() -> None:
    pass


def ready_list_for(
    owner: Q, store: StoreFor[Q], paging: Paging | None, *, durable: bool, settings: QueueSettings
) -> ReadyList[Q]:
    """The list for a classic queue: by priority levels with x-max-priority, else FIFO."""
    if settings.max_priority is None:
        return ReadyList(owner, store, paging, durable=durable)
    return PriorityReadyList(owner, store, paging, durable=durable, top=settings.max_priority)
