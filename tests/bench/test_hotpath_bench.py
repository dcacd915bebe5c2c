"""A smoke run of the hot-path benchmark (`amqpbroker bench --scenario hotpath`), so it
cannot rot: every case reports a CPU cost per message, and the cases really move messages."""

from __future__ import annotations

import json

from click.testing import CliRunner

from amqpbroker.bench.hotpath import CASES
from amqpbroker.cli import main


def test_hotpath_scenario_reports_a_cost_per_message_for_each_case() -> None:
    result = CliRunner().invoke(main, ["bench", "--scenario", "hotpath", "--count", "2000"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.splitlines()[-1])
    assert figures["scenario"] == "hotpath"
    for name in CASES:
        assert 0 < figures[f"{name}_us_min"] <= figures[f"{name}_us_median"] < 10_000, name


def test_each_case_really_delivers() -> None:
    for name, case in CASES.items():
        run = case()
        assert run(3000) >= 3000, name
