"""Benchmark scenarios.  Each returns a flat dict of figures (printed as one JSON line)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pamqp import commands

from .client import BenchConnection, publish_frames


async def persistent_confirms(url: str, count: int, size: int, window: int = 256) -> dict[str, Any]:
    """Persistent messages to a durable queue with confirms (up to ``window`` unconfirmed)
    while a consumer with prefetch 100 acks each one."""
    queue = "amqpbroker.bench.persistent"
    publisher = await BenchConnection.open(url)
    consumer = await BenchConnection.open(url)
    await publisher.call(
        commands.Queue.Declare(queue=queue, durable=True), commands.Queue.DeclareOk
    )
    await publisher.call(commands.Queue.Purge(queue=queue), commands.Queue.PurgeOk)
    await publisher.call(commands.Confirm.Select(), commands.Confirm.SelectOk)
    await consumer.call(commands.Basic.Qos(prefetch_count=100), commands.Basic.QosOk)

    consumed = 0
    all_consumed = asyncio.Event()

    def on_deliver(tag: int, body: bytes) -> None:
        nonlocal consumed
        consumed += 1
        consumer.ack(tag)
        if consumed >= count:
            all_consumed.set()

    consumer.on_deliver = on_deliver
    await consumer.call(commands.Basic.Consume(queue=queue), commands.Basic.ConsumeOk)

    confirmed = 0
    room = asyncio.Event()
    room.set()

    def on_confirm(tag: int, multiple: bool) -> None:
        nonlocal confirmed
        confirmed = tag if multiple else max(confirmed, tag)
        room.set()

    publisher.on_confirm = on_confirm
    frames = publish_frames("", queue, b"x" * size, persistent=True)
    started = time.perf_counter()
    published = 0
    while published < count:
        while published - confirmed >= window:
            room.clear()
            await room.wait()
        burst = min(window - (published - confirmed), count - published)
        publisher.writer.write(frames * burst)
        published += burst
        await publisher.writer.drain()
    while confirmed < count:
        room.clear()
        await room.wait()
    publish_seconds = time.perf_counter() - started
    await asyncio.wait_for(all_consumed.wait(), 120)
    total_seconds = time.perf_counter() - started
    await publisher.call(commands.Queue.Delete(queue=queue), commands.Queue.DeleteOk)
    await publisher.close()
    await consumer.close()
    return {
        "scenario": "persistent-confirms",
        "messages": count,
        "size": size,
        "confirmed_per_s": round(count / publish_seconds),
        "consumed_per_s": round(count / total_seconds),
    }


def recovery(count: int, size: int) -> dict[str, Any]:
    """Fill a durable queue with ``count`` persistent messages, stop the broker, and time the
    restart: until it listens, and until the first message is delivered again."""
    data_dir = Path(tempfile.mkdtemp(prefix="amqpbroker-bench-"))
    try:
        broker, url = _start_broker(data_dir)
        asyncio.run(_fill(url, count, size))
        broker.send_signal(signal.SIGTERM)
        broker.wait(120)
        started = time.perf_counter()
        broker, url = _start_broker(data_dir)
        listening = time.perf_counter() - started
        first, drain = asyncio.run(_first_delivery_and_drain(url, count, started))
        broker.send_signal(signal.SIGTERM)
        broker.wait(120)
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


def _start_broker(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "amqpbroker",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, line.rsplit(" ", 1)[-1].strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _fill(url: str, count: int, size: int) -> None:
    connection = await BenchConnection.open(url)
    await connection.call(
        commands.Queue.Declare(queue="recovery", durable=True), commands.Queue.DeclareOk
    )
    frames = publish_frames("", "recovery", b"x" * size, persistent=True)
    for start in range(0, count, 1000):
        connection.writer.write(frames * min(1000, count - start))
        await connection.writer.drain()
    while True:  # wait until the broker has taken them all
        ok = await connection.call(
            commands.Queue.Declare(queue="recovery", passive=True), commands.Queue.DeclareOk
        )
        if (ok.message_count or 0) >= count:
            break
    await connection.close()


async def _first_delivery_and_drain(url: str, count: int, started: float) -> tuple[float, float]:
    connection = await BenchConnection.open(url)
    received = 0
    first = 0.0
    done = asyncio.Event()

    def on_deliver(tag: int, body: bytes) -> None:
        nonlocal received, first
        received += 1
        if received == 1:
            first = time.perf_counter() - started
        if received >= count:
            done.set()

    connection.on_deliver = on_deliver
    await connection.call(
        commands.Basic.Consume(queue="recovery", no_ack=True), commands.Basic.ConsumeOk
    )
    consume_started = time.perf_counter()
    await asyncio.wait_for(done.wait(), 600)
    drain = count / (time.perf_counter() - consume_started)
    await connection.close()
    return first, drain
