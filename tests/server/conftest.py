"""pika fixtures shared by the server tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pika
import pytest


@pytest.fixture
def connection(broker_url: str) -> Iterator[pika.BlockingConnection]:
    conn = pika.BlockingConnection(pika.URLParameters(broker_url))
    yield conn
    if conn.is_open:
        conn.close()


@pytest.fixture
def conn(connection: pika.BlockingConnection) -> pika.BlockingConnection:
    return connection


@pytest.fixture
def other_connection(broker_url: str) -> Iterator[pika.BlockingConnection]:
    conn = pika.BlockingConnection(pika.URLParameters(broker_url))
    yield conn
    if conn.is_open:
        conn.close()


@pytest.fixture
def channel(connection: pika.BlockingConnection) -> Any:
    """A channel in confirm mode, so a returned publish means the message is in its queue."""
    ch = connection.channel()
    ch.confirm_delivery()
    return ch
