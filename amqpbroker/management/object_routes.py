"""The read-only routes of the broker's objects: queues, exchanges, bindings, connections,
channels, consumers and nodes, in RabbitMQ 3.10.8's shapes (the views build the items).

Who sees what, as RabbitMQ decides it: queues only in the vhosts the caller has
permissions in (administrators: all); exchanges, bindings and consumers in the vhosts it
sees (monitoring users: all); connections and channels its own (monitoring and administrators:
all).  A route inside a vhost answers 404 for a missing one, 401 for one it may not use.
Every list honours ``columns``, ``sort``, paging and ``disable_stats`` (``views/query.py``)
and is built and encoded a slice of time at a time, giving the loop back between two
(``streaming.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from amqpbroker.core.exchanges import Exchange
from amqpbroker.core.queue import Queue
from amqpbroker.core.vhost import VirtualHost
from amqpbroker.session.connection import ConnectionSession

from .auth import Level, is_administrator, may_use_vhost, sees_all_vhosts, visible_vhosts
from .http import ApiError, json_response, not_authorised, not_found
from .routes import Call, Route
from .streaming import list_response
from .views import (
    apply_columns,
    binding_item,
    channel_item,
    channel_items,
    channel_named,
    connection_item,
    consumer_items,
    default_binding_item,
    exchange_destination_items,
    exchange_detail,
    exchange_items,
    exchange_source_items,
    find_binding,
    iter_binding_items,
    node_item,
    open_sessions,
    pair_binding_items,
    properties_key,
    queue_binding_items,
    queue_detail,
    queue_items,
    session_named,
    without_stats,
)

Item = dict[str, Any]


# -- scopes ---------------------------------------------------------------------------------------


def single_response(call: Call, kind: str, item: Item) -> web.Response:
    return json_response(apply_columns(without_stats(kind, item, call.query), call.query))


def vhost_named(call: Call) -> VirtualHost:
    """The route's ``{vhost}``: 404 if missing, 401 if the caller may not use it."""
    vhost = call.broker.state.vhosts.get(call.segment("vhost"))
    if vhost is None:
        raise not_found()
    call.check_vhost(vhost.name)
    return vhost


def existing_vhost(call: Call) -> VirtualHost | None:
    """The route's ``{vhost}`` (401 if the caller may not use it), None if missing: the
    binding lists of 3.10.8 answer [] there rather than 404."""
    vhost = call.broker.state.vhosts.get(call.segment("vhost"))
    if vhost is not None:
        call.check_vhost(vhost.name)
    return vhost


def permitted_vhosts(call: Call) -> list[VirtualHost]:
    """The vhosts whose queues the caller sees: its permitted ones (administrators: all)."""
    state = call.broker.state
    names = sorted(state.vhosts)
    if not is_administrator(call.user):
        names = [n for n in names if may_use_vhost(call.broker.access, call.user, n)]
    return [state.vhosts[name] for name in names]


def seen_vhosts(call: Call) -> list[VirtualHost]:
    """The vhosts whose exchanges and bindings the caller sees (monitoring: all)."""
    state = call.broker.state
    names = visible_vhosts(call.broker.access, call.user, sorted(state.vhosts))
    return [state.vhosts[name] for name in names]


def scoped_vhosts(call: Call, everywhere: Callable[[Call], list[VirtualHost]]) -> list[VirtualHost]:
    """The route's ``{vhost}`` if it names one, else the vhosts ``everywhere`` gives."""
    return [vhost_named(call)] if "vhost" in call.request.match_info else everywhere(call)


# -- queues ---------------------------------------------------------------------------------------


def queue_named(call: Call) -> tuple[VirtualHost, Queue]:
    vhost = vhost_named(call)
    queue = vhost.queues.get(call.segment("name"))
    if queue is None or queue.deleted:
        raise not_found()
    return vhost, queue


async def list_queues(call: Call) -> web.StreamResponse:
    context, unacked = call.view_context()
    queues = [
        vhost.queues[name]
        for vhost in scoped_vhosts(call, permitted_vhosts)
        for name in sorted(vhost.queues)
    ]
    return await list_response(call, "queue", queue_items(queues, context, unacked))


async def get_queue(call: Call) -> web.StreamResponse:
    _vhost, queue = queue_named(call)
    context, unacked = call.view_context()
    return single_response(call, "queue_detail", queue_detail(queue, context, unacked))


async def queue_bindings(call: Call) -> web.StreamResponse:
    """As 3.10.8 answers: [] in a missing vhost, and a missing queue's implicit binding."""
    vhost = existing_vhost(call)
    if vhost is None:
        return json_response([])
    name = call.segment("name")
    queue = vhost.queues.get(name)
    if queue is None:
        return await list_response(call, "binding", [implicit_binding(vhost.name, name)])
    return await list_response(call, "binding", queue_binding_items(vhost, queue))


def implicit_binding(vhost: str, queue: str) -> Item:
    """The default exchange's binding to ``queue``, whether or not it exists."""
    return {
        "source": "",
        "vhost": vhost,
        "destination": queue,
        "destination_type": "queue",
        "routing_key": queue,
        "arguments": {},
        "properties_key": properties_key(queue, {}),
    }


# -- exchanges ------------------------------------------------------------------------------------


def exchange_in(vhost: VirtualHost, name: str) -> Exchange:
    """The exchange ``name`` (``amq.default`` is the default exchange ""), or 404."""
    exchange = vhost.exchanges.get("" if name == "amq.default" else name)
    if exchange is None:
        raise not_found()
    return exchange


async def list_exchanges(call: Call) -> web.StreamResponse:
    context, _ = call.view_context()
    exchanges = [
        vhost.exchanges[name]
        for vhost in scoped_vhosts(call, seen_vhosts)
        for name in sorted(vhost.exchanges)
    ]
    return await list_response(call, "exchange", exchange_items(exchanges, context))


async def get_exchange(call: Call) -> web.StreamResponse:
    vhost = vhost_named(call)
    exchange = exchange_in(vhost, call.segment("name"))
    context, _ = call.view_context()
    return single_response(call, "exchange", exchange_detail(exchange, context))


async def exchange_source_bindings(call: Call) -> web.StreamResponse:
    vhost = existing_vhost(call)
    exchange = exchange_or_none(vhost, call.segment("name"))
    if vhost is None or exchange is None:
        return json_response([])  # (3.10.8: [] rather than 404)
    return await list_response(call, "binding", exchange_source_items(vhost, exchange))


async def exchange_destination_bindings(call: Call) -> web.StreamResponse:
    vhost = existing_vhost(call)
    exchange = exchange_or_none(vhost, call.segment("name"))
    if vhost is None or exchange is None:
        return json_response([])
    return await list_response(call, "binding", exchange_destination_items(vhost, exchange))


def exchange_or_none(vhost: VirtualHost | None, name: str) -> Exchange | None:
    if vhost is None:
        return None
    return vhost.exchanges.get("" if name == "amq.default" else name)


# -- bindings -------------------------------------------------------------------------------------


async def list_bindings(call: Call) -> web.StreamResponse:
    vhosts = scoped_vhosts(call, seen_vhosts)
    items = (item for vhost in vhosts for item in iter_binding_items(vhost))
    return await list_response(call, "binding", items)


def binding_pair(call: Call) -> tuple[VirtualHost, Exchange, Queue | Exchange]:
    """The route's source exchange and its destination (``q``: a queue, ``e``: an
    exchange), 404 if either is missing."""
    vhost = vhost_named(call)
    source = exchange_in(vhost, call.segment("source"))
    name = call.segment("destination")
    destination: Queue | Exchange | None
    if call.request.match_info.get("kind", "q") == "q":
        destination = vhost.queues.get(name)
    else:
        destination = vhost.exchanges.get(name)
    if destination is None:
        raise not_found()
    return vhost, source, destination


async def pair_bindings(call: Call) -> web.StreamResponse:
    """3.10.8 answers [] when any of the three is missing (the default exchange to a
    missing queue: its implicit binding)."""
    vhost = existing_vhost(call)
    source = exchange_or_none(vhost, call.segment("source"))
    if vhost is None or source is None:
        return json_response([])
    name = call.segment("destination")
    kind = call.segment("kind")
    destination = (vhost.queues if kind == "q" else vhost.exchanges).get(name)
    if destination is None:
        implicit = source.name == "" and kind == "q"
        return json_response([implicit_binding(vhost.name, name)] if implicit else [])
    return await list_response(call, "binding", pair_binding_items(vhost, source, destination))


async def get_binding(call: Call) -> web.StreamResponse:
    vhost, source, destination = binding_pair(call)
    props = call.segment("props")
    if source.name == "" and isinstance(destination, Queue):
        if props != properties_key(destination.name, {}):
            raise not_found()
        return single_response(call, "binding", default_binding_item(destination))
    binding = find_binding(source, destination, props)
    if binding is None:
        raise not_found()
    return single_response(call, "binding", binding_item(binding, vhost.name))


# -- connections and channels ---------------------------------------------------------------------


def sessions_seen(call: Call) -> list[ConnectionSession]:
    """The open connections the caller sees: its own (monitoring, administrators: all)."""
    sessions = open_sessions(c.session for c in call.broker.connections)
    if sees_all_vhosts(call.user):
        return sessions
    return [s for s in sessions if s.user == call.user.name]


def sessions_in_scope(call: Call) -> list[ConnectionSession]:
    """``sessions_seen``, of the route's ``{vhost}`` if it names one."""
    if "vhost" not in call.request.match_info:
        return sessions_seen(call)
    vhost = vhost_named(call)
    return [s for s in sessions_seen(call) if s.vhost is not None and s.vhost.name == vhost.name]


def session_of(call: Call, missing: ApiError) -> ConnectionSession:
    """The connection the route names: ``missing`` if none, 401 if someone else's."""
    context, _ = call.view_context()
    every = open_sessions(c.session for c in call.broker.connections)
    session = session_named(every, call.segment("name"), context)
    if session is None:
        raise missing
    if not sees_all_vhosts(call.user) and session.user != call.user.name:
        raise not_authorised("User not authorised to access object")
    return session


async def list_connections(call: Call) -> web.StreamResponse:
    context, _ = call.view_context()
    items = (connection_item(session, context) for session in sessions_in_scope(call))
    return await list_response(call, "connection", items)


def _missing(call: Call) -> ApiError:
    """An unknown connection or channel: 404, but 500 for a user who sees only its own
    (3.10.8's handler crashes looking it up for them)."""
    return not_found() if sees_all_vhosts(call.user) else ApiError(500)


async def get_connection(call: Call) -> web.StreamResponse:
    session = session_of(call, _missing(call))
    context, _ = call.view_context()
    return single_response(call, "connection", connection_item(session, context))


async def connection_channels(call: Call) -> web.StreamResponse:
    session = session_of(call, ApiError(500))  # (3.10.8: 500, not 404)
    context, _ = call.view_context()
    return await list_response(call, "channel", channel_items([session], context))


async def list_channels(call: Call) -> web.StreamResponse:
    context, _ = call.view_context()
    return await list_response(call, "channel", channel_items(sessions_in_scope(call), context))


async def get_channel(call: Call) -> web.StreamResponse:
    context, _ = call.view_context()
    every = open_sessions(c.session for c in call.broker.connections)
    channel = channel_named(every, call.segment("name"), context)
    if channel is None:
        raise _missing(call)
    if not sees_all_vhosts(call.user) and channel.connection.user != call.user.name:
        raise not_authorised("User not authorised to access object")
    return single_response(call, "channel", channel_item(channel, context))


# -- consumers and nodes --------------------------------------------------------------------------


async def list_consumers(call: Call) -> web.StreamResponse:
    context, _ = call.view_context()
    vhosts = seen_vhosts(call)
    if "vhost" in call.request.match_info:  # 404 if missing; [] (not 401) if not seen
        name = call.segment("vhost")
        if name not in call.broker.state.vhosts:
            raise not_found()
        vhosts = [vhost for vhost in vhosts if vhost.name == name]
    queues = [q for vhost in vhosts for q in queues_of_vhost(vhost)]
    return await list_response(call, "consumer", consumer_items(queues, context))


def queues_of_vhost(vhost: VirtualHost) -> list[Queue]:
    return [vhost.queues[name] for name in sorted(vhost.queues)]


def this_node(call: Call) -> Item:
    context, _ = call.view_context()
    connections = len(open_sessions(c.session for c in call.broker.connections))
    return node_item(
        context, call.broker.alarms, connections=connections, data_dir=call.broker.config.data_dir
    )


async def list_nodes(call: Call) -> web.StreamResponse:
    return await list_response(call, "node", [this_node(call)])


async def get_node(call: Call) -> web.StreamResponse:
    if call.segment("name") != call.node.node:
        raise ApiError(500)  # (3.10.8's answer for an unknown node)
    return single_response(call, "node", this_node(call))


ROUTES = [
    Route("GET", "/api/queues", list_queues),
    Route("GET", "/api/queues/{vhost}", list_queues),
    Route("GET", "/api/queues/{vhost}/{name}", get_queue),
    Route("GET", "/api/queues/{vhost}/{name}/bindings", queue_bindings),
    Route("GET", "/api/exchanges", list_exchanges),
    Route("GET", "/api/exchanges/{vhost}", list_exchanges),
    Route("GET", "/api/exchanges/{vhost}/{name}", get_exchange),
    Route("GET", "/api/exchanges/{vhost}/{name}/bindings/source", exchange_source_bindings),
    Route(
        "GET", "/api/exchanges/{vhost}/{name}/bindings/destination", exchange_destination_bindings
    ),
    Route("GET", "/api/bindings", list_bindings),
    Route("GET", "/api/bindings/{vhost}", list_bindings),
    Route("GET", "/api/bindings/{vhost}/e/{source}/{kind:[qe]}/{destination}", pair_bindings),
    Route("GET", "/api/bindings/{vhost}/e/{source}/{kind:[qe]}/{destination}/{props}", get_binding),
    Route("GET", "/api/connections", list_connections),
    Route("GET", "/api/connections/{name}", get_connection),
    Route("GET", "/api/connections/{name}/channels", connection_channels),
    Route("GET", "/api/vhosts/{vhost}/connections", list_connections),
    Route("GET", "/api/channels", list_channels),
    Route("GET", "/api/channels/{name}", get_channel),
    Route("GET", "/api/vhosts/{vhost}/channels", list_channels),
    Route("GET", "/api/consumers", list_consumers),
    Route("GET", "/api/consumers/{vhost}", list_consumers),
    Route("GET", "/api/nodes", list_nodes, Level.MONITORING),
    Route("GET", "/api/nodes/{name}", get_node, Level.MONITORING),
]
