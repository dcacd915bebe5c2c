"""The embedded brokers as a test suite uses them: in memory by default, a free port each,
started many times in one process, stopped with 320 CONNECTION_FORCED to their clients."""

from __future__ import annotations

import asyncio
from typing import Any

import aio_pika
import aiormq
import pika
import pika.exceptions
import pytest
from clientutil import EXTERNAL_URL

from amqpbroker import Broker, BrokerThread

pytestmark = pytest.mark.skipif(bool(EXTERNAL_URL), reason="starts brokers of its own")
FORCED = "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"


async def test_async_broker_stop_sends_320_to_aio_pika() -> None:
    async with Broker() as broker:
        connection = await aio_pika.connect(broker.url)
        closed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        connection.close_callbacks.add(lambda _sender, exc: closed.done() or closed.set_result(exc))
    error = await asyncio.wait_for(closed, 10)
    assert isinstance(error, aiormq.exceptions.ConnectionClosed)
    assert error.args == (320, FORCED)


def _declare_durable_and_count(url: str) -> int:
    """Declare a durable queue, publish one persistent message: how many were already there."""
    with pika.BlockingConnection(pika.URLParameters(url)) as connection:
        channel = connection.channel()
        channel.confirm_delivery()
        count = channel.queue_declare("kept?", durable=True).method.message_count
        channel.basic_publish("", "kept?", b"m", pika.BasicProperties(delivery_mode=2))
        return int(count)


def test_broker_threads_start_many_times_each_in_memory_on_its_own_port() -> None:
    ports = set()
    for _ in range(5):  # one after another: nothing is left over from the previous one
        with BrokerThread() as broker:
            ports.add(broker.port)
            assert _declare_durable_and_count(broker.url) == 0
    brokers = [BrokerThread() for _ in range(3)]  # and side by side
    for broker in brokers:
        broker.start()
    try:
        assert len({b.port for b in brokers}) == 3
        assert [_declare_durable_and_count(b.url) for b in brokers] == [0, 0, 0]
        assert [_declare_durable_and_count(b.url) for b in brokers] == [1, 1, 1]
    finally:
        for broker in brokers:
            broker.stop()
    assert all(port > 0 for port in ports)


def test_stopping_twice_and_using_a_stopped_broker_are_harmless() -> None:
    broker = BrokerThread()
    broker.start()
    url = broker.url
    broker.stop()
    broker.stop()
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        pika.BlockingConnection(pika.URLParameters(url + "?connection_attempts=1"))
