"""The memory and disk alarms driven by real measurements (``server/alarm_monitor.py``):
a flood of transient messages into a queue nobody consumes trips the memory alarm, the
publisher is told connection.blocked and its publishes wait in the socket, a consumer
drains the queue, the alarm clears (connection.unblocked) and every message arrives once.

Each test owns a broker whose monitors check every few milliseconds; the memory mark is set
a few MiB above this process's resident size, which is the monitor's baseline.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

import aio_pika
import pika
import pytest

from amqpbroker.process_figures import resident_bytes
from amqpbroker.testing.polling import wait_until, wait_until_async

QUICK_CHECKS = {"memory_monitor_interval": 0.01, "disk_monitor_interval": 0.01}
MARGIN = 8 * 2**20  # the memory mark, above the broker's baseline
BODY_SIZE = 64 * 1024
FLOOD = 600  # ~39 MB: well past the mark


def _watched(url: str, events: list[tuple[str, ...]]) -> pika.BlockingConnection:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    connection.add_on_connection_blocked_callback(
        lambda _c, frame: events.append(("blocked", frame.method.reason))
    )
    connection.add_on_connection_unblocked_callback(lambda _c, _f: events.append(("unblocked",)))
    return connection


def _until(connection: pika.BlockingConnection, done: Callable[[], object], what: str) -> None:
    wait_until(done, what, pause=lambda: connection.process_data_events(time_limit=0.02))


def _blocked_publisher(
    url: str, queue: str, body: bytes
) -> tuple[pika.BlockingConnection, Any, list[tuple[str, ...]]]:
    """A watched client that declares ``queue`` and publishes ``body`` to it, once told
    ``connection.blocked``: its connection, channel and what it was told."""
    events: list[tuple[str, ...]] = []
    publisher = _watched(url, events)
    channel = publisher.channel()
    channel.queue_declare(queue)
    channel.basic_publish("", queue, body)
    _until(publisher, lambda: events, "connection.blocked")
    return publisher, channel, events


class FloodingPublisher(threading.Thread):
    """A pika publisher on its own thread (its writes block while the broker does not read):
    publishes ``count`` numbered transient messages, then waits to be unblocked."""

    def __init__(self, url: str, queue: str, count: int) -> None:
        super().__init__(daemon=True)
        self.url, self.queue, self.count = url, queue, count
        self.events: list[tuple[str, ...]] = []
        self.error: BaseException | None = None
        self.sent = 0

    def run(self) -> None:
        try:
            connection = _watched(self.url, self.events)
            channel = connection.channel()
            filler = b"x" * (BODY_SIZE - 8)
            for number in range(self.count):
                channel.basic_publish("", self.queue, b"%08d" % number + filler)
                self.sent += 1
            _until(connection, lambda: ("unblocked",) in self.events, "connection.unblocked")
            connection.close()
        except BaseException as error:  # reported by the test
            self.error = error


def test_flood_trips_the_memory_alarm_then_draining_clears_it_and_nothing_is_lost(
    broker_factory: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="amqpbroker.server.alarm_monitor")
    broker = broker_factory(
        vm_memory_high_watermark_absolute=resident_bytes() + MARGIN, **QUICK_CHECKS
    )
    alarms = broker.server.alarms
    assert not alarms.mem_alarm, (alarms.mem_used, alarms.mem_limit)
    consumer = pika.BlockingConnection(pika.URLParameters(broker.url))
    channel = consumer.channel()
    channel.queue_declare("flood", durable=False)
    publisher = FloodingPublisher(broker.url, "flood", FLOOD)
    publisher.start()
    wait_until(lambda: alarms.mem_alarm, "the memory alarm")
    # Publishes wait in the socket: the queue stops well short of the flood.
    depth = channel.queue_declare("flood", passive=True).method.message_count
    assert depth < FLOOD
    # (pika runs the publisher's blocked callback once its writes are done: checked below.)
    received: list[int] = []

    def take(ch: Any, method: Any, _props: Any, body: bytes) -> None:
        received.append(int(body[:8]))
        ch.basic_ack(method.delivery_tag)

    channel.basic_qos(prefetch_count=50)
    channel.basic_consume("flood", take)
    _until(consumer, lambda: len(received) >= FLOOD or publisher.error, "every message")
    publisher.join(10)
    assert publisher.error is None
    assert sorted(received) == list(range(FLOOD))  # each once, none lost
    assert publisher.events[0] == ("blocked", "low on memory")
    assert ("unblocked",) in publisher.events
    wait_until(lambda: not alarms.mem_alarm, "the alarm to clear")
    logged = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("vm_memory_high_watermark set. Memory used:") for m in logged)
    assert any(m.startswith("vm_memory_high_watermark clear. Memory used:") for m in logged)
    consumer.close()


def test_memory_alarm_at_boot_blocks_the_first_publish_until_the_mark_rises(
    broker_factory: Callable[..., Any],
) -> None:
    broker = broker_factory(vm_memory_high_watermark_absolute=1, **QUICK_CHECKS)
    assert broker.server.alarms.mem_alarm  # raised before the listener opened
    publisher, channel, events = _blocked_publisher(broker.url, "boot", b"held")
    assert events == [("blocked", "low on memory")]
    broker.set_vm_memory_high_watermark(2**62)
    _until(publisher, lambda: len(events) == 2, "connection.unblocked")
    assert events[1] == ("unblocked",)
    _method, _props, body = channel.basic_get("boot", auto_ack=True)
    assert body == b"held"
    publisher.close()


def test_disk_alarm_with_a_limit_above_the_free_space(
    broker_factory: Callable[..., Any], tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="amqpbroker.server.alarm_monitor")
    broker = broker_factory(data_dir=str(tmp_path), disk_free_limit=2**62, **QUICK_CHECKS)
    alarms = broker.server.alarms
    assert alarms.disk_free_alarm and not alarms.mem_alarm
    assert 0 < alarms.disk_free < alarms.disk_free_limit
    publisher, _channel, events = _blocked_publisher(broker.url, "disk", b"waits")
    assert events == [("blocked", "low on disk")]
    observer = pika.BlockingConnection(pika.URLParameters(broker.url))
    watch = observer.channel()
    assert watch.queue_declare("disk", passive=True).method.message_count == 0
    broker.set_disk_free_limit(1)
    _until(publisher, lambda: len(events) == 2, "connection.unblocked")
    wait_until(lambda: watch.queue_declare("disk", passive=True).method.message_count == 1)
    observer.close()
    logged = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("Free disk space is insufficient. Free bytes: ") for m in logged)
    assert any(m.startswith("Free disk space is sufficient. Free bytes: ") for m in logged)
    publisher.close()


def test_both_alarms_name_both_resources_and_one_clearing_keeps_publishers_blocked(
    broker_factory: Callable[..., Any],
) -> None:
    broker = broker_factory(
        vm_memory_high_watermark_absolute=1, disk_free_limit=2**62, **QUICK_CHECKS
    )
    publisher, _channel, events = _blocked_publisher(broker.url, "both", b"m")
    assert events == [("blocked", "low on disk & memory")]
    broker.set_vm_memory_high_watermark(2**62)
    assert broker.server.alarms.resources == ("disk",)
    broker.set_disk_free_limit(1)
    _until(publisher, lambda: len(events) == 2, "connection.unblocked")
    publisher.close()


async def test_aio_pika_consumer_drains_while_publishers_are_blocked_by_the_alarm(
    broker_factory: Callable[..., Any],
) -> None:
    broker = broker_factory(**QUICK_CHECKS)
    async with await aio_pika.connect(broker.url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue("aio-alarm")
        for number in range(20):
            await channel.default_exchange.publish(aio_pika.Message(b"%d" % number), "aio-alarm")
        broker.set_vm_memory_high_watermark(1)
        assert broker.server.alarms.mem_alarm
        got = []
        async with queue.iterator() as messages:
            async for message in messages:
                await message.ack()
                got.append(int(message.body))
                if len(got) == 20:
                    break
        assert got == list(range(20))
        broker.set_vm_memory_high_watermark(2**62)
        await wait_until_async(lambda: not broker.server.alarms.mem_alarm)
        await asyncio.wait_for(
            channel.default_exchange.publish(aio_pika.Message(b"after"), "aio-alarm"), 10
        )


def test_clearing_a_hand_raised_alarm_leaves_a_measured_one_in_force(
    broker_factory: Callable[..., Any],
) -> None:
    broker = broker_factory(vm_memory_high_watermark_absolute=1, **QUICK_CHECKS)
    broker.block_publishers("held by hand")
    broker.unblock_publishers()
    assert broker.server.alarm.reason == "low on memory"  # the measured alarm stays
    events: list[tuple[str, ...]] = []
    publisher = _watched(broker.url, events)
    channel = publisher.channel()
    channel.queue_declare("kept")
    channel.basic_publish("", "kept", b"m")
    _until(publisher, lambda: events, "connection.blocked")
    assert events == [("blocked", "low on memory")]
    broker.set_vm_memory_high_watermark(2**62)
    assert broker.server.alarm.reason is None
    _until(publisher, lambda: len(events) == 2, "connection.unblocked")
    publisher.close()
