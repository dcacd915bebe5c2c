"""The pytest plugin: a real AMQP broker for the tests of any application, no conftest needed.

Installed with the package (the ``pytest11`` entry point ``amqpbroker``); nothing starts until
a test asks for a fixture::

    def test_order_is_queued(amqp_url):          # pika, or aio-pika in an async test
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))

- ``amqp_broker``: one broker for the whole session (a ``BrokerThread``, in memory, on a free
  port); it serves synchronous clients and asyncio ones alike.
- ``amqp_vhost`` / ``amqp_url``: a fresh virtual host on that broker for each test, and its
  URL; the vhost is deleted after the test, so no test sees another's queues.
- ``amqp_broker_factory``: more brokers, with options (``amqp_broker_factory(heartbeat=5)``);
  each is stopped after the test.
- ``amqp_management_broker`` / ``amqp_management_url``: a second session broker with
  RabbitMQ's management HTTP API on, and the API's base URL with guest's credentials
  (``http://guest:guest@127.0.0.1:PORT``, as nameko's ``--rabbit-api-uri`` takes it); the
  HTTP stack is loaded only by a session that asks for them.
- TLS: ``amqps_broker``, ``amqps_vhost``, ``amqps_url``, ``amqps_ssl_context`` and
  ``amqps_certificates`` (a throw-away CA; ``tls_fixtures.py``).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest

from amqpbroker.embedded.broker import BrokerThread

from .tls_fixtures import (
    amqps_broker,
    amqps_certificates,
    amqps_ssl_context,
    amqps_url,
    amqps_vhost,
)

__all__ = [
    "amqp_broker",
    "amqp_broker_factory",
    "amqp_management_broker",
    "amqp_management_url",
    "amqp_url",
    "amqp_vhost",
    "amqps_broker",
    "amqps_certificates",
    "amqps_ssl_context",
    "amqps_url",
    "amqps_vhost",
]

# AMQP carries a vhost name as a short string: keep the test's name well under 255 bytes.
_NAME_BYTES = 100
_vhost_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def amqp_broker() -> Iterator[BrokerThread]:
    """The session's broker: in memory, on a free port, on its own thread.  ``.url`` is its
    default vhost ``/``; most tests want ``amqp_url`` instead (a vhost of their own)."""
    with BrokerThread() as broker:
        yield broker


@pytest.fixture(scope="session")
def amqp_management_broker() -> Iterator[BrokerThread]:
    """A session broker with the management HTTP API on (``.management_url``, ``.url``),
    in memory, on free ports."""
    with BrokerThread(management=True) as broker:
        yield broker


@pytest.fixture(scope="session")
def amqp_management_url(amqp_management_broker: BrokerThread) -> str:
    """``http://guest:guest@127.0.0.1:PORT``: ``amqp_management_broker``'s management API
    with the default user's credentials; its AMQP URL is ``amqp_management_broker.url``."""
    config = amqp_management_broker.config
    scheme, _, address = amqp_management_broker.management_url.rstrip("/").partition("://")
    user, password = quote(config.default_user, safe=""), quote(config.default_pass, safe="")
    return f"{scheme}://{user}:{password}@{address}"


@pytest.fixture
def amqp_vhost(amqp_broker: BrokerThread, request: pytest.FixtureRequest) -> Iterator[str]:
    """The name of a virtual host made for this test on ``amqp_broker`` (named after the
    test), deleted after it: connections still open on it are closed then."""
    yield from vhost_for_test(amqp_broker, request)


def vhost_for_test(broker: BrokerThread, request: pytest.FixtureRequest) -> Iterator[str]:
    """Make a vhost named after the test on ``broker``, yield its name, delete it."""
    test_name = request.node.name.encode()[:_NAME_BYTES].decode("utf-8", "ignore")
    name = f"{test_name}-{next(_vhost_numbers)}"
    broker.add_vhost(name)
    yield name
    with contextlib.suppress(LookupError):  # the test may have deleted it itself
        broker.delete_vhost(name)


@pytest.fixture
def amqp_url(amqp_broker: BrokerThread, amqp_vhost: str) -> str:
    """``amqp://guest:guest@127.0.0.1:PORT/VHOST``: this test's own vhost (``amqp_vhost``)
    on the session's broker, for ``pika.URLParameters`` or ``aio_pika.connect``."""
    return amqp_broker.url_for(amqp_vhost)


@pytest.fixture
def amqp_broker_factory() -> Iterator[Callable[..., BrokerThread]]:
    """Start brokers of the test's own: ``amqp_broker_factory(heartbeat=5)`` returns a
    running ``BrokerThread``; options are ``BrokerConfig`` fields (``frame_max``,
    ``channel_max``, ``default_vhost``, ``data_dir``...) or ``clock``.  All are stopped
    after the test."""
    started: list[BrokerThread] = []

    def start(**options: Any) -> BrokerThread:
        broker = BrokerThread(**options)
        broker.start()
        started.append(broker)
        return broker

    yield start
    for broker in reversed(started):
        broker.stop()
