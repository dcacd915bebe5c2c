"""The management application and its listener, on the broker's own event loop.

``build_app`` makes the aiohttp application from the route table (``routes.py``);
``ManagementServer`` listens for it (HTTP, or HTTPS with an ``ssl.SSLContext``).  Each path
is one resource, as in RabbitMQ's dispatcher: a method it lacks is 405 (empty, with that
path's ``Allow``; OPTIONS is 200 with it; a method cowboy does not know, 501) and an unknown
path under ``/api`` is 404 for GET (400 for a ``%2F`` in it) and 405 otherwise, before any
credentials are looked at; then the caller is authenticated and its tags checked
(``auth.py``); then the handler runs.  An ``ApiError`` becomes RabbitMQ's error answer;
anything else is logged and answered 500.
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from aiohttp import web

from amqpbroker.access.users import User

from .auth import Level, authenticate, require
from .broker import ManagedBroker
from .http import ApiError, not_found
from .routes import Call, NodeInfo, Route, route_table
from .static_files import add_static_routes

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
    for routes in _by_path(route_table()):
        _add_resource(app, routes)
    # RabbitMQ's catch-all under /api: GET is 404, other methods 405 (it allows GET).
    app.router.add_route("*", "/api/{tail:.*}", _unknown_path)
    add_static_routes(app)  # the web page (static_files.py)
    return app


async def _unknown_path(request: web.Request) -> web.StreamResponse:
    """RabbitMQ's static-file handler answers there: a GET is 404, or 400 (empty) when a
    segment holds what a file name may not (``%2F``, ``%5C``, ``%00``)."""
    segments = request.raw_path.split("?", 1)[0].split("/")
    malformed = any(set(unquote(segment)) & {"/", "\\", "\0"} for segment in segments)
    otherwise = ApiError(400) if malformed else not_found()
    return await _refusal(_UNKNOWN_PATH_ALLOW, otherwise)(request)


_PARAMETER = re.compile(r"\{([^}:]+)(:[^}]*)?\}")
_UNKNOWN_PATH_ALLOW = "HEAD, GET, OPTIONS"


def _by_path(routes: list[Route]) -> list[list[Route]]:
    """The routes grouped by the path they match (whatever their parameters are named), in
    the order their paths first appear: one resource each, as RabbitMQ has one handler a
    path, so that a method it lacks is refused with that path's own ``Allow``."""
    groups: dict[str, list[Route]] = {}
    for route in routes:
        groups.setdefault(_PARAMETER.sub(r"{\2}", route.path), []).append(route)
    return list(groups.values())


def _add_resource(app: web.Application, routes: list[Route]) -> None:
    path = routes[0].path
    allow = _allow(routes)
    # RabbitMQ takes a trailing slash too (``/api/overview/``).
    for variant in (path, path + "/"):
        resource = app.router.add_resource(variant)
        for route in routes:
            endpoint = _endpoint(route, _names(route.path), _names(path))
            resource.add_route(route.method, endpoint)
            if route.method == "GET" and route.head:  # RabbitMQ answers HEAD as GET
                resource.add_route("HEAD", endpoint)
        resource.add_route("*", _refusal(allow))


def _names(path: str) -> list[str]:
    return [match.group(1) for match in _PARAMETER.finditer(path)]


def _endpoint(route: Route, own: list[str], registered: list[str]) -> Endpoint:
    """The route's handler behind authentication and its tag rule; its path segments by its
    own names (the resource may have been registered with other names)."""

    async def endpoint(request: web.Request) -> web.StreamResponse:
        broker, node = request.app[_BROKER], request.app[_NODE]
        pairs = zip(own, registered, strict=True)
        segments = {mine: request.match_info[theirs] for mine, theirs in pairs}
        if route.level is Level.PUBLIC:
            return await route.handler(Call(request, broker, node, User(""), segments))
        user = authenticate(
            broker.access, broker.config, request.headers.get("Authorization"), request.remote
        )
        require(user, route.level)
        return await route.handler(Call(request, broker, node, user, segments))

    endpoint.__name__ = route.handler.__name__
    return endpoint


def _refusal(allow: str, otherwise: ApiError | None = None) -> Endpoint:
    """A path's answer to the methods it lacks, before any credentials are looked at:
    OPTIONS is 200 with ``Allow``, another method 405 with it (``otherwise`` for GET and
    HEAD, where a path has none)."""

    async def refuse(request: web.Request) -> web.StreamResponse:
        if request.method not in _KNOWN_METHODS:  # (cowboy's known_methods)
            return web.Response(status=501)
        if request.method == "OPTIONS":
            return web.Response(status=200, headers={"Allow": allow})
        if otherwise is not None and request.method in ("GET", "HEAD"):
            raise otherwise
        return web.Response(status=405, headers={"Allow": allow})

    return refuse


@web.middleware
async def _rabbitmq_answers(request: web.Request, handler: Endpoint) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return error.response()
    except web.HTTPMethodNotAllowed as error:
        allowed = ", ".join(m for m in _METHOD_ORDER if m in error.allowed_methods)
        return web.Response(status=405, headers={"Allow": allowed})
    except web.HTTPNotFound:
        return not_found().response()
    except web.HTTPException:
        raise
    except Exception:
        log.exception("management API: %s %s failed", request.method, request.path)
        return web.Response(status=500)


_METHOD_ORDER = ("HEAD", "GET", "PUT", "POST", "DELETE", "OPTIONS")
_KNOWN_METHODS = frozenset(_METHOD_ORDER) | {"PATCH"}


def _allow(routes: list[Route]) -> str:
    """RabbitMQ's ``Allow`` header for one path: HEAD with GET (where it answers it), and
    OPTIONS, in its order."""
    methods = {route.method for route in routes} | {"OPTIONS"}
    methods |= {"HEAD" for route in routes if route.method == "GET" and route.head}
    return ", ".join(m for m in _METHOD_ORDER if m in methods)


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
