"""The same steps (``steps.py``) through ``rabbitmqctl -n NODE`` against the reference RabbitMQ
and through ``amqpbroker ctl`` against amqpbroker, live; every step's stdout, stderr and exit
code compared once row order and the reference's other users and vhosts are set aside.

Skipped when rabbitmqctl is not installed or cannot reach the node (it needs the node's Erlang
cookie: run as root; ``reference_node.py`` names the node).  ``AMQPBROKER_REFERENCE_API``
(http://127.0.0.1:15673) is its management API."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from amqpbroker.cli import main
from amqpbroker.embedded.broker import BrokerThread
from ctl import reference_node
from ctl.steps import AFTER_QUEUES, BEFORE_QUEUES, normalised, run_all

API = os.environ.get("AMQPBROKER_REFERENCE_API", "http://127.0.0.1:15673")
STEPS = [step for step, _ in BEFORE_QUEUES + AFTER_QUEUES]
pytestmark = pytest.mark.timeout(900)  # ~50 rabbitmqctl runs (an Erlang VM each) on a loaded box


def _ctl(url: str, args: list[str]) -> dict[str, Any]:
    """amqpbroker ctl in process (tests/management/test_ctl_cli.py runs it as a subprocess)."""
    result = CliRunner().invoke(main, ["ctl", "--url", url, *args])
    return {"stdout": result.stdout, "stderr": result.stderr, "exit_code": result.exit_code}


@pytest.fixture(scope="module")
def both() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    reference_node.require()
    theirs = run_all(reference_node.rabbitmqctl, API)
    with BrokerThread(management=True) as broker:
        url = broker.management_url.rstrip("/")
        ours = run_all(lambda args: _ctl(url, args), url)
    yield theirs, ours


@pytest.mark.parametrize("step", STEPS)
def test_amqpbroker_ctl_prints_what_rabbitmqctl_prints(
    both: tuple[dict[str, Any], dict[str, Any]], step: str
) -> None:
    theirs, ours = both
    assert normalised(step, ours[step]) == normalised(step, theirs[step])
