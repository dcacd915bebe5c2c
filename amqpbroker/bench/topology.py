"""The exchanges, queues and bindings of a run, declared and deleted over a control connection.

Names carry a random token so that runs sharing a broker (the reference RabbitMQ is shared)
never meet.  Deleting the queues removes their bindings; the exchanges go too.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from pamqp import commands

from .client import Client

_PIPELINE = 1000  # binds sent per write when there are many


def run_prefix() -> str:
    return f"amqpbroker-bench.{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Binding:
    queue: str
    exchange: str
    routing_key: str


@dataclass
class Topology:
    queues: list[str]
    durable: bool = False
    exchanges: list[tuple[str, str]] = field(default_factory=list)  # (name, type)
    bindings: list[Binding] = field(default_factory=list)

    async def declare(self, client: Client) -> None:
        for name, kind in self.exchanges:
            declare = commands.Exchange.Declare(exchange=name, exchange_type=kind)
            await client.call(declare, commands.Exchange.DeclareOk)
        for queue in self.queues:
            declare_queue = commands.Queue.Declare(queue=queue, durable=self.durable)
            await client.call(declare_queue, commands.Queue.DeclareOk)
        await bind(client, self.bindings)

    async def delete(self, client: Client) -> None:
        for queue in self.queues:
            await client.call(commands.Queue.Delete(queue=queue), commands.Queue.DeleteOk)
        for name, _ in self.exchanges:
            await client.call(commands.Exchange.Delete(exchange=name), commands.Exchange.DeleteOk)


async def bind(client: Client, bindings: list[Binding]) -> None:
    """queue.bind each, pipelined."""
    for first in range(0, len(bindings), _PIPELINE):
        methods = [
            commands.Queue.Bind(queue=b.queue, exchange=b.exchange, routing_key=b.routing_key)
            for b in bindings[first : first + _PIPELINE]
        ]
        await client.call_many(methods, commands.Queue.BindOk)


async def depth(client: Client, queue: str) -> int:
    """Messages ready in ``queue`` (a passive queue.declare)."""
    ok = await client.call(
        commands.Queue.Declare(queue=queue, passive=True), commands.Queue.DeclareOk
    )
    return int(ok.message_count or 0)


@asynccontextmanager
async def control(url: str) -> AsyncIterator[Client]:
    """A connection for declaring and inspecting, closed on the way out."""
    client = await Client.connect(url, "bench control")
    try:
        yield client
    finally:
        await client.close()


@asynccontextmanager
async def declared(url: str, topology: Topology) -> AsyncIterator[Client]:
    """``topology`` exists inside the block, and is deleted after it (over a new connection
    if the broker closed the first)."""
    async with control(url) as client:
        try:
            await topology.declare(client)
            yield client
        finally:
            if client.error is None:
                await topology.delete(client)
            else:
                async with control(url) as fresh:
                    await topology.delete(fresh)
