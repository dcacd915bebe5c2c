"""What ``amqpbroker bench`` does with its options (the click command is in ``cli.py``)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence

from .alarm_flood import alarm_flood
from .catalog import REFERENCE_URL
from .compare import compare, reference_target
from .connection_fleet import connection_fleet
from .hotpath import hotpath
from .management_stalls import management_stalls
from .metrics_stalls import metrics_stalls
from .recovery import recovery
from .report import ProgressLine, json_line, summary
from .scenarios import BY_NAME, SCENARIOS, Scenario, Settings, run_scenario
from .startup import startup
from .target import Target, own_broker, url_target

SINGLE_DURATION, COMPARE_DURATION = 10.0, 5.0


def run_bench(
    *,
    url: str | None,
    scenario: str,
    duration: float | None,
    count: int | None,
    size: int | None,
    rate: float | None,
    broker_pid: int | None,
    compare_brokers: bool,
    rounds: int,
    management_poller: bool = False,
    reference_url: str = REFERENCE_URL,
    echo: Callable[[str], None],
) -> None:
    if scenario == "startup":
        echo(json_line(startup(min(count or 30, 100))))
        return
    if scenario == "recovery":
        echo(json_line(recovery(count or 1_000_000, size or 1024)))
        return
    if scenario == "alarm":
        echo(json_line(alarm_flood(count or 30_000, size or 16384)))
        return
    if scenario == "connections":
        echo(json_line(connection_fleet(count or 10_000)))
        return
    if scenario == "hotpath":
        echo(json_line(hotpath(count or 50_000)))
        return
    if scenario == "management":
        echo(json_line(management_stalls(count or 10_000, 3, echo)))
        return
    if scenario == "metrics":
        echo(json_line(metrics_stalls(count or 10_000, 3, echo)))
        return
    chosen = SCENARIOS if scenario == "all" else [BY_NAME[scenario]]
    default = COMPARE_DURATION if compare_brokers else SINGLE_DURATION
    settings = Settings(duration or default, count, size, rate or 0, management_poller)
    if compare_brokers:
        reference = reference_target(reference_url)
        asyncio.run(compare(chosen, settings, rounds, reference, echo, sys.stdout))
        return
    target = url_target(url, broker_pid) if url else None
    asyncio.run(_single(chosen, settings, target, echo))


async def _single(
    scenarios: Sequence[Scenario],
    settings: Settings,
    target: Target | None,
    echo: Callable[[str], None],
) -> None:
    """Each scenario once; without a target, against a fresh amqpbroker process each."""
    for scenario in scenarios:
        progress = ProgressLine(f"{scenario.name}", sys.stdout)
        try:
            if target is None:
                with own_broker() as ours:
                    figures = await run_scenario(scenario, ours, settings, progress)
            else:
                figures = await run_scenario(scenario, target, settings, progress)
        finally:
            progress.clear()
        for line in [*summary(figures), json_line(figures)]:
            echo(line)
