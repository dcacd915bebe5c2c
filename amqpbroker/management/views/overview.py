"""``/api/overview`` as RabbitMQ 3.10.8 answers it.

Versions are RabbitMQ's (3.10.8: what clients check); ``erlang_version`` is the one 3.10.8
ran on, and ``erlang_full_version`` says what really runs.  ``node``, ``listeners`` and
``contexts`` are for administrators only (``administrator=False`` leaves them out), and
the totals cover the vhosts the user may see (``vhosts``).  ``queue_totals`` is {} when
there is no queue, as in RabbitMQ.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from amqpbroker.core.broker import BrokerState
from amqpbroker.definitions.exporter import PRODUCT_NAME
from amqpbroker.version import __version__

from .context import UnackedIndex, ViewContext
from .counters import CHURN_COUNTERS, OVERVIEW_MESSAGE_STATS, broker_counters
from .formats import message_stats, with_details
from .listing import vhosts_of
from .nodes import exchange_types
from .vhosts import vhost_totals

RABBITMQ_VERSION = "3.10.8"
ERLANG_VERSION = "25.2.3"


@dataclass(frozen=True)
class Listener:
    """A listening socket, as ``listeners`` shows it."""

    protocol: str  # "amqp", "amqp/ssl", "http"
    ip_address: str
    port: int


@dataclass(frozen=True)
class ObjectCounts:
    """Connections, channels and consumers the user may see (``object_totals``)."""

    connections: int = 0
    channels: int = 0
    consumers: int = 0


def overview_item(
    state: BrokerState,
    context: ViewContext,
    unacked: UnackedIndex,
    *,
    cluster_name: Any,
    vhosts: Iterable[str] | None = None,
    objects: ObjectCounts = ObjectCounts(),
    administrator: bool = True,
    listeners: Sequence[Listener] = (),
    management_contexts: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The overview; ``vhosts``: the names the user may see (None: all)."""
    hosts = [
        host for name in (vhosts if vhosts is not None else sorted(state.vhosts))
        for host in vhosts_of(state, name)
    ]  # fmt: skip
    counters = broker_counters(state)
    churn: dict[str, Any] = {}
    with_details(churn, {name: counters.count(name) for name in CHURN_COUNTERS}, counters.rates)
    item: dict[str, Any] = {
        "management_version": RABBITMQ_VERSION,
        "rates_mode": "basic",
        "sample_retention_policies": {
            "global": [600, 3600, 28800, 86400],
            "basic": [600, 3600],
            "detailed": [600],
        },
        "exchange_types": exchange_types(),
        "product_version": __version__,
        "product_name": PRODUCT_NAME,
        "rabbitmq_version": RABBITMQ_VERSION,
        "cluster_name": cluster_name,
        "erlang_version": ERLANG_VERSION,
        "erlang_full_version": (
            f"amqpbroker {__version__} on Python {platform.python_version()} "
            "(no Erlang: erlang_version is the one RabbitMQ 3.10.8 ran on)"
        ),
        "release_series_support_status": "supported",
        "disable_stats": False,
        "enable_queue_totals": False,
        "message_stats": message_stats(OVERVIEW_MESSAGE_STATS, counters.counts, counters.rates),
        "churn_rates": churn,
        "queue_totals": _queue_totals(hosts, unacked, counters.rates),
        "object_totals": {
            "channels": objects.channels,
            "connections": objects.connections,
            "consumers": objects.consumers,
            "exchanges": sum(len(host.exchanges) for host in hosts),
            "queues": sum(len(host.queues) for host in hosts),
        },
        "statistics_db_event_queue": 0,
    }
    if administrator:
        item["node"] = context.node
        item["listeners"] = [_listener(listener, context) for listener in listeners]
        item["contexts"] = list(management_contexts)
    return item


def _queue_totals(hosts: list[Any], unacked: UnackedIndex, rates: Any) -> dict[str, Any]:
    if not any(host.queues for host in hosts):
        return {}
    ready = unacknowledged = 0
    for host in hosts:
        host_ready, host_unacked = vhost_totals(host, unacked)
        ready += host_ready
        unacknowledged += host_unacked
    totals = {
        "messages": ready + unacknowledged,
        "messages_ready": ready,
        "messages_unacknowledged": unacknowledged,
    }
    return with_details({}, totals, rates)


def _listener(listener: Listener, context: ViewContext) -> dict[str, Any]:
    return {
        "node": context.node,
        "protocol": listener.protocol,
        "ip_address": listener.ip_address,
        "port": listener.port,
        "socket_opts": (
            {"backlog": 128, "nodelay": True, "linger": [True, 0], "exit_on_close": False}
            if listener.protocol.startswith("amqp")
            else []
        ),
    }
