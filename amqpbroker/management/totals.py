"""Counts over the broker's live objects: the overview's ``object_totals`` and
``queue_totals``, and each vhost's message counts.  Built on demand on the loop (one pass over
queues, connections and their channels; no per-message work).  Unlike RabbitMQ, which shows
message counts only once a vhost or queue has been busy, they are always there."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from typing import Any

from amqpbroker.core.broker import BrokerState
from amqpbroker.core.vhost import VirtualHost

from .broker import LiveConnection


def object_totals(
    state: BrokerState, connections: Collection[LiveConnection], vhosts: Collection[str]
) -> dict[str, int]:
    queues = exchanges = consumers = 0
    for name in vhosts:
        vhost = state.vhosts.get(name)
        if vhost is None:
            continue
        queues += len(vhost.queues)
        exchanges += len(vhost.exchanges)
        consumers += sum(len(queue.consumers) for queue in vhost.queues.values())
    sessions = [
        c.session
        for c in connections
        if c.session is not None and c.session.vhost is not None and c.session.vhost.name in vhosts
    ]
    return {
        "channels": sum(len(session.channels) for session in sessions),
        "connections": len(sessions),
        "consumers": consumers,
        "exchanges": exchanges,
        "queues": queues,
    }


def unacked_by_vhost(connections: Collection[LiveConnection]) -> Counter[str]:
    """Deliveries awaiting their ack, by the vhost of their connection."""
    counts: Counter[str] = Counter()
    for connection in connections:
        session = connection.session
        if session is not None and session.vhost is not None:
            unacked = sum(len(channel.unacked) for channel in session.channels.values())
            counts[session.vhost.name] += unacked
    return counts


def message_counts(vhost: VirtualHost, unacked: int) -> dict[str, int]:
    """``messages``, ``messages_ready``, ``messages_unacknowledged`` of one vhost."""
    # TODO(mgmt-stats): the *_details rates, once core/session sample them.
    ready = sum(queue.message_count for queue in vhost.queues.values())
    return {
        "messages": ready + unacked,
        "messages_ready": ready,
        "messages_unacknowledged": unacked,
    }


def queue_totals(
    state: BrokerState, connections: Collection[LiveConnection], vhosts: Collection[str]
) -> dict[str, Any]:
    """Ready and unacknowledged messages over the vhosts' queues (0s without queues, where
    RabbitMQ shows ``{}``)."""
    unacked = unacked_by_vhost(connections)
    totals = {"messages": 0, "messages_ready": 0, "messages_unacknowledged": 0}
    for name in vhosts:
        vhost = state.vhosts.get(name)
        if vhost is not None:
            for key, count in message_counts(vhost, unacked[name]).items():
                totals[key] += count
    return totals
