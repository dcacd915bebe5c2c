"""What the core asks of durable storage (implemented by ``amqpbroker.storage``), and the
clock it reads and schedules through.

The core calls the store synchronously and it must not block: a store records the intent and
writes it later from its own thread.  ``NullStore`` is the in-memory broker's store.

This module is the core's lowest seam: it imports nothing from the rest of the core (which
imports it), so what the store is handed is described here by small protocols of what
storage reads (``StoredQueue``, ``StoredExchange``, ``StoredBinding``, ``StoredEnvelope``),
and ``Store`` is generic in the message type it keeps: the broker's stores are
``Store[Message]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, TypeVar


class StoreRef(NamedTuple):
    """Where a stored message lives: its message segment, offset and record size."""

    segment: int
    offset: int
    size: int


WINDOW = 20_000  # messages a durable queue keeps in memory before paging the rest out
REFILL_BATCH = 5_000  # messages read back from disk at a time


@dataclass(frozen=True, slots=True)
class Paging:
    """How durable queues page to a store that can read messages back: at most ``window``
    ready messages in memory, the rest read back ``refill_batch`` at a time."""

    window: int = WINDOW
    refill_batch: int = REFILL_BATCH


MessageT = TypeVar("MessageT")
MessageT_co = TypeVar("MessageT_co", covariant=True)


class StoredQueue(Protocol):
    """What the store reads of a durable queue: its definition, the clock its expiry times
    are in, and (for compaction) where its stored messages are."""

    @property
    def name(self) -> str: ...
    @property
    def vhost(self) -> str: ...
    @property
    def auto_delete(self) -> bool: ...
    @property
    def arguments(self) -> dict[str, Any]: ...
    @property
    def clock(self) -> Clock: ...

    @property
    def ready(self) -> StoredMessages:
        """Where the queue keeps its ready messages (compaction moves the stored ones)."""


class StoredMessages(Protocol):
    """A queue's ready messages, as compaction sees them."""

    def stored_in_segment(self, segment: int) -> Sequence[tuple[int, StoreRef, object]]:
        """(seq, ref, place) of the stored messages of ``segment`` still in the queue;
        ``place`` is opaque to the store: it hands it back to ``move_stored``."""

    def move_stored(self, place: object, ref: StoreRef) -> None:
        """Compaction copied the message at ``place`` to ``ref``."""


class StoredExchange(Protocol):
    """What the store records of a durable exchange."""

    @property
    def name(self) -> str: ...
    @property
    def vhost(self) -> str: ...
    @property
    def type_name(self) -> str: ...
    @property
    def auto_delete(self) -> bool: ...
    @property
    def internal(self) -> bool: ...
    @property
    def arguments(self) -> dict[str, Any]: ...


class BindingEnd(Protocol):
    """A binding's destination, as the store names it (a queue or an exchange)."""

    @property
    def name(self) -> str: ...
    @property
    def vhost(self) -> str: ...


class StoredBinding(Protocol):
    """What the store records of a binding between durable ends."""

    @property
    def source(self) -> str: ...
    @property
    def destination(self) -> BindingEnd: ...
    @property
    def routing_key(self) -> str: ...
    @property
    def raw_arguments(self) -> dict[str, Any] | None: ...


class StoredEnvelope(Protocol[MessageT_co]):
    """A message's place in one queue, as the store records it."""

    @property
    def message(self) -> MessageT_co: ...
    @property
    def seq(self) -> int: ...
    @property
    def expires_at(self) -> float | None:
        """Clock time (the queue's clock) after which it is dead; None: never."""


class Store(Protocol[MessageT]):
    """Durable definitions and persistent messages in durable queues."""

    def vhost_added(self, name: str, description: str = "", tags: tuple[str, ...] = ()) -> None:
        """A vhost was created, or its description and tags changed."""

    def vhost_deleted(self, name: str) -> None:
        """After its queues and exchanges were deleted one by one."""

    def exchange_declared(self, exchange: StoredExchange) -> None: ...
    def exchange_deleted(self, exchange: StoredExchange) -> None: ...
    def queue_declared(self, queue: StoredQueue) -> None: ...
    def queue_deleted(self, queue: StoredQueue) -> None: ...
    def binding_added(self, binding: StoredBinding) -> None: ...
    def binding_removed(self, binding: StoredBinding) -> None: ...

    def enqueued(self, queue: StoredQueue, envelope: StoredEnvelope[MessageT]) -> None:
        """A persistent message entered a durable queue (written once across queues)."""

    def delivered(self, queue: StoredQueue, envelope: StoredEnvelope[MessageT]) -> None:
        """A stored message went out unacknowledged (so it comes back redelivered)."""

    def removed(self, queue: StoredQueue, seqs: list[int], refs: list[StoreRef]) -> None:
        """Stored messages left a queue (acked, dropped, purged)."""

    @property
    def paging(self) -> Paging | None:
        """How durable queues page their backlog out to this store (None: they do not)."""

    @property
    def batch_number(self) -> int:
        """The batch being recorded now (numbers only grow).  ``when_durable`` callbacks
        registered during a batch run once it and all before it are on disk, so one
        callback serves every record of its batch.  0: a store that is never behind."""

    def when_durable(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once everything recorded so far is on disk."""

    def read(self, refs: list[StoreRef], callback: Callable[[list[MessageT] | None], None]) -> None:
        """Read paged-out messages back, off the loop; ``callback`` gets them in order, or
        None if the store could not read them (it logged why)."""


class NullStore:
    """No durability: the in-memory broker (a ``Store`` of any message type)."""

    paging: Paging | None = None
    batch_number = 0

    def vhost_added(self, name: str, description: str = "", tags: tuple[str, ...] = ()) -> None:
        pass

    def vhost_deleted(self, name: str) -> None:
        pass

    def exchange_declared(self, exchange: StoredExchange) -> None:
        pass

    def exchange_deleted(self, exchange: StoredExchange) -> None:
        pass

    def queue_declared(self, queue: StoredQueue) -> None:
        pass

    def queue_deleted(self, queue: StoredQueue) -> None:
        pass

    def binding_added(self, binding: StoredBinding) -> None:
        pass

    def binding_removed(self, binding: StoredBinding) -> None:
        pass

    def enqueued(self, queue: StoredQueue, envelope: StoredEnvelope[object]) -> None:
        pass

    def delivered(self, queue: StoredQueue, envelope: StoredEnvelope[object]) -> None:
        pass

    def removed(self, queue: StoredQueue, seqs: list[int], refs: list[StoreRef]) -> None:
        pass

    def when_durable(self, callback: Callable[[], None]) -> None:
        callback()

    def read(self, refs: list[StoreRef], callback: object) -> None:
        """Never called: nothing is paged out without a paging store."""
        raise RuntimeError("the in-memory store never pages messages out")


# Rewrites a content header for dead-lettering: (header, queue, reason, exchange,
# routing keys, time, drop CC) -> header.  The protocol layer provides it
# (protocol.deadletter).
HeaderRewriter = Callable[[bytes, str, str, str, tuple[str, ...], int, bool], bytes]


def unchanged_header(
    header: bytes,
    queue: str,
    reason: str,
    exchange: str,
    keys: tuple[str, ...],
    time: int,
    drop_cc: bool,
) -> bytes:
    return header


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """All broker timing reads and schedules through clocks of this kind, so a test can drive
    it (``ManualClock``) instead of waiting.  A broker has two: one for messages and queues
    (TTL, expiry, x-expires, x-death times), which a test may make virtual, and one for its
    connections' heartbeats, real time by default since clients send theirs in real time."""

    def now(self) -> float:
        """Seconds, monotonic."""

    def wall(self) -> float:
        """Seconds since the epoch (for timestamps such as x-death's, and stored expiries)."""

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` once ``now() >= when``."""


def wall_ms(clock: Clock, at: float) -> int:
    """Clock time ``at`` as wall-clock milliseconds since the epoch: what a stored expiry
    keeps, since a clock's own time base (monotonic) does not outlive the process."""
    return round((at - clock.now() + clock.wall()) * 1000)


def epoch_at(clock: Clock) -> float:
    """The epoch in ``clock``'s time base (a stored wall-clock time ``ms`` is at
    ``epoch_at(clock) + ms / 1000``)."""
    return clock.now() - clock.wall()


class _ManualTimer:
    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock that moves only when told to: ``advance(seconds)`` runs what fell due."""

    def __init__(self, start: float = 0.0, wall_start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall_start - start
        self._timers: list[_ManualTimer] = []

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._now + self._wall_offset

    def call_at(self, when: float, callback: Callable[[], None]) -> _ManualTimer:
        timer = _ManualTimer(when, callback)
        self._timers.append(timer)
        return timer

    def advance(self, seconds: float) -> None:
        target = self._now + seconds
        while True:
            due = [t for t in self._timers if not t.cancelled and t.when <= target]
            if not due:
                break
            timer = min(due, key=lambda t: t.when)
            self._timers.remove(timer)
            self._now = max(self._now, timer.when)
            timer.callback()
        self._timers = [t for t in self._timers if not t.cancelled]
        self._now = target
