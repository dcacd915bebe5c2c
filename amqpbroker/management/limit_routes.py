"""``/api/vhost-limits`` and ``/api/user-limits``, as RabbitMQ 3.10.8 answers them.

A vhost's limits are its ``vhost-limits`` runtime parameter named ``limits``
(``RuntimeParameters.set_vhost_limit``); the core reads them when they change
(``core/limits.py``).  ``PUT /api/vhost-limits/{vhost}/{name}`` with ``{"value": N}`` sets
one key, ``DELETE`` clears it (204 whether or not it was set); a vhost that does not exist is
404 ``vhost_not_found`` for PUT and 500 for DELETE, as RabbitMQ's handler fails there.  The
lists show only vhosts whose limits are not empty.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from amqpbroker.core.limits import USER_LIMIT_KEYS
from amqpbroker.policies.model import ValidationFailed
from amqpbroker.policies.terms import Tuple, format_term

from .auth import Level, login_vhosts
from .http import (
    bad_request,
    json_response,
    keys_missing,
    no_content,
    not_found,
    not_found_reason,
    server_error,
)
from .routes import Call, Route

ADMIN = Level.ADMINISTRATOR


def _vhost_items(call: Call, names: list[str]) -> list[dict[str, Any]]:
    items = []
    for name in names:
        value = call.broker.parameters.vhost_limits(name)
        if isinstance(value, dict) and value:
            items.append({"vhost": name, "value": value})
    return items


async def vhost_limits(call: Call) -> web.StreamResponse:
    """Every visible vhost's limits; one vhost's: 404 if it does not exist."""
    vhost = call.request.match_info.get("vhost")
    vhosts = call.broker.state.vhosts
    if vhost is not None:
        if vhost not in vhosts:
            raise not_found()
        if not call.user.has_tag("monitoring"):  # (monitoring users see every vhost)
            call.check_vhost(vhost)
        return json_response(_vhost_items(call, [vhost]))
    if call.user.has_tag("monitoring"):
        names = list(vhosts)
    else:
        names = login_vhosts(call.broker.access, call.user, list(vhosts))
    return json_response(_vhost_items(call, sorted(names)))


async def put_vhost_limit(call: Call) -> web.StreamResponse:
    vhost = call.segment("vhost")
    if vhost not in call.broker.state.vhosts:
        raise not_found_reason("vhost_not_found")
    body = await call.body()
    keys_missing(body, ["value"])
    try:
        call.broker.parameters.set_vhost_limit(vhost, call.segment("name"), body["value"])
    except ValidationFailed as error:
        raise bad_request(error.reason(escape=False)) from None
    await call.broker.durable()
    return no_content()


async def delete_vhost_limit(call: Call) -> web.StreamResponse:
    vhost = call.segment("vhost")
    if vhost not in call.broker.state.vhosts:
        raise server_error()
    call.broker.parameters.clear_vhost_limit(vhost, call.segment("name"))
    await call.broker.durable()
    return no_content()


async def user_limits(call: Call) -> web.StreamResponse:
    """The users with limits; one user's (``[]`` without): 404 if the user does not exist."""
    access = call.broker.access
    user = call.request.match_info.get("user")
    if user is not None and user not in access.users:
        raise not_found()
    names = [user] if user is not None else sorted(u.name for u in access.users)
    items = [{"user": n, "value": access.user_limits(n)} for n in names]
    return json_response([item for item in items if item["value"]])


async def put_user_limit(call: Call) -> web.StreamResponse:
    """Checked before the user is looked up, as RabbitMQ's ``set_user_limits`` does; its
    texts carry no ``Validation failed`` line."""
    user, key = call.segment("user"), call.segment("name")
    body = await call.body()
    keys_missing(body, ["value"])
    value = body["value"]
    if key not in USER_LIMIT_KEYS:
        raise bad_request(
            format_term("Unrecognised terms ~p in user-limits", [Tuple((key, value))])
        )
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad_request(format_term(f"{key} should be a number, actually was ~p", value))
    try:
        call.broker.access.set_user_limit(user, key, value)
    except LookupError:
        raise bad_request(["no_such_user", user]) from None
    await call.broker.durable()
    return no_content()


async def delete_user_limit(call: Call) -> web.StreamResponse:
    try:
        call.broker.access.clear_user_limit(call.segment("user"), call.segment("name"))
    except LookupError:
        raise server_error() from None
    await call.broker.durable()
    return no_content()


ROUTES = [
    Route("GET", "/api/vhost-limits", vhost_limits, head=False),
    Route("GET", "/api/vhost-limits/{vhost}", vhost_limits, head=False),
    Route("PUT", "/api/vhost-limits/{vhost}/{name}", put_vhost_limit, ADMIN),
    Route("DELETE", "/api/vhost-limits/{vhost}/{name}", delete_vhost_limit, ADMIN),
    Route("GET", "/api/user-limits", user_limits, head=False),
    Route("GET", "/api/user-limits/{user}", user_limits, head=False),
    Route("PUT", "/api/user-limits/{user}/{name}", put_user_limit, ADMIN),
    Route("DELETE", "/api/user-limits/{user}/{name}", delete_user_limit, ADMIN),
]
