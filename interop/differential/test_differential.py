"""Every scenario against the reference RabbitMQ and against amqpbroker: observations equal.

The session fixture starts amqpbroker in-process once, then hands every selected scenario to
a thread pool twice (reference and ours) in test order, so the scenarios' waits (RabbitMQ
drops some sockets only after 3 s) overlap; each test waits for its own two outcomes.
``DIFFERENTIAL_WORKERS`` sets the pool size (1 runs everything one after another).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from amqpbroker.embedded.broker import BrokerThread

from .runner import Outcome, compare, load_scenarios, run_scenario

SCENARIOS = load_scenarios()
# pamqp warns whenever basic.recover-async is decoded (as tests/protocol does, ignore it here:
# filterwarnings=error would otherwise turn it into an exception inside the embedded broker).
pytestmark = pytest.mark.filterwarnings("ignore:This command is deprecated:DeprecationWarning")
WORKERS = int(os.environ.get("DIFFERENTIAL_WORKERS", "16"))
PER_SCENARIO_TIMEOUT = 120.0


class _ErrorLog(logging.Handler):
    """Collects what the in-process broker logs at ERROR or above (a crash is a failure)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("amqpbroker") or record.exc_info:
            self.records.append(f"{record.name}: {record.getMessage()}")


@dataclass
class Differential:
    reference_url: str
    our_url: str
    our_broker: BrokerThread
    pool: ThreadPoolExecutor
    futures: dict[str, tuple[Future[Outcome], Future[Outcome]]] = field(default_factory=dict)

    def submit(self, name: str) -> None:
        sc = SCENARIOS[name]
        self.futures[name] = (
            self.pool.submit(run_scenario, sc, self.reference_url),
            self.pool.submit(run_scenario, sc, self.our_url, self.our_broker),
        )

    def outcomes(self, name: str) -> tuple[Outcome, Outcome]:
        if name not in self.futures:
            self.submit(name)
        reference, ours = self.futures[name]
        return (
            reference.result(timeout=PER_SCENARIO_TIMEOUT),
            ours.result(timeout=PER_SCENARIO_TIMEOUT),
        )


@pytest.fixture(scope="session")
def broker_errors() -> Iterator[_ErrorLog]:
    handler = _ErrorLog()
    loggers = [logging.getLogger("amqpbroker"), logging.getLogger("asyncio")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


@pytest.fixture(scope="session")
def differential(
    request: pytest.FixtureRequest, reference_broker_url: str, broker_errors: _ErrorLog
) -> Iterator[Differential]:
    selected = [
        item.callspec.params["name"]
        for item in request.session.items
        if hasattr(item, "callspec")
        and item.get_closest_marker("differential")
        and "name" in item.callspec.params  # a scenario (other differential tests exist)
    ]
    with (
        BrokerThread() as ours,
        ThreadPoolExecutor(max(1, WORKERS), thread_name_prefix="scenario") as pool,
    ):
        diff = Differential(reference_broker_url, ours.url, ours, pool)
        for name in selected:
            diff.submit(name)
        try:
            yield diff
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.differential
@pytest.mark.timeout(PER_SCENARIO_TIMEOUT * 2)
@pytest.mark.parametrize("name", list(SCENARIOS), ids=list(SCENARIOS))
def test_scenario(name: str, differential: Differential) -> None:
    """The scenario's observation from amqpbroker equals RabbitMQ's (after normalising)."""
    reference, ours = differential.outcomes(name)
    sc = SCENARIOS[name]
    verdict = compare(sc, reference, ours)
    if sc.pending is not None and reference.error is None:
        if verdict is None:
            pytest.fail(f"{name} is pending ({sc.pending}) but now equal: remove pending=")
        pytest.xfail(f"pending: {sc.pending}")
    if verdict is not None:
        pytest.fail(f"{name}: {verdict}", pytrace=False)


@pytest.mark.differential
@pytest.mark.timeout(PER_SCENARIO_TIMEOUT * 2)
def test_broker_logged_no_errors(differential: Differential, broker_errors: _ErrorLog) -> None:
    """No scenario made the in-process broker log an error or a traceback."""
    for reference, ours in differential.futures.values():
        reference.result(timeout=PER_SCENARIO_TIMEOUT)
        ours.result(timeout=PER_SCENARIO_TIMEOUT)
    assert not broker_errors.records, f"amqpbroker logged errors: {broker_errors.records}"
