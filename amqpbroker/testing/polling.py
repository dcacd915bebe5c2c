"""Waiting for what a broker does on its own, in tests that go through sockets and real time
(tests/server, tests/durability, interop): one deadline and one poll loop, sync and async.

``wait_until(check)`` calls ``check()`` until it returns something truthy, and returns that;
``settle(check, done)`` polls the same way but never fails: it returns the last result.
Between two calls it runs ``pause``: a short sleep by default; a pika test passes
``lambda: connection.process_data_events(time_limit=0.01)`` so that its callbacks run
meanwhile.  Past the deadline it fails with ``what`` (a text, or a callable that gives one,
called only then: the state seen last).  No test sleeps for a fixed time: it polls, and the
deadline is only how long a failing test takes to say so.

Tests that need no sockets do not poll at all: ``amqpbroker.testing.harness`` runs the
session layer on a ``ManualClock``.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

# Seconds to wait for anything the broker does on its own (an expiry, a dead letter, a
# delivery, a close): generous for a loaded machine, reached only when a test fails.
DEADLINE = 10.0
INTERVAL = 0.005  # between two checks, when the test gives no pause of its own

What = str | Callable[[], object]


def wait_until(
    check: Callable[[], T],
    what: What = "the condition",
    *,
    timeout: float = DEADLINE,
    pause: Callable[[], object] | None = None,
) -> T:
    """``check()``'s first truthy result, polled until ``timeout`` seconds have passed."""
    result = settle(check, bool, timeout=timeout, pause=pause)
    if not result:
        raise AssertionError(_timed_out(timeout, what))
    return result


def settle(
    check: Callable[[], T],
    done: Callable[[T], object] = bool,
    *,
    timeout: float = DEADLINE,
    pause: Callable[[], object] | None = None,
) -> T:
    """``check()`` polled until ``done(result)`` or the deadline: the last result either way
    (for recordings that compare what two brokers did, where running out of time is an
    answer too: interop/differential)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if done(result) or time.monotonic() >= deadline:
            return result
        if pause is None:
            time.sleep(INTERVAL)
        else:
            pause()


async def wait_until_async(
    check: Callable[[], T | Awaitable[T]],
    what: What = "the condition",
    *,
    timeout: float = DEADLINE,
    pause: Callable[[], Awaitable[object]] | None = None,
) -> T:
    """``wait_until`` on an event loop: ``check`` may be a coroutine function, and the loop
    runs between two checks (``pause``, or a short ``asyncio.sleep``)."""
    result = await settle_async(check, bool, timeout=timeout, pause=pause)
    if not result:
        raise AssertionError(_timed_out(timeout, what))
    return result


async def settle_async(
    check: Callable[[], T | Awaitable[T]],
    done: Callable[[T], object] = bool,
    *,
    timeout: float = DEADLINE,
    pause: Callable[[], Awaitable[object]] | None = None,
) -> T:
    """``settle`` on an event loop (``check`` may be a coroutine function)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if done(result) or time.monotonic() >= deadline:
            return result
        await (asyncio.sleep(INTERVAL) if pause is None else pause())


def _timed_out(timeout: float, what: What) -> str:
    return f"timed out after {timeout} s waiting for {what() if callable(what) else what}"
