"""The one place the views read message counters and rates from the broker's objects.

TODO(issue 14, mgmt-stats): the counters (publish, deliver, ack… per queue, exchange,
channel and vhost; octets per connection) and their 5-second rates are being added to the
core and session objects in parallel.  Until both branches meet, each function below reads
an optional ``stats`` attribute of its object: a counter it lacks counts 0 and a rate it
lacks is 0.0, so every item always has RabbitMQ's full key set.  When mgmt-stats lands,
adapt only these functions to its names (one small function per kind of object), nothing
else in the views.

The ``stats`` this expects: attributes named as RabbitMQ names the counters
(``stats.publish``, ``stats.recv_oct``…) and a ``stats.rates`` mapping from the same names
to a rate per second; a queue's ``stats.idle_since`` is the wall-clock time (epoch seconds)
it was last used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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
VHOST_MESSAGE_STATS = (
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


def _read(obj: object, names: Iterable[str]) -> Counters:
    stats: Any = getattr(obj, "stats", None)
    if stats is None:
        return NO_COUNTERS
    counts = {name: int(getattr(stats, name, 0) or 0) for name in names}
    rates = getattr(stats, "rates", None)
    idle_since = getattr(stats, "idle_since", None)
    return Counters(counts, dict(rates) if isinstance(rates, Mapping) else {}, _seconds(idle_since))


def _seconds(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def queue_counters(queue: object) -> Counters:
    """A queue's message_stats (``core.queue.Queue``)."""
    return _read(queue, QUEUE_MESSAGE_STATS)


def exchange_counters(exchange: object) -> Counters:
    """An exchange's publish_in/publish_out (``core.exchanges.Exchange``)."""
    return _read(exchange, EXCHANGE_MESSAGE_STATS)


def channel_counters(channel: object) -> Counters:
    """A channel's message_stats (``session.channel.Channel``)."""
    return _read(channel, CHANNEL_MESSAGE_STATS)


def connection_counters(session: object) -> Counters:
    """A connection's octet and frame counts (``session.connection.ConnectionSession``)."""
    return _read(session, CONNECTION_COUNTERS)


def vhost_counters(vhost: object) -> Counters:
    """A vhost's message_stats and octets (``core.vhost.VirtualHost``)."""
    return _read(vhost, (*VHOST_MESSAGE_STATS, "recv_oct", "send_oct"))


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


def broker_counters(state: object) -> Counters:
    """The whole broker's message_stats and churn (``core.broker.BrokerState``)."""
    return _read(state, (*OVERVIEW_MESSAGE_STATS, *CHURN_COUNTERS))
