"""The parent's side of the worker processes: launch them, time their load, collect results.

Workers are forked from a forkserver that has already imported ``workers`` (so a worker
starts in milliseconds, without the parent's state), one process per connection: the load
generator spreads over every core and no worker waits on another's GIL.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

from . import board as cells
from .board import Board
from .workers import ConsumerSpec, PublisherSpec, WorkerSpec, worker_main

POLL = 0.05


class WorkerFailed(Exception):
    """A worker process failed (its error, or how it ended)."""


def _context() -> BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["amqpbroker.bench.workers"])
    return context


class Fleet:
    """Worker processes for ``specs``, one board row (``slot``) each."""

    def __init__(self, specs: list[WorkerSpec]) -> None:
        self.specs = specs
        self._context = _context()
        self.board = Board(self._context, len(specs))
        self._processes: dict[int, tuple[BaseProcess, Connection]] = {}
        self._results: dict[int, dict[str, Any]] = {}

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def publishers(self) -> list[int]:
        return [slot for slot, spec in enumerate(self.specs) if isinstance(spec, PublisherSpec)]

    @property
    def consumers(self) -> list[int]:
        return [slot for slot, spec in enumerate(self.specs) if isinstance(spec, ConsumerSpec)]

    def launch(self, slots: Iterable[int]) -> None:
        for slot in slots:
            receiver, sender = self._context.Pipe(duplex=False)
            process = self._context.Process(  # type: ignore[attr-defined]
                target=worker_main,
                args=(self.specs[slot], self.board, slot, sender),
                name=self.name(slot),
                daemon=True,
            )
            process.start()
            sender.close()
            self._processes[slot] = (process, receiver)

    def name(self, slot: int) -> str:
        spec = self.specs[slot]
        if isinstance(spec, PublisherSpec):
            return f"publisher {spec.publisher_id}"
        return f"consumer {spec.consumer_id}"

    async def ready(self, slots: Iterable[int], timeout: float = 60) -> None:
        wanted = list(slots)
        if not await self.wait(lambda: all(self.state(s) >= cells.READY for s in wanted), timeout):
            late = [self.name(s) for s in wanted if self.state(s) < cells.READY]
            raise WorkerFailed(f"not connected after {timeout:.0f} s: {', '.join(late)}")

    def start(self, slots: Iterable[int], start_ns: int, stop_ns: int = 0) -> None:
        """Load from ``start_ns`` until ``stop_ns`` (0: a publisher's count, or FINISH)."""
        for slot in slots:
            self.board.put(slot, cells.STOP, stop_ns)
            self.board.put(slot, cells.START, start_ns)  # last: the worker reads START, then STOP

    def stop(self, slots: Iterable[int], stop_ns: int) -> None:
        """Move the STOP time of running workers earlier."""
        for slot in slots:
            self.board.put(slot, cells.STOP, stop_ns)

    async def wait(
        self, done: Callable[[], bool], timeout: float, tick: Callable[[], None] | None = None
    ) -> bool:
        """Poll ``done`` until true (True) or ``timeout`` seconds (False), raising if a worker
        fails; ``tick`` runs at every poll (progress line, broker samples)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self.check()
            if tick is not None:
                tick()
            if done():
                return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(POLL)

    def check(self) -> None:
        """Take in the results that arrived; raise if a worker failed or died."""
        for slot, (process, pipe) in self._processes.items():
            if slot in self._results:
                continue
            ended = self.state(slot) == cells.FAILED or process.exitcode is not None
            try:
                if pipe.poll(1 if ended else 0):
                    self._receive(slot, pipe.recv())
                    continue
            except EOFError:
                ended = True
            if ended:
                raise WorkerFailed(f"{self.name(slot)}: exit code {process.exitcode}")

    def _receive(self, slot: int, result: dict[str, Any]) -> None:
        if "error" in result:
            raise WorkerFailed(f"{self.name(slot)}: {result['error']}")
        self._results[slot] = result

    async def finish(self, timeout: float = 30) -> list[dict[str, Any]]:
        """Tell every launched worker to report, and collect the reports."""
        for slot in self._processes:
            self.board.put(slot, cells.FINISH, 1)
        await self.wait(lambda: len(self._results) == len(self._processes), timeout)
        missing = [self.name(s) for s in self._processes if s not in self._results]
        if missing:
            raise WorkerFailed(f"no result after {timeout:.0f} s from {', '.join(missing)}")
        return [self._results[slot] for slot in sorted(self._results)]

    def close(self) -> None:
        for process, pipe in self._processes.values():
            process.join(5 if self._results else 0)
            if process.is_alive():
                process.terminate()
                process.join(5)
            pipe.close()
        self._processes.clear()

    # -- board -----------------------------------------------------------------------------------

    def state(self, slot: int) -> int:
        return self.board.get(slot, cells.STATE)

    def total(self, slots: Iterable[int], cell: str) -> int:
        index = {"sent": cells.SENT, "settled": cells.SETTLED, "received": cells.RECEIVED}[cell]
        return sum(self.board.get(slot, index) for slot in slots)

    def cpu_ns(self, slot: int) -> int:
        return self.board.get(slot, cells.CPU)

    @property
    def launched(self) -> list[int]:
        return sorted(self._processes)
