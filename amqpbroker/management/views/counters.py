"""The one place the views read message counters and rates from the broker's objects.

The counters are ``core.stats``'s (counted where the code touches the objects anyway) and
the rates and ``idle_since`` come from each object's ``core.sampler.Sample``, refreshed
every 5 s.  Queues, exchanges, channels and connections are read live; a vhost's and the
whole broker's message_stats are the last sampling's sums, as RabbitMQ's statistics
database reports them (zeros until the first round), while a vhost's octets add its open
connections' to what its closed ones left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from amqpbroker.core.sampler import Sample
from amqpbroker.core.stats import (
    CHANNEL_FIELDS,
    CHURN_FIELDS,
    CONNECTION_FIELDS,
    EXCHANGE_FIELDS,
    OVERVIEW_FIELDS,
    QUEUE_SAMPLED_FIELDS,
    QUEUE_TOTALS_FIELDS,
    exchange_counts,
    queue_counts,
)

if TYPE_CHECKING:
    from amqpbroker.core.broker import BrokerState
    from amqpbroker.core.exchanges import Exchange
    from amqpbroker.core.queue import Queue
    from amqpbroker.core.vhost import VirtualHost
    from amqpbroker.session.channel import Channel
    from amqpbroker.session.connection import ConnectionSession

# The message_stats names RabbitMQ 3.10.8 shows, per kind of object, in its order.
QUEUE_MESSAGE_STATS = (
    "publish",
    "deliver",
    "deliver_get",
    "deliver_no_ack",
    "get",
    "get_empty",
    "get_no_ack",
    "ack",
    "redeliver",
)
# (RabbitMQ adds confirm, drop_unroutable, publish and return_unroutable once the channel
# published: here they are always there.)
CHANNEL_MESSAGE_STATS = (
    "ack",
    "confirm",
    "deliver",
    "deliver_get",
    "deliver_no_ack",
    "drop_unroutable",
    "get",
    "get_empty",
    "get_no_ack",
    "publish",
    "redeliver",
    "return_unroutable",
)
VHOST_MESSAGE_STATS = CHANNEL_MESSAGE_STATS  # a vhost's are its channels' sums
EXCHANGE_MESSAGE_STATS = ("publish_in", "publish_out")
CONNECTION_COUNTERS = ("recv_cnt", "recv_oct", "send_cnt", "send_oct", "send_pend")


@dataclass(frozen=True, slots=True)
class Counters:
    """Counts by RabbitMQ's names, and rates per second for those that have one."""

    counts: Mapping[str, int] = field(default_factory=dict)
    rates: Mapping[str, float] = field(default_factory=dict)
    idle_since: float | None = None  # epoch seconds: last use (queues, channels)

    def count(self, name: str) -> int:
        return int(self.counts.get(name, 0))


NO_COUNTERS = Counters()


def _counters(fields: Sequence[str], counts: Iterable[int], sample: Sample) -> Counters:
    return Counters(
        dict(zip(fields, counts, strict=False)),
        sample.rates_by_name(fields),
        sample.idle_since,
    )


def queue_counters(queue: Queue) -> Counters:
    """A queue's message_stats and message counts, with their rates."""
    return _counters(QUEUE_SAMPLED_FIELDS, queue_counts(queue), queue.sample)


def exchange_counters(exchange: Exchange) -> Counters:
    """An exchange's publish_in/publish_out."""
    return _counters(EXCHANGE_FIELDS, exchange_counts(exchange), exchange.sample)


def channel_counters(channel: Channel) -> Counters:
    """A channel's message_stats."""
    return _counters(CHANNEL_FIELDS, channel.message_counts(), channel.sample)


def connection_counters(session: ConnectionSession) -> Counters:
    """A connection's octet and read/write counts (``send_pend`` is always 0 here)."""
    return _counters(CONNECTION_FIELDS, session.message_counts(), session.sample)


def vhost_counters(vhost: VirtualHost, sessions: Iterable[ConnectionSession] = ()) -> Counters:
    """A vhost's message_stats (last sampling) and octets (``sessions``: the open ones)."""
    sample = vhost.sample
    counts = dict(zip(CHANNEL_FIELDS, sample.counts, strict=False))
    recv, send = vhost.recv_oct, vhost.send_oct
    for session in sessions:
        if session.vhost is vhost:
            recv += session.recv_oct
            send += session.send_oct
    counts.update(recv_oct=recv, send_oct=send)
    return Counters(counts, sample.rates_by_name(CHANNEL_FIELDS))


OVERVIEW_MESSAGE_STATS = (
    "ack",
    "confirm",
    "deliver",
    "deliver_get",
    "deliver_no_ack",
    "disk_reads",
    "disk_writes",
    "drop_unroutable",
    "get",
    "get_empty",
    "get_no_ack",
    "publish",
    "redeliver",
    "return_unroutable",
)
CHURN_COUNTERS = (
    "channel_closed",
    "channel_created",
    "connection_closed",
    "connection_created",
    "queue_created",
    "queue_declared",
    "queue_deleted",
)


def broker_counters(state: BrokerState) -> Counters:
    """The whole broker's message_stats, churn and queue totals, as last sampled."""
    stats = state.stats
    counts: dict[str, int] = {}
    rates: dict[str, float] = {}
    for fields, sample in (
        (OVERVIEW_FIELDS, stats.message_sample),
        (CHURN_FIELDS, stats.churn_sample),
    ):
        counts.update(zip(fields, sample.counts, strict=False))
        rates.update(sample.rates_by_name(fields))
    # Churn counts are exact at any moment (plain ints); only their rates are sampled.
    counts.update(zip(CHURN_FIELDS, stats.churn_counts(), strict=False))
    rates.update(stats.totals_sample.rates_by_name(QUEUE_TOTALS_FIELDS))
    return Counters(counts, rates)
