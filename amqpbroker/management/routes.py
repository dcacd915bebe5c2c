"""The route table: every ``/api/...`` route, what it asks of its caller, its handler.

A handler is ``async def handler(call: Call) -> web.StreamResponse``; to add a route, add a
``Route`` to a module's ``ROUTES`` (or a new module's, listed in ``route_table``).  Paths
use aiohttp's ``{name}`` segments, percent-decoded before the handler sees them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from amqpbroker.access.users import User

from .auth import Level, check_vhost
from .broker import ManagedBroker
from .http import json_body
from .views.context import UnackedIndex, ViewContext
from .views.tls_facts import tls_facts


@dataclass
class NodeInfo:
    """What the API says about this node: its names, and where the API itself listens."""

    node: str
    cluster_name: str
    scheme: str = "http"
    host: str = "127.0.0.1"
    port: int = 0


@dataclass
class Call:
    """One authenticated request, as a handler sees it."""

    request: web.Request
    broker: ManagedBroker
    node: NodeInfo
    user: User
    segments: Mapping[str, str] | None = None  # by this route's names; else match_info's

    def segment(self, name: str) -> str:
        """A path segment, percent-decoded (``%2F`` is ``/``)."""
        return (self.segments or self.request.match_info)[name]

    @property
    def query(self) -> Any:
        return self.request.query

    async def body(self, not_json: str = "not_json") -> dict[str, Any]:
        return await json_body(self.request, not_json)

    def view_context(self) -> tuple[ViewContext, UnackedIndex]:
        """What the item builders of ``views/`` need, gathered once for this request."""
        listeners = self.broker.amqp_listeners()
        local = f"{listeners[0][1]}:{listeners[0][2]}" if listeners else "127.0.0.1:5672"
        live = [(c, c.session) for c in self.broker.connections if c.session is not None]
        sessions = [session for _, session in live]
        tls = {s.peer: tls_facts(c.ssl_object) for c, s in live if c.ssl_object is not None}
        context = ViewContext(
            node=self.node.node,
            local_address=local,
            local_addresses={s.peer: c.local_address for c, s in live if c.local_address},
            tls={peer: facts for peer, facts in tls.items() if facts is not None},
            connected_at={s.peer: c.connected_at for c, s in live},
            started_at=self.broker.started_at,
            default_actor=self.broker.config.default_user,
            sessions=tuple(sessions),
        )
        return context, UnackedIndex(sessions)

    def cluster_name(self) -> Any:
        """The ``cluster_name`` global parameter if set (any JSON value, as RabbitMQ
        keeps it), else the node's name."""
        return self.broker.parameters.global_values.get("cluster_name", self.node.cluster_name)

    def check_vhost(self, vhost: str) -> None:
        """401 unless the caller may act in ``vhost`` (administrators may)."""
        check_vhost(self.broker.access, self.user, vhost)


Handler = Callable[[Call], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """One method on one path.  ``head``: a GET answers HEAD too (RabbitMQ's limits routes
    do not)."""

    method: str
    path: str
    handler: Handler
    level: Level = Level.MANAGEMENT
    head: bool = True


def route_table() -> list[Route]:
    from . import (  # noqa: PLC0415
        access_extras,
        access_routes,
        definitions_routes,
        journey_routes,
        limit_routes,
        login_routes,
        message_actions,
        node_extras,
        node_routes,
        object_actions,
        object_extras,
        object_routes,
        parameter_routes,
        policy_routes,
    )

    return [
        *node_routes.ROUTES,
        *access_routes.ROUTES,
        *definitions_routes.ROUTES,
        *object_routes.ROUTES,
        *object_actions.ROUTES,
        *message_actions.ROUTES,
        *policy_routes.ROUTES,
        *parameter_routes.ROUTES,
        *node_extras.ROUTES,
        *access_extras.ROUTES,
        *limit_routes.ROUTES,
        *object_extras.ROUTES,
        *login_routes.ROUTES,
        *journey_routes.ROUTES,
    ]
