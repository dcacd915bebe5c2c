"""How long a Prometheus scrape holds the broker's event loop: ``amqpbroker bench
--scenario metrics [--count QUEUES]``.

The broker and its load are ``management_stalls``' (QUEUES queues, 10,000 by default, a
message in every tenth, consumers on every 20th from a child process); the Prometheus
endpoint is started too, and ``/metrics`` and ``/metrics/per-object`` are scraped from
another child process, three times each, while the loop probe records the longest stall.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from typing import Any

from .management_stalls import (
    LoopLagProbe,
    Requester,
    RouteFigures,
    consumers_for,
    measure,
    on_fresh_loop,
    populate,
    start_broker,
    start_clients,
)

PATHS = ("/metrics", "/metrics/per-object")


async def measure_scrapes(queues: int, rounds: int, echo: Callable[[str], None]) -> dict[str, Any]:
    server = await start_broker()
    await server.start_prometheus()
    probe = LoopLagProbe()
    probe.start()
    clients = None
    try:
        await populate(server, queues)
        url = f"amqp://guest:guest@127.0.0.1:{server.port}/%2F"
        clients = await start_clients(url, consumers_for(queues))
        requester = await Requester.start(server.prometheus_url.removesuffix("/metrics"))
        gc.collect(1)
        await asyncio.sleep(1)
        routes = [RouteFigures("GET", path) for path in PATHS]
        try:
            for _ in range(rounds):
                for figures in routes:
                    await measure(probe, figures, requester)
        finally:
            await requester.stop()
    finally:
        probe.stop()
        if clients is not None:
            assert clients.stdin is not None
            clients.stdin.close()
            await clients.wait()
        await server.stop()
    records = [figures.record() for figures in routes]
    echo(f"{queues} queues, {consumers_for(queues)} consumers; each scrape {rounds} times")
    echo(f"{'scrape':<28} {'longest stall ms':>16} {'cpu ms':>7} {'resp ms':>8} {'bytes':>11}")
    for r in records:
        echo(
            f"{r['route']:<28} {r['longest_stall_ms']:>16.1f} {r['longest_cpu_stall_ms']:>7.1f} "
            f"{r['median_response_ms']:>8.1f} {r['bytes']:>11,}"
        )
    return {"scenario": "metrics", "queues": queues, "scrapes": records}


def metrics_stalls(queues: int, rounds: int, echo: Callable[[str], None]) -> dict[str, Any]:
    """Run the measurement on a fresh uvloop; the JSON record of it."""
    return on_fresh_loop(measure_scrapes(queues, rounds, echo))
