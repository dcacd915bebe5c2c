"""A queue: RabbitMQ's queue process, with its ready messages in a backing list.

Theory of operation.  The ready messages live in a ``ReadyList`` (``core.ready``: order,
requeue position, priority levels, paging to disk) and the consumers in a ``ConsumerRing``
(``core.consumers``: turns, consumer priorities, single active consumer, prefetch).  The
queue holds the rules on top of them, read from its ``QueueSettings``:

- every message gets the next per-queue sequence number (its place in the order);
- TTL: a message that expired leaves when it reaches the head (dead-lettered 'expired'),
  and a timer wakes the queue when the head will expire; expired messages behind the head
  wait, as in RabbitMQ; a TTL of 0 means "now or never";
- length limits: drop-head drops from the head ('maxlen'), reject-publish refuses;
- x-expires: an unused queue deletes itself;
- publisher flow control (``core.publisher_flow``);
- dispatch: ready messages go to whoever the ring picks, whenever something that could
  unblock delivery happens (a publish, an ack, a new consumer, qos, flow).

Settings can be applied again on a live queue (``apply_settings``).  Durable queues tell the
store about the messages they keep on disk (enqueued, delivered, removed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

from .consumers import Consumer, ConsumerRing
from .message import Envelope, Message
from .ports import WINDOW, Clock, ManualClock, NullStore, Paging, Store, StoreRef, Timer
from .publisher_flow import FLOW_HIGH, FLOW_LOW, FLOW_STALL, PublisherFlow
from .queue_settings import DROP_HEAD, REJECT_PUBLISH_DLX, QueueSettings
from .ready import PriorityReadyList, ReadyList

# (Flow marks and the default paging window, named here for the tests and tools that read them.)
__all__ = ["FLOW_HIGH", "FLOW_LOW", "FLOW_STALL", "WINDOW", "Queue"]

_NULL_STORE = NullStore()


class Queue:
    """One queue in one vhost."""

    counts_deliveries = False  # quorum queues tell basic.get how often a message came back
    keeps_transient = False  # across a restart (quorum queues keep every message)

    def __init__(
        self,
        name: str,
        vhost: str,
        *,
        durable: bool,
        exclusive_owner: object | None,
        auto_delete: bool,
        arguments: dict[str, Any],
        store: Store | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self.vhost = vhost
        self.durable = durable
        self.exclusive_owner = exclusive_owner
        self.auto_delete = auto_delete
        self.arguments = arguments  # as declared (compared on redeclare, stored)
        self.store: Store = store or _NULL_STORE
        self.clock: Clock = clock or ManualClock()
        self.settings = QueueSettings.parse(arguments)
        self.ready = self._ready_list(self.store.paging)
        self.ready.on_paged_in = self._paged_in
        self._ring: ConsumerRing[Queue] = ConsumerRing(self.settings.single_active)
        self.had_consumers = False
        self._deleted = False
        self._next_seq = 0
        self._dispatching = False
        # Where messages that expire (or are otherwise dead-lettered) go; the vhost sets it.
        self.dead_letter: Callable[[Queue, list[Envelope], str], None] = _discard
        self._head_timer: Timer | None = None
        self._head_timer_at = 0.0
        # x-expires: the queue goes once unused that long; the vhost sets on_expired.
        self.on_expired: Callable[[Queue], None] = _ignore
        self._last_used = self.clock.now()
        self._expiry_timer: Timer | None = None
        self._flow = PublisherFlow(self.clock)
        self.touch()

    def _ready_list(self, paging: Paging | None) -> ReadyList:
        """Priority queues keep everything in memory; others page out when durable on a
        store that pages."""
        max_priority = self.settings.max_priority
        if max_priority is not None:
            return PriorityReadyList(self.store, paging or Paging(), max_priority)
        pages_out = self.durable and paging is not None
        return ReadyList(self.store, paging or Paging(), pages_out=pages_out)

    def __repr__(self) -> str:
        return f"<Queue {self.name!r} in {self.vhost!r}>"

    @property
    def deleted(self) -> bool:
        return self._deleted

    @deleted.setter
    def deleted(self, deleted: bool) -> None:
        self._deleted = self.ready.closed = deleted

    @property
    def exclusive(self) -> bool:
        return self.exclusive_owner is not None

    @property
    def single_active(self) -> bool:
        return self.settings.single_active

    @property
    def message_count(self) -> int:
        return len(self.ready)

    @property
    def consumers(self) -> list[Consumer[Queue]]:
        """In turn order (do not change the list: ``add_consumer``, ``remove_consumer``)."""
        return self._ring.members

    @property
    def consumer_count(self) -> int:
        return len(self._ring)

    def ready_messages(self) -> Iterable[Envelope]:
        """The in-memory window (paged-out messages are not included)."""
        return self.ready.in_memory()

    @property
    def paged_out_count(self) -> int:
        return self.ready.paged_out_count

    def listed_messages(self) -> Iterator[Envelope]:
        return self.ready.listed()

    def apply_settings(self, settings: QueueSettings) -> None:
        """Run under new settings from now on (priorities and single active consumer stay
        as declared).  As in RabbitMQ, messages keep the expiry they were given; the head's
        timer follows, a lower limit drops (drop-head) now, and x-expires counts afresh."""
        old = self.settings
        self.settings = replace(
            settings, max_priority=old.max_priority, single_active=old.single_active
        )
        if settings.expires != old.expires:
            if self._expiry_timer is not None:
                self._expiry_timer.cancel()
                self._expiry_timer = None
            self.touch()
        self.expire_head()
        if settings.overflow == DROP_HEAD:
            self._drop_head_over_limit()
        self.dispatch()

    # -- messages -------------------------------------------------------------------------------

    def enqueue(self, message: Message, dispatch: bool = True) -> bool:
        """Add a message; False when the queue is full and refuses it (reject-publish).
        ``dispatch=False``: the caller dispatches later (a run of publishes, in one go)."""
        settings = self.settings
        if settings.overflow != DROP_HEAD and self._full_for(message):
            if settings.overflow == REJECT_PUBLISH_DLX:
                self.dead_letter(self, [Envelope(message, 0)], "maxlen")
            return False
        self._next_seq += 1
        if settings.message_ttl is None and message.ttl is None:
            envelope = Envelope(message, self._next_seq)
        else:
            now = self.clock.now()  # (once: a real clock may tick between two readings)
            envelope = Envelope(message, self._next_seq, self._expiry_for(message, now))
            if envelope.expires_at == now and not self.ready:
                return self._deliver_now_or_expire(envelope)  # a TTL of 0
        stored = self.durable and self.keeps_on_disk(message)
        if stored:
            self.store.enqueued(self, envelope)
        self.ready.push(envelope, stored)
        if dispatch and self._ring.members:
            self.dispatch()
        if envelope.expires_at is not None:
            self.expire_head()
        if settings.overflow == DROP_HEAD and settings.limited:
            self._drop_head_over_limit()
        return True

    def _full_for(self, message: Message) -> bool:
        settings = self.settings
        if settings.max_length is not None and len(self.ready) >= settings.max_length:
            return True
        max_bytes = settings.max_bytes
        return max_bytes is not None and self.ready.bytes + len(message.body) > max_bytes

    def _over_limit(self, _head: Envelope | None = None) -> bool:
        settings = self.settings
        if settings.max_length is not None and len(self.ready) > settings.max_length:
            return True
        return settings.max_bytes is not None and self.ready.bytes > settings.max_bytes

    def _drop_head_over_limit(self) -> None:
        """drop-head: the oldest messages make room (dead-lettered as 'maxlen')."""
        dropped = self.ready.drop_while(self._over_limit)
        if dropped:
            self.forget(dropped)
            self.dead_letter(self, dropped, "maxlen")

    # -- TTL ------------------------------------------------------------------------------------

    def _expiry_for(self, message: Message, now: float) -> float | None:
        """The lower of the queue's and the message's TTL wins."""
        ttls = [t for t in (self.settings.message_ttl, message.ttl) if t is not None]
        return now + min(ttls) / 1000 if ttls else None

    def _deliver_now_or_expire(self, envelope: Envelope) -> bool:
        """TTL 0: a consumer that can take the message now gets it, else it expires."""
        consumer = self._ring.next()
        if consumer is not None:
            self._hand_to(consumer, envelope)
        else:
            self.forget([envelope])
            self.dead_letter(self, [envelope], "expired")
        return True

    def expire_head(self) -> None:
        """Drop expired messages at the head (dead-lettered as 'expired'), and wake up when
        the new head expires."""
        now = self.clock.now()
        expired = self.ready.drop_while(lambda e: e.expires_at is not None and e.expires_at <= now)
        if expired:
            self.forget(expired)
            self.dead_letter(self, expired, "expired")
        head = self.ready.head()
        at = head.expires_at if head is not None else None
        if at is not None and (self._head_timer is None or self._head_timer_at != at):
            if self._head_timer is not None:
                self._head_timer.cancel()
            self._head_timer_at = at
            self._head_timer = self.clock.call_at(at, self._head_timer_fired)

    def _head_timer_fired(self) -> None:
        self._head_timer = None
        if not self.deleted:
            self.expire_head()
            self.ready.refill()

    # -- x-expires ------------------------------------------------------------------------------

    def touch(self) -> None:
        """The queue was used (declared, read, left by its last consumer)."""
        self._last_used = self.clock.now()
        expires = self.settings.expires
        if expires is not None and self._expiry_timer is None:
            self._expiry_timer = self.clock.call_at(
                self._last_used + expires / 1000, self._expiry_due
            )

    def _expiry_due(self) -> None:
        self._expiry_timer = None
        expires = self.settings.expires
        if self.deleted or self._ring.members or expires is None:
            return  # (a queue with consumers is in use; their leaving touches it again)
        due = self._last_used + expires / 1000
        if self.clock.now() < due:
            self._expiry_timer = self.clock.call_at(due, self._expiry_due)
        else:
            self.on_expired(self)

    # -- restart and recovery -------------------------------------------------------------------

    def restore(
        self, seq: int, ref: StoreRef, redelivered: bool, expires_at: float | None = None
    ) -> None:
        """A stored message found at recovery (its body stays on disk until needed)."""
        self._next_seq = max(self._next_seq, seq)
        self.ready.restore(seq, ref, redelivered, expires_at)

    def recovered(self) -> None:
        """Every queue is back: as RabbitMQ's queue does once its recovery barrier lifts,
        a head that expired while the broker was down goes now (dead-lettered as
        'expired'), and the expiry of the new head is timed.  Only a queue whose first
        message can expire reads it back from disk for that."""
        if self.ready.backlog_head_expires_at() is not None:
            self.ready.refill(force=True)

    def keeps_on_disk(self, message: Message) -> bool:
        """Whether this queue, if durable, stores ``message``: a persistent one, or any
        message in a queue type that keeps transient ones too (quorum: RabbitMQ's Raft log
        holds every message)."""
        return message.persistent or self.keeps_transient

    def restarted(self) -> None:
        """The broker restarted without reading this queue back from disk (in memory): its
        transient messages are gone unless the queue type keeps them, and x-expires counts
        from now.  (An in-memory broker's queues hold every message in their window.)"""
        if not self.keeps_transient:
            self.ready.drop_transient()
            self.expire_head()
        self.touch()

    # -- taking and returning -------------------------------------------------------------------

    def head_ready(self) -> bool:
        """True when ``get`` can answer now (a message in memory, or none at all)."""
        return self.ready.head_ready()

    def when_head_ready(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the head is in memory again (after a read from disk)."""
        self.ready.when_head_ready(callback)

    def _paged_in(self) -> None:
        self.expire_head()
        self.ready.wake_head_waiters()
        self.dispatch()
        self.ready.refill()

    def get(self) -> Envelope | None:
        """Take the head message for basic.get (see ``head_ready``)."""
        self.touch()
        self.expire_head()
        if self.ready.head() is None:
            return None
        envelope = self.ready.take()
        self.ready.refill()
        self.expire_head()  # an expired message that just became the head leaves now
        return envelope

    def handed_out(self, envelope: Envelope, acknowledged_later: bool) -> None:
        """A message left the queue for a consumer or basic.get."""
        message = envelope.message
        if self.durable and message.store_ref is not None and self.keeps_on_disk(message):
            if acknowledged_later:
                self.store.delivered(self, envelope)
            else:
                self.store.removed(self, [envelope.seq], [message.store_ref])

    def forget(self, envelopes: list[Envelope]) -> None:
        """Acked or dropped (or requeued into a deleted queue): they leave for good."""
        if not self.durable:
            return
        seqs, refs = [], []
        for envelope in envelopes:
            message = envelope.message
            ref = message.store_ref
            if ref is not None and self.keeps_on_disk(message):
                seqs.append(envelope.seq)
                refs.append(ref)
        if seqs:
            self.store.removed(self, seqs, refs)

    def requeue(self, envelopes: list[Envelope], closing: bool = False) -> None:
        """Return unacked messages (``closing``: their channel closed); the ready list puts
        them where the queue type says, marked redelivered."""
        if not envelopes:
            return
        if self.deleted:
            self.forget(envelopes)
            return
        kept = self._returned(envelopes)
        if kept:
            self.ready.requeue(kept, closing)
        if self.settings.overflow == DROP_HEAD:
            self._drop_head_over_limit()
        self.dispatch()

    def _returned(self, envelopes: list[Envelope]) -> list[Envelope]:
        """What of the returned messages goes back (all: the quorum queue counts them)."""
        return envelopes

    def purge(self) -> int:
        count = len(self.ready)
        stored = self.ready.purge()
        if self.durable and stored:
            self.store.removed(self, [seq for seq, _ in stored], [ref for _, ref in stored])
        self._release_publishers()
        return count

    # -- consumers ------------------------------------------------------------------------------

    def add_consumer(self, consumer: Consumer[Queue]) -> None:
        self._ring.add(consumer)
        self.had_consumers = True
        self.dispatch()

    def remove_consumer(self, consumer: Consumer[Queue]) -> None:
        if not self._ring.remove(consumer):
            return
        if not self._ring.members:
            self.touch()
        self._release_publishers()

    def has_exclusive_consumer(self) -> bool:
        return self._ring.has_exclusive()

    # -- publisher flow control (core.publisher_flow) -------------------------------------------

    def holds_publishers(self) -> bool:
        """Whether a publisher that just routed a message here should wait (FLOW_HIGH)."""
        return self._flow.holds(self.ready.in_memory_count, bool(self._ring))

    def hold_publisher(self, publisher: object, resume: Callable[[], None]) -> None:
        """``resume()`` once this queue no longer holds publishers back."""
        self._flow.hold(publisher, resume)

    def forget_publisher(self, publisher: object) -> None:
        self._flow.forget(publisher)

    def _release_publishers(self) -> None:
        if self._flow.holding:
            self._flow.release(self.ready.in_memory_count, bool(self._ring))

    # -- dispatch -------------------------------------------------------------------------------

    def dispatch(self) -> None:
        """Deliver ready messages to consumers that can take them, in the ring's turns."""
        if self._dispatching:
            return
        self._dispatching = True
        ready, ring = self.ready, self._ring
        delivered = False
        try:
            now = self.clock.now()
            while (head := ready.head()) is not None:
                if head.expires_at is not None and head.expires_at <= now:
                    self.expire_head()
                    continue
                consumer = ring.next()
                if consumer is None:
                    break
                delivered = True
                if not ring.takes_turns:
                    self._deliver_run(consumer, now)  # no one to take turns with
                    continue
                self._hand_to(consumer, ready.take())
        finally:
            self._dispatching = False
        head = ready.head()
        if head is not None and head.expires_at is not None:
            self.expire_head()
        ready.refill()
        self._flow.dispatched(delivered, ready.in_memory_count, bool(ring))

    def _hand_to(self, consumer: Consumer[Queue], envelope: Envelope) -> None:
        self.handed_out(envelope, not consumer.no_ack)
        consumer.deliver(envelope)

    def _deliver_run(self, consumer: Consumer[Queue], now: float) -> None:
        """Hand ``consumer`` (able to take one) every ready message it can take, up to an
        expired one (the same as ``_hand_to`` one message at a time, with fewer calls)."""
        take, head = self.ready.take, self.ready.head
        stored = self.durable
        acked_later = not consumer.no_ack
        deliver = consumer.deliver
        while True:
            envelope = take()
            if stored:
                self.handed_out(envelope, acked_later)
            deliver(envelope)
            after = head()
            if after is None or not consumer.can_take():
                return
            if after.expires_at is not None and after.expires_at <= now:
                return


def _discard(queue: Queue, envelopes: list[Envelope], reason: str) -> None:
    """Dead-lettering without a dead-letter exchange: the messages are simply gone."""


def _ignore(queue: Queue) -> None:
    pass
