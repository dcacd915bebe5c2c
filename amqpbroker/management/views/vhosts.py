"""Virtual host items of ``/api/vhosts`` as RabbitMQ 3.10.8 shows them.

RabbitMQ adds the message totals, ``message_stats`` and octets only once a vhost has seen
traffic; here they are always there (zeros until then), as for queues.
"""

from __future__ import annotations

from typing import Any

from amqpbroker.core.vhost import VirtualHost

from .context import UnackedIndex, ViewContext
from .counters import VHOST_MESSAGE_STATS, vhost_counters
from .formats import message_stats, with_details


def vhost_totals(vhost: VirtualHost, unacked: UnackedIndex) -> tuple[int, int]:
    """(ready, unacknowledged) messages over the vhost's queues."""
    ready = unacknowledged = 0
    for queue in vhost.queues.values():
        ready += len(queue.ready)
        unacknowledged += unacked.count(queue)
    return ready, unacknowledged


def vhost_item(vhost: VirtualHost, context: ViewContext, unacked: UnackedIndex) -> dict[str, Any]:
    """One item of ``/api/vhosts`` (and ``GET /api/vhosts/{name}``)."""
    counters = vhost_counters(vhost, context.sessions)
    ready, unacknowledged = vhost_totals(vhost, unacked)
    item: dict[str, Any] = {
        "cluster_state": {context.node: "running"},
        "default_queue_type": "undefined",
        "description": vhost.description,
        "message_stats": message_stats(VHOST_MESSAGE_STATS, counters.counts, counters.rates),
    }
    totals = {
        "messages": ready + unacknowledged,
        "messages_ready": ready,
        "messages_unacknowledged": unacknowledged,
    }
    with_details(item, totals, counters.rates)
    item["metadata"] = {"description": vhost.description, "tags": list(vhost.tags)}
    item["name"] = vhost.name
    octets = {"recv_oct": counters.count("recv_oct"), "send_oct": counters.count("send_oct")}
    with_details(item, octets, counters.rates)
    item["tags"] = list(vhost.tags)
    item["tracing"] = vhost.tracing
    return item
