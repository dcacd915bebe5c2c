"""The mutating routes for queues, exchanges, bindings and connections, with RabbitMQ
3.10.8's statuses and error bodies.  Declarations go through the core exactly as AMQP's
do (``VirtualHost.declare_queue`` and friends, with the caller's AMQP permissions)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote_plus

from aiohttp import web

from amqpbroker.access.permissions import VhostAccess
from amqpbroker.core.exchanges import EXCHANGE_TYPES, Binding, Exchange
from amqpbroker.core.vhost import VirtualHost
from amqpbroker.errors import AccessRefused, AMQPError, ConnectionForced, NotFound
from amqpbroker.session.handlers.authorization import (
    check_binding,
    exchange_declare_checks,
    queue_declare_checks,
)

from .auth import is_administrator, sees_all_vhosts
from .http import (
    ApiError,
    bad_request,
    created_or_not,
    flag,
    no_content,
    not_authorised,
    not_found,
    not_found_reason,
    server_error,
    text,
)
from .routes import Call, Route
from .views.binding_keys import properties_key

# What owns what an HTTP request declares: never a connection, so exclusive queues of
# AMQP clients stay locked to it.
HTTP_OWNER = object()
DEFAULT_CLOSE_REASON = "Closed via management plugin"


@contextmanager
def amqp_errors() -> Iterator[None]:
    """The core's AMQP errors as RabbitMQ's management plugin answers them."""
    try:
        yield
    except NotFound as error:
        raise not_found_reason(error.message) from None
    except AccessRefused:  # (the plugin checks rights itself and does not say which)
        raise not_authorised("Access refused.") from None
    except AMQPError as error:
        raise bad_request(error.message) from None


def request_vhost(call: Call, missing: ApiError | None = None) -> VirtualHost:
    vhost = call.broker.state.vhosts.get(call.segment("vhost"))
    if vhost is None:
        raise missing or not_found()
    call.check_vhost(vhost.name)
    return vhost


def caller_access(call: Call, vhost: VirtualHost) -> VhostAccess:
    access = call.broker.access.access_for(call.user.name, vhost.name)
    if access is None:
        raise not_authorised("User not authorised to access virtual host")
    return access


def _not_reserved(name: str) -> None:
    """``amq.*`` (and the default exchange) are refused before anything else."""
    if not name or name.startswith("amq."):
        raise not_authorised("Access refused.")


def _arguments(body: dict[str, Any]) -> dict[str, Any]:
    arguments = body.get("arguments", {})
    if arguments in ("", None):
        return {}
    if not isinstance(arguments, dict):
        raise server_error()
    return arguments


def _query_flag(call: Call, name: str) -> bool:
    value = call.query.get(name)
    return value is not None and flag(value)


# -- queues ---------------------------------------------------------------------------------------


async def put_queue(call: Call) -> web.StreamResponse:
    """Declare a queue (201 new, 204 existing); defaults durable and auto_delete false."""
    vhost = request_vhost(call, not_found_reason("vhost_not_found"))
    name = call.segment("queue")
    _not_reserved(name)
    body = await call.body()
    access = caller_access(call, vhost)
    existed = name in vhost.queues
    with amqp_errors():
        vhost.declare_queue(
            name,
            passive=False,
            durable=flag(body.get("durable", False)),
            exclusive=False,
            auto_delete=flag(body.get("auto_delete", False)),
            arguments=_arguments(body),
            owner=HTTP_OWNER,
            guard=queue_declare_checks(access),
        )
    return created_or_not(not existed)


def _existing_queue(call: Call) -> tuple[VirtualHost, str, VhostAccess]:
    """The request's vhost, queue name (404 unless the queue exists) and caller's rights."""
    vhost = request_vhost(call)
    name = call.segment("queue")
    if name not in vhost.queues:
        raise not_found()
    return vhost, name, caller_access(call, vhost)


async def delete_queue(call: Call) -> web.StreamResponse:
    """Delete a queue (``if-empty``, ``if-unused``); 404 when there is none."""
    vhost, name, access = _existing_queue(call)
    with amqp_errors():
        access.check("configure", "queue", name)
        queue = vhost.queue_to_delete(
            name,
            if_unused=_query_flag(call, "if-unused"),
            if_empty=_query_flag(call, "if-empty"),
            owner=HTTP_OWNER,
        )
        if queue is not None:
            vhost.remove_queue(queue)
    return no_content()


async def purge_queue(call: Call) -> web.StreamResponse:
    vhost, name, access = _existing_queue(call)
    with amqp_errors():
        access.check("read", "queue", name)
        vhost.purge_queue(name, HTTP_OWNER)
    return no_content()


# -- exchanges ------------------------------------------------------------------------------------


async def put_exchange(call: Call) -> web.StreamResponse:
    """Declare an exchange (201 new, 204 existing); type ``direct`` unless given."""
    vhost = request_vhost(call, not_found_reason("vhost_not_found"))
    name = call.segment("exchange")
    _not_reserved(name)
    body = await call.body()
    type_name = text(body.get("type", "direct"))
    if type_name not in EXCHANGE_TYPES:  # (the plugin's own check, before AMQP's)
        raise bad_request(f"invalid exchange type '{type_name}'")
    access = caller_access(call, vhost)
    existed = name in vhost.exchanges
    with amqp_errors():
        vhost.declare_exchange(
            name,
            type_name,
            passive=False,
            durable=flag(body.get("durable", False)),
            auto_delete=flag(body.get("auto_delete", False)),
            internal=flag(body.get("internal", False)),
            arguments=_arguments(body),
            guard=exchange_declare_checks(access),
        )
    return created_or_not(not existed)


async def delete_exchange(call: Call) -> web.StreamResponse:
    vhost = request_vhost(call)
    name = call.segment("exchange")
    _not_reserved(name)
    if name not in vhost.exchanges:
        raise not_found()
    access = caller_access(call, vhost)
    with amqp_errors():
        access.check("configure", "exchange", name)
        vhost.delete_exchange(name, if_unused=_query_flag(call, "if-unused"))
    return no_content()


# -- bindings -------------------------------------------------------------------------------------


def _kind(call: Call) -> Any:
    return "queue" if call.segment("kind") == "q" else "exchange"


async def post_binding(call: Call) -> web.StreamResponse:
    """Bind (201, ``Location`` relative: destination/properties_key, form-encoded)."""
    vhost = request_vhost(call)
    source, destination, kind = call.segment("source"), call.segment("destination"), _kind(call)
    body = await call.body()
    routing_key = text(body.get("routing_key", ""))
    arguments = _arguments(body)
    access = caller_access(call, vhost)
    with amqp_errors():
        check_binding(access, vhost, kind, destination, source, routing_key)
        vhost.bindable_source(source)
        target = vhost.queue(destination) if kind == "queue" else vhost.exchange(destination)
        vhost.bind(source, target, routing_key, arguments)
    key = properties_key(routing_key, arguments)
    # (form-encoded, the key once more: "d+x/a.%2523" for queue "d x", key "a.%23")
    location = f"{quote_plus(destination, safe='')}/{quote_plus(key, safe='')}"
    return web.Response(status=201, headers={"Location": location})


def _find_binding(call: Call, vhost: VirtualHost) -> tuple[Exchange, Binding]:
    source = vhost.exchanges.get(call.segment("source"))
    objects: dict[str, Any] = vhost.queues if _kind(call) == "queue" else vhost.exchanges
    destination = objects.get(call.segment("destination"))
    if source is None or destination is None:
        raise not_found()
    for binding in source.bindings_to(destination):
        arguments = binding.raw_arguments or {}
        if properties_key(binding.routing_key, arguments) == call.segment("props"):
            return source, binding
    raise not_found()


async def delete_binding(call: Call) -> web.StreamResponse:
    vhost = request_vhost(call)
    source, binding = _find_binding(call, vhost)
    access = caller_access(call, vhost)
    destination = binding.destination.name
    with amqp_errors():
        check_binding(access, vhost, _kind(call), destination, source.name, binding.routing_key)
        raw = binding.raw_arguments or {}
        vhost.unbind(source.name, binding.destination, binding.routing_key, raw)
    return no_content()


# -- connections ----------------------------------------------------------------------------------


async def delete_connection(call: Call) -> web.StreamResponse:
    """Close a connection: its client gets 320 CONNECTION_FORCED with ``X-Reason``."""
    name = call.segment("name")
    context, _ = call.view_context()
    for connection in list(call.broker.connections):
        session = connection.session
        if session is None or context.connection_name(session.peer) != name:
            continue
        if not is_administrator(call.user) and session.user != call.user.name:
            raise not_authorised("User not authorised to access object")
        reason = call.request.headers.get("X-Reason", DEFAULT_CLOSE_REASON)
        connection.close_by_broker(ConnectionForced(reason))
        return no_content()
    # (3.10.8 crashes looking up a missing connection for a user who sees only its own)
    raise not_found() if sees_all_vhosts(call.user) else ApiError(500)


_Q = "/api/queues/{vhost}/{queue}"
_X = "/api/exchanges/{vhost}/{exchange}"
_B = "/api/bindings/{vhost}/e/{source}/{kind:[qe]}/{destination}"

ROUTES = [
    Route("PUT", _Q, put_queue),
    Route("DELETE", _Q, delete_queue),
    Route("DELETE", _Q + "/contents", purge_queue),
    Route("PUT", _X, put_exchange),
    Route("DELETE", _X, delete_exchange),
    Route("POST", _B, post_binding),
    Route("DELETE", _B + "/{props}", delete_binding),
    Route("DELETE", "/api/connections/{name}", delete_connection),
]
