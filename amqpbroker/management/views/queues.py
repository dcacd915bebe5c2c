"""Queue items of ``/api/queues`` as RabbitMQ 3.10.8 shows them, classic and quorum.

``queue_item`` is one list item; ``queue_detail`` the single ``GET /api/queues/{v}/{q}``
(the list item plus ``consumer_details``, ``deliveries`` and ``incoming``);
``queue_items`` yields the items of many queues one by one, so the HTTP layer can hand the
loop back every few hundred (``views.listing.in_chunks``).  Unlike RabbitMQ right after a
declare, every counter is always there.

What is not this broker's to know is given RabbitMQ's shape with fixed values: memory,
reductions, garbage collection, the backing queue's internals.  ``policy`` and
``operator_policy`` name what applies (null: none), ``effective_policy_definition`` is
their merge, never the x-arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from amqpbroker.core.consumers import Consumer
from amqpbroker.core.queue import Queue
from amqpbroker.core.quorum import QuorumQueue
from amqpbroker.core.ready import PriorityWindow
from amqpbroker.policies.model import Policy

from .connections import consumer_item, split_peer
from .context import UnackedIndex, ViewContext
from .counters import QUEUE_MESSAGE_STATS, Counters, queue_counters
from .formats import garbage_collection, json_value, message_stats, rabbit_timestamp, rate
from .queue_totals import QueueTotals, queue_totals

_QUEUE_MEMORY = 24768  # bytes RabbitMQ shows for an idle classic queue process


def queue_type_name(queue: Queue) -> str:
    return "quorum" if isinstance(queue, QuorumQueue) else "classic"


def queue_item(queue: Queue, context: ViewContext, unacked: UnackedIndex) -> dict[str, Any]:
    """One item of ``/api/queues``."""
    counters = queue_counters(queue)
    if isinstance(queue, QuorumQueue):
        return _quorum_item(queue, context, unacked, counters)
    return _classic_item(queue, context, unacked, counters)


def queue_detail(queue: Queue, context: ViewContext, unacked: UnackedIndex) -> dict[str, Any]:
    """``GET /api/queues/{vhost}/{name}``: the item with its consumers, ``deliveries`` and
    ``incoming`` (per-publisher and per-channel flows: [] as RabbitMQ's basic rates mode
    shows them), and for an exclusive queue its connection (``owner_pid_details``)."""
    item: dict[str, Any] = {
        "consumer_details": [consumer_item(c, context) for c in queue.consumers]
    }
    item.update(queue_item(queue, context, unacked))
    item["deliveries"] = []
    item["incoming"] = []
    owner = getattr(queue.exclusive_owner, "peer", None)  # (the declaring connection)
    if isinstance(owner, str):
        host, port = split_peer(owner)
        name = context.connection_name(owner)
        item["owner_pid_details"] = {"name": name, "peer_host": host, "peer_port": port}
    return item


def queue_items(
    queues: Iterable[Queue], context: ViewContext, unacked: UnackedIndex
) -> Iterator[dict[str, Any]]:
    """The items of ``queues``, one at a time, skipping queues deleted meanwhile (the
    HTTP layer may hand the loop back between two: ``views.listing.in_chunks``)."""
    for queue in queues:
        if not queue.deleted:
            yield queue_item(queue, context, unacked)


# -- the two shapes -------------------------------------------------------------------------------


def _consumer_capacity(queue: Queue) -> float | int:
    """RabbitMQ's share of time its consumers could take the messages it has, as it stands
    now: 0 with no consumers; 1.0 when nothing waits or a consumer can take it; 0.0 when
    messages wait for consumers that cannot take them (prefetch, flow)."""
    if not queue.consumers:
        return 0
    if not len(queue.ready) or any(c.can_take() for c in queue.consumers):
        return 1.0
    return 0.0


def _name(policy: Policy | None) -> str | None:
    return None if policy is None else policy.name


def _common(
    queue: Queue, context: ViewContext, counters: Counters, totals: QueueTotals
) -> dict[str, Any]:
    """The keys classic and quorum items share (the caller adds the rest, then sorts)."""
    capacity = _consumer_capacity(queue)
    return {
        "arguments": json_value(queue.arguments),
        "auto_delete": queue.auto_delete,
        "consumer_capacity": capacity,
        "consumer_utilisation": capacity,
        "consumers": len(queue.consumers),
        "durable": queue.durable,
        "effective_policy_definition": dict(queue.policy.definition),
        "exclusive": queue.exclusive,
        "garbage_collection": garbage_collection(),
        "memory": _QUEUE_MEMORY,
        "message_bytes": totals.bytes,
        "message_bytes_persistent": totals.persistent_bytes,
        "message_bytes_ram": totals.bytes - totals.paged_out_bytes,
        "message_bytes_ready": totals.ready_bytes,
        "message_bytes_unacknowledged": totals.unacked_bytes,
        "message_stats": message_stats(QUEUE_MESSAGE_STATS, counters.counts, counters.rates),
        "messages": totals.messages,
        "messages_details": rate(counters.rates.get("messages", 0.0)),
        "messages_persistent": totals.persistent,
        "messages_ram": totals.messages - totals.paged_out,
        "messages_ready": totals.ready,
        "messages_ready_details": rate(counters.rates.get("messages_ready", 0.0)),
        "messages_unacknowledged": totals.unacked,
        "messages_unacknowledged_details": rate(counters.rates.get("messages_unacknowledged", 0.0)),
        "name": queue.name,
        "node": context.node,
        "operator_policy": _name(queue.policy.operator_policy),
        "policy": _name(queue.policy.policy),
        "reductions": 0,
        "reductions_details": rate(),
        "state": "running",
        "type": queue_type_name(queue),
        "vhost": queue.vhost,
    }


def _classic_item(
    queue: Queue, context: ViewContext, unacked: UnackedIndex, counters: Counters
) -> dict[str, Any]:
    totals = queue_totals(queue, unacked)
    item = _common(queue, context, counters, totals)
    paged_out = totals.paged_out
    item.update(
        backing_queue_status=_backing_queue_status(queue, paged_out),
        exclusive_consumer_tag=_exclusive_tag(queue.consumers),
        head_message_timestamp=None,
        message_bytes_paged_out=totals.paged_out_bytes,
        messages_paged_out=paged_out,
        messages_ready_ram=totals.ready - paged_out,
        messages_unacknowledged_ram=totals.unacked,
        recoverable_slaves=None,
        single_active_consumer_tag=_single_active_tag(queue),
    )
    if counters.idle_since is not None:  # RabbitMQ omits it while the queue is busy
        item["idle_since"] = rabbit_timestamp(counters.idle_since)
    return dict(sorted(item.items()))


def _quorum_item(
    queue: Queue, context: ViewContext, unacked: UnackedIndex, counters: Counters
) -> dict[str, Any]:
    item = _common(queue, context, counters, queue_totals(queue, unacked))
    item.update(
        leader=context.node,
        members=[context.node],
        message_bytes_dlx=0,
        messages_dlx=0,
        online=[context.node],
        open_files={context.node: 0},
        single_active_consumer_ctag=_single_active_tag(queue),
    )
    return dict(sorted(item.items()))


def _backing_queue_status(queue: Queue, paged_out: int) -> dict[str, Any]:
    """RabbitMQ's variable-queue internals, as close as this broker's lists come: q4 is
    what is in memory, ``delta`` what is paged out."""
    length = len(queue.ready)
    status: dict[str, Any] = {
        "avg_ack_egress_rate": 0.0,
        "avg_ack_ingress_rate": 0.0,
        "avg_egress_rate": 0.0,
        "avg_ingress_rate": 0.0,
        "delta": ["delta", "undefined", paged_out, 0, "undefined"],
        "len": length,
        "mode": "default",
        "next_deliver_seq_id": 0,
        "next_seq_id": length,
        "q1": 0,
        "q2": 0,
        "q3": 0,
        "q4": length - paged_out,
        "target_ram_count": "infinity",
        "version": 1,
    }
    window = queue.ready.window
    if isinstance(window, PriorityWindow):
        lengths = window.level_lengths()
        status["priority_lengths"] = {str(level): n for level, n in enumerate(lengths)}
    return dict(sorted(status.items()))


def _exclusive_tag(consumers: list[Consumer[Queue]]) -> str | None:
    return next((c.tag for c in consumers if c.exclusive), None)


def _single_active_tag(queue: Queue) -> str | None:
    """The active consumer's tag of a single-active-consumer queue (None otherwise)."""
    active = queue.single_active_consumer
    return active.tag if active is not None else None
