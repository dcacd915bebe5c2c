"""The broker's clock on the event loop (``core.ports.Clock``)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable


class LoopClock:
    """``loop.time()`` and ``loop.call_at``; bound to the loop when the server starts."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0

    @classmethod
    def running(cls) -> LoopClock:
        """A clock bound to the running event loop."""
        clock = cls()
        clock.bind(asyncio.get_running_loop())
        return clock

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def now(self) -> float:
        return self._loop.time() if self._loop is not None else 0.0

    def wall(self) -> float:
        return time.time()

    def call_at(self, when: float, callback: Callable[[], None]) -> _Timer:
        loop = self._loop
        if loop is None:
            raise RuntimeError("the broker's clock is used before the server started")
        timer = _Timer()
        if threading.get_ident() == self._loop_thread:
            timer.handle = loop.call_at(when, callback)
        else:  # recovery builds queues in a worker thread before the broker serves
            loop.call_soon_threadsafe(timer.arm, loop, when, callback)
        return timer


class _Timer:
    """A cancellable timer that may be armed a moment later, on the loop's thread."""

    def __init__(self) -> None:
        self.handle: asyncio.TimerHandle | None = None
        self.cancelled = False

    def arm(
        self, loop: asyncio.AbstractEventLoop, when: float, callback: Callable[[], None]
    ) -> None:
        if not self.cancelled:
            self.handle = loop.call_at(when, callback)

    def cancel(self) -> None:
        self.cancelled = True
        if self.handle is not None:
            self.handle.cancel()
