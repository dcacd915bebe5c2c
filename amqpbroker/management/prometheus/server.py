"""The Prometheus listener: ``GET /metrics`` and ``GET /metrics/per-object`` over aiohttp on
the broker's loop, without authentication (as rabbitmq_prometheus).  A scrape is written a
slice of ``SLICE_SECONDS`` at a time, the loop given back between two."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

from aiohttp import web

from amqpbroker.management.app import node_name
from amqpbroker.management.broker import ManagedBroker

from .exposition import CONTENT_TYPE, Piece, scrape_pieces

SLICE_SECONDS = 0.01
_BROKER = web.AppKey("broker", ManagedBroker)
_ALLOW = "HEAD, GET, OPTIONS"
_NOT_FOUND = '{"error":"Object Not Found","reason":"Not Found"}'


async def write_pieces(
    response: web.StreamResponse, pieces: Iterator[Piece], seconds: float = SLICE_SECONDS
) -> None:
    """Run ``pieces`` to the end, writing what it made and yielding to the loop whenever a
    slice has run ``seconds`` (checked at each pause it offers)."""
    parts: list[str] = []
    started = time.perf_counter()
    for piece in pieces:
        if piece is not None:
            parts.append(piece)
        elif time.perf_counter() - started > seconds:
            await response.write("".join(parts).encode())
            parts.clear()
            await asyncio.sleep(0)
            started = time.perf_counter()
    await response.write("".join(parts).encode())


async def _scrape(request: web.Request, per_object: bool) -> web.StreamResponse:
    broker = request.app[_BROKER]
    response = web.StreamResponse(headers={"content-type": CONTENT_TYPE})
    await response.prepare(request)
    if request.method != "HEAD":
        await write_pieces(response, scrape_pieces(broker, node_name(), per_object=per_object))
    await response.write_eof()
    return response


def _other_method(request: web.Request) -> web.StreamResponse | None:
    """RabbitMQ's answer to a method other than GET and HEAD under /metrics: OPTIONS 200,
    anything else 405, both with ``allow`` and no body; None for GET and HEAD."""
    if request.method in ("GET", "HEAD"):
        return None
    status = 200 if request.method == "OPTIONS" else 405
    return web.Response(status=status, headers={"allow": _ALLOW})


async def _aggregated(request: web.Request) -> web.StreamResponse:
    return _other_method(request) or await _scrape(request, per_object=False)


async def _per_object(request: web.Request) -> web.StreamResponse:
    return _other_method(request) or await _scrape(request, per_object=True)


async def _unknown_registry(request: web.Request) -> web.StreamResponse:
    return _other_method(request) or web.Response(status=404, text="Unknown Registry")


async def _not_found(request: web.Request) -> web.StreamResponse:
    return web.Response(status=404, text=_NOT_FOUND, content_type="application/json")


def build_metrics_app(broker: ManagedBroker) -> web.Application:
    app = web.Application()
    app[_BROKER] = broker
    app.router.add_route("*", "/metrics", _aggregated)
    app.router.add_route("*", "/metrics/per-object", _per_object)
    app.router.add_route("*", "/metrics/{registry:.*}", _unknown_registry)
    app.router.add_route("*", "/{tail:.*}", _not_found)
    return app


class PrometheusServer:
    """The listener of ``/metrics``; ``start`` it, then ``url``."""

    def __init__(self, broker: ManagedBroker) -> None:
        self._runner = web.AppRunner(
            build_metrics_app(broker), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        self.host = ""
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host``:``port`` (0 picks a free one); ``OSError`` if it cannot."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_address=True)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            raise
        self.host, self.port = host, int(self._runner.addresses[0][1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    async def stop(self) -> None:
        await self._runner.cleanup()
