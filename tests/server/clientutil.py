"""Small helpers for asserting how the broker closed a pika channel or connection."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pika
import pika.exceptions
import pytest

# Set when the tests run against another broker (see tests/conftest.py).
EXTERNAL_URL = os.environ.get("AMQPBROKER_TEST_URL")


def channel_error(connection: pika.BlockingConnection, action: Callable[[Any], Any]) -> tuple:
    """Run ``action`` on a fresh channel; return the (reply_code, reply_text) closing it."""
    ch = connection.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        action(ch)
    return info.value.reply_code, info.value.reply_text


def connection_error(broker_url: str, action: Callable[[Any], Any]) -> tuple:
    """Run ``action`` on a new connection; return the (reply_code, reply_text) closing it."""
    with pika.BlockingConnection(pika.URLParameters(broker_url)) as conn:
        ch = conn.channel()
        with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as info:
            action(ch)
        return info.value.reply_code, info.value.reply_text
