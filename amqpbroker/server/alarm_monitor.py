"""RabbitMQ's memory and disk monitors: measured on the loop every few seconds, feeding
``core.alarms.Alarms``; a change blocks or unblocks every publishing connection.

The memory figure.  CPython rarely gives freed memory back to the system, so the resident
set size would keep an alarm on long after the messages that raised it were consumed.  The
figure used instead is one that falls when memory is freed: the resident size measured once
at start (the broker's baseline: interpreter, code, empty state) plus the bytes the broker
holds for clients now, from running totals that already exist: each queue's ready body
bytes (``ReadyList.bytes``, the figure of max-length-bytes and the API's message_bytes; for a
queue with messages paged out to disk, the share of its messages in memory), the bodies of
unacked deliveries, and every connection's output waiting to be written.  It costs one walk
of the queues, the unacked deliveries and the connections per check, nothing per message.
A message routed to several queues is counted once per queue (it is held once): the
figure errs high.

The disk figure: ``os.statvfs`` of the data directory, on a worker thread (a slow file
system never holds the loop); an in-memory broker measures its working directory.

Limits as RabbitMQ computes them: the relative watermark times the machine's memory or the
cgroup's limit (``/sys/fs/cgroup/memory.max``), whichever is smaller; an absolute one is
capped at that memory; a relative disk limit is a multiple of that memory.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from amqpbroker.config import BrokerConfig
from amqpbroker.core.alarms import Alarms
from amqpbroker.core.broker import BrokerState
from amqpbroker.process_figures import resident_bytes
from amqpbroker.session.connection import ConnectionSession

log = logging.getLogger(__name__)

_CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def total_memory() -> int:
    """The machine's memory, or the cgroup's memory limit when that is smaller (bytes)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError):
        total = 0
    for path in _CGROUP_LIMITS:
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and (total == 0 or int(text) < total):
            total = int(text)
        break
    return total


def memory_limit(config: BrokerConfig, total: int) -> int:
    """The high watermark in bytes (RabbitMQ's vm_memory_monitor)."""
    absolute = config.vm_memory_high_watermark_absolute
    if absolute is not None:
        return min(absolute, total) if total else absolute
    return int(total * config.vm_memory_high_watermark)


def disk_free_limit(config: BrokerConfig, total: int) -> int:
    """The low free-space mark in bytes (RabbitMQ's rabbit_disk_monitor)."""
    relative = config.disk_free_limit_relative
    return config.disk_free_limit if relative is None else int(total * relative)


def held_bytes(state: BrokerState, sessions: Iterable[ConnectionSession]) -> int:
    """Message bytes held in queues (in memory) and in unacked deliveries."""
    held = 0
    for vhost in state.vhosts.values():
        for queue in vhost.queues.values():
            ready = queue.ready
            count = len(ready)
            if count:
                in_memory = ready.in_memory_count
                held += ready.bytes if in_memory >= count else ready.bytes * in_memory // count
    for session in sessions:
        for channel in session.channels.values():
            for unacked in channel.unacked.values():
                held += len(unacked.envelope.message.body)
    return held


class AlarmMonitor:
    """Measures memory and disk on the broker's loop and keeps ``alarms`` up to date;
    ``on_change`` is called after an alarm went on or off."""

    def __init__(
        self,
        config: BrokerConfig,
        state: Callable[[], BrokerState],
        sessions: Callable[[], list[ConnectionSession]],
        buffered: Callable[[], int],
        on_change: Callable[[], None],
    ) -> None:
        total = total_memory()
        self.alarms = Alarms(memory_limit(config, total), disk_free_limit(config, total))
        self._config = config
        self._state, self._sessions, self._buffered = state, sessions, buffered
        self._on_change = on_change
        self._disk_path = config.data_dir if config.data_dir and not config.in_memory else "."
        self.baseline = 0
        self._tasks: list[asyncio.Task[None]] = []
        log.info(
            "Memory high watermark set to %d MiB (%d bytes) of %d MiB (%d bytes) total",
            self.alarms.mem_limit // 2**20,
            self.alarms.mem_limit,
            total // 2**20,
            total,
        )
        log.info("Disk free limit set to %dMB", self.alarms.disk_free_limit // 1_000_000)

    def memory_used(self) -> int:
        """The memory figure compared with the watermark (module docstring)."""
        return self.baseline + held_bytes(self._state(), self._sessions()) + self._buffered()

    async def start(self) -> None:
        """Measure both once (an alarm raised at boot is on before clients connect), then
        keep measuring every interval."""
        self.baseline = resident_bytes()
        self.check_memory()
        await self.check_disk()
        config = self._config
        if config.memory_monitor_interval > 0:
            self._tasks.append(
                asyncio.create_task(self._every(config.memory_monitor_interval, self._memory_round))
            )
        if config.disk_monitor_interval > 0:
            self._tasks.append(
                asyncio.create_task(self._every(config.disk_monitor_interval, self.check_disk))
            )

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()

    async def _memory_round(self) -> None:
        self.check_memory()

    async def _every(self, interval: float, check: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await check()
            except Exception:
                log.exception("resource monitor check failed")

    def set_memory_limit(self, limit: int) -> None:
        """A new high watermark in bytes (rabbitmqctl set_vm_memory_high_watermark
        absolute), compared at once."""
        self.alarms.mem_limit = limit
        self.check_memory()

    def set_disk_free_limit(self, limit: int) -> None:
        """A new free-space mark in bytes (rabbitmqctl set_disk_free_limit), compared at
        once with the last measurement."""
        self.alarms.disk_free_limit = limit
        self._disk_measured(self.alarms.disk_free)

    def check_memory(self) -> None:
        alarms = self.alarms
        changed = alarms.update_memory(self.memory_used())
        if changed is None:
            return
        state = "set" if changed else "clear"
        log.warning(
            "vm_memory_high_watermark %s. Memory used:%d allowed:%d",
            state,
            alarms.mem_used,
            alarms.mem_limit,
        )
        self._alarm_changed("memory", changed)

    async def check_disk(self) -> None:
        try:
            free = await asyncio.to_thread(_free_bytes, self._disk_path)
        except OSError as error:
            log.warning("could not measure free disk space of %s: %s", self._disk_path, error)
            return
        self._disk_measured(free)

    def _disk_measured(self, free: int) -> None:
        alarms = self.alarms
        changed = alarms.update_disk(free)
        if changed is None:
            return
        sufficient = "insufficient" if changed else "sufficient"
        log.warning(
            "Free disk space is %s. Free bytes: %d. Limit: %d",
            sufficient,
            free,
            alarms.disk_free_limit,
        )
        self._alarm_changed("disk", changed)

    def _alarm_changed(self, resource: str, on: bool) -> None:
        if on:
            log.warning(
                "%s resource limit alarm set on node. Publishers will be blocked until this"
                " alarm clears",
                resource,
            )
        else:
            log.warning("%s resource limit alarm cleared on node", resource)
        self._on_change()


def _free_bytes(path: str) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize
