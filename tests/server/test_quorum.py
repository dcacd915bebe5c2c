"""x-queue-type quorum: declared durable, shared (not exclusive) and kept (not auto-delete),
and never server-named; otherwise RabbitMQ's 406, checked in its order.  (Quorum queues
behave as durable queues here; delivery limits come later.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pika
import pika.exceptions
import pytest
from clientutil import channel_error

QUORUM = {"x-queue-type": "quorum"}


@pytest.mark.parametrize(
    ("flags", "property_name"),
    [
        ({"durable": False}, "non-durable"),
        ({"durable": True, "exclusive": True}, "exclusive-owner"),
        ({"durable": False, "exclusive": True}, "exclusive-owner"),
        ({"durable": True, "auto_delete": True}, "auto-delete"),
        ({"durable": False, "auto_delete": True}, "auto-delete"),
        ({"durable": True, "exclusive": True, "auto_delete": True}, "auto-delete"),
    ],
)
def test_quorum_queue_properties_are_checked(
    connection: pika.BlockingConnection,
    unique: Callable[[str], str],
    flags: dict[str, Any],
    property_name: str,
) -> None:
    queue = unique("qq")
    error = channel_error(connection, lambda ch: ch.queue_declare(queue, arguments=QUORUM, **flags))
    assert error == (
        406,
        f"PRECONDITION_FAILED - invalid property '{property_name}' for queue '{queue}' "
        "in vhost '/'",
    )


def test_quorum_queue_cannot_be_server_named(connection: pika.BlockingConnection) -> None:
    error = channel_error(
        connection, lambda ch: ch.queue_declare("", durable=True, arguments=QUORUM)
    )
    assert error == (
        406,
        "PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_quorum_queue",
    )


def test_durable_quorum_queue_is_declared_and_used(
    connection: pika.BlockingConnection, unique: Callable[[str], str]
) -> None:
    queue = unique("qq")
    ch = connection.channel()
    ch.confirm_delivery()
    try:
        assert ch.queue_declare(queue, durable=True, arguments=QUORUM).method.queue == queue
        ch.basic_publish("", queue, b"hello")
        _, _, body = ch.basic_get(queue, auto_ack=True)
        assert body == b"hello"
    finally:
        ch.queue_delete(queue)
