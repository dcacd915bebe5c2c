"""Recovery time: fill a durable queue, stop our broker, and time its restart — until it
listens, and until the first message is delivered again — then the drain rate."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from pamqp import commands

from .client import Client
from .messages import PublishTemplate
from .target import start_broker_process, stop_broker_process
from .topology import depth

_QUEUE = "recovery"
_BATCH = 1000


def recovery(count: int, size: int) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="amqpbroker-bench-"))
    try:
        broker, url, _ = start_broker_process(data_dir)
        asyncio.run(_fill(url, count, size))
        stop_broker_process(broker)
        started = time.perf_counter()
        broker, url, _ = start_broker_process(data_dir)
        listening = time.perf_counter() - started
        first, drain = asyncio.run(_first_delivery_and_drain(url, count, started))
        stop_broker_process(broker)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "scenario": "recovery",
        "messages": count,
        "size": size,
        "restart_to_listening_s": round(listening, 3),
        "restart_to_first_delivery_s": round(first, 3),
        "drain_per_s": round(drain),
    }


async def _fill(url: str, count: int, size: int) -> None:
    client = await Client.connect(url, "bench recovery")
    declare = commands.Queue.Declare(queue=_QUEUE, durable=True)
    await client.call(declare, commands.Queue.DeclareOk)
    template = PublishTemplate(0, "", _QUEUE, size, persistent=True)
    for first in range(0, count, _BATCH):
        client.write(template.batch(first, min(_BATCH, count - first), time.monotonic_ns()))
        await client.flow()
    while await depth(client, _QUEUE) < count:  # until the broker has taken them all
        await asyncio.sleep(0.01)
    await client.close()


class _Drain:
    """Counts deliveries; notes the first and the last."""

    def __init__(self, count: int, started: float) -> None:
        self.count = count
        self.started = started
        self.received = 0
        self.first = 0.0
        self.done = asyncio.Event()

    def data_started(self, now: int) -> None:
        pass

    def delivered(self, delivery_tag: int, buffer: bytearray, offset: int, now: int) -> None:
        self.received += 1
        if self.received == 1:
            self.first = time.perf_counter() - self.started

    def confirmed(self, delivery_tag: int, multiple: bool, ack: bool) -> None:
        pass

    def data_ended(self) -> None:
        if self.received >= self.count:
            self.done.set()


async def _first_delivery_and_drain(url: str, count: int, started: float) -> tuple[float, float]:
    client = await Client.connect(url, "bench recovery")
    drain = _Drain(count, started)
    client.listener = drain
    consume_started = time.perf_counter()
    await client.call(commands.Basic.Consume(queue=_QUEUE, no_ack=True), commands.Basic.ConsumeOk)
    await asyncio.wait_for(drain.done.wait(), 600)
    rate = count / (time.perf_counter() - consume_started)
    await client.close()
    return drain.first, rate
