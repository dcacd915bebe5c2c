"""``consumer_timeout`` on RabbitMQ 3.10.8 and on amqpbroker: a delivery left unacked past it
closes its channel, with the same code and text on both.

RabbitMQ reads ``consumer_timeout`` when a channel opens and checks it on the channel's tick
(``channel_tick_interval``, 60 s): both are set low on the running reference node with
``rabbitmqctl eval`` for the test and put back after.  Skipped when rabbitmqctl cannot reach
the node (``reference_node.py``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pika
import pytest

from amqpbroker.embedded.broker import BrokerThread
from ctl import reference_node

TIMEOUT_MS = 2000
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def reference_with_a_short_timeout() -> Iterator[str]:
    reference_node.require()
    with reference_node.rabbit_env_changed(
        {"consumer_timeout": TIMEOUT_MS, "channel_tick_interval": 250}
    ):
        yield reference_node.AMQP_URL


def channel_closed_by_an_unacked_delivery(url: str) -> tuple[Any, ...]:
    """Consume one message without acking it; how the broker closes the channel, how long it
    took, and whether the message is back in its queue."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        closed: list[Any] = []
        channel._impl.add_on_close_callback(lambda _channel, reason: closed.append(reason))
        queue = channel.queue_declare("", exclusive=True).method.queue
        channel.basic_publish("", queue, b"m")
        channel.basic_consume(queue, lambda *_: None)
        started = time.monotonic()
        while not closed and time.monotonic() - started < 60:
            connection.process_data_events(time_limit=0.05)
        waited = time.monotonic() - started
        back = connection.channel().queue_declare(queue, passive=True).method.message_count
        reasons = [(reason.reply_code, reason.reply_text) for reason in closed]
        return reasons, waited >= TIMEOUT_MS / 1000, back
    finally:
        connection.close()


def test_an_unacked_delivery_past_the_timeout_closes_its_channel_as_on_rabbitmq(
    reference_with_a_short_timeout: str,
) -> None:
    theirs = channel_closed_by_an_unacked_delivery(reference_with_a_short_timeout)
    with BrokerThread(consumer_timeout=TIMEOUT_MS) as broker:
        ours = channel_closed_by_an_unacked_delivery(broker.url)
    expected_text = (
        "PRECONDITION_FAILED - delivery acknowledgement on channel 1 timed out. Timeout value "
        f"used: {TIMEOUT_MS} ms. This timeout value can be configured, see consumers doc guide"
        " to learn more"
    )
    assert theirs == ([(406, expected_text)], True, 1)
    assert ours == theirs
