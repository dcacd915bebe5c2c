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

from collections.abc import Callable
from typing import Any

from amqpbroker.policies.model import Applied

from .consumers import Consumer, ConsumerRing
from .message import Envelope, Message
from .ports import WINDOW, Clock, ManualClock, NullStore, Store, StoreRef
from .publisher_flow import FLOW_HIGH, FLOW_LOW, FLOW_STALL, PublisherFlow
from .queue_policy import NO_POLICY, queue_settings_under
from .queue_settings import DROP_HEAD, REJECT_PUBLISH_DLX, QueueSettings
from .queue_timers import HeadTimer, IdleTimer
from .ready import ReadyList, ready_list_for
from .sampler import Sample
from .stats import QUEUE_SAMPLED_FIELDS, QueueCounters

# (with the flow marks and the default paging window, for the tests and tools that read them)
__all__ = ["FLOW_HIGH", "FLOW_LOW", "FLOW_STALL", "WINDOW", "Queue"]

_NULL_STORE = NullStore()


class Queue:
    """One queue in one vhost."""

    counts_deliveries = False  # quorum queues tell basic.get how often a message came back
    policy_kind = "classic"  # what policies see (``policies.model.KINDS``)
    # Whether a refusing queue (reject-publish) counts the incoming message against its
    # limits: a classic queue does; a quorum queue checks only what it holds (one past).
    counts_incoming = 1

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
        self.arguments = arguments  # as declared (compared on redeclare, stored)
        self.store: Store[Message] = store or _NULL_STORE
        self.clock: Clock = clock or ManualClock()
        self.own_settings = QueueSettings.parse(arguments)
        self.settings = self._own_kind_of(self.own_settings)
        self.policy: Applied = NO_POLICY  # the policy and operator policy applied, merged
        self.ready = self._ready_list()
        self.ready.on_paged_in = self._paged_in
        self._ring: ConsumerRing[Queue] = ConsumerRing(self.settings.single_active)
        # In turn order (the ring's own list: read it, change it through add/remove_consumer).
        self.consumers: list[Consumer[Queue]] = self._ring.members
        # What the store hears of messages that leave is the list's business (its methods,
        # bound here for the channel: a message left for a consumer or basic.get, or left
        # for good: acked, dropped, returned to a deleted queue).
        self.handed_out: Callable[[Envelope, bool], None] = self.ready.handed_out
        self.forget: Callable[[list[Envelope]], None] = self.ready.forget
        self.had_consumers = False
        self._next_seq = 0
        self._dispatching = False
        # Where messages that expire (or are otherwise dead-lettered) go; the vhost sets it.
        self.dead_letter: Callable[[Queue, list[Envelope], str], None] = _discard
        self._head_timer = HeadTimer(self.clock, self._head_expired)
        # x-expires: the queue goes once unused that long; the vhost sets on_expired.
        self.on_expired: Callable[[Queue], None] = _ignore
        self._idle = IdleTimer(
            self.clock,
            self.settings.expires,
            expire=lambda: self.on_expired(self),
            idle=lambda: not (self.deleted or self._ring.members),
        )
        self._flow = PublisherFlow(self.clock)
        self.counters = QueueCounters()  # (core.stats; rates and idle_since: core.sampler)
        self.sample = Sample(len(QUEUE_SAMPLED_FIELDS), self.clock.wall(), self.clock.now())

    def _ready_list(self) -> ReadyList[Queue]:
        return ready_list_for(
            self,
            self.store,
            self.store.paging,
            durable=self.durable,
            settings=self.settings,
        )

    def __repr__(self) -> str:
        return f"<Queue {self.name!r} in {self.vhost!r}>"

    @property
    def deleted(self) -> bool:
        return self.ready.closed

    @deleted.setter
    def deleted(self, deleted: bool) -> None:
        self.ready.closed = deleted  # (and reads from disk that come back then are dropped)

    @property
    def exclusive(self) -> bool:
        return self.exclusive_owner is not None

    @property
    def message_count(self) -> int:
        return len(self.ready)

    @property
    def published(self) -> int:
        """Messages published to this queue (RabbitMQ's queue ``publish``): its sequence
        number, corrected (``core.stats``)."""
        c = self.counters
        return self._next_seq - c.publish_base - c.dead_lettered_in + c.refused

    def _own_kind_of(self, settings: QueueSettings) -> QueueSettings:
        """``settings`` as this kind of queue runs them (a classic queue: as they are)."""
        return settings

    def apply_settings(self, settings: QueueSettings) -> None:
        """Run under new settings from now on (priorities and single active consumer stay
        as declared).  As in RabbitMQ, messages keep the expiry they were given; the head's
        timer follows, a lower limit drops (drop-head) now, and x-expires counts afresh."""
        old, self.settings = self.settings, self._own_kind_of(settings.over(self.settings))
        if settings.expires != old.expires:
            self._idle.rearm(settings.expires)
        self.expire_head()
        if settings.overflow == DROP_HEAD:
            self._drop_head_over_limit()
        self.dispatch()

    def apply_policy(self, applied: Applied) -> None:
        """Run under the arguments combined with ``applied`` (``core.queue_policy``).  As in
        RabbitMQ, a lower max-length is applied before a new overflow: the surplus is dropped
        unless reject-publish was already in force."""
        if applied == self.policy:
            return
        self.policy = applied
        old = self.settings
        quorum = self.policy_kind == "quorum"
        new = queue_settings_under(
            self.own_settings, self.arguments, applied.definition, quorum=quorum
        )
        if new == old:
            return
        self.apply_settings(new)
        if old.overflow == DROP_HEAD and new.overflow != DROP_HEAD:
            self._drop_head_over_limit()

    # -- messages -------------------------------------------------------------------------------

    def enqueue(self, message: Message, dispatch: bool = True) -> bool:
        """Add a message; False when the queue is full and refuses it (reject-publish).
        ``dispatch=False``: the caller dispatches later (a run of publishes, in one go)."""
        settings, ready = self.settings, self.ready
        if settings.overflow != DROP_HEAD and settings.beyond_limits(
            len(ready) + self.counts_incoming,
            ready.bytes + len(message.body) * self.counts_incoming,
        ):
            self.counters.refused += 1
            if message.journey is not None:
                message.journey.add("rejected_by_queue", queue=self.name, reason="maxlen")
            if settings.overflow == REJECT_PUBLISH_DLX:
                self.dead_letter(self, [Envelope(message, 0)], "maxlen")
            return False
        self._next_seq += 1
        if settings.message_ttl is None and message.ttl is None:
            envelope = Envelope(message, self._next_seq)
        else:
            now = self.clock.now()  # (once: a real clock may tick between two readings)
            envelope = Envelope(message, self._next_seq, settings.expiry(message.ttl, now))
            if envelope.expires_at == now and not ready:
                return self._deliver_now_or_expire(envelope)  # a TTL of 0
        ready.push(envelope)
        if dispatch and self._ring.members:
            self.dispatch()
        if envelope.expires_at is not None:
            self.expire_head()
        if settings.limited and settings.overflow == DROP_HEAD:
            self._drop_head_over_limit()
        return True

    def _drop_head_over_limit(self) -> None:
        """drop-head: the oldest messages make room (dead-lettered as 'maxlen')."""
        ready, settings = self.ready, self.settings
        dropped = ready.drop_while(lambda _: settings.beyond_limits(len(ready), ready.bytes))
        if dropped:
            if self.policy_kind == "quorum":  # (RabbitMQ 3.10.8's quorum queues dead-letter
                dropped.reverse()  # a lowered limit's surplus newest first: recorded)
            self.forget(dropped)
            self.dead_letter(self, dropped, "maxlen")

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
        """Drop expired messages at the head ('expired'); wake up when the next one expires."""
        now = self.clock.now()
        expired = self.ready.drop_while(lambda e: e.expires_at is not None and e.expires_at <= now)
        if expired:
            self.forget(expired)
            self.dead_letter(self, expired, "expired")
        head = self.ready.head()
        self._head_timer.follow(head.expires_at if head is not None else None)

    def _head_expired(self) -> None:
        if not self.deleted:
            self.expire_head()
            self.ready.refill()

    def touch(self) -> None:
        """The queue was used (declared, read, left by its last consumer): x-expires."""
        self._idle.touch()

    def restore(self, seq: int, ref: StoreRef, redelivered: bool, expires_at: float | None) -> None:
        """A stored message found at recovery (its body stays on disk until needed)."""
        self._next_seq = max(self._next_seq, seq)
        self.counters.publish_base = self._next_seq
        self.ready.restore(seq, ref, redelivered, expires_at)

    def recovered(self) -> None:
        """Every queue is back (RabbitMQ's recovery barrier lifts): a head that expired
        meanwhile goes now, read back from disk for that if need be."""
        self.ready.recovered()

    def restarted(self) -> None:
        """An in-memory broker restarted: transient messages are gone unless the queue type
        keeps them, and x-expires counts from now."""
        if not self.ready.keeps_transient:
            self.ready.drop_transient()
            self.expire_head()
        self.touch()

    def _paged_in(self) -> None:
        self.expire_head()
        self.ready.wake_head_waiters()
        self.dispatch()
        self.ready.refill()

    def get(self) -> Envelope | None:
        """Take the head message for basic.get (see ``ReadyList.head_ready``)."""
        self.touch()
        self.expire_head()
        if self.ready.head() is None:
            return None
        envelope = self.ready.take()
        self.ready.refill()
        self.expire_head()  # an expired message that just became the head leaves now
        return envelope

    def requeue(self, envelopes: list[Envelope], closing: bool = False) -> None:
        """Return unacked messages (``closing``: their channel closed) to the ready list."""
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
        count = self.ready.purge()
        self._flow.release(self.ready.in_memory_count, bool(self._ring))
        return count

    def add_consumer(self, consumer: Consumer[Queue]) -> None:
        self._ring.add(consumer)
        self.had_consumers = True
        self.dispatch()

    def remove_consumer(self, consumer: Consumer[Queue]) -> None:
        if not self._ring.remove(consumer):
            return
        self.counters.consumer_left(consumer)
        if not self._ring.members:
            self.touch()
        self._flow.release(self.ready.in_memory_count, bool(self._ring))

    def has_exclusive_consumer(self) -> bool:
        return self._ring.has_exclusive()

    @property
    def single_active_consumer(self) -> Consumer[Queue] | None:
        """The consumer a single-active-consumer queue serves (None otherwise)."""
        return self._ring.active

    # -- publisher flow control (core.publisher_flow) -------------------------------------------

    def holds_publishers(self) -> bool:
        """Whether a publisher that just routed a message here should wait (FLOW_HIGH)."""
        return self._flow.holds(self.ready.in_memory_count, bool(self._ring))

    def hold_publisher(self, publisher: object, resume: Callable[[], None]) -> None:
        """``resume()`` once this queue no longer holds publishers back."""
        self._flow.hold(publisher, resume)

    def forget_publisher(self, publisher: object) -> None:
        self._flow.forget(publisher)

    # -- dispatch -------------------------------------------------------------------------------

    def dispatch(self) -> None:
        """Deliver ready messages to consumers that can take them, in the ring's turns."""
        if self._dispatching:
            return
        self._dispatching = True
        ready, ring = self.ready, self._ring
        window = ready.window  # (read directly: this loop runs once per delivery of a fanout)
        delivered = False
        try:
            now = self.clock.now()
            while window:
                head = window[0]
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
        if window and window[0].expires_at is not None:
            self.expire_head()
        ready.refill()
        flow = self._flow
        if delivered or flow.holding:
            flow.dispatched(delivered, len(window), bool(ring.members))

    def _hand_to(self, consumer: Consumer[Queue], envelope: Envelope) -> None:
        self.handed_out(envelope, not consumer.no_ack)
        consumer.delivered += 1
        consumer.deliver(envelope)

    def _deliver_run(self, consumer: Consumer[Queue], now: float) -> None:
        """``_hand_to`` ``consumer`` each ready message it can take, up to an expired one."""
        take, window, handed_out = self.ready.take, self.ready.window, self.ready.handed_out
        stored = self.durable
        acked_later = not consumer.no_ack
        deliver = consumer.deliver
        count = 0  # (counted here, once per run: this loop runs once per message)
        while True:
            envelope = take()
            if stored:
                handed_out(envelope, acked_later)
            deliver(envelope)
            count += 1
            if not window or not consumer.can_take():
                break
            expires_at = window[0].expires_at
            if expires_at is not None and expires_at <= now:
                break
        consumer.delivered += count


def _discard(queue: Queue, envelopes: list[Envelope], reason: str) -> None:
    """Dead-lettering without a dead-letter exchange: the messages are simply gone."""


def _ignore(queue: Queue) -> None:
    pass
