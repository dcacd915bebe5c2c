"""The memory alarm under a flood: an ``amqpbroker serve`` with a small absolute watermark
gets transient messages into a queue nobody consumes, as fast as it takes them, until the
alarm trips and the publisher is blocked; a consumer then drains the queue, the alarm
clears, the rest of the flood lands, and every message is counted (each sequence number
once).  Figures: when the alarm went on and off, the queue's depth and the memory figure
then, the broker's peak RSS, and how many messages were lost (0 is the only right answer).
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pamqp import commands

from .client import Client
from .messages import STAMP, PublishTemplate
from .report import BenchSetupError
from .target import process_memory_mb, start_broker_process, stop_broker_process
from .topology import depth

_QUEUE = "alarm-flood"
_BATCH = 200
_POLL = 0.05  # seconds between two looks at /api/nodes
_SETTLE = 1.0  # seconds the monitor (every 100 ms here) gets after the last publish


def alarm_flood(count: int, size: int, mark_mb: int = 200) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="amqpbroker-bench-"))
    config = data_dir / "alarms.conf"
    config.write_text(
        f"vm_memory_high_watermark.absolute = {mark_mb}MB\nmemory_monitor_interval = 100\n"
    )
    try:
        broker, url, management = start_broker_process(data_dir / "data", config)
        try:
            figures = asyncio.run(_flood_and_drain(url, management, count, size))
            figures["broker_peak_rss_mb"] = process_memory_mb(broker.pid, "VmHWM")
        finally:
            stop_broker_process(broker)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return {"scenario": "alarm", "messages": count, "size": size, **figures}


class _Counter:
    """Counts deliveries and the distinct sequence numbers among them."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.received = 0
        self.seen = bytearray(count)
        self.duplicates = 0
        self.done = asyncio.Event()

    def data_started(self, now: int) -> None:
        pass

    def delivered(self, delivery_tag: int, buffer: bytearray, offset: int, now: int) -> None:
        _publisher, sequence, _sent = STAMP.unpack_from(buffer, offset)
        self.received += 1
        if self.seen[sequence]:
            self.duplicates += 1
        self.seen[sequence] = 1

    def confirmed(self, delivery_tag: int, multiple: bool, ack: bool) -> None:
        pass

    def data_ended(self) -> None:
        if self.received >= self.count:
            self.done.set()


async def _flood_and_drain(url: str, management: str, count: int, size: int) -> dict[str, Any]:
    control = await Client.connect(url, "bench alarm control")
    try:
        return await _measure(control, url, management, count, size)
    finally:
        await control.close()


async def _measure(
    control: Client, url: str, management: str, count: int, size: int
) -> dict[str, Any]:
    node = _NodeWatch(management)
    await control.call(commands.Queue.Declare(queue=_QUEUE), commands.Queue.DeclareOk)
    started = time.perf_counter()
    publishing = asyncio.create_task(_publish(url, count, size))
    on = await node.until(True, unless_done=publishing)
    if not on["mem_alarm"]:
        publishing.result()  # (a publisher that failed says so first)
        raise FloodTooSmall(
            f"all {count} messages of {size} bytes were taken without the memory alarm"
            f" ({on['mem_used'] / 1e6:.0f} MB of a {on['mem_limit'] / 1e6:.0f} MB mark):"
            " raise --count or --size"
        )
    alarm_at = time.perf_counter() - started
    depth_at_alarm = await depth(control, _QUEUE)
    counter = _Counter(count)
    consumer = await Client.connect(url, "bench alarm consumer")
    consumer.listener = counter
    drain_started = time.perf_counter()
    consume = commands.Basic.Consume(queue=_QUEUE, no_ack=True)
    await consumer.call(consume, commands.Basic.ConsumeOk)
    off = await node.until(False)
    cleared_after = time.perf_counter() - drain_started
    await asyncio.wait_for(counter.done.wait(), 600)
    await asyncio.wait_for(publishing, 60)
    total = time.perf_counter() - started
    await consumer.close()
    return {
        "mark_bytes": on["mem_limit"],
        "alarm_after_s": round(alarm_at, 3),
        "depth_at_alarm": depth_at_alarm,
        "mem_used_at_alarm": on["mem_used"],
        "cleared_after_drain_start_s": round(cleared_after, 3),
        "mem_used_at_clear": off["mem_used"],
        "alarms_seen_on_off": node.changes,
        "received": counter.received,
        "distinct": sum(counter.seen),
        "duplicates": counter.duplicates,
        "lost": count - sum(counter.seen),
        "total_s": round(total, 3),
    }


async def _publish(url: str, count: int, size: int) -> None:
    client = await Client.connect(url, "bench alarm publisher")
    template = PublishTemplate(0, "", _QUEUE, size, persistent=False)
    for first in range(0, count, _BATCH):
        client.write(template.batch(first, min(_BATCH, count - first), time.monotonic_ns()))
        await client.flow()  # waits while the broker does not read (blocked)
    await client.close()


class FloodTooSmall(BenchSetupError):
    """The whole flood fit under the watermark: there was no alarm to measure."""


class _NodeWatch:
    """Polls ``/api/nodes`` (on a thread) for the memory alarm."""

    def __init__(self, management: str) -> None:
        parts = urlparse(management)
        self._url = f"{parts.scheme}://{parts.hostname}:{parts.port}/api/nodes"
        token = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}"}
        self._last: bool | None = None
        self.changes = 0

    def _node(self) -> dict[str, Any]:
        request = urllib.request.Request(self._url, headers=self._headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            node: dict[str, Any] = json.load(response)[0]
        if self._last is not None and node["mem_alarm"] != self._last:
            self.changes += 1
        self._last = node["mem_alarm"]
        return node

    async def until(
        self, alarm: bool, timeout: float = 600, unless_done: asyncio.Task[None] | None = None
    ) -> dict[str, Any]:
        """The node once its mem_alarm is ``alarm``; or as it is when ``unless_done`` has
        finished and a last look (after the monitor's next measurement) still disagrees."""
        deadline = time.monotonic() + timeout
        finished_at: float | None = None
        while time.monotonic() < deadline:
            node = await asyncio.to_thread(self._node)
            if node["mem_alarm"] is alarm:
                return node
            if unless_done is not None and unless_done.done():
                finished_at = finished_at or time.monotonic()
                if time.monotonic() - finished_at > _SETTLE:
                    return node
            await asyncio.sleep(_POLL)
        raise TimeoutError(f"mem_alarm did not become {alarm}")
