"""``amqpbroker bench --compare`` (``make bench``): every scenario against a fresh amqpbroker
and the reference RabbitMQ, alternating (amqpbroker, RabbitMQ, amqpbroker, ...) for a few
rounds, then a table of medians with the ratio amqpbroker / RabbitMQ and issue 7's targets.

Without a RabbitMQ answering on the reference URL only amqpbroker is measured.
"""

from __future__ import annotations

import socket
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlparse

from .report import ProgressLine, json_line, summary, table
from .runs import Figures
from .scenarios import Scenario, Settings, run_scenario
from .target import Target, own_broker, url_target

OURS, THEIRS = "amqpbroker", "RabbitMQ"


@dataclass(frozen=True)
class Headline:
    """The figure that matters for a scenario, and issue 7's target for it."""

    letter: str
    key: str
    label: str
    higher_is_better: bool
    target: float | None  # for the ratio amqpbroker / RabbitMQ
    own: bool = False  # the target is for amqpbroker's own figure (h's 10k / 10 ratio)

    def met(self, ours: float | None, ratio: float | None) -> str:
        value = ours if self.own else ratio
        if self.target is None or value is None:
            return ""
        good = value >= self.target if self.higher_is_better else value <= self.target
        return "yes" if good else "NO"

    def target_text(self) -> str:
        if self.target is None:
            return ""
        sign = ">=" if self.higher_is_better else "<="
        return f"{sign}{self.target:g}" + (" own" if self.own else "x")


HEADLINES = [
    Headline("a", "consume_rate", "consume msg/s", True, 1.0),
    Headline("b", "consume_rate", "consume msg/s", True, 1.0),
    Headline("c", "confirm_rate", "confirm msg/s", True, 1.0),
    Headline("d", "consume_rate", "consume msg/s, 10 queues", True, 1.0),
    Headline("e", "consume_rate", "consume msg/s, 50 queues", True, 1.0),
    Headline("f", "latency_p99_ms", "latency p99 ms", False, 1.0),
    Headline("f", "latency_p50_ms", "latency p50 ms", False, None),
    Headline("g", "memory_growth_mb", "memory growth MB", False, 0.25),
    Headline("g", "drain_rate", "drain msg/s", True, 1.0),
    Headline("g", "publish_rate", "publish msg/s", True, None),
    Headline("h", "binding_ratio", "rate 10k / 10 bindings", True, 0.9, own=True),
]


def reference_target(url: str) -> Target | None:
    """RabbitMQ at ``url`` if it accepts a connection, with its pid when we can see it."""
    parts = urlparse(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 5672), timeout=2):
            pass
    except OSError:
        return None
    return url_target(url, None)


async def compare(
    scenarios: Sequence[Scenario],
    settings: Settings,
    rounds: int,
    reference: Target | None,
    echo: Callable[[str], None],
    terminal: TextIO,
) -> None:
    started = time.monotonic()
    sides = [OURS] + ([THEIRS] if reference else [])
    if reference is None:
        echo(
            "reference RabbitMQ not answering (../shared/tools/refbroker.sh start starts "
            "one): measuring amqpbroker alone"
        )
    runs: dict[tuple[str, str], list[Figures]] = defaultdict(list)
    for round_number in range(1, rounds + 1):
        for scenario in scenarios:
            for side in sides:
                figures = await _run(scenario, side, reference, settings, terminal)
                figures["round"] = round_number
                for line in [*summary(figures), json_line(figures)]:
                    echo(line)
                runs[(scenario.letter, side)].append(figures)
    rows = comparison(runs, [s.letter for s in scenarios], sides)
    echo("")
    echo(f"medians of {rounds} round(s), {time.monotonic() - started:.0f} s in all:")
    for line in table(_HEADER, [_cells(row) for row in rows]):
        echo(line)
    echo(json_line({"comparison": rows}))


async def _run(
    scenario: Scenario, side: str, reference: Target | None, settings: Settings, terminal: TextIO
) -> Figures:
    progress = ProgressLine(f"{scenario.name} on {side}", terminal)
    try:
        if side == OURS:
            with own_broker() as target:
                return await run_scenario(scenario, target, settings, progress)
        assert reference is not None
        return await run_scenario(scenario, reference, settings, progress)
    except Exception as error:  # one failed run must not lose the others
        return {
            "scenario": scenario.name,
            "broker": side,
            "error": f"{type(error).__name__}: {error}",
        }
    finally:
        progress.clear()


def comparison(
    runs: dict[tuple[str, str], list[Figures]], letters: list[str], sides: list[str]
) -> list[dict[str, Any]]:
    """One row per headline figure: medians per broker, ratio, target, load-generator CPU."""
    rows = []
    for headline in HEADLINES:
        if headline.letter not in letters:
            continue
        ours = _median(runs[(headline.letter, OURS)], headline.key)
        theirs = _median(runs[(headline.letter, THEIRS)], headline.key) if THEIRS in sides else None
        ratio = ours / theirs if ours is not None and theirs else None
        rows.append(
            {
                "scenario": headline.letter,
                "figure": headline.label,
                OURS: ours,
                THEIRS: theirs,
                "ratio": round(ratio, 3) if ratio is not None else None,
                "target": headline.target_text(),
                "met": headline.met(ours, ratio),
                "loadgen_cpu_max_pct": {
                    side: _median(runs[(headline.letter, side)], "loadgen_cpu_max_pct")
                    for side in sides
                },
                "failed_runs": sum(
                    "error" in f for side in sides for f in runs[(headline.letter, side)]
                ),
            }
        )
    return rows


def _median(runs: list[Figures], key: str) -> float | None:
    values = [f[key] for f in runs if f.get(key) is not None]
    return statistics.median(values) if values else None


_HEADER = ["", "figure", OURS, THEIRS, "ratio", "target", "met", "load gen busiest CPU %"]


def _cells(row: dict[str, Any]) -> list[str]:
    cpu = " / ".join(_number(v) for v in row["loadgen_cpu_max_pct"].values())
    failed = f" ({row['failed_runs']} failed)" if row["failed_runs"] else ""
    return [
        row["scenario"],
        row["figure"] + failed,
        _number(row[OURS]),
        _number(row[THEIRS]),
        _number(row["ratio"]),
        row["target"],
        row["met"],
        cpu,
    ]


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
