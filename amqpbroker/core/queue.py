"""A queue: ready messages in order, consumers in a ring, and redelivery in original order.

Theory of operation: every enqueued message gets a per-queue sequence number.  Ready messages
sit in a deque ordered by that number; a requeued message goes back to where its number puts
it, so it is redelivered in its original position.  ``dispatch`` hands ready messages to
consumers round-robin, skipping consumers that are at their prefetch limit or whose channel
cannot take more; it is called whenever something that could unblock delivery happens
(a publish, an ack, a new consumer, qos, flow).

Durable queues tell the store about persistent messages (enqueued, delivered, removed).
With a paging store, a durable queue keeps at most ``WINDOW`` messages in memory; the rest
wait in the ``Backlog`` (bodies on disk) and are read back, off the loop, as the window
drains.  A basic.get that finds the window empty but a backlog behind it waits for that read
(``when_head_ready``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

from .consumer import Consumer
from .message import Envelope, Message
from .paging import Backlog, DiskChunk, Stored
from .ports import Clock, ManualClock, NullStore, Store, StoreRef, Timer

WINDOW = 20_000  # messages a durable queue keeps in memory before paging the rest out
REFILL_BATCH = 5_000  # messages read back from disk at a time

_NULL_STORE = NullStore()


# Publisher flow control.  While a queue with consumers holds more than FLOW_HIGH ready
# messages, the connections publishing into it are not read until it is under FLOW_LOW
# again: publishers cannot outrun consumers without bound (RabbitMQ's credit flow has that
# effect), and on a small machine a publisher flat out would otherwise take the CPU its
# consumers need.  A queue without consumers never holds publishers back, and neither does
# one whose consumers delivered nothing for FLOW_STALL seconds of a hold (stuck consumers:
# the queue then takes publishes freely, as RabbitMQ's does, until it delivers again).
FLOW_HIGH = 2000
FLOW_LOW = 1000
FLOW_STALL = 5.0


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
        store: Store[Message] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self.vhost = vhost
        self.durable = durable
        self.exclusive_owner = exclusive_owner
        self.auto_delete = auto_delete
        self.arguments = arguments
        self.store: Store[Message] = store or _NULL_STORE
        self.consumers: list[Consumer] = []
        self.had_consumers = False
        self.deleted = False
        self._ready: deque[Envelope] = deque()
        self._backlog = Backlog()
        self._loading = False
        self._loading_count = 0  # messages on their way back from disk
        self._head_waiters: list[Callable[[], None]] = []
        self._flow_waiters: dict[object, Callable[[], None]] = {}  # publisher -> resume
        self._flow_timer: Timer | None = None  # FLOW_STALL, while publishers are held
        self._stalled = False  # consumers delivered nothing for FLOW_STALL: hold nobody
        self._progress = False  # a delivery since the FLOW_STALL timer was armed
        self._next_seq = 0
        self._dispatching = False
        # x-max-priority: higher priorities first, FIFO within one (such queues do not page).
        self.max_priority = _int_argument(arguments, "x-max-priority")
        self._pageable = (
            durable and getattr(self.store, "paging", False) and self.max_priority is None
        )
        # x-single-active-consumer: only the first consumer gets messages until it leaves.
        self.single_active = arguments.get("x-single-active-consumer") is True
        self._consumer_priorities = False  # any consumer with a non-zero x-priority
        self._active: Consumer | None = None  # the single active consumer
        self.clock: Clock = clock or ManualClock()
        # Where messages that expire (or are otherwise dead-lettered) go; the vhost sets it.
        self.dead_letter: Callable[[Queue, list[Envelope], str], None] = _discard
        self.message_ttl: int | None = _int_argument(arguments, "x-message-ttl")
        self._head_timer: Timer | None = None
        self._head_timer_at = 0.0
        # Length limits (x-max-length, x-max-length-bytes) and what happens beyond them.
        self.max_length = _int_argument(arguments, "x-max-length")
        self.max_bytes = _int_argument(arguments, "x-max-length-bytes")
        self.overflow = _text(arguments.get("x-overflow")) or "drop-head"
        self._limited = self.max_length is not None or self.max_bytes is not None
        self._bytes = 0  # body bytes of the messages waiting in the queue
        # x-expires: the queue goes once unused that long; the vhost sets on_expired.
        self.expires = _int_argument(arguments, "x-expires")
        self.on_expired: Callable[[Queue], None] = _ignore
        self._last_used = self.clock.now()
        self._expiry_timer: Timer | None = None
        self.touch()

    def __repr__(self) -> str:
        return f"<Queue {self.name!r} in {self.vhost!r}>"

    @property
    def exclusive(self) -> bool:
        return self.exclusive_owner is not None

    @property
    def message_count(self) -> int:
        return len(self._ready) + len(self._backlog) + self._loading_count

    @property
    def consumer_count(self) -> int:
        return len(self.consumers)

    def ready_messages(self) -> Iterable[Envelope]:
        """The in-memory window (paged-out messages are not included)."""
        return iter(self._ready)

    @property
    def paged_out_count(self) -> int:
        """Ready messages whose bodies are on disk (or on their way back from it)."""
        on_disk = sum(len(c) for c in self._backlog.chunks if isinstance(c, DiskChunk))
        return on_disk + self._loading_count

    def listed_messages(self) -> Iterator[Envelope]:
        """Ready messages in delivery order as far as memory holds them: the window, then
        the backlog up to its first paged-out part (the rest is on disk)."""
        yield from self._ready
        if self._loading:  # the next messages are on their way back from disk
            return
        for chunk in self._backlog.chunks:
            if isinstance(chunk, DiskChunk):
                return
            yield from chunk

    # -- messages -------------------------------------------------------------------------------

    def enqueue(self, message: Message, dispatch: bool = True) -> bool:
        """Add a message; False when the queue is full and refuses it (reject-publish).
        ``dispatch=False``: the caller dispatches later (a run of publishes, in one go)."""
        if self._limited and self.overflow != "drop-head" and self._full_for(message):
            if self.overflow == "reject-publish-dlx":
                self.dead_letter(self, [Envelope(message, 0)], "maxlen")
            return False
        self._next_seq += 1
        self._bytes += len(message.body)
        if self.message_ttl is None and message.ttl is None:
            envelope = Envelope(message, self._next_seq)
        else:
            now = self.clock.now()  # (once: a real clock may tick between two readings)
            envelope = Envelope(message, self._next_seq, self._expiry_for(message, now))
            if envelope.expires_at == now and not self._ready and not self._backlog:
                return self._deliver_now_or_expire(envelope)  # a TTL of 0
        stored = self.durable and self.keeps_on_disk(message)
        if stored:
            self.store.enqueued(self, envelope)
        # Behind a backlog (or a read in flight) a new message must wait its turn.
        if self._backlog.count or self._loading or (self._pageable and len(self._ready) >= WINDOW):
            if stored and message.store_ref is not None:
                self._backlog.add_stored(
                    envelope.seq, message.store_ref, expires_at=envelope.expires_at
                )
            else:
                self._backlog.add_in_memory(envelope)
        elif self.max_priority is not None:
            self._insert_by_priority(envelope)
        else:
            self._ready.append(envelope)
        if dispatch and self.consumers:
            self.dispatch()
        if envelope.expires_at is not None:
            self.expire_head()
        if self._limited and self.overflow == "drop-head":
            self._drop_head_over_limit()
        return True

    # -- length limits --------------------------------------------------------------------------

    def _full_for(self, message: Message) -> bool:
        if self.max_length is not None and self.message_count >= self.max_length:
            return True
        return self.max_bytes is not None and self._bytes + len(message.body) > self.max_bytes

    def _over_limit(self) -> bool:
        if self.max_length is not None and self.message_count > self.max_length:
            return True
        return self.max_bytes is not None and self._bytes > self.max_bytes

    def _drop_head_over_limit(self) -> None:
        """drop-head: the oldest messages make room (dead-lettered as 'maxlen')."""
        dropped = []
        while self._ready and self._over_limit():
            dropped.append(self._take_head())
        if dropped:
            self.forget(dropped)
            self.dead_letter(self, dropped, "maxlen")

    def _take_head(self) -> Envelope:
        envelope = self._ready.popleft()
        self._bytes -= len(envelope.message.body)
        return envelope

    # -- x-expires ------------------------------------------------------------------------------

    def touch(self) -> None:
        """The queue was used (declared, read, left by its last consumer)."""
        self._last_used = self.clock.now()
        if self.expires is not None and self._expiry_timer is None:
            self._expiry_timer = self.clock.call_at(
                self._last_used + self.expires / 1000, self._expiry_due
            )

    def _expiry_due(self) -> None:
        self._expiry_timer = None
        if self.deleted or self.consumers or self.expires is None:
            return  # (a queue with consumers is in use; their leaving touches it again)
        due = self._last_used + self.expires / 1000
        if self.clock.now() < due:
            self._expiry_timer = self.clock.call_at(due, self._expiry_due)
        else:
            self.on_expired(self)

    def _priority(self, envelope: Envelope) -> int:
        return min(envelope.message.priority, self.max_priority or 0)

    def _insert_by_priority(self, envelope: Envelope) -> None:
        """Behind every message of the same or a higher priority."""
        ready = self._ready
        priority = self._priority(envelope)
        index = len(ready)
        while index and self._priority(ready[index - 1]) < priority:
            index -= 1
        ready.insert(index, envelope)

    def _deliver_now_or_expire(self, envelope: Envelope) -> bool:
        """TTL 0: a consumer that can take the message now gets it, else it expires."""
        consumer = self._next_consumer()
        self._bytes -= len(envelope.message.body)
        if consumer is not None:
            self.handed_out(envelope, not consumer.no_ack)
            consumer.sink.deliver(consumer, envelope)
        else:
            self.forget([envelope])
            self.dead_letter(self, [envelope], "expired")
        return True

    def _expiry_for(self, message: Message, now: float) -> float | None:
        """The lower of the queue's and the message's TTL wins."""
        ttls = [t for t in (self.message_ttl, message.ttl) if t is not None]
        return now + min(ttls) / 1000 if ttls else None

    def expire_head(self) -> None:
        """Drop expired messages at the head (dead-lettered as 'expired'), and wake up when
        the new head expires.  As in RabbitMQ, expired messages behind the head wait."""
        ready = self._ready
        now = self.clock.now()
        expired = []
        while ready and ready[0].expires_at is not None and ready[0].expires_at <= now:
            expired.append(self._take_head())
        if expired:
            self.forget(expired)
            self.dead_letter(self, expired, "expired")
        head = ready[0].expires_at if ready else None
        if head is not None and (self._head_timer is None or self._head_timer_at != head):
            if self._head_timer is not None:
                self._head_timer.cancel()
            self._head_timer_at = head
            self._head_timer = self.clock.call_at(head, self._head_timer_fired)

    def _head_timer_fired(self) -> None:
        self._head_timer = None
        if not self.deleted:
            self.expire_head()
            self._refill()

    def restore(
        self, seq: int, ref: StoreRef, redelivered: bool, expires_at: float | None = None
    ) -> None:
        """A stored message found at recovery (its body stays on disk until needed)."""
        self._next_seq = max(self._next_seq, seq)
        self._bytes += ref[2]  # (the record's size: the body's is not known until read)
        self._backlog.add_stored(seq, ref, redelivered, expires_at)

    def recovered(self) -> None:
        """Every queue is back: as RabbitMQ's queue does once its recovery barrier lifts,
        a head that expired while the broker was down goes now (dead-lettered as
        'expired'), and the expiry of the new head is timed.  Only a queue whose first
        message can expire reads it back from disk for that."""
        if not self._ready and self._backlog.head_expires_at() is not None:
            self._refill(force=True)

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
            dropped = [e for e in self._ready if not e.message.persistent]
            self._ready = deque(e for e in self._ready if e.message.persistent)
            self._bytes -= sum(len(e.message.body) for e in dropped)
            self.expire_head()
        self.touch()

    def head_ready(self) -> bool:
        """True when ``get`` can answer now (a message in memory, or none at all)."""
        return bool(self._ready) or not (self._backlog or self._loading)

    def when_head_ready(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the window holds a message again (after a read from disk)."""
        self._head_waiters.append(callback)
        self._refill(force=True)

    def get(self) -> Envelope | None:
        """Take the head message for basic.get (see ``head_ready``)."""
        self.touch()
        self.expire_head()
        if not self._ready:
            return None
        envelope = self._take_head()
        self._refill()
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
        """Put unacked messages back in their original positions, marked redelivered
        (``closing``: their channel closed, which makes no difference here)."""
        if not envelopes:
            return
        if self.deleted:
            self.forget(envelopes)
            return
        for envelope in envelopes:
            envelope.redelivered = True
            self._bytes += len(envelope.message.body)
        envelopes.sort(key=lambda e: e.seq)
        ready = self._ready
        if self.max_priority is not None:
            self._ready = deque(
                sorted([*ready, *envelopes], key=lambda e: (-self._priority(e), e.seq))
            )
        elif not ready or envelopes[-1].seq < ready[0].seq:
            ready.extendleft(reversed(envelopes))
        else:
            merged = sorted([*ready, *envelopes], key=lambda e: e.seq)
            self._ready = deque(merged)
        if self.overflow == "drop-head":
            self._drop_head_over_limit()
        self.dispatch()

    def purge(self) -> int:
        count = self.message_count
        stored = [
            (e.seq, e.message.store_ref)
            for e in self._ready
            if self.keeps_on_disk(e.message) and e.message.store_ref is not None
        ]
        stored += self._backlog.clear()
        self._ready.clear()
        self._bytes = 0
        if self.durable and stored:
            self.store.removed(self, [seq for seq, _ in stored], [ref for _, ref in stored])
        if self._flow_waiters:
            self._release_publishers()
        return count

    def stored_in_segment(self, segment: int) -> list[tuple[int, StoreRef, Any]]:
        """(seq, ref, place) of the stored messages of ``segment`` still in this queue;
        ``place`` is what ``move_stored`` needs to point one elsewhere (compaction)."""
        found: list[tuple[int, StoreRef, Any]] = [
            (e.seq, e.message.store_ref, e.message)
            for e in self._ready
            if e.message.store_ref is not None and e.message.store_ref[0] == segment
        ]
        for chunk in self._backlog.chunks:
            if isinstance(chunk, DiskChunk):
                found.extend(
                    (seq, ref, (chunk, position))
                    for position, seq, ref in chunk.in_segment(segment)
                )
        return found

    @staticmethod
    def move_stored(place: Any, ref: StoreRef) -> None:
        if isinstance(place, Message):
            place.store_ref = ref
        else:
            chunk, position = place
            chunk.move(position, ref)

    def stored_entries(self) -> list[tuple[int, StoreRef]]:
        """Every stored message still in the queue (for the store, when it is deleted)."""
        entries = [
            (e.seq, e.message.store_ref)
            for e in self._ready
            if self.keeps_on_disk(e.message) and e.message.store_ref is not None
        ]
        entries.extend(self._backlog.stored_entries())
        return entries

    # -- paging ---------------------------------------------------------------------------------

    def _refill(self, force: bool = False) -> None:
        """Move backlog into the window when it runs low: in-memory chunks at once, stored
        messages by an asynchronous read."""
        while self._backlog and not self._loading and (force or len(self._ready) < WINDOW // 2):
            force = False
            chunk = self._backlog.chunks[0]
            if isinstance(chunk, deque):
                self._backlog.chunks.popleft()
                self._backlog.count -= len(chunk)
                self._ready.extend(chunk)
                continue
            entries = chunk.take(REFILL_BATCH)
            self._backlog.count -= len(entries)
            if not chunk:
                self._backlog.chunks.popleft()
            self._loading = True
            self._loading_count = len(entries)
            self.store.read([entry.ref for entry in entries], partial(self._loaded, entries))
        if self._ready and self._head_waiters:
            self._wake_head_waiters()

    def _loaded(self, entries: list[Stored], messages: list[Message] | None) -> None:
        self._loading = False
        self._loading_count = 0
        if messages is None:  # the store failed to read them (and logged why)
            messages = []
            entries = []
        if not self.deleted:
            for entry, message in zip(entries, messages, strict=True):
                self._ready.append(self._paged_in(entry, message))
            self.expire_head()
        self._wake_head_waiters()
        if not self.deleted:
            self.dispatch()
            self._refill()

    def _paged_in(self, entry: Stored, message: Message) -> Envelope:
        message.store_ref = entry.ref
        envelope = Envelope(message, entry.seq, entry.expires_at)
        envelope.redelivered = entry.redelivered
        return envelope

    def _wake_head_waiters(self) -> None:
        waiters, self._head_waiters = self._head_waiters, []
        for waiter in waiters:
            waiter()

    # -- consumers ------------------------------------------------------------------------------

    def add_consumer(self, consumer: Consumer) -> None:
        self.consumers.append(consumer)
        if self.single_active and self._active is None:
            self._active = consumer
        self._consumer_priorities = any(c.priority for c in self.consumers)
        self.had_consumers = True
        self.dispatch()

    def remove_consumer(self, consumer: Consumer) -> None:
        try:
            index = self.consumers.index(consumer)
        except ValueError:
            return
        del self.consumers[index]
        self._consumer_priorities = any(c.priority for c in self.consumers)
        if consumer is self._active:  # the highest priority takes over, earliest among equals
            # (a single-active queue never rotates: self.consumers is in registration order)
            self._active = max(self.consumers, key=lambda c: c.priority, default=None)
        if not self.consumers:
            self.touch()
        if self._flow_waiters:
            self._release_publishers()

    # -- publisher flow control (FLOW_HIGH) -----------------------------------------------------

    def holds_publishers(self) -> bool:
        """Whether a publisher that just routed a message here should wait (FLOW_HIGH)."""
        return len(self._ready) > FLOW_HIGH and bool(self.consumers) and not self._stalled

    def hold_publisher(self, publisher: object, resume: Callable[[], None]) -> None:
        """``resume()`` once this queue no longer holds publishers back."""
        self._flow_waiters[publisher] = resume
        if self._flow_timer is None:
            self._arm_stall_timer()

    def _arm_stall_timer(self) -> None:
        self._progress = False
        when = self.clock.now() + FLOW_STALL
        self._flow_timer = self.clock.call_at(when, self._stalled_while_holding)

    def forget_publisher(self, publisher: object) -> None:
        self._flow_waiters.pop(publisher, None)

    def _stalled_while_holding(self) -> None:
        self._flow_timer = None
        if not self._flow_waiters:
            return
        if self._progress:  # slow, not stuck: keep holding
            self._arm_stall_timer()
            return
        self._stalled = True
        self._release_publishers()

    def _release_publishers(self) -> None:
        if len(self._ready) < FLOW_LOW or not self.consumers or self._stalled:
            if self._flow_timer is not None:
                self._flow_timer.cancel()
                self._flow_timer = None
            waiting = list(self._flow_waiters.values())
            self._flow_waiters.clear()
            for resume in waiting:
                resume()

    def has_exclusive_consumer(self) -> bool:
        return any(c.exclusive for c in self.consumers)

    def dispatch(self) -> None:
        """Deliver ready messages to consumers that can take them, round-robin."""
        if self._dispatching:
            return
        self._dispatching = True
        try:
            ready = self._ready
            now = self.clock.now()
            while ready:
                head_expiry = ready[0].expires_at
                if head_expiry is not None and head_expiry <= now:
                    self.expire_head()
                    continue
                consumer = self._next_consumer()
                if consumer is None:
                    break
                if len(self.consumers) == 1 or self.single_active:
                    self._deliver_run(consumer, now)  # no one to take turns with
                    continue
                envelope = self._take_head()
                self.handed_out(envelope, not consumer.no_ack)
                consumer.sink.deliver(consumer, envelope)
                self._progress = True
        finally:
            self._dispatching = False
        if self._stalled and self._progress:
            self._stalled = False
        if self._ready and self._ready[0].expires_at is not None:
            self.expire_head()
        if self._backlog:
            self._refill()
        if self._flow_waiters:
            self._release_publishers()

    def _deliver_run(self, consumer: Consumer, now: float) -> None:
        """Hand ``consumer`` (able to take one) every ready message it can take, up to an
        expired one (the same as one message at a time, with fewer calls)."""
        ready = self._ready
        stored = self.durable
        acked_later = not consumer.no_ack
        deliver = consumer.sink.deliver
        self._progress = True
        while True:
            envelope = self._take_head()
            if stored:
                self.handed_out(envelope, acked_later)
            deliver(consumer, envelope)
            if not ready or not consumer.can_take():
                return
            head_expiry = ready[0].expires_at
            if head_expiry is not None and head_expiry <= now:
                return

    def _next_consumer(self) -> Consumer | None:
        """Round-robin over the consumers that can take a message; with consumer priorities
        (x-priority) only among the highest priority that can; with a single active
        consumer, only the first."""
        consumers = self.consumers
        if self.single_active:
            active = self._active
            return active if active is not None and active.can_take() else None
        best: int | None = None
        if self._consumer_priorities:
            best = max((c.priority for c in consumers if c.can_take()), default=None)
            if best is None:
                return None
        skipped: list[Consumer] = []
        for index, consumer in enumerate(consumers):
            if not consumer.can_take():
                skipped.append(consumer)
            elif best is None or consumer.priority == best:
                # RabbitMQ's rotation: the served consumer goes to the back, and consumers
                # found at their limit on the way leave it and come back behind it.
                del consumers[index]
                consumers.append(consumer)
                for blocked in skipped:
                    consumers.remove(blocked)
                    consumers.append(blocked)
                return consumer
        return None


def _discard(queue: Queue, envelopes: list[Envelope], reason: str) -> None:
    """Dead-lettering without a dead-letter exchange: the messages are simply gone."""


def _int_argument(arguments: dict[str, Any], key: str) -> int | None:
    value = arguments.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _ignore(queue: Queue) -> None:
    pass


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None
