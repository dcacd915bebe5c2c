"""The management API's tests: real HTTP requests to an embedded ``BrokerThread(management=
True)`` (one per module), through ``mgmt_http.Api``."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from mgmt_http import Api

from amqpbroker.embedded.broker import BrokerThread

_names = itertools.count(1)


@pytest.fixture(scope="module")
def mgmt_broker() -> Iterator[BrokerThread]:
    with BrokerThread(management=True) as broker:
        yield broker


@pytest.fixture
def api(mgmt_broker: BrokerThread) -> Api:
    return Api(mgmt_broker.management_url)


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """A name of this test's own, for users and vhosts."""
    return f"t{next(_names)}-{request.node.name[:40]}"
