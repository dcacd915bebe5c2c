"""Measurements: latency histograms, sequence checks and measurement windows.

The recorders (``LatencyHistogram``, ``SequenceCheck``, ``Window``) run inside the worker
processes, on the hot path, and are cheap per message; each turns into a plain dict for the
trip to the parent (``to_dict``), which merges them (``merge_*``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from time import process_time_ns
from typing import Any

# Latencies are counted in microsecond buckets: exact below 2**_BITS µs, then 2**(_BITS - 1)
# buckets per power of two (under 1% error), so any latency fits in a few thousand counters.
_BITS = 8
_HALF = 1 << (_BITS - 1)
_BUCKETS = (64 - _BITS + 2) * _HALF


def bucket_of(micros: int) -> int:
    if micros < (1 << _BITS):
        return micros
    shift = micros.bit_length() - _BITS
    return shift * _HALF + (micros >> shift)


def bucket_floor(index: int) -> int:
    """The smallest latency (µs) counted in bucket ``index``."""
    if index < (1 << _BITS):
        return index
    shift = index // _HALF - 1
    return (index - shift * _HALF) << shift


class LatencyHistogram:
    """Counts of end-to-end latencies, and the exact maximum."""

    __slots__ = ("count", "counts", "max_ns")

    def __init__(self) -> None:
        self.counts = [0] * _BUCKETS
        self.count = 0
        self.max_ns = 0

    def record(self, latency_ns: int, times: int = 1) -> None:
        micros = latency_ns // 1000 if latency_ns > 0 else 0
        self.counts[bucket_of(micros)] += times
        self.count += times
        self.max_ns = max(self.max_ns, latency_ns)

    def to_dict(self) -> dict[str, Any]:
        buckets = {index: n for index, n in enumerate(self.counts) if n}
        return {"buckets": buckets, "max_ns": self.max_ns}


def latency_percentiles(histograms: Iterable[Mapping[str, Any]]) -> dict[str, float | None]:
    """p50/p95/p99/max in milliseconds over merged histograms (None without samples)."""
    merged: dict[int, int] = {}
    max_ns = 0
    for histogram in histograms:
        for index, n in histogram["buckets"].items():
            merged[int(index)] = merged.get(int(index), 0) + n
        max_ns = max(max_ns, histogram["max_ns"])
    total = sum(merged.values())
    figures: dict[str, float | None] = {}
    for name, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        figures[f"latency_{name}_ms"] = _percentile(merged, total, fraction)
    figures["latency_max_ms"] = round(max_ns / 1e6, 3) if total else None
    return figures


def _percentile(merged: dict[int, int], total: int, fraction: float) -> float | None:
    if not total:
        return None
    rank = fraction * total
    seen = 0
    for index in sorted(merged):
        seen += merged[index]
        if seen >= rank:
            return round(bucket_floor(index) / 1000, 3)
    return None  # not reached: seen ends at total


class SequenceCheck:
    """Per publisher, the sequence numbers one consumer has seen.

    In order is the fast path (``next[p]`` moves on).  A jump leaves the skipped numbers in
    ``missing[p]``; one of those arriving later is *reordered*, any other number at or below
    what was seen is *duplicated*.  What is still missing at the end was lost.
    """

    __slots__ = ("duplicated", "missing", "next", "reordered")

    def __init__(self, publishers: int) -> None:
        self.next = [0] * publishers
        self.missing: list[set[int]] = [set() for _ in range(publishers)]
        self.duplicated = 0
        self.reordered = 0

    def irregular(self, publisher: int, sequence: int) -> None:
        """``sequence`` from ``publisher`` is not ``next[publisher]``."""
        expected = self.next[publisher]
        if sequence > expected:
            self.missing[publisher].update(range(expected, sequence))
            self.next[publisher] = sequence + 1
        elif sequence in self.missing[publisher]:
            self.missing[publisher].discard(sequence)
            self.reordered += 1
        else:
            self.duplicated += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "next": list(self.next),
            "gaps": [len(m) for m in self.missing],
            "duplicated": self.duplicated,
            "reordered": self.reordered,
        }


@dataclass(frozen=True)
class Integrity:
    lost: int
    duplicated: int
    reordered: int
    undelivered: int  # sent, not seen, and the drain was cut short: maybe not lost


def integrity(
    checks: list[tuple[Mapping[str, Any], list[int]]], sent: list[int], drained: bool
) -> Integrity:
    """Merge consumers' ``SequenceCheck`` dicts, each with the publishers that feed it.

    Messages never seen after the last one seen count as lost only when the drain completed.
    """
    gaps = tail = duplicated = reordered = 0
    for check, publishers in checks:
        duplicated += check["duplicated"]
        reordered += check["reordered"]
        for publisher in publishers:
            gaps += check["gaps"][publisher]
            tail += max(0, sent[publisher] - check["next"][publisher])
    if drained:
        return Integrity(gaps + tail, duplicated, reordered, 0)
    return Integrity(gaps, duplicated, reordered, tail)


@dataclass
class Window:
    """A worker's measurement window: its counter at ``start`` and ``stop``, and its CPU time.

    ``observe(now, count)`` is called before each received chunk is counted (and at every
    tick) with the count so far.  The first call at or after a boundary therefore holds the
    count *at* the boundary, whenever it comes; CPU time is read then, so the CPU share uses
    the times of those calls (``*_seen_ns``).
    """

    start: int = 0  # monotonic ns; 0: not started
    stop: int = 0  # 0: open until ``close``
    marks: dict[str, int] = field(default_factory=dict)

    def observe(self, now: int, count: int) -> None:
        if self.start and "start_ns" not in self.marks and now >= self.start:
            self._mark("start", self.start, now, count)
        if self.stop and "stop_ns" not in self.marks and now >= self.stop:
            self._mark("stop", self.stop, now, count)

    def close(self, now: int, count: int) -> None:
        """End the window now (a count reached, or publishing stopped)."""
        if "start_ns" not in self.marks:
            self._mark("start", now, now, count)
        if "stop_ns" not in self.marks:
            self._mark("stop", now, now, count)

    def _mark(self, name: str, at: int, now: int, count: int) -> None:
        self.marks[f"{name}_ns"] = at
        self.marks[f"{name}_seen_ns"] = now
        self.marks[f"{name}_count"] = count
        self.marks[f"{name}_cpu_ns"] = process_time_ns()

    def cpu_percent(self) -> float:
        marks = self.marks
        wall = marks.get("stop_seen_ns", 0) - marks.get("start_seen_ns", 0)
        if wall <= 0:
            return 0.0
        return round(100 * (marks["stop_cpu_ns"] - marks["start_cpu_ns"]) / wall, 1)

    def counted(self) -> int:
        return self.marks.get("stop_count", 0) - self.marks.get("start_count", 0)
