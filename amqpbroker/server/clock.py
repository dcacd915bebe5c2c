"""The broker's clock on the event loop (``core.ports.Clock``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class LoopClock:
    """``loop.time()`` and ``loop.call_at``; bound to the loop when the server starts."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def now(self) -> float:
        return self._loop.time() if self._loop is not None else 0.0

    def wall(self) -> float:
        return time.time()

    def call_at(self, when: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        if self._loop is None:
            raise RuntimeError("the broker's clock is used before the server started")
        return self._loop.call_at(when, callback)
