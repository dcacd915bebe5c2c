"""Per-vhost and per-user limits through pika and aio-pika, set with the embedded powers
(``broker.set_vhost_limits``), with RabbitMQ 3.10.8's codes and texts; the session layer's
tests are tests/session/test_limits_session.py."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aio_pika
import aio_pika.exceptions
import aiormq.exceptions
import pika
import pika.exceptions
import pytest

from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.rabbitmq_conf import load_config

pytestmark = pytest.mark.timeout(30)


def params(broker: Any, vhost: str = "/", user: str = "guest") -> pika.ConnectionParameters:
    return pika.ConnectionParameters(
        broker.host, broker.port, vhost, pika.PlainCredentials(user, user)
    )


def test_vhost_connection_limit_pika(broker):
    broker.add_vhost("limited")
    broker.set_vhost_limits({"max-connections": 1}, vhost="limited")
    first = pika.BlockingConnection(params(broker, "limited"))
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError) as caught:
        pika.BlockingConnection(params(broker, "limited"))
    assert "(530) \"NOT_ALLOWED - access to vhost 'limited' refused for user 'guest': " in str(
        caught.value
    )
    assert "connection limit (1) is reached" in str(caught.value)
    pika.BlockingConnection(params(broker)).close()  # another vhost: not limited
    first.close()
    pika.BlockingConnection(params(broker, "limited")).close()


def test_vhost_queue_limit_pika(broker, channel):
    broker.set_vhost_limits({"max-queues": 1})
    channel.queue_declare("one")
    channel.queue_declare("one")  # redeclared: no new queue
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as caught:
        channel.queue_declare("two")
    assert caught.value.reply_code == 406
    assert caught.value.reply_text == (
        "PRECONDITION_FAILED - cannot declare queue 'two': queue limit in vhost '/' (1) is reached"
    )
    assert broker.vhost_limits() == {"max-queues": 1}
    broker.clear_vhost_limits()
    assert broker.vhost_limits() == {}
    connection = pika.BlockingConnection(params(broker))
    connection.channel().queue_declare("two")
    connection.close()


def test_vhost_limits_aio_pika(broker):
    async def run() -> None:
        broker.set_vhost_limits({"max-queues": 0, "max-connections": 1})
        connection = await aio_pika.connect(broker.url)
        channel = await connection.channel()
        with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed) as caught:
            await channel.declare_queue("q")
        assert "queue limit in vhost '/' (0) is reached" in str(caught.value)
        # (aiormq reports a connection.close answering connection.open as an unexpected frame)
        with pytest.raises(aiormq.exceptions.InvalidFrameError, match=r"Connection\.Close"):
            await aio_pika.connect(broker.url)
        await connection.close()

    asyncio.run(run())


def test_user_limits_pika(broker):
    broker.add_user("limited", "limited")
    broker.set_permissions("limited")
    broker.set_user_limits("limited", {"max-connections": 1, "max-channels": 1})
    connection = pika.BlockingConnection(params(broker, user="limited"))
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError) as caught:
        pika.BlockingConnection(params(broker, user="limited"))
    assert "user connection limit (1) is reached" in str(caught.value)
    connection.channel()
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as closed:
        connection.channel()
    assert closed.value.reply_code == 530
    assert closed.value.reply_text == (
        "NOT_ALLOWED - number of channels opened for user 'limited' has reached "
        "the maximum allowed user limit of (1)"
    )


def test_max_message_size_pika(broker_factory):
    broker = broker_factory(max_message_size=1000)
    connection = pika.BlockingConnection(params(broker))
    channel = connection.channel()
    channel.queue_declare("q")
    channel.basic_publish("", "q", b"x" * 1000)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as caught:
        channel.basic_publish("", "q", b"x" * 300_000)  # several frames
        channel.queue_declare("q", passive=True)  # (a round trip: the close arrives)
    assert (caught.value.reply_code, caught.value.reply_text) == (
        406,
        "PRECONDITION_FAILED - message size 300000 is larger than configured max size 1000",
    )
    assert connection.channel().queue_declare("q", passive=True).method.message_count == 1
    connection.close()


def test_max_message_size_aio_pika(broker_factory):
    broker = broker_factory(max_message_size=10)

    async def run() -> None:
        connection = await aio_pika.connect(broker.url)
        channel = await connection.channel(publisher_confirms=False)
        await channel.default_exchange.publish(aio_pika.Message(b"x" * 11), "q")
        with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed) as caught:
            await channel.declare_queue("q")
        assert "message size 11 is larger than configured max size 10" in str(caught.value)
        await connection.close()

    asyncio.run(run())


def test_conf_limits_example_reads_into_the_config():
    config = load_config(Path(__file__).parents[2] / "conf" / "limits.conf")
    assert (config.channel_max, config.max_message_size, config.consumer_timeout) == (
        64,
        16777216,
        900000,
    )


CONSUMER_TIMEOUT_TEXT = (
    "PRECONDITION_FAILED - delivery acknowledgement on channel 1 timed out. Timeout value "
    "used: 60000 ms. This timeout value can be configured, see consumers doc guide to "
    "learn more"
)


def test_consumer_timeout_pika_on_the_virtual_clock(broker_factory):
    broker = broker_factory(virtual_clock=True, consumer_timeout=60_000)
    connection = pika.BlockingConnection(params(broker))
    channel = connection.channel()
    channel.queue_declare("q")
    channel.basic_publish("", "q", b"m")
    got: list[int] = []
    channel.basic_consume("q", lambda ch, method, props, body: got.append(method.delivery_tag))
    connection.process_data_events(time_limit=0)
    while not got:
        connection.process_data_events(time_limit=0.05)
    closed: list[Any] = []
    channel._impl.add_on_close_callback(lambda _channel, reason: closed.append(reason))
    broker.clock.advance(59)
    connection.process_data_events(time_limit=0.1)
    assert channel.is_open
    broker.clock.advance(60)
    deadline = time.monotonic() + 10
    while not closed and time.monotonic() < deadline:
        connection.process_data_events(time_limit=0.05)
    assert [(r.reply_code, r.reply_text) for r in closed] == [(406, CONSUMER_TIMEOUT_TEXT)]
    assert connection.channel().queue_declare("q", passive=True).method.message_count == 1
    connection.close()


def test_consumer_timeout_aio_pika_on_the_virtual_clock(broker_factory):
    broker = broker_factory(virtual_clock=True, consumer_timeout=60_000)

    async def run() -> None:
        connection = await aio_pika.connect(broker.url)
        channel = await connection.channel()
        queue = await channel.declare_queue("q")
        await channel.default_exchange.publish(aio_pika.Message(b"m"), "q")
        message = await queue.get(no_ack=False)
        assert message.body == b"m"
        broker.clock.advance(200)
        with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed) as caught:
            for _ in range(100):
                await channel.set_qos(prefetch_count=0)
                await asyncio.sleep(0.05)
        assert "timed out. Timeout value used: 60000 ms." in str(caught.value)
        await connection.close()

    asyncio.run(run())


def test_limits_survive_a_restart_of_a_durable_broker(tmp_path):
    with BrokerThread(data_dir=str(tmp_path)) as broker:
        broker.set_vhost_limits({"max-queues": 0})
        broker.add_user("limited", "limited")
        broker.set_user_limits("limited", {"max-channels": 0})
    with BrokerThread(data_dir=str(tmp_path)) as broker:
        assert broker.vhost_limits() == {"max-queues": 0}
        connection = pika.BlockingConnection(params(broker))
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as caught:
            connection.channel().queue_declare("q")
        assert "queue limit in vhost '/' (0) is reached" in caught.value.reply_text
        connection.close()
        assert broker.server.access.user_limits("limited") == {"max-channels": 0}


def test_limits_and_policies_hold_after_restart_in_process(tmp_path):
    """``broker.restart()`` of a durable broker: the recovered vhost keeps its limits, and
    limits and policies changed afterwards still take effect."""
    with BrokerThread(data_dir=str(tmp_path)) as broker:
        broker.set_vhost_limits({"max-queues": 1})
        connection = pika.BlockingConnection(params(broker))
        connection.channel().queue_declare("capped", durable=True)
        connection.close()
        broker.restart()
        broker.set_policy("cap", "^capped$", {"max-length": 1}, apply_to="queues")
        connection = pika.BlockingConnection(params(broker))
        channel = connection.channel()
        for body in (b"a", b"b", b"c"):
            channel.basic_publish("", "capped", body)
        assert channel.queue_declare("capped", passive=True).method.message_count == 1
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as caught:
            channel.queue_declare("second")
        assert "queue limit in vhost '/' (1) is reached" in caught.value.reply_text
        broker.clear_vhost_limits()
        connection.channel().queue_declare("second")
        connection.close()
