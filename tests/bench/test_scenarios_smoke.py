"""A smoke run of each load scenario at tiny size (`amqpbroker bench --scenario X`), so the
benchmark cannot rot.  Speed is the benchmark's business; these check that every figure is
there and that nothing was lost, duplicated or reordered.

With ``AMQPBROKER_TEST_URL`` set they load that broker (e.g. the reference RabbitMQ) instead
of a fresh ``amqpbroker serve`` process.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from click.testing import CliRunner

from amqpbroker.cli import main

EXTERNAL_URL = os.environ.get("AMQPBROKER_TEST_URL")
TINY = ["--duration", "0.3", "--count", "500"]


def bench(*arguments: str) -> list[dict[str, Any]]:
    """Run ``amqpbroker bench`` and return its JSON lines."""
    url = ["--url", EXTERNAL_URL] if EXTERNAL_URL else []
    result = CliRunner().invoke(main, ["bench", *url, *arguments])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]


def assert_intact(figures: dict[str, Any]) -> None:
    assert figures["consumed"] > 0
    assert (figures["lost"], figures["duplicated"], figures["reordered"]) == (0, 0, 0)
    assert figures["undelivered"] == 0
    assert 0 <= figures["loadgen_cpu_max_pct"] < 200


@pytest.mark.parametrize("letter", ["a", "b", "d", "e"])
def test_throughput_scenarios_deliver_every_message(letter: str) -> None:
    # Many queues take long to drain what a tenth of a second at full speed put in them.
    paced = {"d": ["--rate", "5000"], "e": ["--rate", "500"]}.get(letter, [])
    (figures,) = bench("--scenario", letter, *TINY, *paced)
    assert figures["scenario"].startswith(f"{letter}-")
    assert_intact(figures)
    # Within 0.3 s a slow broker may deliver nothing yet: the rate is its business.
    assert figures["publish_rate"] > 0 and figures["consume_rate"] >= 0
    queues = {"d": 10, "e": 50}.get(letter, 1)
    assert figures["consumers"] == queues
    assert figures["consumed"] == figures["published"] * (queues if letter == "d" else 1)
    assert 0 < figures["latency_p50_ms"] <= figures["latency_p99_ms"] <= figures["latency_max_ms"]


def test_persistent_confirms_scenario_confirms_what_it_publishes() -> None:
    (figures,) = bench("--scenario", "c-persistent-confirms", *TINY)
    assert_intact(figures)
    assert figures["nacked"] == 0
    assert figures["confirmed"] == figures["published"] == figures["consumed"]
    assert figures["confirm_rate"] > 0


def test_latency_scenario_publishes_at_its_rate() -> None:
    (figures,) = bench("--scenario", "f", "--duration", "0.5")
    assert_intact(figures)
    assert 1500 <= figures["publish_rate"] <= 2500
    assert figures["latency_p99_ms"] is not None


def test_backlog_scenario_reports_memory_and_drain() -> None:
    (figures,) = bench("--scenario", "g", *TINY)
    assert_intact(figures)
    assert figures["backlog"] == figures["consumed"] == 500
    assert figures["publish_rate"] > 0 and figures["drain_rate"] > 0
    if not EXTERNAL_URL:  # our own broker's pid is known
        assert figures["rss_peak_mb"] >= figures["rss_before_mb"] > 0
        assert figures["memory_growth_mb"] is not None


def test_topic_scenario_compares_few_and_many_bindings() -> None:
    (figures,) = bench("--scenario", "h", *TINY)
    assert_intact(figures)
    assert figures["rate_10_bindings"] > 0 and figures["rate_10000_bindings"] > 0
    ratio = figures["rate_10000_bindings"] / figures["rate_10_bindings"]
    assert figures["binding_ratio"] == pytest.approx(ratio, abs=0.001)


def test_compare_without_a_reference_measures_amqpbroker_alone() -> None:
    nowhere = "amqp://guest:guest@127.0.0.1:1/"
    arguments = ["--compare", "--scenario", "a", "--rounds", "1", "--reference-url", nowhere]
    result = CliRunner().invoke(main, ["bench", *arguments, *TINY])
    assert result.exit_code == 0, result.output
    assert "reference RabbitMQ not answering" in result.output
    (row,) = json.loads(result.output.splitlines()[-1])["comparison"]
    assert row["scenario"] == "a" and row["amqpbroker"] > 0 and row["RabbitMQ"] is None
