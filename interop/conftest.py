"""Shared set-up for interop/: the raw AMQP test client on sys.path, and the reference broker
check for the differential suite.

The differential tests (marker ``differential``) need a real RabbitMQ at
``AMQPBROKER_REFERENCE_URL`` (default ``amqp://guest:guest@127.0.0.1:5673/``, which
``interop/refbroker.sh start`` provides).  If it cannot be reached, every differential test is
skipped with the reason, and the terminal summary ends with a banner saying the differential
suite did not run.  Set ``AMQPBROKER_REFERENCE_REQUIRED=1`` (CI, once RabbitMQ is installed)
to make an unreachable reference a failure instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

TESTS_SERVER = Path(__file__).resolve().parent.parent / "tests" / "server"
if str(TESTS_SERVER) not in sys.path:
    sys.path.insert(0, str(TESTS_SERVER))

UNREACHABLE = pytest.StashKey[str]()
BANNER = "DIFFERENTIAL SUITE DID NOT RUN: reference RabbitMQ unreachable at {url} ({reason})"


def reference_url() -> str:
    return os.environ.get("AMQPBROKER_REFERENCE_URL", "amqp://guest:guest@127.0.0.1:5673/")


def reference_required() -> bool:
    return os.environ.get("AMQPBROKER_REFERENCE_REQUIRED", "") not in ("", "0")


def probe_reference(url: str, timeout: float = 5.0) -> str | None:
    """None if a full AMQP handshake with ``url`` succeeds, else why not."""
    from urllib.parse import unquote, urlparse  # noqa: PLC0415

    from rawamqp import RawAMQP  # noqa: PLC0415

    parts = urlparse(url)
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    try:
        conn = RawAMQP.connect(
            parts.hostname or "127.0.0.1",
            parts.port or 5672,
            timeout=timeout,
            user=unquote(parts.username or "guest"),
            password=unquote(parts.password or "guest"),
            vhost=vhost,
        )
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    conn.close()
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "differential: compares amqpbroker with the reference RabbitMQ"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    differential = [item for item in items if item.get_closest_marker("differential")]
    if not differential:
        return
    url = reference_url()
    reason = probe_reference(url)
    if reason is None:
        return
    message = BANNER.format(url=url, reason=reason)
    config.stash[UNREACHABLE] = message
    if reference_required():
        return  # the tests fail in the differential fixture, saying the same thing
    for item in differential:
        item.add_marker(pytest.mark.skip(reason=message))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    message = config.stash.get(UNREACHABLE, None)
    if message is None:
        return
    terminalreporter.write_sep("!", "", red=True, bold=True)
    terminalreporter.write_line(message, red=True, bold=True)
    terminalreporter.write_line(
        "Start it with interop/refbroker.sh start (or point AMQPBROKER_REFERENCE_URL at a "
        "RabbitMQ 3.x), then rerun: python -m pytest interop/differential",
        red=True,
    )
    terminalreporter.write_sep("!", "", red=True, bold=True)


@pytest.fixture(scope="session")
def reference_broker_url(request: pytest.FixtureRequest) -> str:
    """The reference RabbitMQ's URL; fails (AMQPBROKER_REFERENCE_REQUIRED) if unreachable."""
    message = request.config.stash.get(UNREACHABLE, None)
    if message is not None:
        pytest.fail(message, pytrace=False)
    return reference_url()
