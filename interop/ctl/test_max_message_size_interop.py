"""``max_message_size`` on RabbitMQ 3.10.8 and on amqpbroker: a message at the limit is
taken, one octet more closes the channel with the same 406 and text on both.

RabbitMQ reads ``max_message_size`` when a channel opens: it is set low on the running
reference node with ``rabbitmqctl eval`` for the test and put back after (its default,
128 MiB, would be a lot to send).  Skipped when rabbitmqctl cannot reach the node
(``reference_node.py``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pika
import pytest

from amqpbroker.embedded.broker import BrokerThread
from ctl import reference_node

LIMIT = 4096
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def reference_with_a_small_limit() -> Iterator[str]:
    reference_node.require()
    with reference_node.rabbit_env_changed({"max_message_size": LIMIT}):
        yield reference_node.AMQP_URL


def publish_at_and_over_the_limit(url: str) -> tuple[Any, ...]:
    """The channel's close reason after a message of ``LIMIT`` octets and one of
    ``LIMIT + 1``, and how many of them the queue holds."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        closed: list[Any] = []
        channel._impl.add_on_close_callback(lambda _channel, reason: closed.append(reason))
        queue = channel.queue_declare("", exclusive=True).method.queue
        channel.basic_publish("", queue, b"a" * LIMIT)
        channel.basic_publish("", queue, b"b" * (LIMIT + 1))
        deadline = time.monotonic() + 30
        while not closed and time.monotonic() < deadline:
            connection.process_data_events(time_limit=0.05)
        held = connection.channel().queue_declare(queue, passive=True).method.message_count
        return [(reason.reply_code, reason.reply_text) for reason in closed], held
    finally:
        connection.close()


def test_one_octet_over_the_limit_closes_the_channel_as_on_rabbitmq(
    reference_with_a_small_limit: str,
) -> None:
    theirs = publish_at_and_over_the_limit(reference_with_a_small_limit)
    with BrokerThread(max_message_size=LIMIT) as broker:
        ours = publish_at_and_over_the_limit(broker.url)
    text = (
        f"PRECONDITION_FAILED - message size {LIMIT + 1} is larger than configured max size {LIMIT}"
    )
    assert theirs == ([(406, text)], 1)
    assert ours == theirs
