"""Start-up time: from the call that starts a broker to its first AMQP connection accepted.

"Accepted" means a client that sent the protocol header has read ``connection.start``: the
broker is serving AMQP, not merely listening.  Three ways to start one are timed, each
``runs`` times (medians reported): the async ``Broker`` in the caller's loop, ``BrokerThread``
(its own loop in a thread), a program's first ``BrokerThread`` including the imports, and
``amqpbroker serve`` as a new process (which includes the Python interpreter's start-up).
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

from amqpbroker.embedded.broker import Broker, BrokerThread

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
_CONNECTION_START = b"\x00\x0a\x00\x0a"  # class 10, method 10, at payload offset 7


def startup(runs: int) -> dict[str, Any]:
    runs = max(1, runs)
    async_ms = [asyncio.run(_time_async_broker()) for _ in range(runs)]
    thread_ms = [_time_broker_thread() for _ in range(runs)]
    cold = min(runs, 10)  # each of these is a new process
    first_ms = [_time_first_start_in_new_process() for _ in range(cold)]
    serve_ms = [_time_serve_process() for _ in range(cold)]
    return {
        "scenario": "startup",
        "runs": runs,
        "broker_async_ms_median": _median(async_ms),
        "broker_async_ms_max": round(max(async_ms), 2),
        "broker_thread_ms_median": _median(thread_ms),
        "broker_thread_ms_max": round(max(thread_ms), 2),
        "import_and_start_ms_median": _median(first_ms),
        "serve_process_ms_median": _median(serve_ms),
    }


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


async def _time_async_broker() -> float:
    started = time.perf_counter()
    broker = Broker()
    await broker.start()
    try:
        await _await_connection_start(broker.port)
        return (time.perf_counter() - started) * 1000
    finally:
        await broker.stop()


def _time_broker_thread() -> float:
    started = time.perf_counter()
    with BrokerThread() as broker:
        _read_connection_start(broker.port)
        return (time.perf_counter() - started) * 1000


_FIRST_START = """
import time
started = time.perf_counter()
from amqpbroker import BrokerThread
from amqpbroker.bench.startup import _read_connection_start
with BrokerThread() as broker:
    _read_connection_start(broker.port)
    print((time.perf_counter() - started) * 1000)
"""


def _time_first_start_in_new_process() -> float:
    """A program's first broker: the imports plus the start (not the interpreter's start-up)."""
    result = subprocess.run(
        [sys.executable, "-c", _FIRST_START], capture_output=True, text=True, check=True
    )
    return float(result.stdout.strip())


def _time_serve_process() -> float:
    port = _free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "amqpbroker",
            "serve",
            "--port",
            str(port),
            "--management-port",
            "0",
            "--log-level",
            "error",
        ],
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = started + 30
        while True:
            try:
                _read_connection_start(port)
                return (time.perf_counter() - started) * 1000
            except OSError:
                if time.perf_counter() > deadline or process.poll() is not None:
                    raise RuntimeError("amqpbroker serve did not start") from None
                time.sleep(0.002)
    finally:
        process.terminate()
        process.wait(30)


async def _await_connection_start(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(PROTOCOL_HEADER)
        payload = await reader.readexactly(11)
        _check_connection_start(payload)
    finally:
        writer.close()
        await writer.wait_closed()


def _read_connection_start(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(PROTOCOL_HEADER)
        received = b""
        while len(received) < 11:
            chunk = sock.recv(11 - len(received))
            if not chunk:
                raise ConnectionResetError("closed before connection.start")
            received += chunk
        _check_connection_start(received)


def _check_connection_start(first_bytes: bytes) -> None:
    if first_bytes[0] != 1 or first_bytes[7:11] != _CONNECTION_START:
        raise RuntimeError(f"expected connection.start, got {first_bytes.hex()}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
