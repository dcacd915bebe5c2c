"""A client polling the management API while a scenario runs (``amqpbroker bench
--management-poller``): ``GET /api/queues`` every second, as a dashboard or a Prometheus
exporter does, in a process of its own (it never shares a GIL with the broker or the load
generator).  The scenario's figures get the poller's: how many polls, their response times,
failures.

The management URL of a broker given by its AMQP URL is RabbitMQ's convention, the AMQP
port + 10,000 (5672 -> 15672; the reference broker's 5673 -> 15673); our own broker prints
its own.
"""

from __future__ import annotations

import base64
import http.client
import json
import select
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlparse

INTERVAL = 1.0  # seconds between the starts of two polls
PATH = "/api/queues"


def management_url_for(amqp_url: str) -> str:
    """http://user:password@host:(port + 10000)/ for the broker at ``amqp_url``."""
    parts = urlparse(amqp_url)
    user = parts.username or "guest"
    password = parts.password or "guest"
    return f"http://{user}:{password}@{parts.hostname}:{(parts.port or 5672) + 10_000}/"


class Poller:
    """The polling process, started by ``polling``; its figures once stopped."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.process: subprocess.Popen[str] | None = None
        self.result: dict[str, Any] = {}

    def start(self) -> None:
        if self.url is None:
            return
        self.process = subprocess.Popen(
            [sys.executable, __file__, self.url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def stop(self) -> None:
        if self.process is None:
            return
        output, _ = self.process.communicate("", timeout=60)  # (stdin closed: it stops)
        lines = output.strip().splitlines()
        self.result = json.loads(lines[-1]) if lines else {"poller_failed": True}

    def figures(self) -> dict[str, Any]:
        return {"management_poller": self.result} if self.url is not None else {}


@contextmanager
def polling(url: str | None) -> Iterator[Poller]:
    """A poller of ``url`` (none without one) for the duration."""
    poller = Poller(url)
    poller.start()
    try:
        yield poller
    finally:
        poller.stop()


def poll(url: str) -> dict[str, Any]:
    """(In the child process.) Poll until stdin closes; the figures."""
    parts = urlparse(url)
    credentials = f"{unquote(parts.username or 'guest')}:{unquote(parts.password or 'guest')}"
    headers = {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}
    times: list[float] = []
    failures = 0
    size = 0
    next_poll = time.monotonic()
    while not _stdin_closed(max(0.0, next_poll - time.monotonic())):
        next_poll += INTERVAL
        started = time.perf_counter()
        try:
            connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
            connection.request("GET", PATH, headers=headers)
            response = connection.getresponse()
            size = len(response.read())
            connection.close()
            if response.status != 200:
                failures += 1
                continue
        except OSError:
            failures += 1
            continue
        times.append((time.perf_counter() - started) * 1000)
    return {
        "polls": len(times),
        "failures": failures,
        "bytes": size,
        "median_ms": round(statistics.median(times), 1) if times else None,
        "max_ms": round(max(times), 1) if times else None,
        "times_ms": [round(t, 1) for t in times],
    }


def _stdin_closed(timeout: float) -> bool:
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    return bool(ready) and not sys.stdin.readline()


if __name__ == "__main__":
    print(json.dumps(poll(sys.argv[1])), flush=True)
