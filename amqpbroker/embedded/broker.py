"""Run a broker inside another program: ``Broker`` (async) and ``BrokerThread`` (sync).

Both are in memory by default and listen on a free port (``port=0``).  Besides starting and
stopping, they give tests powers no other broker has (inspection, a virtual clock, fault
injection); each family of powers is a mixin of ``BrokerPowers``, which runs code on the
broker's event loop: directly for ``Broker`` (the caller is on that loop), through the loop
thread for ``BrokerThread``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

from amqpbroker.config import BrokerConfig, amqp_url
from amqpbroker.core.ports import Clock
from amqpbroker.server.app import BrokerServer
from amqpbroker.server.loop import log_loop_exception, new_event_loop

from .access_admin import AccessAdmin
from .definitions_admin import DefinitionsAdmin
from .faults import AwaitableRestart, BlockingRestart, Faults
from .inspection import Inspection
from .limit_admin import LimitAdmin
from .policy_admin import PolicyAdmin
from .vhost_admin import VhostAdmin
from .virtual_time import VirtualTime, choose_clock

log = logging.getLogger("amqpbroker.server")

T = TypeVar("T")


def _config(overrides: dict[str, Any]) -> BrokerConfig:
    if overrides.pop("management", False):
        overrides.setdefault("management_port", 0)
    if overrides.pop("prometheus", False):
        overrides.setdefault("prometheus_port", 0)
    overrides.setdefault("port", 0)
    if overrides.get("tls") is not None:
        overrides.setdefault("tls_port", 0)
    overrides.setdefault("record_published", True)  # for broker.published
    return dataclasses.replace(BrokerConfig(), **overrides)


class BrokerPowers(
    Inspection,
    VirtualTime,
    Faults,
    VhostAdmin,
    AccessAdmin,
    DefinitionsAdmin,
    PolicyAdmin,
    LimitAdmin,
):
    """What every embedded broker offers: its address, and the test-only powers."""

    @property
    def config(self) -> BrokerConfig:
        return self.server.config

    @property
    def host(self) -> str:
        return self.config.host

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        """``amqp://guest:guest@HOST:PORT/``: what to hand to clients."""
        return self.config.url(self.host, self.port)

    @property
    def management_url(self) -> str:
        """``http://HOST:PORT/``: the management HTTP API (a broker made with
        ``management=True``; ``RuntimeError`` otherwise).  Its users are the broker's:
        guest/guest by default."""
        return self.server.management_url

    @property
    def prometheus_url(self) -> str:
        """``http://HOST:PORT/metrics``: RabbitMQ's Prometheus endpoint (a broker made with
        ``prometheus=True``; ``RuntimeError`` otherwise); no authentication."""
        return self.server.prometheus_url

    # -- TLS ------------------------------------------------------------------------------------

    @property
    def tls_port(self) -> int:
        """The AMQPS port (``RuntimeError`` if the broker was not given ``tls=``)."""
        return self.server.tls_port

    @property
    def amqps_url(self) -> str:
        """``amqps://guest:guest@HOST:TLS_PORT/``: the TLS listener, for clients with an
        ``ssl.SSLContext`` that trusts the broker's certificate."""
        return self.amqps_url_for(self.config.default_vhost)

    def amqps_url_for(self, vhost: str) -> str:
        """``url_for(vhost)`` on the TLS listener."""
        config = self.config
        host = self.server.listeners.host("amqps")
        return amqp_url(
            config.default_user, config.default_pass, host, self.tls_port, vhost, "amqps"
        )

    # -- resource alarms ------------------------------------------------------------------------

    def block_publishers(self, reason: str = "low on memory") -> None:
        """Act as if a resource alarm went off (``BrokerServer.block_publishers``): publishing
        connections are blocked at their next publish; in effect when this returns."""
        self._on_loop(self.server.block_publishers, reason)

    def unblock_publishers(self) -> None:
        """Clear the alarm (``BrokerServer.unblock_publishers``); done when this returns."""
        self._on_loop(self.server.unblock_publishers)

    def set_vm_memory_high_watermark(self, limit: int) -> None:
        """The memory alarm's mark, in bytes, from now on (rabbitmqctl
        set_vm_memory_high_watermark absolute): compared at once, in effect on return."""
        self._on_loop(self.server.alarm_monitor.set_memory_limit, limit)

    def set_disk_free_limit(self, limit: int) -> None:
        """The disk alarm's free-space mark, in bytes, from now on (rabbitmqctl
        set_disk_free_limit): compared at once with the last measurement."""
        self._on_loop(self.server.alarm_monitor.set_disk_free_limit, limit)


class Broker(BrokerPowers, AwaitableRestart):
    """``async with Broker(port=0) as broker: broker.url``: a broker on the running loop.

    ``tls=TLSConfig(certfile=..., keyfile=...)`` (``amqpbroker.config``: RabbitMQ's
    ssl_options) adds an AMQPS listener on a free port (``tls_port=`` to choose it):
    ``broker.amqps_url``, ``broker.tls_port``; ``tcp_listener=False`` leaves TLS only, and
    ``auth_mechanisms=("PLAIN", "EXTERNAL")`` lets clients log in with their certificate.
    ``virtual_clock=True`` (or ``clock=ManualClock()``) makes its message and queue timing
    (TTL, expiry) move only when the test says: ``broker.clock.advance(seconds)``;
    heartbeats stay on real time unless ``wire_clock=ManualClock()``.  ``management=True``
    adds RabbitMQ's management HTTP API on a free port (``broker.management_url``;
    ``management_port=`` to choose it); without it aiohttp is never imported.
    ``prometheus=True`` adds the Prometheus endpoint (``broker.prometheus_url``;
    ``prometheus_port=`` to choose it).  Other
    keywords are ``BrokerConfig`` fields."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        virtual_clock: bool = False,
        wire_clock: Clock | None = None,
        **overrides: Any,
    ) -> None:
        self.server = BrokerServer(
            _config(overrides), choose_clock(clock, virtual_clock), wire_clock
        )

    def _on_loop(self, fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)

    async def start(self) -> None:
        await self.server.start()
        try:
            if self.config.management_port is not None:
                await self.server.start_management()
            if self.config.prometheus_port is not None:
                await self.server.start_prometheus()
        except BaseException:
            await self.server.stop()
            raise

    async def stop(self) -> None:
        """Graceful: clients get connection.close 320."""
        await self.server.stop()

    async def __aenter__(self) -> Broker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class BrokerThread(BrokerPowers, BlockingRestart):
    """A broker on its own event loop in a background thread, for synchronous code; takes
    ``Broker``'s keywords (``virtual_clock=True``…)."""

    def __init__(self, **overrides: Any) -> None:
        self._broker = Broker(**overrides)
        self.server = self._broker.server
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._stop_requested: asyncio.Event | None = None

    def _on_loop(self, fn: Callable[..., T], *args: Any) -> T:
        loop = self._loop
        if loop is None or threading.get_ident() == getattr(self._thread, "ident", None):
            return fn(*args)  # not started yet, or already on the loop's thread
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(fn(*args))
            except BaseException as error:
                done.set_exception(error)

        loop.call_soon_threadsafe(run)
        return done.result()

    def _await_on_loop(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the broker's loop and wait for its result."""
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the broker is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

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
            self._loop = None
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
