"""``amqpbroker ctl`` (click's CliRunner) against an embedded broker, step by step, compared
with what rabbitmqctl 3.10.8 printed for the same steps against RabbitMQ
(``tests/fixtures/rabbitmqctl-3.10.8.json``, recorded by ``interop/ctl/capture.py``): the
same banners, headers, rows, value formats, error texts and exit codes once row order and a
shared broker's other users and vhosts are set aside (``steps.normalised``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from amqpbroker.cli import main
from amqpbroker.embedded.broker import BrokerThread

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "interop"))
from ctl.steps import AFTER_QUEUES, BEFORE_QUEUES, normalised, run_all  # noqa: E402

RECORDED: dict[str, dict[str, Any]] = json.loads(
    (ROOT / "tests" / "fixtures" / "rabbitmqctl-3.10.8.json").read_text()
)


def run_ctl(url: str, args: list[str], stdin: str = "") -> dict[str, Any]:
    result = CliRunner().invoke(main, ["ctl", "--url", url, *args], input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return {"stdout": result.stdout, "stderr": result.stderr, "exit_code": result.exit_code}


@pytest.fixture(scope="module")
def ours() -> Iterator[dict[str, dict[str, Any]]]:
    """Every step's output from amqpbroker ctl against a fresh broker."""
    with BrokerThread(management=True) as broker:
        url = broker.management_url.rstrip("/")
        yield run_all(lambda args: run_ctl(url, args), url)


def test_the_fixture_holds_every_step() -> None:
    assert set(RECORDED) == {step for step, _ in BEFORE_QUEUES + AFTER_QUEUES}


@pytest.mark.parametrize("step", [step for step, _ in BEFORE_QUEUES + AFTER_QUEUES])
def test_the_output_is_rabbitmqctls(ours: dict[str, dict[str, Any]], step: str) -> None:
    assert normalised(step, ours[step]) == normalised(step, RECORDED[step])


def test_row_order_is_all_the_normalising_takes_from_a_queue_listing(
    ours: dict[str, dict[str, Any]],
) -> None:
    mine, theirs = ours["list_queues_columns"]["stdout"], RECORDED["list_queues_columns"]["stdout"]
    assert sorted(mine.splitlines()) == sorted(theirs.splitlines())
    assert mine.splitlines()[:3] == theirs.splitlines()[:3]  # banner, header in place


def test_a_missing_queue_and_user_end_as_rabbitmqctls_do(ours: dict[str, dict[str, Any]]) -> None:
    assert (ours["purge_queue_missing"]["exit_code"], ours["purge_queue_missing"]["stderr"]) == (
        69,
        "Error:\nnot_found\n",
    )
    assert ours["delete_queue_missing"]["exit_code"] == 64
    assert ours["delete_user_missing"]["stderr"] == 'Error:\nUser "ctl-u" does not exist\n'
    assert ours["delete_user_missing"]["exit_code"] == 67
    assert ours["delete_vhost_missing"]["exit_code"] == 65
