"""Message expiry survives a restart: a persistent message expires at the moment it would
have expired had the broker kept running.

RabbitMQ's classic queue index stores each message's expiry as an absolute time (see
``rabbit_queue_index``'s ``expiry_to_binary``), and a recovered queue process, once every
queue is recovered (its recovery barrier), drops — or dead-letters as ``expired`` — the
expired messages at its head and times the expiry of the new head (``process_args_policy``
ends in ``drop_expired_msgs``).  So a message whose moment passed while the broker was down
is gone after the restart, one whose moment is still ahead is delivered until then, and a
requeued message keeps its original moment, as before the restart.  (Read from RabbitMQ's
source: the shared reference broker cannot be restarted by a test.)

Most tests run the embedded broker in-process on a data directory with a ``ManualClock``
per lifetime: the second lifetime's monotonic time starts elsewhere, as a new process's
would, and its wall clock continues past the downtime — nothing waits for a TTL.  One test
runs the real ``amqpbroker serve`` with real clocks and short TTLs.
"""

from __future__ import annotations

import datetime
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aio_pika
import pika
from brokerproc import Node, assert_clean
from pikahelpers import PERSISTENT, pika_channel

from amqpbroker.core.ports import ManualClock
from amqpbroker.embedded.broker import Broker
from amqpbroker.testing.polling import wait_until, wait_until_async

WALL = 1_700_000_000.0  # the first lifetime's wall clock at its start


@asynccontextmanager
async def lifetime(
    data_dir: Path, clock: ManualClock
) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    """A broker on ``data_dir`` driven by ``clock``, and a confirming channel to it; stopped
    cleanly at the end."""
    async with Broker(data_dir=str(data_dir), clock=clock) as broker:
        connection = await aio_pika.connect(broker.url, timeout=10)
        async with connection:
            yield await connection.channel()


def persistent(body: bytes, expiration_s: float | None = None) -> aio_pika.Message:
    return aio_pika.Message(
        body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, expiration=expiration_s
    )


async def publish(channel: aio_pika.abc.AbstractChannel, queue: str, *messages: Any) -> None:
    for message in messages:
        await channel.default_exchange.publish(message, routing_key=queue)


async def message_count(channel: aio_pika.abc.AbstractChannel, queue: str) -> int:
    declared = await channel.declare_queue(queue, passive=True)
    assert declared.declaration_result.message_count is not None
    return declared.declaration_result.message_count


async def count_reaches(channel: aio_pika.abc.AbstractChannel, queue: str, count: int) -> None:
    """Poll until ``queue`` holds ``count`` messages (a recovered head is read back from
    disk, off the loop, before it can expire)."""

    async def reached() -> bool:
        return await message_count(channel, queue) == count

    await wait_until_async(reached, f"{queue} to hold {count} messages")


async def get(channel: aio_pika.abc.AbstractChannel, queue: str) -> aio_pika.IncomingMessage:
    declared = await channel.declare_queue(queue, passive=True)
    message = await declared.get(no_ack=False, fail=False)
    assert message is not None, f"{queue} is empty"
    return message


def pika_count(ch: Any, queue: str) -> int:
    return int(ch.queue_declare(queue, passive=True).method.message_count)


def at(wall: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(wall, datetime.UTC)


def expired_death(queue: str, wall: float, original_expiration: str) -> dict[str, Any]:
    return {
        "count": 1,
        "reason": "expired",
        "queue": queue,
        "time": at(wall),
        "exchange": "",
        "routing-keys": [queue],
        "original-expiration": original_expiration,
    }


async def test_expired_while_down_is_dead_lettered_and_the_rest_expires_on_time(
    tmp_path: Path,
) -> None:
    async with lifetime(tmp_path, ManualClock(start=1000.0, wall_start=WALL)) as channel:
        dlx = await channel.declare_exchange("dlx", aio_pika.ExchangeType.FANOUT, durable=True)
        dead = await channel.declare_queue("dead", durable=True)
        await dead.bind(dlx)
        await channel.declare_queue(
            "work", durable=True, arguments={"x-dead-letter-exchange": "dlx"}
        )
        await publish(
            channel,
            "work",
            persistent(b"gone", 10),  # expires at WALL + 10: while the broker is down
            persistent(b"kept", 60),  # at WALL + 60: after the restart
            persistent(b"plain"),
        )

    clock = ManualClock(start=3.0, wall_start=WALL + 30)
    async with lifetime(tmp_path, clock) as channel:
        await count_reaches(channel, "dead", 1)
        gone = await get(channel, "dead")
        await gone.ack()
        assert gone.body == b"gone"
        assert gone.expiration is None
        assert gone.headers["x-death"] == [expired_death("work", WALL + 30, "10000")]
        assert gone.headers["x-first-death-reason"] == "expired"
        assert await message_count(channel, "work") == 2

        kept = await get(channel, "work")
        assert (kept.body, kept.redelivered) == (b"kept", False)
        await kept.reject(requeue=True)  # back with its original expiry
        clock.advance(29.5)  # WALL + 59.5
        assert await message_count(channel, "work") == 2
        assert await message_count(channel, "dead") == 0
        clock.advance(1)  # WALL + 60.5
        assert await message_count(channel, "work") == 1
        kept = await get(channel, "dead")
        assert kept.body == b"kept"
        assert kept.headers["x-death"] == [expired_death("work", WALL + 60, "60000")]
        plain = await get(channel, "work")
        assert plain.body == b"plain"


async def test_queue_ttl_counts_from_the_publish_across_a_restart(tmp_path: Path) -> None:
    first_clock = ManualClock(start=50.0, wall_start=WALL)
    async with lifetime(tmp_path, first_clock) as channel:
        await channel.declare_queue("ttl", durable=True, arguments={"x-message-ttl": 20_000})
        await publish(channel, "ttl", persistent(b"early"))  # expires at WALL + 20
        first_clock.advance(15)
        await publish(channel, "ttl", persistent(b"late"), persistent(b"later"))  # WALL + 35

    clock = ManualClock(start=0.0, wall_start=WALL + 25)
    async with lifetime(tmp_path, clock) as channel:
        await count_reaches(channel, "ttl", 2)
        late = await get(channel, "ttl")
        await late.ack()
        assert late.body == b"late"
        clock.advance(9.9)  # WALL + 34.9
        assert await message_count(channel, "ttl") == 1
        clock.advance(0.2)
        assert await message_count(channel, "ttl") == 0


def test_real_clocks_across_processes(make_node: Callable[..., Node]) -> None:
    """``amqpbroker serve`` with its loop clock: the stored moment is wall-clock time."""
    node = make_node().start()
    with pika_channel(node) as ch:
        ch.exchange_declare("dlx", "fanout", durable=True)
        ch.queue_declare("dead", durable=True)
        ch.queue_bind("dead", "dlx")
        ch.queue_declare("work", durable=True, arguments={"x-dead-letter-exchange": "dlx"})
        before = time.time()  # the broker took both messages between these two moments
        for body, expiration in ((b"short", "300"), (b"long", "4000")):
            props = pika.BasicProperties(delivery_mode=PERSISTENT, expiration=expiration)
            ch.basic_publish("", "work", body, props)
        confirmed = time.time()
    assert node.stop(signal.SIGTERM) == 0
    wait_until(lambda: time.time() > confirmed + 0.3, "short's moment to pass")

    node.start()
    with pika_channel(node) as ch:
        wait_until(lambda: pika_count(ch, "dead") == 1, "short to be dead-lettered")
        assert pika_count(ch, "work") == 1
        assert time.time() < before + 4, "too slow a restart to tell anything"
        wait_until(lambda: pika_count(ch, "dead") == 2, "long to expire")
        assert time.time() >= before + 4
        assert pika_count(ch, "work") == 0
        bodies = [ch.basic_get("dead", auto_ack=True)[2] for _ in range(2)]
        assert bodies == [b"short", b"long"]
    assert node.stop() == 0
    assert_clean(node.all_logs())
