"""An in-process broker model over a ``DurableStore``: no network, just core + storage.

``Node`` is what the server does at start-up (a store, a ``BrokerState``, recovery, the
writer started) and at shutdown (everything written, the writer stopped), driven through
the core's own APIs so the store sees exactly the calls the broker makes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from datadir import index_dir
from pamqp import commands
from pamqp.header import ContentHeader

from amqpbroker.config import BrokerConfig
from amqpbroker.core.broker import BrokerState
from amqpbroker.core.message import Envelope, Message
from amqpbroker.core.ports import Clock
from amqpbroker.core.queue import Queue
from amqpbroker.core.vhost import VirtualHost
from amqpbroker.storage.records import read_records
from amqpbroker.storage.recovery import RecoveryReport, recover
from amqpbroker.storage.store import DurableStore
from amqpbroker.testing.polling import wait_until_async

TIMEOUT = 10.0
OWNER = object()  # the "connection" declaring things


def shortstr(text: str) -> bytes:
    data = text.encode()
    return bytes((len(data),)) + data


def make_message(
    body: bytes,
    *,
    exchange: str = "",
    routing_key: str = "q",
    persistent: bool = True,
    **properties: Any,
) -> Message:
    """A message as the session builds it from a basic.publish: raw header bytes + body."""
    props = commands.Basic.Properties(delivery_mode=2 if persistent else 1, **properties)
    header = ContentHeader(0, len(body), props).marshal()
    routing = shortstr(exchange) + shortstr(routing_key)
    return Message(exchange, routing_key, routing, header, body, persistent=persistent)


class Node:
    """One broker lifetime over ``data_dir``."""

    def __init__(self, data_dir: Path, clock: Clock | None = None, **store_options: Any) -> None:
        self.store = DurableStore(data_dir, **store_options)
        self.state = BrokerState(BrokerConfig(), self.store, clock)
        self.report: RecoveryReport = recover(self.store, self.state)
        self.store.start(asyncio.get_running_loop())
        self.state.recovered()
        self.closed = False

    @property
    def vhost(self) -> VirtualHost:
        return self.state.vhost("/")

    def declare_queue(self, name: str, *, durable: bool = True, **options: Any) -> Queue:
        return self.vhost.declare_queue(
            name,
            passive=False,
            durable=durable,
            exclusive=options.pop("exclusive", False),
            auto_delete=options.pop("auto_delete", False),
            arguments=options.pop("arguments", {}),
            owner=OWNER,
        )

    def declare_exchange(self, name: str, type_name: str = "direct", **options: Any) -> Any:
        return self.vhost.declare_exchange(
            name,
            type_name,
            passive=False,
            durable=options.pop("durable", True),
            auto_delete=options.pop("auto_delete", False),
            internal=options.pop("internal", False),
            arguments=options.pop("arguments", {}),
        )

    def publish(self, exchange: str, message: Message) -> list[Queue]:
        """Route and enqueue, as basic.publish does."""
        vhost = self.vhost
        queues = vhost.route(vhost.exchange(exchange), message.routing_key, message)
        for queue in queues:
            queue.enqueue(message)
        return queues

    async def synced(self) -> None:
        """Everything recorded so far is on disk (what a publisher confirm waits for)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.store.when_durable(partial(_resolve, done))
        await asyncio.wait_for(done, TIMEOUT)

    async def close(self) -> None:
        """A clean shutdown: everything pending written, the writer stopped."""
        if not self.closed:
            self.closed = True
            await asyncio.to_thread(self.store.close)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def take(
    queue: Queue, *, ack: bool = True, no_ack: bool = False, timeout: float = TIMEOUT
) -> Envelope:
    """basic.get of a message the test knows is there (waiting while it is read back from
    disk); acked unless ``ack=False``."""
    envelope = queue.get() if queue.head_ready() else None
    while envelope is None:
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.when_head_ready(partial(_resolve, ready))
        await asyncio.wait_for(ready, timeout)
        envelope = queue.get()
    queue.handed_out(envelope, acknowledged_later=not no_ack)
    if ack and not no_ack:
        queue.forget([envelope])
    return envelope


async def drain(queue: Queue, count: int, *, ack: bool = True) -> list[Envelope]:
    """Take ``count`` messages, then check the queue is empty."""
    envelopes = [await take(queue, ack=ack) for _ in range(count)]
    assert queue.message_count == 0
    assert queue.head_ready() and queue.get() is None
    return envelopes


def bodies(envelopes: list[Envelope]) -> list[bytes]:
    return [e.message.body for e in envelopes]


async def restart(node: Node, open_node: Callable[..., Node], **store_options: Any) -> Node:
    """Stop ``node`` cleanly and start the next lifetime on the same directory."""
    await node.close()
    return open_node(**store_options)


def segments(data_dir: Path) -> list[str]:
    directory = data_dir / "messages"
    return sorted(p.name for p in directory.glob("*.seg")) if directory.exists() else []


def index_files(data_dir: Path, name: str) -> list[str]:
    directory = index_dir(data_dir, name)
    return sorted(p.name for p in directory.glob("*.idx")) if directory.exists() else []


def records(path: Path) -> list[bytes]:
    return [payload for _, payload in read_records(path)]


async def eventually(node: Node, check: Callable[[], bool], what: str) -> None:
    """Let the loop and the writer run until ``check()`` holds (with a deadline)."""
    await wait_until_async(check, what, pause=node.synced)
