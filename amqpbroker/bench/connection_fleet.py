"""Many clients at once: an ``amqpbroker serve`` takes COUNT (10,000) connections, each
with a channel, an exclusive server-named queue and a consumer on it, as RPC clients and
workers hold them; then, with all of them connected, a new client is timed from its TCP
connect to its consume-ok, a few times, and a message is sent through one of the held
consumers.  Figures: how long the fleet took to connect, the broker's RSS before and after
(and its peak), and the new client's times (issue 17 asks for under 100 ms with RSS under
1 GB).  The load generator lives in this process and raises its own descriptor limit.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from pamqp import commands

from .client import Client
from .messages import PublishTemplate
from .target import process_memory_mb, start_broker_process, stop_broker_process

_AT_ONCE = 100  # connections being opened at the same time
_NEW_CLIENTS = 10  # new clients timed once the fleet is in


def connection_fleet(count: int) -> dict[str, Any]:
    _raise_descriptor_limit(count + 1_000)
    data_dir = Path(tempfile.mkdtemp(prefix="amqpbroker-bench-"))
    try:
        broker, url, _management = start_broker_process(data_dir / "data")
        try:
            figures = {"broker_rss_mb_idle": process_memory_mb(broker.pid, "VmRSS")}
            figures |= asyncio.run(_fleet(url, count, broker.pid))
            figures["broker_peak_rss_mb"] = process_memory_mb(broker.pid, "VmHWM")
        finally:
            stop_broker_process(broker)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return {"scenario": "connections", "connections": count, **figures}


async def _fleet(url: str, count: int, broker_pid: int) -> dict[str, Any]:
    started = time.perf_counter()
    fleet = await _connect_all(url, count)
    connected_s = time.perf_counter() - started
    rss_connected = process_memory_mb(broker_pid, "VmRSS")
    # (the fleet's 10,000 clients live in this process: its own collector, walking them,
    # would be timed as the broker's answer)
    gc.collect()
    gc.freeze()
    try:
        new_client_ms = [await _time_new_client(url, n) for n in range(_NEW_CLIENTS)]
        round_trip_ms = await _round_trip(url, fleet[len(fleet) // 2])
    finally:
        gc.unfreeze()
    for first in range(0, len(fleet), 500):
        await asyncio.gather(*(client.close() for client, _queue in fleet[first : first + 500]))
    return {
        "connect_all_s": round(connected_s, 2),
        "connections_per_s": round(count / connected_s),
        "broker_rss_mb_connected": rss_connected,
        "new_client_ms_median": round(statistics.median(new_client_ms), 1),
        "new_client_ms_max": round(max(new_client_ms), 1),
        "message_to_held_consumer_ms": round(round_trip_ms, 1),
    }


async def _connect_all(url: str, count: int) -> list[tuple[Client, str]]:
    """``count`` clients, ``_AT_ONCE`` being opened at a time: each one's client and queue."""
    gate = asyncio.Semaphore(_AT_ONCE)

    async def one(number: int) -> tuple[Client, str]:
        async with gate:
            return await _consuming_client(url, f"bench fleet {number}")

    return list(await asyncio.gather(*(one(n) for n in range(count))))


async def _consuming_client(url: str, name: str) -> tuple[Client, str]:
    client = await Client.connect(url, name)
    declared = await client.call(
        commands.Queue.Declare(queue="", exclusive=True), commands.Queue.DeclareOk
    )
    queue = declared.queue or ""
    await client.call(commands.Basic.Consume(queue=queue, no_ack=True), commands.Basic.ConsumeOk)
    return client, queue


async def _time_new_client(url: str, number: int) -> float:
    """Milliseconds from a new client's TCP connect to its consume-ok."""
    started = time.perf_counter()
    client, _queue = await _consuming_client(url, f"bench newcomer {number}")
    elapsed = (time.perf_counter() - started) * 1000
    await client.close()
    return elapsed


class _Arrival:
    """Sets ``arrived`` on the first delivery."""

    def __init__(self) -> None:
        self.arrived = asyncio.Event()

    def data_started(self, now: int) -> None:
        pass

    def delivered(self, delivery_tag: int, buffer: bytearray, offset: int, now: int) -> None:
        self.arrived.set()

    def confirmed(self, delivery_tag: int, multiple: bool, ack: bool) -> None:
        pass

    def data_ended(self) -> None:
        pass


async def _round_trip(url: str, held: tuple[Client, str]) -> float:
    """Milliseconds for a message published by a new client to reach a held consumer."""
    consumer, queue = held
    arrival = _Arrival()
    consumer.listener = arrival
    publisher = await Client.connect(url, "bench fleet publisher")
    message = PublishTemplate(0, "", queue, 64, persistent=False).frames
    started = time.perf_counter()
    publisher.write(message)
    await asyncio.wait_for(arrival.arrived.wait(), 30)
    elapsed = (time.perf_counter() - started) * 1000
    await publisher.close()
    return elapsed


def _raise_descriptor_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
