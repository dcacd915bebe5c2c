"""The broker-agnostic suite: real clients (pika, aio-pika, a raw socket client) against a
broker over sockets, in real time.

Every test here runs unchanged against RabbitMQ too (``AMQPBROKER_TEST_URL``, see
tests/conftest.py); those that need powers only an embedded broker has (its config, its
clock, faults, inspection) skip there.  Keep them that way: behaviour that needs no socket
is tested instantly in tests/session (the session harness) or tests/core, and each test
here states what a client sees, not how this broker does it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pika
import pytest

from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.testing.tls_fixtures import TestCertificates, tls_broker


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


@pytest.fixture(scope="module")
def amqps_broker(amqps_certificates: TestCertificates) -> Iterator[BrokerThread]:
    """The plugin's TLS broker, per module here: a session-wide one would outlive these tests
    (tests/testing checks that no broker thread runs behind an inner session's back)."""
    with tls_broker(amqps_certificates) as broker:
        yield broker
