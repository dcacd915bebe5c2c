"""``amqpbroker bench --scenario connections`` at a small size: the fleet connects, each
client consuming, a new client is timed and a message reaches a held consumer.  (The 10,000
clients of issue 17 are the benchmark's business; this keeps the scenario from rotting.)"""

from __future__ import annotations

import json

from click.testing import CliRunner

from amqpbroker.cli import main


def test_a_small_fleet_connects_and_a_newcomer_is_timed() -> None:
    result = CliRunner().invoke(main, ["bench", "--scenario", "connections", "--count", "60"])
    assert result.exit_code == 0, result.output
    figures = json.loads(next(line for line in result.output.splitlines() if line[:1] == "{"))
    assert figures["connections"] == 60
    assert figures["connect_all_s"] > 0
    assert 0 < figures["new_client_ms_median"] <= figures["new_client_ms_max"]
    assert figures["message_to_held_consumer_ms"] > 0
    assert 0 < figures["broker_rss_mb_idle"] <= figures["broker_peak_rss_mb"]
