"""A smoke run of the start-up benchmark (`amqpbroker bench --scenario startup`), so it cannot
rot.  It asserts that the figures are there and sane, not how fast they are: speed is the
benchmark's business, not the test suite's."""

from __future__ import annotations

import json

from click.testing import CliRunner

from amqpbroker.cli import main


def test_startup_scenario_reports_every_way_to_start() -> None:
    result = CliRunner().invoke(main, ["bench", "--scenario", "startup", "--count", "2"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.splitlines()[-1])
    assert figures["scenario"] == "startup" and figures["runs"] == 2
    for key in (
        "broker_async_ms_median",
        "broker_thread_ms_median",
        "import_and_start_ms_median",
        "serve_process_ms_median",
    ):
        assert 0 < figures[key] < 60_000, key
