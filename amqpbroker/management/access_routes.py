"""Routes for vhosts, users, permissions and topic permissions (RabbitMQ 3.10.8's shapes,
statuses and rules).  Everything but the vhost list is for administrators.

Lists are in RabbitMQ's default order (users by name, permissions by vhost then user) and
honour ``columns``, ``sort`` and ``sort_reverse``; only the vhost list pages (3.10.8
ignores ``page`` on the others).  Single objects honour ``columns``."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from amqpbroker.access.passwords import ALGORITHMS, SHA256, hash_password
from amqpbroker.access.permissions import Permission, TopicPermission
from amqpbroker.access.users import User, parse_tags
from amqpbroker.core.vhost import VirtualHost
from amqpbroker.session.tracing import switch_tracing

from .auth import Level, visible_vhosts
from .http import (
    ApiError,
    bad_request,
    created_or_not,
    flag,
    json_response,
    keys_missing,
    no_content,
    not_found,
    server_error,
    text,
)
from .object_routes import single_response
from .routes import Call, Route
from .streaming import list_response
from .views.query import QueryError, apply_columns, apply_query
from .views.vhosts import vhost_item

ADMIN = Level.ADMINISTRATOR


# -- vhosts ---------------------------------------------------------------------------------------


def _vhost(call: Call) -> VirtualHost:
    vhost = call.broker.state.vhosts.get(call.segment("vhost"))
    if vhost is None:
        raise not_found()
    return vhost


def unpaged_list(call: Call, items: list[dict[str, Any]]) -> web.StreamResponse:
    """A short list (users, permissions) with ``columns`` and ``sort`` applied."""
    try:
        return json_response(apply_query(items, call.query, paginated=False))
    except QueryError as error:
        raise ApiError(400, error.body) from None


async def list_vhosts(call: Call) -> web.StreamResponse:
    state = call.broker.state
    names = visible_vhosts(call.broker.access, call.user, sorted(state.vhosts))
    context, unacked = call.view_context()
    items = (vhost_item(state.vhosts[n], context, unacked) for n in names)
    return await list_response(call, "vhost", items)


async def get_vhost(call: Call) -> web.StreamResponse:
    context, unacked = call.view_context()
    return single_response(call, "vhost", vhost_item(_vhost(call), context, unacked))


def _tags_field(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(t, str) for t in value)
    ):
        return parse_tags(value)
    raise server_error()


async def put_vhost(call: Call) -> web.StreamResponse:
    """Create (201; the caller gets ``.* .* .*`` on it) or update (204) a vhost; ``tracing``
    switches its tracing on or off, as RabbitMQ's trace_on/trace_off (``default_queue_type``
    is accepted and has no effect)."""
    name = call.segment("vhost")
    body = await call.body()
    tracing = flag(body["tracing"]) if "tracing" in body else None
    description = text(body["description"]) if "description" in body else None
    tags = _tags_field(body["tags"]) if "tags" in body else None
    created = call.broker.add_vhost(name, description, tags, creator=call.user.name)
    if tracing is not None:
        switch_tracing(call.broker.state.vhosts[name], tracing)
    return created_or_not(created)


async def delete_vhost(call: Call) -> web.StreamResponse:
    """Delete a vhost: its connections are closed with 320 "vhost 'NAME' is deleted"."""
    try:
        call.broker.delete_vhost(call.segment("vhost"))
    except LookupError:
        raise not_found() from None
    return no_content()


# -- users ----------------------------------------------------------------------------------------


def user_item(user: User) -> dict[str, Any]:
    return {
        "name": user.name,
        "password_hash": user.password_hash,
        "hashing_algorithm": user.hashing_algorithm,
        "tags": list(user.tags),
        "limits": dict(user.limits),
    }


def _user(call: Call) -> User:
    user = call.broker.access.users.get(call.segment("user"))
    if user is None:
        raise not_found()
    return user


def users_by_name(users: Iterable[User]) -> list[dict[str, Any]]:
    return [user_item(user) for user in sorted(users, key=lambda user: user.name)]


async def list_users(call: Call) -> web.StreamResponse:
    return unpaged_list(call, users_by_name(call.broker.access.users))


async def users_without_permissions(call: Call) -> web.StreamResponse:
    access = call.broker.access
    holders = {user for user, _vhost in access.permissions}
    return unpaged_list(call, users_by_name(u for u in access.users if u.name not in holders))


async def get_user(call: Call) -> web.StreamResponse:
    return json_response(apply_columns(user_item(_user(call)), call.query))


def _password_hash(body: dict[str, Any]) -> tuple[str, str]:
    """(hash, algorithm) from ``password`` or ``password_hash`` (neither: no password)."""
    if "password" in body and "password_hash" in body:
        raise bad_request("both_password_and_password_hash_are_provided")
    if "password" in body:
        return hash_password(text(body["password"])), SHA256
    password_hash = text(body.get("password_hash", ""))
    try:
        base64.b64decode(password_hash, validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(["not_base64", password_hash]) from None
    algorithm = body.get("hashing_algorithm", SHA256)
    return password_hash, algorithm if algorithm in ALGORITHMS else SHA256


async def put_user(call: Call) -> web.StreamResponse:
    """Create (201) or replace (204) a user: ``tags`` (a CSV string or a list) required,
    ``password`` or ``password_hash`` (with ``hashing_algorithm``) or neither."""
    name = call.segment("user")
    body = await call.body()
    if "tags" not in body:
        raise bad_request("tags_not_present")
    tags = _tags_field(body["tags"])
    password_hash, algorithm = _password_hash(body)
    access = call.broker.access
    existing = access.users.get(name)
    limits = existing.limits if existing is not None else ()  # (kept, as RabbitMQ keeps them)
    access.put_user(User(name, password_hash, algorithm, tags, limits))
    created = existing is None
    return created_or_not(created)


async def delete_user(call: Call) -> web.StreamResponse:
    try:
        call.broker.access.delete_user(call.segment("user"))
    except LookupError:
        raise not_found() from None
    return no_content()


# -- permissions ----------------------------------------------------------------------------------


def permission_item(user: str, vhost: str, permission: Permission) -> dict[str, Any]:
    return {
        "user": user,
        "vhost": vhost,
        "configure": permission.configure,
        "write": permission.write,
        "read": permission.read,
    }


def _permissions(call: Call, user: str | None = None, vhost: str | None = None) -> list[Any]:
    """The permissions (of ``user``, in ``vhost``), by vhost then user."""
    granted = call.broker.access.permissions.items()
    return [
        permission_item(u, v, permission)
        for (u, v), permission in sorted(granted, key=lambda entry: entry[0][::-1])
        if (user is None or u == user) and (vhost is None or v == vhost)
    ]


async def list_permissions(call: Call) -> web.StreamResponse:
    return unpaged_list(call, _permissions(call))


async def vhost_permissions(call: Call) -> web.StreamResponse:
    return unpaged_list(call, _permissions(call, vhost=_vhost(call).name))


async def user_permissions(call: Call) -> web.StreamResponse:
    return unpaged_list(call, _permissions(call, user=_user(call).name))


async def get_permission(call: Call) -> web.StreamResponse:
    user, vhost = call.segment("user"), call.segment("vhost")
    permission = call.broker.access.permissions.get((user, vhost))
    if permission is None:
        raise not_found()
    return json_response(apply_columns(permission_item(user, vhost, permission), call.query))


def _grantee(call: Call) -> tuple[str, str]:
    user, vhost = call.segment("user"), call.segment("vhost")
    if user not in call.broker.access.users or vhost not in call.broker.state.vhosts:
        raise bad_request("vhost_or_user_not_found")
    return user, vhost


def invalid_regexp(pattern: str, error: re.error) -> Exception:
    """400 ``["invalid_regexp", PATTERN, [MESSAGE, POSITION]]``: RabbitMQ's shape, with
    Python's message where RabbitMQ gives PCRE's."""
    return bad_request(["invalid_regexp", pattern, [error.msg, error.pos or 0]])


async def put_permission(call: Call) -> web.StreamResponse:
    body = await call.body()
    keys_missing(body, ("configure", "write", "read"))
    user, vhost = _grantee(call)
    rights = [text(body[key]) for key in ("configure", "write", "read")]
    try:
        permission = Permission(*rights)
    except re.error as error:
        raise invalid_regexp(str(error.pattern), error) from None
    access = call.broker.access
    created = (user, vhost) not in access.permissions
    access.set_permissions(user, vhost, permission)
    return created_or_not(created)


async def delete_permission(call: Call) -> web.StreamResponse:
    user, vhost = call.segment("user"), call.segment("vhost")
    access = call.broker.access
    if (user, vhost) not in access.permissions:
        raise not_found()
    access.clear_permissions(user, vhost)
    return no_content()


# -- topic permissions ----------------------------------------------------------------------------


def _topic_permissions(
    call: Call, user: str | None = None, vhost: str | None = None
) -> list[dict[str, Any]]:
    """The topic permissions (of ``user``, in ``vhost``), in the order they were set."""
    return [
        {
            "user": u,
            "vhost": v,
            "exchange": topic.exchange,
            "write": topic.write,
            "read": topic.read,
        }
        for (u, v), topics in call.broker.access.topic_permissions.items()
        if (user is None or u == user) and (vhost is None or v == vhost)
        for topic in topics.values()
    ]


def topic_list(call: Call, items: list[dict[str, Any]]) -> web.StreamResponse:
    """Topic permissions by vhost, user, then exchange, as RabbitMQ lists them."""
    items.sort(key=lambda item: (item["vhost"], item["user"], item["exchange"]))
    return unpaged_list(call, items)


async def list_topic_permissions(call: Call) -> web.StreamResponse:
    return topic_list(call, _topic_permissions(call))


async def vhost_topic_permissions(call: Call) -> web.StreamResponse:
    return topic_list(call, _topic_permissions(call, vhost=_vhost(call).name))


async def user_topic_permissions(call: Call) -> web.StreamResponse:
    return topic_list(call, _topic_permissions(call, user=_user(call).name))


async def get_topic_permission(call: Call) -> web.StreamResponse:
    items = _topic_permissions(call, call.segment("user"), call.segment("vhost"))
    if not items:
        raise not_found()
    return json_response(items)


async def put_topic_permission(call: Call) -> web.StreamResponse:
    """Set the user's topic permission on one exchange: 201 when the user had none in the
    vhost, else 204."""
    body = await call.body()
    keys_missing(body, ("exchange", "write", "read"))
    user, vhost = _grantee(call)
    exchange, write, read = (text(body[key]) for key in ("exchange", "write", "read"))
    try:
        topic = TopicPermission(exchange, write, read)
    except re.error as error:
        raise invalid_regexp(str(error.pattern), error) from None
    access = call.broker.access
    created = (user, vhost) not in access.topic_permissions
    access.set_topic_permissions(user, vhost, topic)
    return created_or_not(created)


async def delete_topic_permission(call: Call) -> web.StreamResponse:
    user, vhost = call.segment("user"), call.segment("vhost")
    access = call.broker.access
    if (user, vhost) not in access.topic_permissions:
        raise not_found()
    access.clear_topic_permissions(user, vhost)
    return no_content()


ROUTES = [
    Route("GET", "/api/vhosts", list_vhosts),
    Route("GET", "/api/vhosts/{vhost}", get_vhost, ADMIN),
    Route("PUT", "/api/vhosts/{vhost}", put_vhost, ADMIN),
    Route("DELETE", "/api/vhosts/{vhost}", delete_vhost, ADMIN),
    Route("GET", "/api/vhosts/{vhost}/permissions", vhost_permissions, ADMIN),
    Route("GET", "/api/vhosts/{vhost}/topic-permissions", vhost_topic_permissions, ADMIN),
    Route("GET", "/api/users", list_users, ADMIN),
    Route("GET", "/api/users/without-permissions", users_without_permissions, ADMIN),
    Route("GET", "/api/users/{user}", get_user, ADMIN),
    Route("PUT", "/api/users/{user}", put_user, ADMIN),
    Route("DELETE", "/api/users/{user}", delete_user, ADMIN),
    Route("GET", "/api/users/{user}/permissions", user_permissions, ADMIN),
    Route("GET", "/api/users/{user}/topic-permissions", user_topic_permissions, ADMIN),
    Route("GET", "/api/permissions", list_permissions, ADMIN),
    Route("GET", "/api/permissions/{vhost}/{user}", get_permission, ADMIN),
    Route("PUT", "/api/permissions/{vhost}/{user}", put_permission, ADMIN),
    Route("DELETE", "/api/permissions/{vhost}/{user}", delete_permission, ADMIN),
    Route("GET", "/api/topic-permissions", list_topic_permissions, ADMIN),
    Route("GET", "/api/topic-permissions/{vhost}/{user}", get_topic_permission, ADMIN),
    Route("PUT", "/api/topic-permissions/{vhost}/{user}", put_topic_permission, ADMIN),
    Route("DELETE", "/api/topic-permissions/{vhost}/{user}", delete_topic_permission, ADMIN),
]
