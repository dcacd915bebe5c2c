"""RabbitMQ 3.10.8's HTTP conventions: its error bodies, JSON in and out, its loose types.

Errors are raised as ``ApiError`` and turned into responses by the middleware (``app.py``):
``{"error": ..., "reason": ...}`` with the status RabbitMQ answers.  Request bodies are
JSON objects; as in RabbitMQ an empty body is ``{}``, and booleans and numbers may come as
strings (``rabbitmqadmin`` sends ``"durable": "true"``, ``"count": "1"``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web

JSON = "application/json"
REALM = 'Basic realm="RabbitMQ Management"'
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")  # (what Erlang's binary_to_integer takes)


class ApiError(Exception):
    """An answer other than success: status, JSON body (None: empty) and extra headers."""

    def __init__(
        self, status: int, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        if self.body is None:
            return web.Response(status=self.status, headers=self.headers)
        return json_response(self.body, self.status, self.headers)


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    # (exactly "application/json", without aiohttp's "; charset=utf-8", as RabbitMQ says)
    return web.Response(body=data, status=status, headers={"Content-Type": JSON, **(headers or {})})


def no_content() -> web.Response:
    return web.Response(status=204)


def created_or_not(created: bool) -> web.Response:
    """201 for a new object, 204 for one that existed (RabbitMQ's PUT answers)."""
    return web.Response(status=201 if created else 204)


# -- RabbitMQ's error answers ---------------------------------------------------------------------


def not_found() -> ApiError:
    """An unknown path or object: 404 ``Object Not Found``."""
    return ApiError(404, {"error": "Object Not Found", "reason": "Not Found"})


def not_found_reason(reason: str) -> ApiError:
    """404 with RabbitMQ's other spelling (``{"error":"not_found","reason":...}``)."""
    return ApiError(404, {"error": "not_found", "reason": reason})


def bad_request(reason: Any) -> ApiError:
    return ApiError(400, {"error": "bad_request", "reason": reason})


def not_authorised(reason: str) -> ApiError:
    return ApiError(401, {"error": "not_authorised", "reason": reason})


def login_failed() -> ApiError:
    """A wrong user or password: RabbitMQ spells it with a z here, and asks again."""
    body = {"error": "not_authorized", "reason": "Login failed"}
    return ApiError(401, body, {"WWW-Authenticate": REALM})


def credentials_wanted() -> ApiError:
    """No credentials at all: an empty 401 asking for them."""
    return ApiError(401, None, {"WWW-Authenticate": REALM})


def server_error() -> ApiError:
    """What RabbitMQ answers when a value has a type its handler does not expect."""
    return ApiError(500)


def keys_missing(body: Mapping[str, Any], keys: Iterable[str]) -> None:
    """400 ``[{key_missing,a},{key_missing,b}]`` (Erlang's rendering) if any are absent."""
    missing = [key for key in keys if key not in body]
    if missing:
        terms = [f"{{key_missing,{key}}}" for key in missing]
        line = "[" + ",".join(terms) + "]"
        # (Erlang's ~p breaks a list too long for its line: one element a line; 79 wraps)
        raise bad_request(line if len(line) < 79 else "[" + ",\n ".join(terms) + "]")


# -- request bodies -------------------------------------------------------------------------------


async def json_body(request: web.Request, not_json: str = "not_json") -> dict[str, Any]:
    """The request's JSON object; ``{}`` for an empty body; 400 ``not_json`` otherwise
    (definitions say ``failed_to_parse_json``), with RabbitMQ's own words for a string."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise bad_request(not_json) from None
    if isinstance(body, str):
        raise bad_request(
            "invalid payload: the request body JSON-decoded to a string. "
            "Is the input doubly-JSON-encoded?"
        )
    if not isinstance(body, dict):
        raise bad_request(not_json)
    return body


def flag(value: Any) -> bool:
    """A boolean as RabbitMQ reads one: true/false, or the strings "true"/"false"; anything
    else is 400 ``["not_boolean", value]``."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise bad_request(["not_boolean", value])


def text(value: Any) -> str:
    """A string field; anything else fails as RabbitMQ's handler does (500, empty)."""
    if not isinstance(value, str):
        raise server_error()
    return value


def integer(value: Any) -> int:
    """A number as RabbitMQ reads one (``count``, ``truncate``): an integer, a float cut to
    one (``2.7`` is 2), or an integer's decimal string (``"1"``, ``"-1"``, no spaces);
    anything else is 400 ``["not_integer", value]`` (recorded on 3.10.8)."""
    if isinstance(value, bool):
        raise bad_request(["not_integer", value])
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        return int(value)
    raise bad_request(["not_integer", value])
