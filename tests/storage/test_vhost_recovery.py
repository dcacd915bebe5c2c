"""Vhosts made and deleted at run time, across restarts.

As RabbitMQ keeps them, a vhost created while the broker runs comes back after a restart
with its durable queues and their persistent messages; a deleted vhost's durable exchanges,
queues, bindings and messages never come back, even when a vhost of that name is made again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from storeutil import OWNER, Node, bodies, drain, index_dir, make_message, restart

from amqpbroker.core.queue import Queue
from amqpbroker.core.vhost import DEFAULT_EXCHANGES, VirtualHost


def declare_queue(vhost: VirtualHost, name: str) -> Queue:
    return vhost.declare_queue(
        name,
        passive=False,
        durable=True,
        exclusive=False,
        auto_delete=False,
        arguments={},
        owner=OWNER,
    )


def fill(vhost: VirtualHost) -> None:
    """A durable exchange bound to a durable queue holding one persistent message."""
    vhost.declare_exchange(
        "events",
        "fanout",
        passive=False,
        durable=True,
        auto_delete=False,
        internal=False,
        arguments={},
    )
    vhost.bind("events", declare_queue(vhost, "orders"), "", {})
    queue = vhost.queue("orders")
    queue.enqueue(make_message(vhost.name.encode(), routing_key="orders"))


def user_made(vhost: VirtualHost) -> dict[str, Any]:
    exchanges = set(vhost.exchanges) - {"", *DEFAULT_EXCHANGES}
    return {"exchanges": exchanges, "queues": set(vhost.queues)}


async def test_a_runtime_vhost_comes_back_with_its_durable_queues(
    open_node: Callable[..., Node],
) -> None:
    node = open_node()
    fill(node.state.add_vhost("kept"))
    node.state.add_vhost("empty")
    node = await restart(node, open_node)
    assert list(node.state.vhosts) == ["/", "kept", "empty"]
    kept = node.state.vhost("kept")
    assert user_made(kept) == {"exchanges": {"events"}, "queues": {"orders"}}
    assert [b.destination.name for b in kept.exchange("events").bindings.values()] == ["orders"]
    assert bodies(await drain(kept.queue("orders"), 1)) == [b"kept"]


async def test_vhosts_outlive_the_rewrite_of_the_definitions_log(
    open_node: Callable[..., Node],
) -> None:
    node = open_node()
    node.state.add_vhost("kept")
    node = await restart(node, open_node)  # recovery rewrites the log compactly
    node = await restart(node, open_node)
    assert list(node.state.vhosts) == ["/", "kept"]


async def test_a_deleted_vhost_leaves_nothing_behind(open_node: Callable[..., Node]) -> None:
    node = open_node()
    fill(node.state.add_vhost("dropped"))
    await node.synced()
    index = index_dir(node.store.data_dir, "orders", vhost="dropped")
    assert list(index.glob("*.idx"))
    node.state.delete_vhost("dropped")
    await node.synced()
    assert not list(index.glob("*.idx"))
    node = await restart(node, open_node)
    assert list(node.state.vhosts) == ["/"]
    again = node.state.add_vhost("dropped")
    assert user_made(again) == {"exchanges": set(), "queues": set()}


async def test_a_vhost_made_again_keeps_only_its_new_queues(
    open_node: Callable[..., Node],
) -> None:
    node = open_node()
    declare_queue(node.state.add_vhost("v"), "old").enqueue(make_message(b"old"))
    node.state.delete_vhost("v")
    declare_queue(node.state.add_vhost("v"), "new").enqueue(make_message(b"new"))
    node = await restart(node, open_node)
    vhost = node.state.vhost("v")
    assert user_made(vhost)["queues"] == {"new"}
    assert bodies(await drain(vhost.queue("new"), 1)) == [b"new"]


async def test_a_vhost_deletion_record_drops_everything_in_it(
    open_node: Callable[..., Node],
) -> None:
    """Replay does not depend on the per-queue deletions recorded before it."""
    node = open_node()
    fill(node.state.add_vhost("v"))
    node.store.vhost_deleted("v")  # as if only the vhost's own record had reached the disk
    node = await restart(node, open_node)
    assert list(node.state.vhosts) == ["/"]
    assert node.report.queues == node.report.exchanges == node.report.bindings == 0
