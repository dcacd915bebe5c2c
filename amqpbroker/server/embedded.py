"""Run a broker inside another program: ``Broker`` (async) and ``BrokerThread`` (sync)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from types import TracebackType
from typing import Any

import uvloop

from amqpbroker.config import BrokerConfig
from amqpbroker.core.ports import Clock

from .app import BrokerServer

log = logging.getLogger("amqpbroker.server")


def _config(overrides: dict[str, Any]) -> BrokerConfig:
    overrides.setdefault("port", 0)
    return dataclasses.replace(BrokerConfig(), **overrides)


def log_loop_exception(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    exc = context.get("exception")
    log.error(
        "unhandled error in the event loop: %s",
        context.get("message"),
        exc_info=exc if isinstance(exc, BaseException) else None,
    )


class Broker:
    """``async with Broker(port=0) as broker: broker.url``: a broker on the running loop;
    ``clock=ManualClock()`` makes its timing (TTL, expiry) move only when the test says."""

    def __init__(self, *, clock: Clock | None = None, **overrides: Any) -> None:
        self.config = _config(overrides)
        self.server = BrokerServer(self.config, clock)

    @property
    def host(self) -> str:
        return self.config.host

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return self.config.url(self.host, self.port)

    async def start(self) -> None:
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()

    async def __aenter__(self) -> Broker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class BrokerThread:
    """A broker on its own event loop in a background thread, for synchronous code."""

    def __init__(self, **overrides: Any) -> None:
        self._broker = Broker(**overrides)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._stop_requested: asyncio.Event | None = None

    @property
    def config(self) -> BrokerConfig:
        return self._broker.config

    @property
    def host(self) -> str:
        return self._broker.host

    @property
    def port(self) -> int:
        return self._broker.port

    @property
    def url(self) -> str:
        return self._broker.url

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="amqpbroker", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise self._startup_error

    def _run(self) -> None:
        loop = new_event_loop()
        self._loop = loop
        loop.set_exception_handler(log_loop_exception)
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stop_requested = asyncio.Event()
        try:
            await self._broker.start()
        except BaseException as error:
            self._startup_error = error
            self._ready.set()
            return
        self._ready.set()
        await self._stop_requested.wait()
        await self._broker.stop()

    def stop(self) -> None:
        """Graceful: clients get connection.close 320; returns when the loop has finished."""
        loop, thread, stop = self._loop, self._thread, self._stop_requested
        if loop is None or thread is None or stop is None or not thread.is_alive():
            return
        loop.call_soon_threadsafe(stop.set)
        thread.join()

    def __enter__(self) -> BrokerThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def new_event_loop() -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop
