"""Connection, channel and consumer items (``/api/connections``, ``/api/channels``,
``/api/consumers`` and a queue's ``consumer_details``) as RabbitMQ 3.10.8 shows them.

A connection is named "127.0.0.1:48970 -> 127.0.0.1:5673" (client, then the listener it
reached) and its channels "<connection name> (1)".  What only the transport knows (when
the connection was accepted, its TLS parameters, the local address) comes from the
``ViewContext``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from amqpbroker.core.consumers import Consumer
from amqpbroker.core.queue import Queue
from amqpbroker.session.channel import Channel, ChannelState
from amqpbroker.session.connection import ConnectionSession
from amqpbroker.session.states import State
from amqpbroker.session.unacked import Outcome

from .context import ViewContext
from .counters import CHANNEL_MESSAGE_STATS, channel_counters, connection_counters
from .formats import (
    epoch_ms,
    garbage_collection,
    json_value,
    message_stats,
    rabbit_timestamp,
    rate,
    with_details,
)

# RabbitMQ's connection states for this broker's.
_STATES = {
    State.AWAIT_HEADER: "starting",
    State.AWAIT_START_OK: "starting",
    State.AWAIT_TUNE_OK: "tuning",
    State.AWAIT_OPEN: "opening",
    State.OPEN: "running",
    State.CLOSING: "closing",
    State.CLOSED: "closed",
}


def split_peer(peer: str) -> tuple[str, int]:
    """ "127.0.0.1:48970" -> ("127.0.0.1", 48970)."""
    host, _, port = peer.rpartition(":")
    return host, int(port) if port.isdigit() else 0


def connection_state(session: ConnectionSession) -> str:
    state = _STATES[session.state]
    return "blocked" if state == "running" and session.throttle.blocked else state


def connection_item(session: ConnectionSession, context: ViewContext) -> dict[str, Any]:
    """One item of ``/api/connections`` (and ``GET /api/connections/{name}``)."""
    peer_host, peer_port = split_peer(session.peer)
    counters = connection_counters(session)
    tls = context.tls.get(session.peer)
    item: dict[str, Any] = {
        "auth_mechanism": session.negotiated.mechanism or "PLAIN",
        "channel_max": session.channel_max,
        "channels": len(session.channels),
        "client_properties": json_value(session.client_properties),
        "connected_at": epoch_ms(context.connected_at.get(session.peer, context.started_at)),
        "frame_max": session.frame_max,
        "garbage_collection": garbage_collection(),
        "host": context.local_host(session.peer),
        "name": context.connection_name(session.peer),
        "node": context.node,
        "peer_cert_issuer": tls.peer_cert_issuer if tls else None,
        "peer_cert_subject": tls.peer_cert_subject if tls else None,
        "peer_cert_validity": tls.peer_cert_validity if tls else None,
        "peer_host": peer_host,
        "peer_port": peer_port,
        "port": context.local_port(session.peer),
        "protocol": "AMQP 0-9-1",
        "recv_cnt": counters.count("recv_cnt"),
        "reductions": 0,
        "reductions_details": rate(),
        "send_cnt": counters.count("send_cnt"),
        "send_pend": counters.count("send_pend"),
        "ssl": tls is not None,
        "ssl_cipher": tls.cipher if tls else None,
        "ssl_hash": tls.hash if tls else None,
        "ssl_key_exchange": tls.key_exchange if tls else None,
        "ssl_protocol": tls.protocol if tls else None,
        "state": connection_state(session),
        "timeout": session.heartbeat,
        "type": "network",
        "user": session.user,
        "user_who_performed_action": session.user,
        "vhost": session.vhost.name if session.vhost is not None else None,
    }
    octets = {"recv_oct": counters.count("recv_oct"), "send_oct": counters.count("send_oct")}
    with_details(item, octets, counters.rates)
    name = session.client_properties.get("connection_name")
    if isinstance(name, str | bytes):  # RabbitMQ has the key only when the client named it
        item["user_provided_name"] = json_value(name)
    return dict(sorted(item.items()))


def channel_name(channel: Channel, context: ViewContext) -> str:
    return f"{context.connection_name(channel.connection.peer)} ({channel.number})"


def channel_item(channel: Channel, context: ViewContext) -> dict[str, Any]:
    """One item of ``/api/channels``."""
    peer = channel.connection.peer
    peer_host, peer_port = split_peer(peer)
    counters = channel_counters(channel)
    tx = channel.tx
    user = channel.connection.user
    item = {
        "acks_uncommitted": acks_uncommitted(channel),
        "confirm": channel.confirm_mode,
        "connection_details": {
            "name": context.connection_name(peer),
            "peer_host": peer_host,
            "peer_port": peer_port,
        },
        "consumer_count": len(channel.consumers) + (channel.reply_consumer is not None),
        "garbage_collection": garbage_collection(),
        "global_prefetch_count": channel.shared_prefetch.limit,
        "message_stats": message_stats(CHANNEL_MESSAGE_STATS, counters.counts, counters.rates),
        "messages_unacknowledged": unacked_count(channel),
        "messages_uncommitted": len(tx.publishes) if tx is not None else 0,
        "messages_unconfirmed": channel.confirms.unconfirmed if channel.confirm_mode else 0,
        "name": channel_name(channel, context),
        "node": context.node,
        "number": channel.number,
        "pending_raft_commands": 0,
        "prefetch_count": channel.prefetch_count,
        "reductions": 0,
        "reductions_details": rate(),
        "state": "running" if channel.state is ChannelState.OPEN else "closing",
        "transactional": tx is not None,
        "user": user,
        "user_who_performed_action": user,
        "vhost": channel.vhost.name,
    }
    if counters.idle_since is not None:  # RabbitMQ omits it while the channel is busy
        item["idle_since"] = rabbit_timestamp(counters.idle_since)
    return dict(sorted(item.items()))


def channel_items(
    sessions: Iterable[ConnectionSession], context: ViewContext
) -> Iterator[dict[str, Any]]:
    """The channels of ``sessions``, by connection then number."""
    for session in sessions:
        for number in sorted(session.channels):
            yield channel_item(session.channels[number], context)


def unacked_count(channel: Channel) -> int:
    held = channel.tx.settlements if channel.tx is not None else ()
    return len(channel.unacked) + sum(len(tags) for tags, _entries, _outcome in held)


def acks_uncommitted(channel: Channel) -> int:
    if channel.tx is None:
        return 0
    return sum(len(tags) for tags, _, outcome in channel.tx.settlements if outcome is Outcome.ACK)


# -- consumers ------------------------------------------------------------------------------------


def consumer_item(consumer: Consumer[Queue], context: ViewContext) -> dict[str, Any]:
    """A consumer: an item of ``/api/consumers`` and of a queue's ``consumer_details``."""
    channel = consumer.sink
    queue = consumer.queue
    active, status = _activity(consumer)
    return {
        "arguments": json_value(consumer.arguments),
        "channel_details": _channel_details(channel, context)
        if isinstance(channel, Channel)
        else [],
        "ack_required": not consumer.no_ack,
        "active": active,
        "activity_status": status,
        "consumer_tag": consumer.tag,
        "exclusive": consumer.exclusive,
        "prefetch_count": consumer.prefetch,
        "queue": {"name": queue.name, "vhost": queue.vhost},
    }


def consumer_items(queues: Iterable[Queue], context: ViewContext) -> Iterator[dict[str, Any]]:
    """The consumers of ``queues``, queue by queue in their turn order."""
    for queue in queues:
        for consumer in queue.consumers:
            yield consumer_item(consumer, context)


def _activity(consumer: Consumer[Queue]) -> tuple[bool, str]:
    """(active, activity_status): "single_active"/"waiting" on a single-active-consumer
    queue, "up" otherwise."""
    queue = consumer.queue
    if not queue.settings.single_active:
        return True, "up"
    if queue.single_active_consumer is consumer:
        return True, "single_active"
    return False, "waiting"


def _channel_details(channel: Channel, context: ViewContext) -> dict[str, Any]:
    peer = channel.connection.peer
    peer_host, peer_port = split_peer(peer)
    return {
        "connection_name": context.connection_name(peer),
        "name": channel_name(channel, context),
        "node": context.node,
        "number": channel.number,
        "peer_host": peer_host,
        "peer_port": peer_port,
        "user": channel.connection.user,
    }
