"""The management application and its listener, on the broker's own event loop.

``build_app`` makes the aiohttp application from the route table (``routes.py``);
``ManagementServer`` listens for it (HTTP, or HTTPS with an ``ssl.SSLContext``).  Requests
pass through one middleware, in RabbitMQ's order: an unknown path is 404 and a known path
with another method 405 (empty, with ``Allow``) before any credentials are looked at; then
the caller is authenticated and its tags checked (``auth.py``); then the handler runs.  An
``ApiError`` becomes RabbitMQ's error answer; anything else is logged and answered 500.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Awaitable, Callable

from aiohttp import web

from .auth import authenticate, require
from .broker import ManagedBroker
from .http import ApiError, not_found
from .routes import Call, NodeInfo, Route, route_table

log = logging.getLogger(__name__)

_BROKER = web.AppKey("broker", ManagedBroker)
_NODE = web.AppKey("node", NodeInfo)

Endpoint = Callable[[web.Request], Awaitable[web.StreamResponse]]


def node_name() -> str:
    """``amqpbroker@HOST``, as RabbitMQ's ``rabbit@HOST``."""
    return f"amqpbroker@{socket.gethostname().split('.', 1)[0]}"


def build_app(broker: ManagedBroker, node: NodeInfo | None = None) -> web.Application:
    app = web.Application(middlewares=[_rabbitmq_answers], client_max_size=64 * 1024 * 1024)
    node = node or NodeInfo(node_name(), node_name())
    app[_BROKER] = broker
    app[_NODE] = node
    for route in route_table():
        endpoint = _endpoint(route)
        # RabbitMQ takes a trailing slash too (``/api/overview/``).
        for path in (route.path, route.path + "/"):
            if route.method == "GET":  # and HEAD, as RabbitMQ answers it
                app.router.add_get(path, endpoint)
            else:
                app.router.add_route(route.method, path, endpoint)
    return app


def _endpoint(route: Route) -> Endpoint:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        broker, node = request.app[_BROKER], request.app[_NODE]
        user = authenticate(
            broker.access, broker.config, request.headers.get("Authorization"), request.remote
        )
        require(user, route.level)
        return await route.handler(Call(request, broker, node, user))

    endpoint.__name__ = route.handler.__name__
    return endpoint


@web.middleware
async def _rabbitmq_answers(request: web.Request, handler: Endpoint) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return error.response()
    except web.HTTPMethodNotAllowed as error:
        return web.Response(status=405, headers={"Allow": _allow(error.allowed_methods)})
    except web.HTTPNotFound:
        return not_found().response()
    except web.HTTPException:
        raise
    except Exception:
        log.exception("management API: %s %s failed", request.method, request.path)
        return web.Response(status=500)


_METHOD_ORDER = ("HEAD", "GET", "PUT", "POST", "DELETE", "OPTIONS")


def _allow(methods: set[str]) -> str:
    """RabbitMQ's ``Allow`` header: HEAD with GET, and OPTIONS, in its order."""
    allowed = set(methods) | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())
    return ", ".join(m for m in _METHOD_ORDER if m in allowed)


class ManagementServer:
    """The HTTP(S) listener of the management API; ``start`` it, then ``url``."""

    def __init__(self, broker: ManagedBroker, ssl_context: ssl.SSLContext | None = None) -> None:
        self.node = NodeInfo(node_name(), node_name(), "https" if ssl_context else "http")
        self._ssl_context = ssl_context
        self._runner = web.AppRunner(
            build_app(broker, self.node),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=1.0,
        )

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host``:``port`` (0 picks a free one); ``OSError`` if it cannot."""
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, host, port, ssl_context=self._ssl_context, reuse_address=True
        )
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            raise
        address = self._runner.addresses[0]
        self.node.host, self.node.port = host, int(address[1])

    @property
    def url(self) -> str:
        host = f"[{self.node.host}]" if ":" in self.node.host else self.node.host
        return f"{self.node.scheme}://{host}:{self.node.port}/"

    async def stop(self) -> None:
        await self._runner.cleanup()
