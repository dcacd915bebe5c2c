"""What the bench prints: a live progress line (on a terminal only), a summary per run, one
JSON line per run for scripts, and the comparison table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from time import monotonic
from typing import Any, TextIO

from .fleet import Fleet

_REFRESH = 0.5


class BenchSetupError(Exception):
    """A run whose options left nothing to measure: the CLI prints why, without a traceback."""


class ProgressLine:
    """Rates over the last half second, rewritten in place; silent unless ``stream`` is a TTY."""

    def __init__(self, label: str, stream: TextIO) -> None:
        self.label = label
        self.stream = stream
        self.enabled = stream.isatty()
        self._started = monotonic()
        self._last: tuple[float, int, int, dict[int, int]] | None = None
        self._shown = False

    def __call__(self, fleet: Fleet) -> None:
        if not self.enabled:
            return
        now = monotonic()
        if self._last is not None and now - self._last[0] < _REFRESH:
            return
        sent = fleet.total(fleet.publishers, "sent")
        received = fleet.total(fleet.consumers, "received")
        cpu = {slot: fleet.cpu_ns(slot) for slot in fleet.launched}
        if self._last is not None:
            self._show(now, sent, received, cpu)
        self._last = (now, sent, received, cpu)

    def _show(self, now: float, sent: int, received: int, cpu: dict[int, int]) -> None:
        assert self._last is not None
        then, sent_then, received_then, cpu_then = self._last
        seconds = now - then
        busiest = max((cpu[slot] - cpu_then.get(slot, cpu[slot]) for slot in cpu), default=0) / (
            seconds * 1e7
        )
        text = (
            f"{self.label}  {now - self._started:5.1f} s  "
            f"publish {(sent - sent_then) / seconds:>9,.0f}/s  "
            f"consume {(received - received_then) / seconds:>9,.0f}/s  "
            f"busiest load-generator process {busiest:3.0f}% CPU"
        )
        self.stream.write(f"\r{text}\033[K")
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._shown = False


def summary(figures: dict[str, Any]) -> list[str]:
    """A human line for one run, and a line per saturated load-generator process."""
    if "error" in figures:
        return [f"{figures['scenario']} on {figures['broker']}: FAILED: {figures['error']}"]
    parts = [
        f"{label} {figures[key]:,}/s"
        for key, label in (
            ("publish_rate", "publish"),
            ("confirm_rate", "confirm"),
            ("consume_rate", "consume"),
            ("drain_rate", "drain"),
        )
        if figures.get(key) is not None
    ]
    parts += _latency(figures) + _integrity(figures) + _memory(figures) + _bindings(figures)
    parts += _cpu(figures) + _poller(figures)
    lines = [f"{figures['scenario']} on {figures['broker']}: " + "  ".join(parts)]
    lines += [f"load generator saturated: {s}" for s in figures.get("saturated", [])]
    return lines


def _poller(figures: dict[str, Any]) -> list[str]:
    poller = figures.get("management_poller")
    if poller is None:
        return []
    if "polls" not in poller:
        return ["management poller FAILED"]
    failed = f", {poller['failures']} failed" if poller["failures"] else ""
    return [
        f"GET /api/queues polled {poller['polls']}x{failed}: median {poller['median_ms']} ms, "
        f"max {poller['max_ms']} ms"
    ]


def _latency(figures: dict[str, Any]) -> list[str]:
    if figures.get("latency_p50_ms") is None:
        return []
    values = " ".join(
        f"{name} {figures[f'latency_{name}_ms']:g}" for name in ("p50", "p95", "p99", "max")
    )
    return [f"latency ms {values}"]


def _integrity(figures: dict[str, Any]) -> list[str]:
    counts = [
        f"{name} {figures[name]:,}"
        for name in ("lost", "duplicated", "reordered", "undelivered")
        if name in figures and (figures[name] or name != "undelivered")
    ]
    return [" ".join(counts)] if counts else []


def _memory(figures: dict[str, Any]) -> list[str]:
    if figures.get("memory_growth_mb") is None:
        return []
    return [
        f"backlog {figures['backlog']:,}: broker memory +{figures['memory_growth_mb']} MB "
        f"(peak RSS {figures['rss_peak_mb']} MB)"
    ]


def _bindings(figures: dict[str, Any]) -> list[str]:
    if "binding_ratio" not in figures:
        return []
    return [
        f"10 bindings {figures['rate_10_bindings']:,}/s, 10,000 bindings "
        f"{figures['rate_10000_bindings']:,}/s (ratio {figures['binding_ratio']})"
    ]


def _cpu(figures: dict[str, Any]) -> list[str]:
    parts = []
    if figures.get("broker_cpu_pct") is not None:
        parts.append(f"broker CPU {figures['broker_cpu_pct']}%")
    parts.append(
        f"load generator CPU: busiest {figures['loadgen_cpu_max_pct']}% "
        f"({figures['loadgen_cpu_max_worker']}), all {figures['loadgen_cpu_total_pct']}%"
    )
    return parts


def json_line(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"))


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Plain-text columns: the first left-aligned, the rest right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        return "  ".join(cells).rstrip()

    return [line(header), line(["-" * w for w in widths]), *map(line, rows)]
