"""Consumers, the ring a queue serves them from, and the seam to the channels they live on.

Theory of operation.  The core never writes frames: a queue hands a message to a consumer,
which counts it and passes it to its ``DeliverySink`` (the session's channel); the sink
assigns the delivery tag, tracks the unacked message and encodes the frames.

Prefetch is decided here and nowhere else (``Consumer.can_take``): a consumer may take a
message while it is under its own limit (basic.qos global=false when it subscribed), its
channel's count is under the channel's limit (basic.qos global=true, one ``SharedPrefetch``
per channel; it holds back no-ack consumers too), and the sink has room for reasons that are
not prefetch (the channel is open, not stopped by channel.flow, its socket not backed up).
A delivery that needs an ack counts against both limits (``Consumer.deliver``); the channel
calls ``settled`` as each comes back (ack, nack, reject, requeue) and tells the shared count
once per batch.  The channel count keeps RabbitMQ 3.10's accounting (its limiter's "volume"),
quirks included: see ``SharedPrefetch``.

``ConsumerRing`` picks who gets the next message, as RabbitMQ's queue does: round robin,
where a consumer that is served goes to the back and those found unable to take one on the
way go behind it; with consumer priorities (x-priority) only among the highest priority
that can take one; with a single active consumer, only that one (the first to subscribe;
when it leaves, the highest priority takes over, the earliest among equals).

A consumer refers to its queue (for the session) without this module knowing queues: it is
generic in the queue's type.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from .message import Envelope

Q = TypeVar("Q")  # the queue a consumer subscribes to (core.queue.Queue)


class DeliverySink(Protocol):
    """What a queue needs from the channel a consumer lives on."""

    def has_capacity(self) -> bool:
        """False while the channel cannot take deliveries for reasons other than prefetch
        (closing, channel.flow, socket back-pressure)."""

    def deliver(self, consumer: Consumer[Any], envelope: Envelope) -> None:
        """Send ``envelope`` to ``consumer``; called only after ``can_take``."""

    def consumer_cancelled(self, consumer: Consumer[Any]) -> None:
        """The broker removed ``consumer`` (its queue was deleted)."""


class SharedPrefetch:
    """basic.qos global=true: what a channel's consumers may hold unacked together.

    The count is RabbitMQ 3.10's limiter volume, observed on 3.10.8, quirks included:

    - setting a limit when there was none starts the count at the channel's unacked
      deliveries, basic.get ones included, and acks of basic.get deliveries never lower it
      (so unacked gets held then keep their place until the limit is lifted);
    - lifting the limit (``limit_to(0)``, also what a basic.qos global=false does) clears it;
    - acks lower it only while a limit is set, a whole batch at once, unless it is at 0
      (a batch can take it below 0: a limit set from none inside a transaction counts
      neither the acks pending in it nor stops them from being subtracted at commit).
    """

    __slots__ = ("limit", "unacked")

    def __init__(self, limit: int = 0) -> None:
        self.limit = limit  # 0 = unlimited
        self.unacked = 0  # the channel count the limit applies to (see the class docstring)

    def limit_to(self, limit: int, channel_unacked: int = 0) -> None:
        """basic.qos: ``limit`` (0 lifts it); ``channel_unacked`` is the channel's unacked
        deliveries, consumers' and basic.get's."""
        if not limit:
            self.unacked = 0
        elif not self.limit:
            self.unacked = channel_unacked
        self.limit = limit

    def settled(self, count: int) -> None:
        """``count`` deliveries to the channel's consumers were settled together."""
        if self.limit and self.unacked:
            self.unacked -= count


class Consumer(Generic[Q]):
    """A basic.consume subscription of one channel to one queue."""

    __slots__ = (
        "arguments",
        "delivered",
        "exclusive",
        "no_ack",
        "prefetch",
        "priority",
        "queue",
        "redelivered",
        "shared",
        "sink",
        "tag",
        "tag_bytes",
        "unacked",
    )

    def __init__(
        self,
        tag: str,
        tag_bytes: bytes,
        queue: Q,
        sink: DeliverySink,
        *,
        no_ack: bool,
        exclusive: bool,
        prefetch: int,
        arguments: dict[str, Any],
        shared: SharedPrefetch | None = None,
    ) -> None:
        self.tag = tag
        self.tag_bytes = tag_bytes  # the wire short string, pre-encoded for the hot path
        self.queue = queue
        self.sink = sink
        self.no_ack = no_ack
        self.exclusive = exclusive
        self.prefetch = prefetch  # 0 = unlimited
        self.shared = shared if shared is not None else SharedPrefetch()
        self.arguments = arguments
        self.unacked = 0
        # Counted for statistics (core.stats): by the queue's dispatch, and by the channel.
        self.delivered = 0
        self.redelivered = 0
        priority = arguments.get("x-priority", 0)
        self.priority = priority if isinstance(priority, int) else 0  # x-priority

    def can_take(self) -> bool:
        """Whether a message may go to this consumer now (see the module docstring)."""
        if not self.no_ack and self.prefetch and self.unacked >= self.prefetch:
            return False
        shared = self.shared
        if shared.limit and shared.unacked >= shared.limit:
            return False
        return self.sink.has_capacity()

    def deliver(self, envelope: Envelope) -> None:
        """Hand ``envelope`` to the channel, counting it until it is settled."""
        if not self.no_ack:
            self.unacked += 1
            self.shared.unacked += 1
        self.sink.deliver(self, envelope)

    def settled(self) -> None:
        """A delivery to this consumer was acked, rejected or returned (the channel tells
        ``SharedPrefetch.settled`` once for the batch)."""
        self.unacked -= 1


class ConsumerRing(Generic[Q]):
    """A queue's consumers, in the order they take turns (see the module docstring)."""

    __slots__ = ("_active", "_prioritised", "members", "single_active", "takes_turns")

    def __init__(self, single_active: bool = False) -> None:
        # In turn order (registration order when single_active).  Read-only outside this
        # class, and always this same list object: a queue hands it out as its consumers.
        self.members: list[Consumer[Q]] = []
        self.single_active = single_active
        self._active: Consumer[Q] | None = None
        self._prioritised = False  # any consumer with a non-zero x-priority
        # False when only one consumer can be served (alone, or single active): a queue then
        # hands it a run of messages without choosing again.  (Kept, not computed: the
        # queue reads it once per dispatch.)
        self.takes_turns = False

    def __len__(self) -> int:
        return len(self.members)

    def __iter__(self) -> Iterator[Consumer[Q]]:
        return iter(self.members)

    @property
    def active(self) -> Consumer[Q] | None:
        """The single active consumer (None without single_active)."""
        return self._active

    def add(self, consumer: Consumer[Q]) -> None:
        self.members.append(consumer)
        if self.single_active and self._active is None:
            self._active = consumer
        self._changed()

    def remove(self, consumer: Consumer[Q]) -> bool:
        """Remove ``consumer``; False if it was not here."""
        try:
            self.members.remove(consumer)
        except ValueError:
            return False
        self._changed()
        if consumer is self._active:  # the highest priority takes over, earliest among equals
            self._active = max(self.members, key=lambda c: c.priority, default=None)
        return True

    def _changed(self) -> None:
        self._prioritised = any(c.priority for c in self.members)
        self.takes_turns = len(self.members) > 1 and not self.single_active

    def has_exclusive(self) -> bool:
        return any(c.exclusive for c in self.members)

    def next(self) -> Consumer[Q] | None:
        """The consumer that gets the next message (None: nobody can take one now)."""
        if self.single_active:
            active = self._active
            return active if active is not None and active.can_take() else None
        members = self.members
        best: int | None = None
        if self._prioritised:
            best = max((c.priority for c in members if c.can_take()), default=None)
            if best is None:
                return None
        skipped: list[Consumer[Q]] = []
        for index, consumer in enumerate(members):
            if not consumer.can_take():
                skipped.append(consumer)
            elif best is None or consumer.priority == best:
                del members[index]
                members.append(consumer)
                for blocked in skipped:  # found at their limit: they go behind it
                    members.remove(blocked)
                    members.append(blocked)
                return consumer
        return None
