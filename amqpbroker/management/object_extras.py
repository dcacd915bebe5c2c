"""The rarer connection and queue routes, in RabbitMQ 3.10.8's shapes: a user's connections
(listed, or closed all at once), and a queue's ``actions`` (``sync`` and ``cancel_sync`` of
a mirrored queue: no queue here has mirrors, so both succeed with nothing to do).

3.10.8 answers 500 (its handler crashes) when a user without the monitoring or
administrator tag lists or closes a user's connections, or when an action names a queue or
vhost that does not exist; these answer the same.
"""

from __future__ import annotations

from aiohttp import web

from amqpbroker.errors import ConnectionForced

from .auth import Level, is_administrator, sees_all_vhosts
from .http import ApiError, bad_request, keys_missing, no_content
from .object_actions import DEFAULT_CLOSE_REASON
from .routes import Call, Route
from .streaming import list_response
from .views import open_sessions

ADMIN = Level.ADMINISTRATOR


async def user_connections(call: Call) -> web.StreamResponse:
    """The user's connections as RabbitMQ tracks them: name, vhost, user, node."""
    if not sees_all_vhosts(call.user):
        raise ApiError(500)
    context, _ = call.view_context()
    name = call.segment("username")
    items = (
        {
            "name": context.connection_name(session.peer),
            "vhost": session.vhost.name if session.vhost is not None else "",
            "user": session.user,
            "node": call.node.node,
        }
        for session in open_sessions(c.session for c in call.broker.connections)
        if session.user == name
    )
    return await list_response(call, "tracked_connection", items)


async def close_user_connections(call: Call) -> web.StreamResponse:
    """Close every connection of the user: 320 CONNECTION_FORCED with ``X-Reason``."""
    if not is_administrator(call.user):
        raise ApiError(500)
    name = call.segment("username")
    reason = call.request.headers.get("X-Reason", DEFAULT_CLOSE_REASON)
    for connection in list(call.broker.connections):
        session = connection.session
        if session is not None and session.user == name:
            connection.close_by_broker(ConnectionForced(reason))
    return no_content()


async def queue_action(call: Call) -> web.StreamResponse:
    body = await call.body()
    keys_missing(body, ["action"])
    vhost = call.broker.state.vhosts.get(call.segment("vhost"))
    if vhost is None or call.segment("queue") not in vhost.queues:
        raise ApiError(500)
    action = body["action"]
    if action not in ("sync", "cancel_sync"):
        raise bad_request(["unknown", action])
    return no_content()


ROUTES = [
    Route("GET", "/api/connections/username/{username}", user_connections),
    Route("DELETE", "/api/connections/username/{username}", close_user_connections),
    Route("POST", "/api/queues/{vhost}/{queue}/actions", queue_action, ADMIN),
]
