"""The broker's state as RabbitMQ 3.10.8's management JSON: pure functions, no HTTP.

A route handler builds a ``ViewContext`` (node facts) and an ``UnackedIndex`` (one walk
over the channels) once per request, picks the objects (``listing``), turns each into an
item (``queues``, ``exchanges``, ``connections``, ``vhosts``, ``nodes``, ``overview``),
and hands the list to ``query.apply_query`` for ``columns``/``sort``/``page``.  Counters
and rates are read in one place, ``counters``.  ``GET /api/queues/{vhost}``, say::

    context = ViewContext(node="rabbit@host", local_address=f"127.0.0.1:{server.port}",
                          started_at=started, default_actor=config.default_user)
    sessions = open_sessions(protocol.session for protocol in server.connections)
    unacked = UnackedIndex(sessions)
    items = []
    for chunk in in_chunks(queue_items(queues_of(server.state, vhost), context, unacked)):
        items.extend(without_stats("queue", item, request.query) for item in chunk)
        await asyncio.sleep(0)
    body = apply_query(items, request.query)  # QueryError: 400 with its .body

(a missing vhost is the route's 404: ``vhosts_of`` gives [] for it).
"""

from .binding_keys import properties_key
from .connections import (
    channel_item,
    channel_items,
    connection_item,
    consumer_item,
    consumer_items,
)
from .context import TLSFacts, UnackedIndex, ViewContext
from .exchanges import (
    binding_item,
    default_binding_item,
    exchange_destination_items,
    exchange_detail,
    exchange_item,
    exchange_items,
    exchange_source_items,
    find_binding,
    iter_binding_items,
    pair_binding_items,
    queue_binding_items,
    vhost_binding_items,
)
from .listing import (
    channel_named,
    exchanges_of,
    in_chunks,
    json_array_pieces,
    open_sessions,
    queues_of,
    session_named,
    vhosts_of,
)
from .nodes import exchange_types, node_item
from .overview import Listener, ObjectCounts, overview_item
from .query import QueryError, apply_columns, apply_query, without_stats
from .queues import queue_detail, queue_item, queue_items
from .tls_facts import tls_facts
from .vhosts import vhost_item, vhost_totals

__all__ = [
    "Listener",
    "ObjectCounts",
    "QueryError",
    "TLSFacts",
    "UnackedIndex",
    "ViewContext",
    "apply_columns",
    "apply_query",
    "binding_item",
    "channel_item",
    "channel_items",
    "channel_named",
    "connection_item",
    "consumer_item",
    "consumer_items",
    "default_binding_item",
    "exchange_destination_items",
    "exchange_detail",
    "exchange_item",
    "exchange_items",
    "exchange_source_items",
    "exchange_types",
    "exchanges_of",
    "find_binding",
    "in_chunks",
    "iter_binding_items",
    "json_array_pieces",
    "node_item",
    "open_sessions",
    "overview_item",
    "pair_binding_items",
    "properties_key",
    "queue_binding_items",
    "queue_detail",
    "queue_item",
    "queue_items",
    "queues_of",
    "session_named",
    "tls_facts",
    "vhost_binding_items",
    "vhost_item",
    "vhost_totals",
    "vhosts_of",
    "without_stats",
]
