"""The node's rarer routes, in RabbitMQ 3.10.8's shapes: its memory breakdown, its feature
flags, the per-node and certificate health checks, restarting a vhost, rebalancing queues.

What is real here: the memory total is the process's resident set size and ``binary`` the
body bytes of the messages queues hold; the other categories are Erlang's and stay 0 (the
rest of the process is ``other_proc``).  There are no ETS tables.  A vhost never stops, so
starting one is a no-op, as rebalancing queues on a single node is.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from amqpbroker.process_figures import resident_bytes

from .auth import Level
from .cert_expiry import expiries
from .http import ApiError, bad_request, json_response, no_content, not_found
from .routes import Call, Route
from .views.query import apply_columns, apply_query

ADMIN, MONITOR = Level.ADMINISTRATOR, Level.MONITORING
OK = {"status": "ok"}


def _this_node(call: Call) -> None:
    """404 unless the route's ``{node}`` is this node."""
    if call.segment("node") != call.node.node:
        raise not_found()


# -- memory ---------------------------------------------------------------------------------------

# RabbitMQ's categories, in its order; amqpbroker fills ``binary`` and ``other_proc``.
_CATEGORIES = (
    "connection_readers",
    "connection_writers",
    "connection_channels",
    "connection_other",
    "queue_procs",
    "queue_slave_procs",
    "quorum_queue_procs",
    "quorum_queue_dlx_procs",
    "stream_queue_procs",
    "stream_queue_replica_reader_procs",
    "stream_queue_coordinator_procs",
    "plugins",
    "other_proc",
    "metrics",
    "mgmt_db",
    "mnesia",
    "quorum_ets",
    "other_ets",
    "binary",
    "msg_index",
    "code",
    "atom",
    "other_system",
    "allocated_unused",
    "reserved_unallocated",
)


def _categories(call: Call) -> tuple[dict[str, int], int]:
    """Bytes by category, and the total they add up to (the resident set size)."""
    _, unacked = call.view_context()
    queues = (q for vhost in call.broker.state.vhosts.values() for q in vhost.queues.values())
    # (read off each queue: no walk of its messages, whatever their number)
    held = sum(queue.ready.bytes + unacked.bytes(queue) for queue in queues)
    total = resident_bytes()
    binary = min(held, total)
    figures = dict.fromkeys(_CATEGORIES, 0)
    figures.update(binary=binary, other_proc=total - binary)
    return figures, total


def _percent(part: int, whole: int) -> int:
    """RabbitMQ's rounding: to the nearest percent, but at least 1 for anything at all."""
    if part <= 0 or whole <= 0:
        return 0
    return max(1, round(part * 100 / whole))


async def node_memory(call: Call) -> web.StreamResponse:
    _this_node(call)
    figures, total = _categories(call)
    body: dict[str, Any] = {
        **figures,
        "strategy": "rss",
        "total": {"erlang": total, "rss": total, "allocated": total},
    }
    return json_response(apply_columns({"memory": body}, call.query))


async def node_memory_relative(call: Call) -> web.StreamResponse:
    _this_node(call)
    figures, total = _categories(call)
    relative = {name: _percent(value, total) for name, value in figures.items()}
    return json_response(apply_columns({"memory": {"total": 100, **relative}}, call.query))


async def node_memory_ets(call: Call) -> web.StreamResponse:
    """Every form (absolute, relative, filtered): RabbitMQ's answer when no table matches."""
    _this_node(call)
    return json_response({"ets_tables_memory": "no_tables"})


# -- feature flags --------------------------------------------------------------------------------

_RABBIT, _AGENT = "rabbit", "rabbitmq_management_agent"
_DOCS = "https://www.rabbitmq.com/"

# RabbitMQ 3.10.8's flags, all enabled there: (name, desc, doc_url, provided_by, available).
# "unavailable" (RabbitMQ's state for a flag a node cannot support) where amqpbroker lacks
# the feature: stream queues.
FEATURE_FLAGS = [
    (
        "classic_mirrored_queue_version",
        "Support setting version for classic mirrored queues",
        "",
        _RABBIT,
        True,
    ),
    (
        "drop_unroutable_metric",
        "Count unroutable publishes to be dropped in stats",
        "",
        _AGENT,
        True,
    ),
    (
        "empty_basic_get_metric",
        "Count AMQP `basic.get` on empty queues in stats",
        "",
        _AGENT,
        True,
    ),
    (
        "implicit_default_bindings",
        "Default bindings are now implicit, instead of being stored in the database",
        "",
        _RABBIT,
        True,
    ),
    ("maintenance_mode_status", "Maintenance mode status", "", _RABBIT, True),
    (
        "quorum_queue",
        "Support queues of type `quorum`",
        _DOCS + "quorum-queues.html",
        _RABBIT,
        True,
    ),
    ("stream_queue", "Support queues of type `stream`", _DOCS + "stream.html", _RABBIT, False),
    ("user_limits", "Configure connection and channel limits for a user", "", _RABBIT, True),
    ("virtual_host_metadata", "Virtual host metadata (description, tags, etc)", "", _RABBIT, True),
]


async def feature_flags(call: Call) -> web.StreamResponse:
    items = (
        {
            "name": name,
            "desc": desc,
            "doc_url": doc_url,
            "state": "enabled" if available else "unavailable",
            "stability": "stable",
            "provided_by": provided_by,
        }
        for name, desc, doc_url, provided_by, available in FEATURE_FLAGS
    )
    return unpaged_list(call, items)


def unpaged_list(call: Call, items: Iterable[dict[str, Any]]) -> web.StreamResponse:
    """A short list with ``columns`` and ``sort`` applied but never paged (these routes of
    3.10.8 ignore ``page``)."""
    params = {k: v for k, v in call.query.items() if k != "page"}
    return json_response(apply_query(items, params))


async def enable_feature_flag(call: Call) -> web.StreamResponse:
    """204 for an enabled flag (nothing to do); 400 ``unsupported`` for any other.  The
    body must be JSON (415 otherwise, as this route alone insists)."""
    if call.request.content_type != "application/json":
        raise ApiError(415)
    name = call.segment("name")
    if not any(flag == name and available for flag, *_, available in FEATURE_FLAGS):
        raise bad_request("unsupported")
    return no_content()


# -- health checks --------------------------------------------------------------------------------


async def node_health(call: Call) -> web.StreamResponse:
    _this_node(call)
    return json_response(OK)


async def mirror_sync_critical(call: Call) -> web.StreamResponse:
    return json_response({"status": "ok", "reason": "single node cluster"})


_UNIT_SECONDS = {
    "days": 86400,
    "weeks": 7 * 86400,
    "months": 365 * 86400 / 12,
    "years": 365 * 86400,
}


async def certificate_expiration(call: Call) -> web.StreamResponse:
    """503 listing the TLS listeners with a certificate (or CA certificate) that expires
    within the period, or cannot be read; ok when none does (or without TLS)."""
    try:
        within = int(call.segment("within"))
    except ValueError:
        raise bad_request("Invalid expiration value.") from None
    unit = call.segment("unit").lower()
    if unit not in _UNIT_SECONDS:
        reason = "Time unit not recognised. Supported units: days, weeks, months, years."
        raise bad_request(reason)
    deadline = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
        seconds=within * _UNIT_SECONDS[unit]
    )
    expiring = [item for item in _tls_listener_items(call, deadline) if item is not None]
    if not expiring:
        return json_response(OK)
    body = {"status": "failed", "reason": "Certificates expiring", "expired": expiring}
    return json_response(body, 503)


def _tls_listener_items(call: Call, deadline: datetime.datetime) -> list[dict[str, Any] | None]:
    tls = call.broker.config.tls
    if tls is None:
        return []
    return [
        _expiring(call.node.node, host, port, tls.certfile, tls.cacertfile, deadline)
        for scheme, host, port in call.broker.amqp_listeners()
        if scheme == "amqps"
    ]


def _expiring(
    node: str, host: str, port: int, certfile: str, cacertfile: str, deadline: datetime.datetime
) -> dict[str, Any] | None:
    """RabbitMQ's item for a listener whose files hold a certificate expiring before the
    deadline (or an error), else None."""
    certs, cacerts = (_expiring_on(path, deadline) for path in (certfile, cacertfile))
    if not certs and not cacerts:
        return None
    return {
        "node": node,
        "protocol": "amqp/ssl",
        "interface": host,
        "port": port,
        "certfile": certfile,
        "cacertfile": cacertfile,
        "certfile_expires_on": certs,
        "cacertfile_expires_on": cacerts,
    }


def _expiring_on(path: str, deadline: datetime.datetime) -> list[str] | list[Any]:
    """The expiry dates ("2026-12-06 13:30:00") before the deadline, or ["error", why]."""
    if not path:
        return []
    found = expiries(path)
    if isinstance(found, str):
        return ["error", found]
    return [f"{moment:%Y-%m-%d %H:%M:%S}" for moment in found if moment < deadline]


# -- vhosts and queues across the cluster ---------------------------------------------------------


async def start_vhost(call: Call) -> web.StreamResponse:
    node, vhost = call.segment("node"), call.segment("vhost")
    if node != call.node.node:
        raise bad_request(f"Request to node {node} failed with nodedown")
    if vhost not in call.broker.state.vhosts:
        prefix = f"Request to node {node} failed with "
        term = ("{no_such_vhost,", f'<<"{vhost}">>}}')
        # (Erlang's ~p breaks a term that would pass column 78 after its first element)
        if len(prefix) + len("".join(term)) > 78:
            term = (term[0] + "\n" + " " * (len(prefix) + 1), term[1])
        raise bad_request(prefix + "".join(term))
    return no_content()


async def rebalance_queues(call: Call) -> web.StreamResponse:
    return no_content()


_MEMORY = "/api/nodes/{node}/memory"

ROUTES = [
    Route("GET", _MEMORY, node_memory, MONITOR),
    Route("GET", _MEMORY + "/relative", node_memory_relative, MONITOR),
    Route("GET", _MEMORY + "/ets", node_memory_ets, MONITOR),
    Route("GET", _MEMORY + "/ets/relative", node_memory_ets, MONITOR),
    Route("GET", _MEMORY + "/ets/{filter}", node_memory_ets, MONITOR),
    Route("GET", _MEMORY + "/ets/{filter}/relative", node_memory_ets, MONITOR),
    Route("GET", "/api/feature-flags", feature_flags, ADMIN),
    Route("PUT", "/api/feature-flags/{name}/enable", enable_feature_flag, ADMIN),
    Route("GET", "/api/healthchecks/node/{node}", node_health),
    Route(
        "GET", "/api/health/checks/certificate-expiration/{within}/{unit}", certificate_expiration
    ),
    Route("GET", "/api/health/checks/node-is-mirror-sync-critical", mirror_sync_critical),
    Route("POST", "/api/vhosts/{vhost}/start/{node}", start_vhost, ADMIN),
    Route("POST", "/api/rebalance/queues", rebalance_queues, ADMIN),
]
