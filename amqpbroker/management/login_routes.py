"""What the management web page's login uses, in RabbitMQ 3.10.8's shapes: ``/api/auth``
(no OAuth 2 here), ``POST /api/login`` (a form's user name and password checked as Basic
credentials are; success sets the ``auth`` cookie the page keeps them in), and the counts
of login attempts per protocol (``/api/auth/attempts/{node}``; by source: never tracked,
as RabbitMQ's default ``track_auth_attempt_source = false``).  And one extension, for this
broker's own page: ``POST /api/page-login`` checks a user name and password and always
answers 200 (a 401 would be a console error in the browser), saying why a login failed in
RabbitMQ's page texts.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qsl

from aiohttp import web

from .auth import Level, log_in
from .http import ApiError, json_response, login_failed, no_content, not_found
from .node_extras import unpaged_list
from .routes import Call, Route

PUBLIC, MONITOR = Level.PUBLIC, Level.MONITORING
_FORM = "application/x-www-form-urlencoded"


async def auth_settings(call: Call) -> web.StreamResponse:
    return json_response({"enable_uaa": False, "uaa_client_id": "", "uaa_location": ""})


async def login(call: Call) -> web.StreamResponse:
    """Credentials first (whatever the body's type, as RabbitMQ reads it as a form), then
    415 unless the body is a form."""
    raw = await call.request.read()
    fields = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    name, password = fields.get("username"), fields.get("password")
    broker = call.broker
    if name is None or password is None:
        broker.access.auth_attempts.record("http", succeeded=False)
        raise login_failed()
    log_in(broker.access, broker.config, name, password, call.request.remote)
    cookie = base64.b64encode(f"{name}:{password}".encode()).decode()
    headers = {"Set-Cookie": f"auth={cookie}; Version=1"}  # (even with the 415)
    if call.request.content_type != _FORM:
        raise ApiError(415, headers=headers)
    return json_response("ok", headers={**headers, "Cache-Control": "no-cache"})


async def page_login(call: Call) -> web.StreamResponse:
    """``{"ok": true, "name", "tags"}`` for credentials the API would take, else
    ``{"ok": false, "reason"}`` with the reason the API would give."""
    try:
        fields = await call.body()
    except ApiError:
        fields = {}
    name, password = fields.get("username"), fields.get("password")
    broker = call.broker
    if not isinstance(name, str) or not isinstance(password, str):
        broker.access.auth_attempts.record("http", succeeded=False)
        return json_response({"ok": False, "reason": "Login failed"})
    try:
        user = log_in(broker.access, broker.config, name, password, call.request.remote)
    except ApiError as refusal:
        reason = refusal.body.get("reason") if isinstance(refusal.body, dict) else None
        return json_response({"ok": False, "reason": reason or "Login failed"})
    return json_response({"ok": True, "name": user.name, "tags": list(user.tags)})


def _this_node(call: Call) -> None:
    if call.segment("node") != call.node.node:
        raise not_found()


async def auth_attempts(call: Call) -> web.StreamResponse:
    _this_node(call)
    return unpaged_list(call, call.broker.access.auth_attempts.items())


async def auth_attempts_by_source(call: Call) -> web.StreamResponse:
    _this_node(call)
    return json_response([])


async def reset_auth_attempts(call: Call) -> web.StreamResponse:
    """Forget the counts (by source too: there are none)."""
    _this_node(call)
    call.broker.access.auth_attempts.reset()
    return no_content()


_ATTEMPTS = "/api/auth/attempts/{node}"

ROUTES = [
    Route("GET", "/api/auth", auth_settings, PUBLIC),
    Route("GET", _ATTEMPTS, auth_attempts, MONITOR),
    Route("DELETE", _ATTEMPTS, reset_auth_attempts, MONITOR),
    Route("GET", _ATTEMPTS + "/source", auth_attempts_by_source, MONITOR),
    Route("DELETE", _ATTEMPTS + "/source", reset_auth_attempts, MONITOR),
    Route("POST", "/api/login", login, PUBLIC),
    Route("POST", "/api/page-login", page_login, PUBLIC),  # (an extension)
]
