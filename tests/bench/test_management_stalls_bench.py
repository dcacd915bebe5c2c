"""A smoke run of the management stall benchmark (``amqpbroker bench --scenario
management``), so that it cannot rot: every route answers and gets its figures.  (The
figures themselves are timings: they are printed, not asserted.)  It runs in a process of
its own, as the broker it starts changes the process's garbage collector."""

from __future__ import annotations

import json
import subprocess
import sys

from amqpbroker.bench import management_stalls


def test_every_route_is_asked_and_measured() -> None:
    command = [sys.executable, management_stalls.__file__, "200", "1"]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout.splitlines()[-1])
    routes = {figures["route"]: figures for figures in record["routes"]}
    expected = {f"GET {path}" for path in management_stalls.GET_ROUTES} | {"POST /api/definitions"}
    assert set(routes) == expected
    assert routes["POST /api/definitions"]["status"] == 204
    for route in expected - {"POST /api/definitions"}:
        assert routes[route]["status"] == 200 and routes[route]["bytes"] > 2, route
    assert all(figures["longest_stall_ms"] >= 0 for figures in routes.values())
    queues = json.loads(done.stdout.splitlines()[-1])["queues"]
    assert queues == 200
