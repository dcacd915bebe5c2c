"""What the bench tells a person: the live progress line on a terminal, and a warning when
a load-generator process is the bottleneck."""

from __future__ import annotations

import io
from typing import Any

import pytest

from amqpbroker.bench import report
from amqpbroker.bench.report import ProgressLine, summary
from amqpbroker.bench.runs import loadgen_figures


def worker(role: str, number: int, cpu: float) -> dict[str, Any]:
    return {"role": role, "id": number, "cpu_percent": cpu}


def run_figures(**more: Any) -> dict[str, Any]:
    return {"scenario": "a-1to1-16b", "broker": "amqpbroker", "consume_rate": 1000, **more}


def test_a_load_generator_process_near_100_percent_cpu_is_named_as_the_bottleneck():
    figures = loadgen_figures([worker("publisher", 0, 40.0), worker("consumer", 0, 95.0)])
    assert figures["loadgen_cpu_max_worker"] == "consumer 0"
    assert figures["saturated"] == ["consumer 0 at 95% CPU"]
    lines = summary(run_figures(**figures))
    assert lines[-1] == "load generator saturated: consumer 0 at 95% CPU"


def test_a_load_generator_with_room_to_spare_draws_no_warning():
    figures = loadgen_figures([worker("publisher", 0, 40.0), worker("consumer", 0, 60.0)])
    assert figures["saturated"] == []
    assert not any("saturated" in line for line in summary(run_figures(**figures)))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Fleet:
    """What the progress line reads of the worker fleet: counters and CPU time."""

    publishers = [0]
    consumers = [1]
    launched = [0, 1]

    def __init__(self) -> None:
        self.sent = self.received = 0
        self.cpu = {0: 0, 1: 0}

    def total(self, slots: list[int], name: str) -> int:
        return self.sent if name == "sent" else self.received

    def cpu_ns(self, slot: int) -> int:
        return self.cpu[slot]


def test_the_progress_line_shows_live_rates_on_a_terminal(monkeypatch: pytest.MonkeyPatch):
    clock = [100.0]
    monkeypatch.setattr(report, "monotonic", lambda: clock[0])
    stream, fleet = Terminal(), Fleet()
    line = ProgressLine("a-1to1-16b", stream)
    line(fleet)  # the first reading: nothing to compare with yet
    clock[0] += 1.0
    fleet.sent, fleet.received, fleet.cpu[1] = 5000, 4000, 250_000_000
    line(fleet)
    shown = stream.getvalue()
    assert shown.startswith("\ra-1to1-16b")
    assert "publish     5,000/s" in shown and "consume     4,000/s" in shown
    assert "busiest load-generator process  25% CPU" in shown
    line.clear()
    assert stream.getvalue().endswith("\r\033[K")


def test_the_progress_line_is_silent_when_not_on_a_terminal(monkeypatch: pytest.MonkeyPatch):
    clock = [100.0]
    monkeypatch.setattr(report, "monotonic", lambda: clock[0])
    stream, fleet = io.StringIO(), Fleet()
    line = ProgressLine("a-1to1-16b", stream)
    for _ in range(3):
        clock[0] += 1.0
        line(fleet)
    assert stream.getvalue() == ""
