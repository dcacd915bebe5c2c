"""Session-level tests: the broker's session layer driven in-process by
``amqpbroker.testing.harness`` (no sockets, no real clock: ``broker.advance`` moves time).

Each test here asserts what a socket test in ``tests/server`` asserts of a real client, so a
behaviour is pinned instantly here and, broker-agnostically, against RabbitMQ there.
"""

from __future__ import annotations

import pytest

from amqpbroker.testing.harness import Client, ClientChannel, SessionBroker


@pytest.fixture
def broker() -> SessionBroker:
    return SessionBroker()


@pytest.fixture
def client(broker: SessionBroker) -> Client:
    return broker.connect()


@pytest.fixture
def ch(client: Client) -> ClientChannel:
    """A channel in confirm mode (as the socket tests' ``channel``): every publish is
    answered with basic.ack or basic.nack."""
    channel = client.channel()
    channel.select_confirms()
    return channel
