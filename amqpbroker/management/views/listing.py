"""Which objects a list route shows, in RabbitMQ's order, and building them in chunks.

The lists are snapshots (plain lists taken at once), so the HTTP layer may give the event
loop back between chunks of items while clients declare and delete: a queue deleted
meanwhile is skipped by the item generators, never a ``dict changed size`` error.

    items = []
    for chunk in in_chunks(queue_items(queues_of(state), context, unacked)):
        items.extend(chunk)
        await asyncio.sleep(0)  # the loop never waits more than one chunk

and ``json_array_pieces`` encodes a long list a chunk at a time in the same way.
``python -m amqpbroker.bench.management_views`` measures both for 10,000 queues.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

from amqpbroker.core.broker import BrokerState
from amqpbroker.core.exchanges import Exchange
from amqpbroker.core.queue import Queue
from amqpbroker.core.vhost import VirtualHost
from amqpbroker.session.channel import Channel
from amqpbroker.session.connection import ConnectionSession

from .context import ViewContext

T = TypeVar("T")

CHUNK = 500  # items built between two yields to the loop (~10 ms for queue items)


def in_chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size``."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def json_array_pieces(chunks: Iterable[list[Any]]) -> Iterator[str]:
    """A JSON array of the items of ``chunks``, encoded a chunk at a time (encoding 10,000
    queue items at once holds the loop ~200 ms): write each piece, then yield the loop."""
    yield "["
    first = True
    for chunk in chunks:
        if chunk:
            encoded = ",".join(json.dumps(item, separators=(",", ":")) for item in chunk)
            yield encoded if first else "," + encoded
            first = False
    yield "]"


def vhosts_of(state: BrokerState, name: str | None = None) -> list[VirtualHost]:
    """The vhost ``name`` (none if it does not exist), or every vhost, by name."""
    if name is not None:
        vhost = state.vhosts.get(name)
        return [vhost] if vhost is not None else []
    return [state.vhosts[key] for key in sorted(state.vhosts)]


def queues_of(state: BrokerState, vhost: str | None = None) -> list[Queue]:
    """The queues of ``vhost`` (of every vhost when None), by vhost then name."""
    return [host.queues[name] for host in vhosts_of(state, vhost) for name in sorted(host.queues)]


def exchanges_of(state: BrokerState, vhost: str | None = None) -> list[Exchange]:
    """The exchanges of ``vhost`` (of every vhost when None), by vhost then name ("" first)."""
    return [
        host.exchanges[name] for host in vhosts_of(state, vhost) for name in sorted(host.exchanges)
    ]


def open_sessions(sessions: Iterable[ConnectionSession | None]) -> list[ConnectionSession]:
    """The connections to list: past the handshake (RabbitMQ lists a connection once it is
    open), by their peer address."""
    found = [s for s in sessions if s is not None and s.vhost is not None and not s.closed]
    return sorted(found, key=lambda session: session.peer)


def session_named(
    sessions: Iterable[ConnectionSession], name: str, context: ViewContext
) -> ConnectionSession | None:
    """The connection RabbitMQ names ``name`` ("127.0.0.1:48970 -> 127.0.0.1:5673":
    ``GET``/``DELETE /api/connections/{name}``), or None."""
    return next((s for s in sessions if context.connection_name(s.peer) == name), None)


def channel_named(
    sessions: Iterable[ConnectionSession], name: str, context: ViewContext
) -> Channel | None:
    """The channel RabbitMQ names ``name`` ("<connection name> (1)": ``GET
    /api/channels/{name}``), or None."""
    connection_name, _, number = name.rpartition(" (")
    if not number.endswith(")") or not number[:-1].isdigit():
        return None
    session = session_named(sessions, connection_name, context)
    return session.channels.get(int(number[:-1])) if session is not None else None
