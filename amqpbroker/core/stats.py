"""Message statistics as RabbitMQ 3.10.8's management API reports them, kept cheap.

Theory of operation.  The AMQP hot path must not slow down for the sake of statistics, so
nothing is counted twice and nothing is allocated per message: each event is counted once,
as a plain int on an object the code touches anyway, and every figure a reader wants is
derived from those at read time.

- A queue's ``publish`` is its sequence number (``Queue.published``): every routed message
  takes the next one; the rare enqueues that are not publishes (dead-lettered messages
  arriving) and publishes that take none (refused by reject-publish, which RabbitMQ counts)
  are corrected for on their own slow paths.
- Deliveries to consumers are counted on the ``Consumer`` (``delivered``, ``redelivered``),
  a run at a time by the queue's dispatch.  A consumer belongs to one queue and one
  channel, so both read their ``deliver``/``deliver_no_ack``/``redeliver`` as what their
  departed consumers left them (``DeliveryCounters``, folded in by ``consumer_left``) plus
  what their live consumers hold.
- basic.get, acks and publishes are counted on the queue's and the channel's
  ``DeliveryCounters`` and ``ChannelCounters`` (an ack once per ack frame, not per message).
- An exchange counts ``publish_in`` per message; ``publish_out`` (one per queue reached)
  is derived: ``publish_in`` minus the unroutable plus the extra queues of multi-queue routes.
- ``deliver_get`` is ``deliver + deliver_no_ack + get + get_no_ack``, summed when read.

Broker-wide totals (the overview's ``message_stats``) are RabbitMQ's channel sums: what
every live channel counts plus what closed channels counted (``BrokerStats.retired``,
folded in when a channel closes), so closing a connection or deleting a queue loses
nothing; ``disk_reads``/``disk_writes`` are queues' sums, kept the same way.  Churn
(connections, channels, queues created and gone) is a handful of ints counted where those
events happen.  Rates are not kept here: ``core.sampler`` samples these counters every
few seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from .sampler import Sample

# The names in RabbitMQ's message_stats objects (each with an ``X_details: {"rate": ...}``).
QUEUE_FIELDS = (
    "publish",
    "deliver",
    "deliver_no_ack",
    "get",
    "get_no_ack",
    "get_empty",
    "ack",
    "redeliver",
    "deliver_get",
)
EXCHANGE_FIELDS = ("publish_in", "publish_out")
CHANNEL_FIELDS = (
    "publish",
    "confirm",
    "return_unroutable",
    "drop_unroutable",
    "deliver",
    "deliver_no_ack",
    "get",
    "get_no_ack",
    "get_empty",
    "ack",
    "redeliver",
    "deliver_get",
)
OVERVIEW_FIELDS = (*CHANNEL_FIELDS, "disk_reads", "disk_writes")
CHURN_FIELDS = (
    "connection_created",
    "connection_closed",
    "channel_created",
    "channel_closed",
    "queue_created",
    "queue_declared",
    "queue_deleted",
)
QUEUE_TOTALS_FIELDS = ("messages", "messages_ready", "messages_unacknowledged")
QUEUE_SAMPLED_FIELDS = (*QUEUE_FIELDS, *QUEUE_TOTALS_FIELDS)
CONNECTION_FIELDS = ("recv_oct", "recv_cnt", "send_oct", "send_cnt")


class CountingConsumer(Protocol):
    """What the statistics read of a consumer (``core.consumers.Consumer``)."""

    @property
    def no_ack(self) -> bool: ...
    @property
    def delivered(self) -> int: ...
    @property
    def redelivered(self) -> int: ...


class DiskCounts(Protocol):
    """A queue's ready list, as the statistics read it (``core.ready.ReadyList``)."""

    @property
    def disk_reads(self) -> int: ...
    @property
    def disk_writes(self) -> int: ...


class CountedQueue(Protocol):
    """What the statistics read of a queue (``core.queue.Queue``)."""

    @property
    def counters(self) -> QueueCounters: ...
    @property
    def consumers(self) -> Sequence[CountingConsumer]: ...
    @property
    def published(self) -> int: ...
    @property
    def message_count(self) -> int: ...
    @property
    def ready(self) -> DiskCounts: ...
    @property
    def sample(self) -> Sample: ...


class CountedExchange(Protocol):
    """What the statistics read of an exchange (``core.exchanges.Exchange``)."""

    @property
    def publish_in(self) -> int: ...
    @property
    def publish_out(self) -> int: ...


class DeliveryCounters:
    """What left a queue, or went out on a channel, besides the live consumers' counts.

    ``deliver``/``deliver_no_ack``/``redeliver`` here hold what departed consumers
    delivered (and basic.get's redeliveries); ``returned`` counts unacked deliveries that
    came back or were dropped (nack, reject, recover, a closed channel), so that a queue's
    unacknowledged messages are ``deliver + get - ack - returned``.
    """

    __slots__ = (
        "ack",
        "deliver",
        "deliver_no_ack",
        "get",
        "get_empty",
        "get_no_ack",
        "redeliver",
        "returned",
    )

    def __init__(self) -> None:
        self.ack = 0
        self.deliver = 0
        self.deliver_no_ack = 0
        self.get = 0
        self.get_empty = 0
        self.get_no_ack = 0
        self.redeliver = 0
        self.returned = 0

    def consumer_left(self, consumer: CountingConsumer) -> None:
        """``consumer`` is gone: keep what it delivered."""
        if consumer.no_ack:
            self.deliver_no_ack += consumer.delivered
        else:
            self.deliver += consumer.delivered
        self.redeliver += consumer.redelivered

    def got(self, no_ack: bool, redelivered: bool) -> None:
        """basic.get answered with a message."""
        if no_ack:
            self.get_no_ack += 1
        else:
            self.get += 1
        if redelivered:
            self.redeliver += 1


class QueueCounters(DeliveryCounters):
    """A queue's: besides deliveries, the corrections its ``publish`` count needs."""

    __slots__ = ("dead_lettered_in", "publish_base", "refused")

    def __init__(self) -> None:
        super().__init__()
        self.publish_base = 0  # the sequence number recovery left (not publishes)
        self.dead_lettered_in = 0  # enqueued by dead-lettering (not publishes)
        self.refused = 0  # publishes refused by reject-publish (counted, with no number)


class ChannelCounters(DeliveryCounters):
    """A channel's: besides deliveries, what its publishes did."""

    __slots__ = ("confirm", "drop_unroutable", "publish", "return_unroutable")

    def __init__(self) -> None:
        super().__init__()
        self.publish = 0
        self.confirm = 0  # publishes confirmed with basic.ack (nacks are not counted)
        self.return_unroutable = 0  # mandatory and unroutable: basic.return
        self.drop_unroutable = 0  # unroutable and not mandatory: dropped


def delivery_counts(
    counters: DeliveryCounters, consumers: Iterable[CountingConsumer]
) -> tuple[int, int, int]:
    """(deliver, deliver_no_ack, redeliver): ``counters`` plus the live ``consumers``'."""
    deliver, no_ack, redeliver = counters.deliver, counters.deliver_no_ack, counters.redeliver
    for consumer in consumers:
        if consumer.no_ack:
            no_ack += consumer.delivered
        else:
            deliver += consumer.delivered
        redeliver += consumer.redelivered
    return deliver, no_ack, redeliver


def queue_counts(queue: CountedQueue) -> tuple[int, ...]:
    """``queue``'s counters now, in ``QUEUE_SAMPLED_FIELDS`` order."""
    c = queue.counters
    deliver, no_ack, redeliver = delivery_counts(c, queue.consumers)
    ready = queue.message_count
    unacked = deliver + c.get - c.ack - c.returned
    return (
        queue.published,
        deliver,
        no_ack,
        c.get,
        c.get_no_ack,
        c.get_empty,
        c.ack,
        redeliver,
        deliver + no_ack + c.get + c.get_no_ack,
        ready + unacked,
        ready,
        unacked,
    )


def queue_message_stats(queue: CountedQueue) -> dict[str, int]:
    """``queue``'s message_stats counts by RabbitMQ's names (``QUEUE_FIELDS``)."""
    return dict(zip(QUEUE_FIELDS, queue_counts(queue), strict=False))


def queue_unacknowledged(queue: CountedQueue) -> int:
    """Deliveries from ``queue`` (consumers' and basic.get's) awaiting an ack."""
    c = queue.counters
    deliver, _, _ = delivery_counts(c, queue.consumers)
    return deliver + c.get - c.ack - c.returned


def exchange_counts(exchange: CountedExchange) -> tuple[int, int]:
    """(publish_in, publish_out) of ``exchange``."""
    return exchange.publish_in, exchange.publish_out


def channel_counts(
    counters: ChannelCounters, consumers: Iterable[CountingConsumer]
) -> tuple[int, ...]:
    """A channel's counters now (``counters`` plus its live consumers'), in
    ``CHANNEL_FIELDS`` order."""
    c = counters
    deliver, no_ack, redeliver = delivery_counts(c, consumers)
    return (
        c.publish,
        c.confirm,
        c.return_unroutable,
        c.drop_unroutable,
        deliver,
        no_ack,
        c.get,
        c.get_no_ack,
        c.get_empty,
        c.ack,
        redeliver,
        deliver + no_ack + c.get + c.get_no_ack,
    )


def add_counts(total: list[int], counts: Iterable[int]) -> None:
    """``total`` += ``counts``, field by field."""
    for index, value in enumerate(counts):
        total[index] += value


class BrokerStats:
    """Broker-wide: churn, and what closed channels and deleted queues counted."""

    __slots__ = (
        *CHURN_FIELDS,
        "churn_sample",
        "disk_reads",
        "disk_writes",
        "message_sample",
        "retired",
        "totals_sample",
    )

    def __init__(self) -> None:
        self.connection_created = 0  # connections that completed connection.open
        self.connection_closed = 0  # every connection that went, opened or not
        self.channel_created = 0
        self.channel_closed = 0
        self.queue_created = 0  # new queues
        self.queue_declared = 0  # queue.declare that succeeded, passive ones excepted
        self.queue_deleted = 0  # deleted, expired, auto-deleted, exclusive ones closed
        # Closed channels' counters, in CHANNEL_FIELDS order; deleted queues' disk I/O.
        self.retired = [0] * len(CHANNEL_FIELDS)
        self.disk_reads = 0
        self.disk_writes = 0
        # Rates of the overview's message_stats, churn_rates and queue_totals.
        self.message_sample = Sample(len(OVERVIEW_FIELDS), None)
        self.churn_sample = Sample(len(CHURN_FIELDS), None)
        self.totals_sample = Sample(len(QUEUE_TOTALS_FIELDS), None)

    def channel_closed_with(self, counts: Iterable[int]) -> None:
        """A channel closed: its counts (``channel_counts``) stay in the totals."""
        self.channel_closed += 1
        add_counts(self.retired, counts)

    def queue_deleted_with(self, queue: CountedQueue) -> None:
        """A queue was deleted: its disk reads and writes stay in the totals."""
        self.queue_deleted += 1
        self.disk_reads += queue.ready.disk_reads
        self.disk_writes += queue.ready.disk_writes

    def churn_counts(self) -> tuple[int, ...]:
        """In ``CHURN_FIELDS`` order."""
        return tuple(getattr(self, name) for name in CHURN_FIELDS)


def overview_counts(
    stats: BrokerStats, live_channels: Iterable[Sequence[int]], queues: Iterable[CountedQueue]
) -> tuple[int, ...]:
    """The overview's message_stats (``OVERVIEW_FIELDS`` order): closed channels' counts
    plus ``live_channels``' (``channel_counts`` of each), and the disk I/O of deleted
    queues plus the live ``queues``'."""
    total = list(stats.retired)
    for counts in live_channels:
        add_counts(total, counts)
    reads, writes = stats.disk_reads, stats.disk_writes
    for queue in queues:
        ready = queue.ready
        reads += ready.disk_reads
        writes += ready.disk_writes
    return (*total, reads, writes)


def queue_totals(queues: Iterable[CountedQueue]) -> tuple[int, int, int]:
    """(messages, messages_ready, messages_unacknowledged) summed over ``queues``."""
    ready = unacked = 0
    for queue in queues:
        ready += queue.message_count
        unacked += queue_unacknowledged(queue)
    return ready + unacked, ready, unacked


class TotalledVhost(Protocol):
    """What the totals read of a vhost (``core.vhost.VirtualHost``)."""

    @property
    def retired(self) -> list[int]: ...
    @property
    def sample(self) -> Sample: ...


def vhost_counts(vhost: TotalledVhost, live_channels: Iterable[Sequence[int]]) -> list[int]:
    """A vhost's message_stats (``CHANNEL_FIELDS`` order): its closed channels' counts plus
    ``live_channels``' (the ``channel_counts`` of its open channels)."""
    total = list(vhost.retired)
    for counts in live_channels:
        add_counts(total, counts)
    return total


def record_totals(
    stats: BrokerStats,
    vhosts: Iterable[tuple[TotalledVhost, Sequence[Sequence[int]]]],
    orphans: Iterable[Sequence[int]],
    queues: Sequence[CountedQueue],
    now: float,
    wall: float,
) -> None:
    """Sample the totals (the sampler's last step of a round): each vhost's message_stats
    from ``vhosts`` (each with its open channels' counts), the overview's from all of them
    and ``orphans`` (open channels of vhosts deleted meanwhile), churn, and queue totals."""
    live: list[Sequence[int]] = list(orphans)
    for vhost, channels in vhosts:
        vhost.sample.record(vhost_counts(vhost, channels), now, wall)
        live.extend(channels)
    # One pass over the queues, reading what the round just sampled of each.
    ready = unacked = reads = writes = 0
    for queue in queues:
        sampled = queue.sample.counts
        ready += sampled[_READY]
        unacked += sampled[_UNACKED]
        reads += queue.ready.disk_reads
        writes += queue.ready.disk_writes
    total = list(stats.retired)
    for channel in live:
        add_counts(total, channel)
    total += (stats.disk_reads + reads, stats.disk_writes + writes)
    stats.message_sample.record(total, now, wall)
    stats.churn_sample.record(stats.churn_counts(), now, wall)
    stats.totals_sample.record((ready + unacked, ready, unacked), now, wall)


_READY = QUEUE_SAMPLED_FIELDS.index("messages_ready")
_UNACKED = QUEUE_SAMPLED_FIELDS.index("messages_unacknowledged")
