"""What the core asks of durable storage (implemented by ``amqpbroker.storage``).

The core calls these synchronously and they must not block: a store records the intent and
writes it later from its own thread.  ``NullStore`` is the in-memory broker's store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from .exchanges import Binding, Exchange
    from .message import Envelope, Message
    from .queue import Queue


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


class Store(Protocol):
    """Durable definitions and persistent messages in durable queues."""

    def vhost_added(self, name: str) -> None: ...
    def vhost_deleted(self, name: str) -> None:
        """After its queues and exchanges were deleted one by one."""

    def exchange_declared(self, exchange: Exchange) -> None: ...
    def exchange_deleted(self, exchange: Exchange) -> None: ...
    def queue_declared(self, queue: Queue) -> None: ...
    def queue_deleted(self, queue: Queue) -> None: ...
    def binding_added(self, binding: Binding) -> None: ...
    def binding_removed(self, binding: Binding) -> None: ...

    def enqueued(self, queue: Queue, envelope: Envelope) -> None:
        """A persistent message entered a durable queue (written once across queues)."""

    def delivered(self, queue: Queue, envelope: Envelope) -> None:
        """A stored message went out unacknowledged (so it comes back redelivered)."""

    def removed(self, queue: Queue, seqs: list[int], refs: list[StoreRef]) -> None:
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

    def read(self, refs: list[StoreRef], callback: Callable[[list[Message]], None]) -> None:
        """Read paged-out messages back, off the loop; ``callback`` gets them in order."""


class NullStore:
    """No durability: the in-memory broker."""

    paging: Paging | None = None
    batch_number = 0

    def vhost_added(self, name: str) -> None:
        pass

    def vhost_deleted(self, name: str) -> None:
        pass

    def exchange_declared(self, exchange: Any) -> None:
        pass

    def exchange_deleted(self, exchange: Any) -> None:
        pass

    def queue_declared(self, queue: Any) -> None:
        pass

    def queue_deleted(self, queue: Any) -> None:
        pass

    def binding_added(self, binding: Any) -> None:
        pass

    def binding_removed(self, binding: Any) -> None:
        pass

    def enqueued(self, queue: Any, envelope: Any) -> None:
        pass

    def delivered(self, queue: Any, envelope: Any) -> None:
        pass

    def removed(self, queue: Any, seqs: list[int], refs: list[StoreRef]) -> None:
        pass

    def when_durable(self, callback: Callable[[], None]) -> None:
        callback()

    def read(self, refs: list[StoreRef], callback: Callable[[list[Any]], None]) -> None:
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
