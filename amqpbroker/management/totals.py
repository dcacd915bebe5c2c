"""Counts over the broker's live objects for the overview: ``object_totals`` and
``queue_totals``, for the vhosts a user sees.  Built on demand on the loop (one pass over
queues, connections and their channels; no per-message work)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from amqpbroker.core.broker import BrokerState

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


def queue_totals(
    state: BrokerState, connections: Collection[LiveConnection], vhosts: Collection[str]
) -> dict[str, Any]:
    """Ready and unacknowledged messages over the vhosts' queues; ``{}`` without queues,
    as RabbitMQ shows it."""
    # TODO(mgmt-stats): the *_details rates, once core/session sample them.
    ready = 0
    any_queue = False
    for name in vhosts:
        vhost = state.vhosts.get(name)
        if vhost is None:
            continue
        any_queue = any_queue or bool(vhost.queues)
        ready += sum(queue.message_count for queue in vhost.queues.values())
    if not any_queue:
        return {}
    unacked = 0
    for connection in connections:
        session = connection.session
        if session is None or session.vhost is None or session.vhost.name not in vhosts:
            continue
        unacked += sum(len(channel.unacked) for channel in session.channels.values())
    return {
        "messages": ready + unacked,
        "messages_ready": ready,
        "messages_unacknowledged": unacked,
    }
