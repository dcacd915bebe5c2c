"""The benchmark scenarios (issue 7, a to h), each a function of the broker under test.

Every scenario declares its own uniquely named queues and exchanges, runs, and deletes them.
Bodies are transient unless said otherwise; consumers without acks use no-ack.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .catalog import SCENARIO_DESCRIPTIONS
from .poller import polling
from .runs import Figures, Progress, backlog, steady
from .target import Target
from .topology import Binding, Topology, bind, declared, run_prefix
from .workers import ConsumerSpec, PublisherSpec, WorkerSpec

BACKLOG = 200_000
FEW_BINDINGS, MANY_BINDINGS = 10, 10_000


@dataclass(frozen=True)
class Settings:
    duration: float = 10.0  # seconds of load per measured run
    count: int | None = None  # g's backlog instead of 200,000
    size: int | None = None  # body bytes instead of the scenario's own
    rate: float = 0  # msg/s per publisher instead of as fast as the broker takes them (f: 2000)
    management_poller: bool = False  # a client polls GET /api/queues every second meanwhile


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    run: Callable[[Target, Settings, Progress], Awaitable[Figures]]

    @property
    def letter(self) -> str:
        return self.name[0]


async def _a(target: Target, settings: Settings, progress: Progress) -> Figures:
    return await _one_to_one(target, settings, progress, size=16)


async def _b(target: Target, settings: Settings, progress: Progress) -> Figures:
    return await _one_to_one(target, settings, progress, size=1024, ack=True, prefetch=100)


async def _c(target: Target, settings: Settings, progress: Progress) -> Figures:
    return await _one_to_one(
        target,
        settings,
        progress,
        size=1024,
        ack=True,
        prefetch=100,
        persistent=True,
        confirm_window=256,
    )


async def _f(target: Target, settings: Settings, progress: Progress) -> Figures:
    return await _one_to_one(target, settings, progress, size=16, rate=2000)


async def _one_to_one(
    target: Target,
    settings: Settings,
    progress: Progress,
    *,
    size: int,
    ack: bool = False,
    prefetch: int = 0,
    persistent: bool = False,
    confirm_window: int = 0,
    rate: float = 0,
) -> Figures:
    """One publisher to one consumer through the default exchange."""
    queue = f"{run_prefix()}.queue"
    size = settings.size or size
    publisher = PublisherSpec(
        target.url,
        0,
        "",
        queue,
        size,
        persistent,
        confirm_window=confirm_window,
        rate=settings.rate or rate,
    )
    consumer = ConsumerSpec(target.url, 0, queue, 1, no_ack=not ack, prefetch=prefetch)
    async with declared(target.url, Topology([queue], durable=persistent)):
        figures = await steady(target, [publisher, consumer], settings.duration, progress)
    return {"body_bytes": size, **figures}


async def _d(target: Target, settings: Settings, progress: Progress) -> Figures:
    """1 publisher -> a fanout exchange -> 10 queues, a consumer on each."""
    prefix = run_prefix()
    exchange = f"{prefix}.fanout"
    queues = [f"{prefix}.queue{i}" for i in range(10)]
    size = settings.size or 16
    specs: list[WorkerSpec] = [PublisherSpec(target.url, 0, exchange, "", size, rate=settings.rate)]
    specs += [ConsumerSpec(target.url, i, queue, 1) for i, queue in enumerate(queues)]
    topology = Topology(
        queues,
        exchanges=[(exchange, "fanout")],
        bindings=[Binding(q, exchange, "") for q in queues],
    )
    async with declared(target.url, topology):
        figures = await steady(target, specs, settings.duration, progress)
    return {"body_bytes": size, **figures}


async def _e(target: Target, settings: Settings, progress: Progress) -> Figures:
    """50 publishers and 50 consumers (each its own connection) on 50 queues, pairwise."""
    pairs = 50
    queues = [f"{run_prefix()}.queue{i}" for i in range(pairs)]
    size = settings.size or 16
    specs: list[WorkerSpec] = [
        PublisherSpec(target.url, i, "", queue, size, rate=settings.rate)
        for i, queue in enumerate(queues)
    ]
    specs += [ConsumerSpec(target.url, i, q, pairs, feeds=(i,)) for i, q in enumerate(queues)]
    async with declared(target.url, Topology(queues)):
        figures = await steady(target, specs, settings.duration, progress)
    return {"body_bytes": size, **figures}


async def _g(target: Target, settings: Settings, progress: Progress) -> Figures:
    """A backlog nobody consumes, then drained by one no-ack consumer."""
    queue = f"{run_prefix()}.backlog"
    count = settings.count or BACKLOG
    size = settings.size or 1024
    publisher = PublisherSpec(target.url, 0, "", queue, size, count=count, rate=settings.rate)
    consumer = ConsumerSpec(target.url, 0, queue, 1, expect=count)
    async with declared(target.url, Topology([queue])) as client:
        figures = await backlog(target, publisher, consumer, client, progress)
    return {"body_bytes": size, **figures}


async def _h(target: Target, settings: Settings, progress: Progress) -> Figures:
    """A topic exchange with 10 bindings, then with 10,000: one binding matches."""
    prefix = run_prefix()
    exchange, hot, cold = f"{prefix}.topic", f"{prefix}.hot", f"{prefix}.cold"
    size = settings.size or 16
    publisher = PublisherSpec(target.url, 0, exchange, "bench.hot.k", size, rate=settings.rate)
    specs: list[WorkerSpec] = [publisher]
    specs.append(ConsumerSpec(target.url, 0, hot, 1))
    matching = Binding(hot, exchange, "bench.hot.*")
    others = [Binding(cold, exchange, _unmatched_pattern(i)) for i in range(MANY_BINDINGS - 1)]
    topology = Topology(
        [hot, cold],
        exchanges=[(exchange, "topic")],
        bindings=[matching, *others[: FEW_BINDINGS - 1]],
    )
    async with declared(target.url, topology) as client:
        few = await steady(target, specs, settings.duration, progress)
        await bind(client, others[FEW_BINDINGS - 1 :])
        many = await steady(target, specs, settings.duration, progress)
    ratio = many["consume_rate"] / few["consume_rate"] if few["consume_rate"] else None
    return {
        "body_bytes": size,
        **many,
        "rate_10_bindings": few["consume_rate"],
        "rate_10000_bindings": many["consume_rate"],
        "binding_ratio": round(ratio, 3) if ratio is not None else None,
    }


def _unmatched_pattern(i: int) -> str:
    """Binding keys that never match ``bench.hot.k`` but sit on every branch a topic trie
    walks for it: literal words, ``*`` and ``#``."""
    return (f"cold.{i}.*", f"bench.cold{i}.#", f"*.hot.k{i}", f"#.k{i}")[i % 4]


_RUNS = {"a": _a, "b": _b, "c": _c, "d": _d, "e": _e, "f": _f, "g": _g, "h": _h}
SCENARIOS = [
    Scenario(name, description, _RUNS[name[0]])
    for name, description in SCENARIO_DESCRIPTIONS.items()
]
BY_NAME = {s.name: s for s in SCENARIOS} | {s.letter: s for s in SCENARIOS}


async def run_scenario(
    scenario: Scenario, target: Target, settings: Settings, progress: Progress
) -> Figures:
    url = target.management_url if settings.management_poller else None
    with polling(url) as poller:
        figures = await scenario.run(target, settings, progress)
    return {
        "scenario": scenario.name,
        "broker": target.label,
        "duration_s": settings.duration,
        **figures,
        **poller.figures(),
    }
