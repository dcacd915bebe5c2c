"""How long each management route holds the broker's event loop: ``amqpbroker bench
--scenario management [--count QUEUES]`` (or ``python amqpbroker/bench/management_stalls.py
[QUEUES [ROUNDS]]``).

A broker runs in this process as ``amqpbroker serve`` runs it (uvloop, the same garbage
collector policy, management API on a free port), with QUEUES (10,000) queues declared
after start-up, one binding each, a message in every tenth, a tenth as many exchanges, and
a consumer on every 20th queue (500 at most, 10 channels to a connection) from a child
process.  Each route is then asked by another child process (the client never takes the
broker's GIL) while a probe on the loop records the longest stall: the longest wait,
beyond its 1 ms, of a task that sleeps 1 ms again and again, in wall-clock time and in the
loop thread's CPU time (the machine's other processes left out).  Printed per route: those
stalls, the longest garbage collection meanwhile, the response time and size.  Last,
``POST /api/definitions`` imports QUEUES more queues.

The file runs against an older checkout too (``PYTHONPATH=that checkout python
THIS_FILE``): it imports only what the broker had before it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TICK = 0.001  # the probe's sleep
SETTLE = 0.3  # seconds between two requests
CONSUMERS = 500  # at most, one a channel (and one for every 20 queues)
CHANNELS = 10  # a connection

GET_ROUTES = [
    "/api/overview",
    "/api/vhosts",
    "/api/queues",
    "/api/queues/%2F",
    "/api/queues?page=1&page_size=100&sort=messages",
    "/api/exchanges",
    "/api/bindings",
    "/api/connections",
    "/api/channels",
    "/api/consumers",
    "/api/definitions",
    "/api/definitions/%2F",
]


class LoopLagProbe:
    """The longest stall of the loop since ``reset``, and the longest garbage collection."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.longest_cpu = 0.0  # the same stalls in the loop thread's CPU time
        self.longest_gc = 0.0
        self._gc_started = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())
        gc.callbacks.append(self._on_gc)

    def stop(self) -> None:
        gc.callbacks.remove(self._on_gc)
        if self._task is not None:
            self._task.cancel()

    def reset(self) -> tuple[float, float, float]:
        """(longest stall, in CPU time, longest collection) in ms since the last reset."""
        figures = (self.longest * 1000, self.longest_cpu * 1000, self.longest_gc * 1000)
        self.longest = self.longest_cpu = self.longest_gc = 0.0
        return figures

    async def _run(self) -> None:
        clock, cpu = time.perf_counter, time.thread_time
        while True:
            before, cpu_before = clock(), cpu()
            await asyncio.sleep(TICK)
            self.longest = max(self.longest, clock() - before - TICK)
            self.longest_cpu = max(self.longest_cpu, cpu() - cpu_before)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.longest_gc = max(self.longest_gc, time.perf_counter() - self._gc_started)


@dataclass
class RouteFigures:
    method: str
    path: str
    stalls_ms: list[float] = field(default_factory=list)
    cpu_stalls_ms: list[float] = field(default_factory=list)
    gc_ms: list[float] = field(default_factory=list)
    response_ms: list[float] = field(default_factory=list)
    size: int = 0
    status: int = 0

    def record(self) -> dict[str, Any]:
        return {
            "route": f"{self.method} {self.path}",
            "status": self.status,
            "bytes": self.size,
            "longest_stall_ms": round(max(self.stalls_ms), 1),
            "median_stall_ms": round(statistics.median(self.stalls_ms), 1),
            "longest_cpu_stall_ms": round(max(self.cpu_stalls_ms), 1),
            "longest_gc_ms": round(max(self.gc_ms), 1),
            "median_response_ms": round(statistics.median(self.response_ms), 1),
        }


# -- the broker -----------------------------------------------------------------------------------


async def start_broker() -> Any:
    """A broker as ``amqpbroker serve`` starts one (in memory, free ports)."""
    import dataclasses  # noqa: PLC0415

    from amqpbroker.config import BrokerConfig  # noqa: PLC0415
    from amqpbroker.server import loop as server_loop  # noqa: PLC0415
    from amqpbroker.server.app import BrokerServer  # noqa: PLC0415

    config = dataclasses.replace(BrokerConfig(), port=0, management_port=0, data_dir=":memory:")
    server = BrokerServer(config)
    await server.start()
    try:
        from amqpbroker.server.collector import CollectorPolicy  # noqa: PLC0415
    except ImportError:  # an older checkout: its policy
        server_loop.tune_garbage_collector()  # type: ignore[attr-defined]
    else:
        CollectorPolicy().start()
    await server.start_management()
    return server


async def populate(server: Any, queues: int) -> None:
    """QUEUES queues (as clients declare them, after start-up), a binding each, a message
    in every tenth, and QUEUES/10 exchanges."""
    from amqpbroker.core.message import Message  # noqa: PLC0415

    vhost = server.state.vhosts["/"]
    for number in range(queues):
        name = f"stall-queue-{number:05d}"
        queue = vhost.declare_queue(
            name,
            passive=False,
            durable=number % 2 == 0,
            exclusive=False,
            auto_delete=False,
            arguments={"x-max-length": 1000} if number % 3 else {},
            owner=None,
        )
        vhost.bind("amq.direct", queue, name, {})
        if number % 10 == 0:
            queue.enqueue(Message("", name, b"", b"", b"hello"))
        if number % 10 == 5:
            vhost.declare_exchange(
                f"stall-exchange-{number:05d}",
                "topic",
                passive=False,
                durable=True,
                auto_delete=False,
                internal=False,
                arguments={},
            )
        if number % 200 == 0:
            await asyncio.sleep(0)


def definitions_document(queues: int) -> dict[str, Any]:
    """A definitions document of QUEUES new queues, each bound to amq.direct."""
    names = [f"stall-import-{number:05d}" for number in range(queues)]
    return {
        "queues": [
            {"name": n, "vhost": "/", "durable": True, "auto_delete": False, "arguments": {}}
            for n in names
        ],
        "bindings": [
            {
                "source": "amq.direct",
                "vhost": "/",
                "destination": n,
                "destination_type": "queue",
                "routing_key": n,
                "arguments": {},
            }
            for n in names
        ],
    }


# -- the clients ----------------------------------------------------------------------------------


def run_clients(url: str, consumers: int) -> None:
    """(In the child process.) Open connections of ``CHANNELS`` channels, a consumer per
    channel on an empty queue of its own, say "ready", and hold them until stdin closes."""
    import pika  # noqa: PLC0415

    held = []
    parameters = pika.URLParameters(url + "?heartbeat=0")
    for number in range(consumers):
        if number % CHANNELS == 0:
            held.append(pika.BlockingConnection(parameters))
        channel = held[-1].channel()
        # (every tenth queue holds a message, written without a content header)
        channel.basic_consume(f"stall-queue-{number * 10 + 1:05d}", lambda *a: None)
    print("ready", flush=True)
    sys.stdin.read()


def consumers_for(queues: int) -> int:
    return min(CONSUMERS, queues // 20)


async def start_clients(url: str, consumers: int) -> asyncio.subprocess.Process:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "clients",
        url,
        str(consumers),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    line = await child.stdout.readline()
    if line.strip() != b"ready":
        raise RuntimeError(f"the client process failed: {line!r}")
    return child


# -- the requests ---------------------------------------------------------------------------------


def run_requester(base: str) -> None:
    """(In the child process.) For each line "METHOD PATH [BODY FILE]" on stdin, make the
    request and print "status bytes milliseconds"."""
    import base64  # noqa: PLC0415
    import http.client  # noqa: PLC0415
    from urllib.parse import urlparse  # noqa: PLC0415

    parts = urlparse(base)
    auth = "Basic " + base64.b64encode(b"guest:guest").decode()
    for line in sys.stdin:
        method, path, *body_file = line.split()
        body = Path(body_file[0]).read_bytes() if body_file else None
        headers = {"Authorization": auth, "Content-Type": "application/json"}
        started = time.perf_counter()
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        size = len(response.read())
        elapsed = (time.perf_counter() - started) * 1000
        connection.close()
        print(response.status, size, f"{elapsed:.1f}", flush=True)


class Requester:
    """The child process that makes the requests (spawned once: forking a big broker
    process for each request would itself hold the loop)."""

    def __init__(self, child: asyncio.subprocess.Process) -> None:
        self.child = child

    @classmethod
    async def start(cls, base: str) -> Requester:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "requester",
            base,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        return cls(child)

    async def request(self, method: str, path: str, body: Path | None) -> tuple[int, int, float]:
        """(status, bytes, response ms)."""
        assert self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.write(f"{method} {path} {body or ''}\n".encode())
        line = await self.child.stdout.readline()
        status, size, elapsed = line.decode().split()
        return int(status), int(size), float(elapsed)

    async def stop(self) -> None:
        assert self.child.stdin is not None
        self.child.stdin.close()
        await self.child.wait()


async def measure(
    probe: LoopLagProbe, figures: RouteFigures, requester: Requester, body: Path | None = None
) -> None:
    await asyncio.sleep(SETTLE)
    probe.reset()
    status, size, elapsed = await requester.request(figures.method, figures.path, body)
    stall, cpu_stall, longest_gc = probe.reset()
    figures.stalls_ms.append(stall)
    figures.cpu_stalls_ms.append(cpu_stall)
    figures.gc_ms.append(longest_gc)
    figures.response_ms.append(elapsed)
    figures.size, figures.status = size, status


async def measure_all(queues: int, rounds: int, echo: Callable[[str], None]) -> dict[str, Any]:
    server = await start_broker()
    probe = LoopLagProbe()
    probe.start()
    clients = None
    try:
        await populate(server, queues)
        url = f"amqp://guest:guest@127.0.0.1:{server.port}/%2F"
        clients = await start_clients(url, consumers_for(queues))
        requester = await Requester.start(server.management_url)
        # As a broker that has run a while: what the garbage collector does after so many
        # new objects (a full collection, by CPython's rules or the broker's) is done.
        gc.collect(1)
        await asyncio.sleep(1)
        probe.reset()
        await asyncio.sleep(2)
        idle_stall, _, _ = probe.reset()
        routes = [RouteFigures("GET", path) for path in GET_ROUTES]
        for _ in range(rounds):
            for figures in routes:
                await measure(probe, figures, requester)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
            json.dump(definitions_document(queues), file)
        document = Path(file.name)
        imported = RouteFigures("POST", "/api/definitions")
        try:
            await measure(probe, imported, requester, document)
        finally:
            document.unlink()
            await requester.stop()
        routes.append(imported)
        await asyncio.sleep(1)
        started = time.perf_counter()
        gc.collect()  # what a full collection, as CPython starts them, now costs
        full_collection = (time.perf_counter() - started) * 1000
    finally:
        probe.stop()
        if clients is not None:
            assert clients.stdin is not None
            clients.stdin.close()
            await clients.wait()
        await server.stop()
    return report(queues, rounds, idle_stall, full_collection, routes, echo)


def report(
    queues: int,
    rounds: int,
    idle_stall: float,
    full_collection: float,
    routes: Sequence[RouteFigures],
    echo: Callable[[str], None],
) -> dict[str, Any]:
    records = [figures.record() for figures in routes]
    consumers = consumers_for(queues)
    echo(
        f"{queues} queues, {queues // 10} more exchanges, {consumers} consumers on "
        f"{consumers} channels of {-(-consumers // CHANNELS)} connections; GETs asked "
        f"{rounds} times, the import of {queues} more queues once"
    )
    echo(f"longest stall of the idle loop over 2 s: {idle_stall:.1f} ms")
    echo(
        f"a full collection (gc.collect(), as CPython starts them) at the end: "
        f"{full_collection:.0f} ms"
    )
    echo("stalls in ms: wall clock (longest, median of the longest per request), and in the")
    echo("loop thread's CPU time (what the broker did, without the machine's other processes)")
    echo(
        f"{'route':<50} {'longest':>7} {'median':>7} {'cpu':>6} {'gc':>6} {'resp ms':>8} "
        f"{'bytes':>10}"
    )
    for r in records:
        echo(
            f"{r['route']:<50} {r['longest_stall_ms']:>7.1f} {r['median_stall_ms']:>7.1f} "
            f"{r['longest_cpu_stall_ms']:>6.1f} {r['longest_gc_ms']:>6.1f} "
            f"{r['median_response_ms']:>8.1f} {r['bytes']:>10,}"
        )
    return {
        "scenario": "management",
        "queues": queues,
        "idle_stall_ms": round(idle_stall, 1),
        "full_collection_ms": round(full_collection, 1),
        "routes": records,
    }


def management_stalls(queues: int, rounds: int, echo: Callable[[str], None]) -> dict[str, Any]:
    """Run the measurement on a fresh uvloop; the JSON record of it."""
    return on_fresh_loop(measure_all(queues, rounds, echo))


def on_fresh_loop(measurement: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """``measurement`` run on a new event loop of the broker's kind, closed after."""
    from amqpbroker.server.loop import new_event_loop  # noqa: PLC0415

    loop = new_event_loop()
    try:
        return loop.run_until_complete(measurement)
    finally:
        loop.close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["clients"]:
        run_clients(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1:2] == ["requester"]:
        run_requester(sys.argv[2])
    else:
        count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
        rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
        print(json.dumps(management_stalls(count, rounds, print)))
