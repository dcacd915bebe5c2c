"""Quorum queues over the durable store: a returned message queued behind a backlog on disk
keeps its delivery count; after a restart a delivered message counts as returned once
(counts themselves are not stored)."""

from __future__ import annotations

from collections.abc import Callable

from storeutil import Node, drain, make_message, restart, take

from amqpbroker.core.ports import Paging
from amqpbroker.core.quorum import QuorumQueue

QUORUM = {"x-queue-type": "quorum"}


async def test_a_returned_message_keeps_its_count_behind_a_backlog(
    open_node: Callable[..., Node],
) -> None:
    node = open_node(paging=Paging(window=4, refill_batch=3))
    q = node.declare_queue("q", arguments=QUORUM)
    node.publish("", make_message(b"0", persistent=False))
    for i in range(1, 10):
        node.publish("", make_message(b"%d" % i))
    await node.synced()
    transient, stored = await take(q, ack=False), await take(q, ack=False)
    q.requeue([stored], closing=True)  # its channel closed: to the front
    assert await take(q, ack=False) is stored
    assert len(list(q.ready.in_memory())) < q.message_count, "a backlog waits on disk"
    q.requeue([transient, stored])  # a nack: to the back, behind what waits on disk
    back = await drain(q, 10)
    assert [(e.message.body, e.delivery_count, e.redelivered) for e in back] == [
        *((b"%d" % i, 0, False) for i in range(2, 10)),
        (b"0", 1, True),
        (b"1", 2, True),
    ]


async def test_after_a_restart_a_delivered_message_counts_as_returned_once(
    open_node: Callable[..., Node],
) -> None:
    node = open_node()
    q = node.declare_queue("q", arguments=QUORUM)
    for i in range(3):
        node.publish("", make_message(b"%d" % i))
    await take(q, ack=False)
    await node.synced()
    node = await restart(node, open_node)
    q = node.vhost.queue("q")
    assert isinstance(q, QuorumQueue)
    back = await drain(q, 3)
    assert [(e.message.body, e.delivery_count, e.redelivered) for e in back] == [
        (b"0", 1, True),
        (b"1", 0, False),
        (b"2", 0, False),
    ]
