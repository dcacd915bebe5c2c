"""Routes about the node: overview, whoami, extensions, cluster-name, aliveness-test and
the health checks, in RabbitMQ 3.10.8's shapes."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from amqpbroker.errors import AMQPError

from .auth import Level, is_administrator, may_use_vhost, visible_vhosts
from .http import ApiError, json_response, keys_missing, no_content, not_authorised, not_found, text
from .routes import Call, Route
from .views.overview import Listener, ObjectCounts, overview_item
from .views.query import apply_columns

ADMIN = Level.ADMINISTRATOR
OK = {"status": "ok"}
_SSL_PROTOCOLS = {"amqp": "amqp", "amqps": "amqp/ssl"}


# -- overview -------------------------------------------------------------------------------------


async def overview(call: Call) -> web.StreamResponse:
    broker = call.broker
    vhosts = visible_vhosts(broker.access, call.user, list(broker.state.vhosts))
    context, unacked = call.view_context()
    body = overview_item(
        broker.state,
        context,
        unacked,
        cluster_name=call.cluster_name(),
        vhosts=vhosts,
        objects=_object_counts(call, set(vhosts)),
        administrator=is_administrator(call.user),
        listeners=_listeners(call),
        management_contexts=[_context(call)],
    )
    return json_response(apply_columns(body, call.query))


def _object_counts(call: Call, vhosts: set[str]) -> ObjectCounts:
    """Connections, channels and consumers in the vhosts the caller may see."""
    sessions = [
        c.session
        for c in call.broker.connections
        if c.session is not None and c.session.vhost is not None and c.session.vhost.name in vhosts
    ]
    consumers = sum(
        len(queue.consumers)
        for name in vhosts
        for queue in call.broker.state.vhosts[name].queues.values()
    )
    channels = sum(len(session.channels) for session in sessions)
    return ObjectCounts(connections=len(sessions), channels=channels, consumers=consumers)


def _listeners(call: Call) -> list[Listener]:
    node = call.node
    amqp = [
        Listener(_SSL_PROTOCOLS.get(scheme, scheme), host, port)
        for scheme, host, port in call.broker.amqp_listeners()
    ]
    return [*amqp, Listener(node.scheme, node.host, node.port)]


def _context(call: Call) -> dict[str, Any]:
    node = call.node
    return {
        "ssl_opts": [],
        "node": node.node,
        "description": "RabbitMQ Management",
        "path": "/",
        "cowboy_opts": "[]",
        "ip": node.host,
        "port": str(node.port),
    }


# -- who and what ---------------------------------------------------------------------------------


async def whoami(call: Call) -> web.StreamResponse:
    return json_response({"name": call.user.name, "tags": list(call.user.tags)})


async def extensions(call: Call) -> web.StreamResponse:
    return json_response([{"javascript": "dispatcher.js"}])


async def get_cluster_name(call: Call) -> web.StreamResponse:
    return json_response({"name": call.cluster_name()})


async def put_cluster_name(call: Call) -> web.StreamResponse:
    """Set the ``cluster_name`` global parameter, as RabbitMQ does (durable; deleting the
    parameter gives the node's name back)."""
    body = await call.body()
    keys_missing(body, ["name"])
    call.broker.parameters.set_global("cluster_name", text(body["name"]))
    await call.broker.durable()
    return no_content()


# -- liveness and health --------------------------------------------------------------------------


async def aliveness_test(call: Call) -> web.StreamResponse:
    """Declares the non-durable queue ``aliveness-test`` in the vhost, as RabbitMQ does
    (it then publishes and gets a message through it; here declaring is the test)."""
    name = call.segment("vhost")
    vhost = call.broker.state.vhosts.get(name)
    if vhost is None:
        raise not_found()
    call.check_vhost(name)
    if not may_use_vhost(call.broker.access, call.user, name):
        raise not_authorised("Access refused.")
    if "aliveness-test" not in vhost.queues:
        try:
            vhost.declare_queue(
                "aliveness-test",
                passive=False,
                durable=False,
                exclusive=False,
                auto_delete=False,
                arguments={},
                owner=None,
            )
        except AMQPError:
            return json_response({"status": "failed", "reason": "declare failed"}, 503)
    return json_response(OK)


async def health_ok(call: Call) -> web.StreamResponse:
    return json_response(OK)


def _alarm_resources(call: Call) -> list[str]:
    """The resources in alarm: measured ones, or "memory" for one raised by hand
    (``block_publishers``)."""
    resources = list(call.broker.alarms.resources)
    if not resources and call.broker.alarm.reason is not None:
        resources.append("memory")
    return resources


async def health_alarms(call: Call) -> web.StreamResponse:
    return _alarms_response(call, "There are alarms in effect in the cluster")


async def health_local_alarms(call: Call) -> web.StreamResponse:
    return _alarms_response(call, "There are alarms in effect on the node")


def _alarms_response(call: Call, reason: str) -> web.StreamResponse:
    """RabbitMQ's 503 body naming each alarm in effect, else {"status": "ok"}."""
    resources = _alarm_resources(call)
    if not resources:
        return json_response(OK)
    alarms = [{"node": call.node.node, "resource": resource} for resource in resources]
    return json_response({"status": "failed", "reason": reason, "alarms": alarms}, 503)


async def health_quorum_critical(call: Call) -> web.StreamResponse:
    return json_response({"status": "ok", "reason": "single node cluster"})


def _listening(call: Call) -> list[tuple[str, int]]:
    """(protocol, port) of every listener, the API's own first (RabbitMQ's order)."""
    amqp = [
        (_SSL_PROTOCOLS.get(scheme, scheme), port)
        for scheme, _host, port in call.broker.amqp_listeners()
    ]
    return [(call.node.scheme, call.node.port), *amqp]


async def health_port_listener(call: Call) -> web.StreamResponse:
    raw = call.segment("port")
    if not raw.isdigit():
        raise ApiError(400, {"error": "bad_request", "reason": f"invalid port {raw!r}"})
    port = int(raw)
    ports = [p for _protocol, p in _listening(call)]
    if port in ports:
        return json_response({"status": "ok", "port": port})
    failed = {"status": "failed", "reason": "No active listener", "missing": port, "ports": ports}
    return json_response(failed, 503)


async def health_protocol_listener(call: Call) -> web.StreamResponse:
    protocol = call.segment("protocol")
    protocols = [name for name, _port in _listening(call)]
    if protocol in protocols:
        return json_response({"status": "ok", "protocol": protocol})
    body = {
        "status": "failed",
        "reason": "No active listener",
        "missing": protocol,
        "protocols": protocols,
    }
    return json_response(body, 503)


ROUTES = [
    Route("GET", "/api/overview", overview),
    Route("GET", "/api/whoami", whoami),
    Route("GET", "/api/extensions", extensions),
    Route("GET", "/api/cluster-name", get_cluster_name),
    Route("PUT", "/api/cluster-name", put_cluster_name, ADMIN),
    Route("GET", "/api/aliveness-test/{vhost}", aliveness_test),
    Route("GET", "/api/healthchecks/node", health_ok),
    Route("GET", "/api/health/checks/alarms", health_alarms),
    Route("GET", "/api/health/checks/local-alarms", health_local_alarms),
    Route("GET", "/api/health/checks/virtual-hosts", health_ok),
    Route("GET", "/api/health/checks/node-is-quorum-critical", health_quorum_critical),
    Route("GET", "/api/health/checks/port-listener/{port}", health_port_listener),
    Route("GET", "/api/health/checks/protocol-listener/{protocol}", health_protocol_listener),
]
