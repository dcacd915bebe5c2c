"""The rarer user and permission routes, in RabbitMQ 3.10.8's shapes: deleting users in
bulk, one exchange's topic permission, and ``/api/all-configuration`` (the old name of
``/api/definitions``).  The limits are in ``limit_routes.py``.
"""

from __future__ import annotations

from aiohttp import web

from .access_routes import get_topic_permission, put_topic_permission
from .auth import Level
from .definitions_routes import get_definitions, post_definitions
from .http import bad_request, keys_missing, no_content, not_found, server_error
from .routes import Call, Route

ADMIN = Level.ADMINISTRATOR


async def bulk_delete_users(call: Call) -> web.StreamResponse:
    """Delete the users named, in order; at the first that does not exist, 400
    ``["no_such_user", NAME]`` (those before it stay deleted, as in RabbitMQ)."""
    body = await call.body()
    keys_missing(body, ["users"])
    names = body["users"]
    if not isinstance(names, list):
        raise server_error()
    access = call.broker.access
    for name in names:
        if not isinstance(name, str) or name not in access.users:
            raise bad_request(["no_such_user", name])
        access.delete_user(name)
    return no_content()


async def delete_exchange_topic_permission(call: Call) -> web.StreamResponse:
    """Clear the user's topic permission on one exchange: 204 whenever the user has any in
    the vhost (even on other exchanges), 404 when none."""
    user, vhost = call.segment("user"), call.segment("vhost")
    access = call.broker.access
    if (user, vhost) not in access.topic_permissions:
        raise not_found()
    access.clear_topic_permissions(user, vhost, call.segment("exchange"))
    return no_content()


ROUTES = [
    Route("POST", "/api/users/bulk-delete", bulk_delete_users, ADMIN),
    Route("GET", "/api/topic-permissions/{vhost}/{user}/{exchange}", get_topic_permission, ADMIN),
    Route("PUT", "/api/topic-permissions/{vhost}/{user}/{exchange}", put_topic_permission, ADMIN),
    Route(
        "DELETE",
        "/api/topic-permissions/{vhost}/{user}/{exchange}",
        delete_exchange_topic_permission,
        ADMIN,
    ),
    Route("GET", "/api/all-configuration", get_definitions, ADMIN),
    Route("POST", "/api/all-configuration", post_definitions, ADMIN),
]
