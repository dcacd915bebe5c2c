"""The virtual clock: ``Broker(virtual_clock=True)`` / ``BrokerThread(virtual_clock=True)``.

TTLs, per-message expiration and ``x-expires`` follow a clock the test moves with
``broker.clock.advance(seconds)``; when it returns, what expired is gone (dead-lettered where
the queue says so).  Nothing here waits for real time to pass: a 30-minute retry delay takes
milliseconds.  Heartbeats stay on real time, so advancing hours does not cost clients their
connections (and the broker's own heartbeats keep coming without any advance).

These tests need the embedded broker: they are skipped with AMQPBROKER_TEST_URL.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import Callable
from typing import Any

import aio_pika
import pika
import pika.exceptions
import pytest
from clientutil import EXTERNAL_URL
from pamqp import commands, heartbeat
from rawamqp import RawAMQP

from amqpbroker import Broker
from amqpbroker.core.ports import ManualClock
from amqpbroker.testing.polling import wait_until

pytestmark = pytest.mark.timeout(30)

THIRTY_MINUTES_MS = 1_800_000


@pytest.fixture
def broker(broker_factory: Callable[..., Any]) -> Any:
    return broker_factory(virtual_clock=True)


def retry_topology(ch: Any) -> None:
    """work --(rejected)--> retry, which holds a message 30 minutes --(expired)--> work."""
    ch.exchange_declare("work-x", "direct", auto_delete=True)
    ch.exchange_declare("retry-x", "direct", auto_delete=True)
    ch.queue_declare("work", exclusive=True, arguments={"x-dead-letter-exchange": "retry-x"})
    retry_arguments = {"x-message-ttl": THIRTY_MINUTES_MS, "x-dead-letter-exchange": "work-x"}
    ch.queue_declare("retry", exclusive=True, arguments=retry_arguments)
    ch.queue_bind("work", "work-x", "job")
    ch.queue_bind("retry", "retry-x", "job")


def test_a_30_minute_retry_delay_takes_no_time_pika(broker, channel):
    retry_topology(channel)
    channel.basic_publish("work-x", "job", b"do it")
    method, _, body = channel.basic_get("work")
    channel.basic_reject(method.delivery_tag, requeue=False)  # fails: retry in 30 minutes
    # (basic.reject has no reply: the broker may not have read it yet)
    wait_until(
        lambda: [m.body for m in broker.queue("retry").messages] == [b"do it"],
        "the rejected message in the retry queue",
    )

    broker.clock.advance(30 * 60 - 1)
    assert broker.queue("retry").messages_ready == 1, "not yet"
    assert broker.queue("work").messages_ready == 0
    broker.clock.advance(1)
    assert broker.queue("retry").messages_ready == 0, "expired when advance returned"

    method, props, body = channel.basic_get("work", auto_ack=True)
    assert body == b"do it"
    expired, rejected = props.headers["x-death"]
    assert (expired["reason"], expired["queue"]) == ("expired", "retry")
    assert (rejected["reason"], rejected["queue"]) == ("rejected", "work")
    assert expired["time"] == datetime.datetime.fromtimestamp(
        int(broker.clock.wall()), datetime.UTC
    )


@pytest.fixture
async def aio_broker() -> Any:
    if EXTERNAL_URL:
        pytest.skip("needs the embedded broker")
    async with Broker(virtual_clock=True) as broker:
        yield broker


async def test_a_30_minute_retry_delay_takes_no_time_aio_pika(aio_broker):
    async with await aio_pika.connect(aio_broker.url) as connection:
        channel = await connection.channel()
        work_x = await channel.declare_exchange("work-x", auto_delete=True)
        retry_x = await channel.declare_exchange("retry-x", auto_delete=True)
        work = await channel.declare_queue(
            "work", exclusive=True, arguments={"x-dead-letter-exchange": "retry-x"}
        )
        retry = await channel.declare_queue(
            "retry",
            exclusive=True,
            arguments={"x-message-ttl": THIRTY_MINUTES_MS, "x-dead-letter-exchange": "work-x"},
        )
        await work.bind(work_x, "job")
        await retry.bind(retry_x, "job")
        inbox: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
        await work.consume(inbox.put)
        await work_x.publish(aio_pika.Message(b"do it"), routing_key="job")

        first = await asyncio.wait_for(inbox.get(), 5)
        await first.reject(requeue=False)
        await retry.declare()  # a round trip: the rejection has been handled
        assert aio_broker.queue("retry").messages_ready == 1
        aio_broker.clock.advance(30 * 60)
        again = await asyncio.wait_for(inbox.get(), 5)
        assert again.body == b"do it"
        assert [d["reason"] for d in again.headers["x-death"]] == ["expired", "rejected"]
        await again.ack()


def test_per_message_expiration_follows_the_clock(broker, channel):
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.basic_publish("", queue, b"brief", pika.BasicProperties(expiration="60000"))
    channel.basic_publish("", queue, b"lasting")
    broker.clock.advance(59)
    assert [m.body for m in broker.queue(queue).messages] == [b"brief", b"lasting"]
    broker.clock.advance(1)
    assert [m.body for m in broker.queue(queue).messages] == [b"lasting"]


def test_x_expires_follows_the_clock_and_use_restarts_it(broker, channel):
    hour_ms = 3_600_000
    channel.queue_declare("idle", arguments={"x-expires": hour_ms})
    broker.clock.advance(3000)
    channel.queue_declare("idle", passive=True)  # a use: the hour starts again
    broker.clock.advance(3599)
    assert broker.queue("idle").name == "idle"
    broker.clock.advance(1)
    with pytest.raises(KeyError):
        broker.queue("idle")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as closed:
        channel.queue_declare("idle", passive=True)
    assert closed.value.reply_code == 404


def test_advancing_past_nothing_is_harmless(broker, channel):
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.basic_publish("", queue, b"kept")
    before = broker.clock.now()
    broker.clock.advance(0)
    broker.clock.advance(10 * 365 * 24 * 3600)
    assert broker.clock.now() == before + 10 * 365 * 24 * 3600
    assert [m.body for m in broker.queue(queue).messages] == [b"kept"]
    channel.basic_publish("", queue, b"still connected")  # confirmed
    assert broker.queue(queue).messages_ready == 2
    with pytest.raises(ValueError, match="cannot go back"):
        broker.clock.advance(-1)


def test_heartbeats_stay_on_real_time(broker_factory):
    """Advancing far past the heartbeat timeout does not drop a client (it had no chance to
    send anything meanwhile), and the broker's heartbeats arrive without any advance."""
    broker = broker_factory(virtual_clock=True, heartbeat=1)
    with pika.BlockingConnection(pika.URLParameters(broker.url)) as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        broker.clock.advance(3600)
        conn.process_data_events(0)
        ch.basic_publish("", "nowhere", b"alive")
        assert conn.is_open
    with RawAMQP.connect(broker.host, broker.port, heartbeat=1) as raw:
        raw.open_channel(1)
        _, frame = raw.expect_method(heartbeat.Heartbeat, timeout=3)
        assert isinstance(frame, heartbeat.Heartbeat)
        raw.send_method(1, commands.Basic.Qos(prefetch_count=1))  # still served
        raw.expect_method(commands.Basic.QosOk)


def test_the_clock_reads_and_moves(broker):
    assert broker.clock.virtual
    now, wall = broker.clock.now(), broker.clock.wall()
    assert abs(wall - time.time()) < 60, "a virtual wall clock starts at the real time"
    broker.clock.advance(2.5)
    assert (broker.clock.now(), broker.clock.wall()) == (now + 2.5, wall + 2.5)


def test_a_real_time_broker_refuses_to_advance(broker_factory):
    broker = broker_factory()
    assert not broker.clock.virtual
    with pytest.raises(RuntimeError, match="virtual_clock=True"):
        broker.clock.advance(1)


def test_a_manual_clock_given_as_clock_is_advanced_the_same_way(broker_factory):
    clock = ManualClock(start=100.0)
    broker = broker_factory(clock=clock)
    assert broker.clock.virtual
    broker.clock.advance(5)
    assert clock.now() == broker.clock.now() == 105.0


def test_clock_and_virtual_clock_are_exclusive() -> None:
    with pytest.raises(ValueError, match="not both"):
        Broker(clock=ManualClock(), virtual_clock=True)
