"""The two shapes a run takes, and the figures they produce.

``steady``: every worker starts together, publishers send for ``duration`` seconds, then the
consumers drain what is left.  ``backlog``: one publisher fills a queue nobody consumes, then a
consumer drains it, while the broker's memory is sampled.  Both return a flat dict of figures.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from time import monotonic_ns
from typing import Any, TypeVar

from .board import DONE
from .client import BrokerClosed, Client
from .fleet import Fleet
from .stats import integrity, latency_percentiles
from .target import Target
from .topology import control, depth
from .workers import ConsumerSpec, PublisherSpec, WorkerSpec

START_DELAY_NS = 200_000_000  # time for every worker to see START before it comes
DRAIN_IDLE = 10.0  # a drain with no progress for this long is over
DRAIN_CAP = 15.0  # the longest a steady run waits for its consumers after the load
MEMORY_GUARD_MB = 4096  # past this broker RSS the publishers stop (the machine is shared)
SATURATED = 90.0  # % CPU at which a worker is the bottleneck

Progress = Callable[[Fleet], None]
Figures = dict[str, Any]


@dataclass
class BrokerMeter:
    """The broker process's CPU over the load window and its resident memory, sampled at
    every poll (its peak), when the pid is known."""

    target: Target
    start_ns: int = 0
    stop_ns: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    rss_before_kb: int | None = None
    rss_peak_kb: int = 0
    _hwm_before_kb: int | None = None

    def __post_init__(self) -> None:
        self.rss_before_kb = self.target.rss_kb()
        self._hwm_before_kb = self.target.peak_rss_kb()

    def sample(self) -> None:
        now = monotonic_ns()
        for name, at in (("start", self.start_ns), ("stop", self.stop_ns)):
            if at and now >= at and name not in self.cpu:
                self.cpu[name] = self.target.cpu_seconds() or 0.0
                self.cpu[f"{name}_wall"] = now / 1e9
        self.rss_peak_kb = max(self.rss_peak_kb, self.target.rss_kb() or 0)

    def cpu_percent(self) -> float | None:
        if self.target.pid is None or "stop" not in self.cpu:
            return None
        wall = self.cpu["stop_wall"] - self.cpu["start_wall"]
        return round(100 * (self.cpu["stop"] - self.cpu["start"]) / wall, 1) if wall else None

    def peak_kb(self) -> int:
        """Peak resident memory: sampled, or the kernel's high-water mark if it rose."""
        hwm = self.target.peak_rss_kb() or 0
        rose = self._hwm_before_kb is not None and hwm > self._hwm_before_kb
        return max(self.rss_peak_kb, hwm if rose else 0)


class Ticker:
    """What the parent does at every poll: sample the broker, stop the publishers if the
    broker's memory passes ``MEMORY_GUARD_MB``, refresh the progress line."""

    def __init__(self, fleet: Fleet, meter: BrokerMeter, progress: Progress) -> None:
        self.fleet, self.meter, self.progress = fleet, meter, progress
        self.guarded = False

    def __call__(self) -> None:
        self.meter.sample()
        if not self.guarded and self.meter.rss_peak_kb > MEMORY_GUARD_MB * 1024:
            self.guarded = True
            self.fleet.stop(self.fleet.publishers, monotonic_ns())
        self.progress(self.fleet)

    def figures(self) -> Figures:
        return {"stopped_early": f"broker RSS over {MEMORY_GUARD_MB} MB"} if self.guarded else {}


async def steady(
    target: Target, specs: list[WorkerSpec], duration: float, progress: Progress
) -> Figures:
    """Everyone starts together; publishers stop after ``duration`` s; consumers drain."""
    with Fleet(specs) as fleet:
        fleet.launch(range(len(specs)))
        await fleet.ready(fleet.launched)
        start = monotonic_ns() + START_DELAY_NS
        stop = start + int(duration * 1e9)
        meter = BrokerMeter(target, start, stop)
        tick = Ticker(fleet, meter, progress)
        fleet.start(fleet.launched, start, stop)
        await fleet.wait(lambda: monotonic_ns() >= stop, duration + 10, tick)
        drain = await _drain(fleet, target, DRAIN_CAP, tick)
        results = await fleet.finish()
    figures = load_figures(specs, results, drain.settled)
    return {**figures, "drain_s": drain.seconds, **tick.figures(), **_broker_figures(meter)}


@dataclass(frozen=True)
class Drain:
    seconds: float
    settled: bool  # all arrived, or nothing moves and the queues are empty: the rest is lost


async def _drain(fleet: Fleet, target: Target, cap: float, tick: Ticker) -> Drain:
    """Wait until the consumers have what the publishers sent, nothing moves for
    ``DRAIN_IDLE`` s, or ``cap`` s pass."""
    slot_of = {spec.publisher_id: slot for slot, spec in _specs(fleet, PublisherSpec)}
    feeds = [[slot_of[p] for p in spec.feeds] for _, spec in _specs(fleet, ConsumerSpec)]

    def missing() -> int:
        """Messages sent and not yet received (not known before every publisher is done
        and has posted its final count)."""
        if any(fleet.state(slot) < DONE for slot in fleet.publishers):
            return sys.maxsize
        expected = sum(fleet.total(publishers, "sent") for publishers in feeds)
        return expected - fleet.total(fleet.consumers, "received")

    started = monotonic_ns()
    last = (-1, started)  # consumers' total, and since when

    def over() -> bool:
        nonlocal last
        received, now = fleet.total(fleet.consumers, "received"), monotonic_ns()
        if received != last[0]:
            last = (received, now)
        return missing() <= 0 or now - last[1] >= DRAIN_IDLE * 1e9

    idle = await fleet.wait(over, cap, tick) and missing() > 0
    seconds = round((monotonic_ns() - started) / 1e9, 2)
    if not idle:  # complete, or cut short while messages were still arriving
        return Drain(seconds, missing() <= 0)
    queues = [spec.queue for _, spec in _specs(fleet, ConsumerSpec)]
    return Drain(seconds, await _queues_empty(target.url, queues))


async def _queues_empty(url: str, queues: list[str]) -> bool:
    """True when the broker answers promptly that ``queues`` hold nothing."""

    async def held() -> int:
        async with control(url) as client:
            return sum([await depth(client, queue) for queue in queues])

    try:
        return await asyncio.wait_for(held(), 5) == 0
    except (TimeoutError, OSError, BrokerClosed):
        return False


S = TypeVar("S", PublisherSpec, ConsumerSpec)


def _specs(fleet: Fleet, kind: type[S]) -> list[tuple[int, S]]:
    return [(slot, spec) for slot, spec in enumerate(fleet.specs) if isinstance(spec, kind)]


def load_figures(specs: list[WorkerSpec], results: list[dict[str, Any]], drained: bool) -> Figures:
    """Rates, latency, integrity and the load generator's own CPU from the workers' results."""
    publishers = [r for r in results if r["role"] == "publisher"]
    consumers = [r for r in results if r["role"] == "consumer"]
    confirming = any(isinstance(s, PublisherSpec) and s.confirm_window for s in specs)
    feeds = {s.consumer_id: list(s.feeds) for s in specs if isinstance(s, ConsumerSpec)}
    sent = [0] * len(publishers)
    for result in publishers:
        sent[result["id"]] = result["sent"]
    checks = [(r["check"], feeds[r["id"]]) for r in consumers]
    verdict = integrity(checks, sent, drained)
    figures: Figures = {
        "publishers": len(publishers),
        "consumers": len(consumers),
        "published": sum(sent),
        "publish_rate": _rate(publishers, "sent"),
    }
    if confirming:
        figures["confirmed"] = sum(r["settled"] - r["nacked"] for r in publishers)
        figures["nacked"] = sum(r["nacked"] for r in publishers)
        figures["confirm_rate"] = _rate(publishers)
    figures["consumed"] = sum(r["received"] for r in consumers)
    figures["consume_rate"] = _rate(consumers)
    figures.update(latency_percentiles(r["latency"] for r in consumers))
    figures.update(
        lost=verdict.lost,
        duplicated=verdict.duplicated,
        reordered=verdict.reordered,
        undelivered=verdict.undelivered,
    )
    figures.update(loadgen_figures(results))
    return figures


def _rate(results: list[dict[str, Any]], count: str | None = None) -> int:
    """Messages per second, summed over workers, each over its own window; ``count`` names a
    result total that all falls inside the window (a publisher's sends)."""
    total = 0.0
    for result in results:
        marks: Mapping[str, int] = result["window"]
        seconds = (marks.get("stop_ns", 0) - marks.get("start_ns", 0)) / 1e9
        if seconds > 0:
            counted = result[count] if count else marks["stop_count"] - marks["start_count"]
            total += counted / seconds
    return round(total)


def loadgen_figures(results: list[dict[str, Any]]) -> Figures:
    """How busy the load generator was: its busiest worker, its total, who was saturated."""
    named = [(f"{r['role']} {r['id']}", r["cpu_percent"]) for r in results]
    busiest = max(named, key=lambda item: item[1], default=("", 0.0))
    return {
        "loadgen_cpu_max_pct": busiest[1],
        "loadgen_cpu_max_worker": busiest[0],
        "loadgen_cpu_total_pct": round(sum(cpu for _, cpu in named), 1),
        "saturated": [f"{name} at {cpu:.0f}% CPU" for name, cpu in named if cpu >= SATURATED],
    }


def _broker_figures(meter: BrokerMeter) -> Figures:
    rss = meter.target.rss_kb()
    return {
        "broker_cpu_pct": meter.cpu_percent(),
        "broker_rss_mb": round(rss / 1024, 1) if rss else None,
    }


async def backlog(
    target: Target,
    publisher: PublisherSpec,
    consumer: ConsumerSpec,
    queue_client: Client,
    progress: Progress,
) -> Figures:
    """Fill ``consumer.queue`` with ``publisher.count`` messages, then drain it."""
    count = publisher.count
    with Fleet([publisher, consumer]) as fleet:
        fleet.launch([0])
        await fleet.ready([0])
        meter = BrokerMeter(target)
        tick = Ticker(fleet, meter, progress)
        started = monotonic_ns() + START_DELAY_NS
        meter.start_ns = started
        fleet.start([0], started)
        await fleet.wait(lambda: fleet.state(0) == DONE, 600, tick)
        held = await _settle_depth(fleet, queue_client, consumer.queue, count, tick)
        filled = monotonic_ns()
        meter.stop_ns = filled
        meter.sample()
        fleet.launch([1])
        await fleet.ready([1])
        fleet.start([1], monotonic_ns() + START_DELAY_NS)
        drain = await _drain(fleet, target, 600, tick)
        results = await fleet.finish()
    consumed = results[1]
    drain_s = (consumed["last_ns"] - consumed["window"]["start_ns"]) / 1e9
    figures = load_figures([publisher, consumer], results, drain.settled)
    for key in [k for k in figures if k.startswith("latency_")] + ["consume_rate"]:
        del figures[key]  # time spent waiting in the backlog, not the broker's latency
    peak = meter.peak_kb()
    before = meter.rss_before_kb or 0
    return {
        **figures,
        **tick.figures(),
        "backlog": held,
        "publish_rate": round(count / ((filled - started) / 1e9)),
        "drain_rate": round(consumed["received"] / drain_s) if drain_s > 0 else None,
        "broker_cpu_pct": meter.cpu_percent(),
        "rss_before_mb": round(before / 1024, 1) if meter.rss_before_kb else None,
        "rss_peak_mb": round(peak / 1024, 1) if peak else None,
        "memory_growth_mb": round((peak - before) / 1024, 1) if peak and before else None,
    }


async def _settle_depth(fleet: Fleet, client: Client, queue: str, count: int, tick: Ticker) -> int:
    """Poll the queue's depth until it holds ``count`` or stops growing; return it."""
    last, still_since = -1, monotonic_ns()
    while True:
        held = await depth(client, queue)
        now = monotonic_ns()
        if held != last:
            last, still_since = held, now
        if held >= count or now - still_since >= DRAIN_IDLE * 1e9:
            return held
        await fleet.wait(lambda: False, 0.05, tick)
