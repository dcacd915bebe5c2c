"""The management API side by side: the same HTTP requests to the reference RabbitMQ's
management plugin (``AMQPBROKER_REFERENCE_MANAGEMENT_URL``, default http://127.0.0.1:15673,
guest/guest; interop/refbroker.sh enables it) and to an in-process amqpbroker.

Every test is marked ``differential``; when the reference's API does not answer they are
skipped with the reason (a failure with ``AMQPBROKER_REFERENCE_REQUIRED=1``), as
interop/conftest.py does for AMQP.  Users and vhosts made on the reference are named
``mgmt-diff-...`` and deleted after each test.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "management"))

from mgmt_http import Api, q

from amqpbroker.embedded.broker import BrokerThread

REFERENCE_API = os.environ.get(
    "AMQPBROKER_REFERENCE_MANAGEMENT_URL", "http://127.0.0.1:15673"
).rstrip("/")
_numbers = itertools.count(1)


def _unreachable() -> str | None:
    try:
        reply = Api(REFERENCE_API + "/").get("/api/overview?columns=rabbitmq_version")
    except OSError as error:
        return f"{type(error).__name__}: {error}"
    if reply.status != 200:
        return f"GET /api/overview answered {reply.status}"
    return None


@pytest.fixture(scope="session")
def reference_api() -> Api:
    reason = _unreachable()
    if reason is not None:
        message = f"reference management API unreachable at {REFERENCE_API} ({reason})"
        if os.environ.get("AMQPBROKER_REFERENCE_REQUIRED", "") not in ("", "0"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return Api(REFERENCE_API + "/")


@pytest.fixture(scope="module")
def our_broker() -> Iterator[BrokerThread]:
    with BrokerThread(management=True) as broker:
        yield broker


@pytest.fixture
def our_api(our_broker: BrokerThread) -> Api:
    return Api(our_broker.management_url)


@pytest.fixture
def new_name(reference_api: Api, our_api: Api) -> Iterator[Callable[[], str]]:
    """``new_name()``: a fresh ``mgmt-diff-PID-N`` for a user or vhost; whatever of those
    exists on either broker afterwards is deleted."""
    made: list[str] = []

    def new() -> str:
        made.append(f"mgmt-diff-{os.getpid()}-{next(_numbers)}")
        return made[-1]

    yield new
    for api in (reference_api, our_api):
        for name in made:
            api.delete(f"/api/users/{q(name)}")
            api.delete(f"/api/vhosts/{q(name)}")
