"""``amqpbroker bench --scenario alarm`` with a flood too small to reach the watermark: it says
so and how to mend it, promptly and without a traceback, instead of waiting for an alarm that
cannot come.  (The flood that trips the alarm is the benchmark's business: issue 17.)"""

from __future__ import annotations

from click.testing import CliRunner

from amqpbroker.cli import main


def test_a_flood_under_the_mark_is_refused_with_the_reason() -> None:
    args = ["bench", "--scenario", "alarm", "--count", "200", "--size", "1000"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "all 200 messages of 1000 bytes were taken without the memory alarm" in result.output
    assert "raise --count or --size" in result.output
    assert "Traceback" not in result.output
