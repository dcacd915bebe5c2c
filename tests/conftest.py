"""Shared fixtures: a real broker on an ephemeral port, driven by real clients.

Set ``AMQPBROKER_TEST_URL`` (e.g. ``amqp://guest:guest@127.0.0.1:5673/``) to run the same tests
against another broker, such as the reference RabbitMQ; tests that need to configure or stop
the broker itself are skipped then.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import pytest

from amqpbroker.embedded.broker import BrokerThread

EXTERNAL_URL = os.environ.get("AMQPBROKER_TEST_URL")
NETWORK = (socket.AF_INET, socket.AF_INET6)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--no-network",
        action="store_true",
        help="fail every test that opens a network socket (make test-fast: the instant tests)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--no-network"):
        _forbid_network_sockets()


def _forbid_network_sockets() -> None:
    """``make test-fast`` runs the in-process tests only: a test that connects or listens on a
    TCP socket fails there (its place is tests/server, tests/durability or interop).  Local
    socket pairs (an event loop's self-pipe) stay allowed."""

    def guard(method: Callable[..., Any]) -> Callable[..., Any]:
        def refuse(sock: socket.socket, *args: Any) -> Any:
            if sock.family in NETWORK:
                raise RuntimeError(
                    "a network socket in a test run with --no-network (make test-fast): "
                    "socket tests belong in tests/server, tests/durability or interop"
                )
            return method(sock, *args)

        return refuse

    for name in ("bind", "connect", "connect_ex"):
        setattr(socket.socket, name, guard(getattr(socket.socket, name)))


@dataclass
class ExternalBroker:
    """A broker the tests do not own (the reference RabbitMQ)."""

    url: str

    @property
    def host(self) -> str:
        return urlparse(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlparse(self.url).port or 5672

    def stop(self) -> None:
        pytest.skip("cannot stop an external broker")


@pytest.fixture
def broker_factory() -> Iterator[Callable[..., Any]]:
    """Start brokers of our own with config overrides: ``broker_factory(heartbeat=1)``."""
    if EXTERNAL_URL:
        pytest.skip("needs a broker the test can configure")
    started: list[BrokerThread] = []

    def start(**overrides: Any) -> BrokerThread:
        b = BrokerThread(**overrides)
        b.start()
        started.append(b)
        return b

    yield start
    for b in started:
        b.stop()


# RabbitMQ drops a client that fails the handshake 3 s later (silent_close_delay) and one that
# does not answer connection.close after 3 s (close_timeout).  The session tests pin both
# (tests/session/test_handshake_errors.py, test_frame_errors.py); the socket tests only need
# the drop to happen, so the broker they own waits less (RabbitMQ still takes its 3 s).
QUICK_DROPS = {"silent_close_delay": 0.5, "close_timeout": 1.0}


@pytest.fixture
def broker() -> Iterator[Any]:
    """A broker on an ephemeral port with ``.host``, ``.port``, ``.url`` and ``.stop()``."""
    if EXTERNAL_URL:
        yield ExternalBroker(EXTERNAL_URL)
        return
    with BrokerThread(**QUICK_DROPS) as b:
        yield b


@pytest.fixture
def broker_url(broker: Any) -> str:
    return str(broker.url)


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Names unique to this test, so tests can share one external broker."""
    token = uuid.uuid4().hex[:10]
    return lambda name: f"{name}-{token}"


class _CrashCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def no_broker_crashes() -> Iterator[None]:
    """Fail any test during which the broker logged an error or a traceback."""
    collector = _CrashCollector()
    watched = [logging.getLogger("amqpbroker"), logging.getLogger("asyncio")]
    for logger in watched:
        logger.addHandler(collector)
    yield
    for logger in watched:
        logger.removeHandler(collector)
    crashes = [
        f"{r.name}: {r.getMessage()}"
        for r in collector.records
        if r.name.startswith("amqpbroker") or r.exc_info
    ]
    assert not crashes, f"broker logged errors: {crashes}"
