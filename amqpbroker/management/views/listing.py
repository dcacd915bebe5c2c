"""Which objects a list route shows, in RabbitMQ's order, and building them a slice of time
at a time.

The lists are snapshots (plain lists taken at once), so the HTTP layer may give the event
loop back between slices of items while clients declare and delete: a queue deleted
meanwhile is skipped by the item generators, never a ``dict changed size`` error.

    for piece in json_array_pieces(queue_items(queues_of(state), context, unacked)):
        await response.write(piece.encode())
        await asyncio.sleep(0)  # the loop never waits more than one slice

A slice ends when it has taken ``SLICE_SECONDS`` (not after so many items): a queue item
costs ten times a binding, and a loaded machine makes every item slower.
``amqpbroker bench --scenario management`` measures how long each route holds the loop.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
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

CHUNK = 500
# The work between two yields to the loop: items are built (and encoded) for this long.
SLICE_SECONDS = 0.005

# JSON as RabbitMQ writes it: compact, UTF-8 rather than \u escapes.
encode_json: Callable[[Any], str] = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False
).encode


def in_chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size``."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def time_slices(
    items: Iterable[T],
    seconds: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Iterator[list[T]]:
    """``items`` in lists, each taken from ``items`` in about ``seconds`` (default
    ``SLICE_SECONDS``; at least one item a list): when ``items`` builds them, the work
    between two yields to the loop."""
    iterator = iter(items)
    length = SLICE_SECONDS if seconds is None else seconds
    while True:
        chunk: list[T] = []
        deadline = clock() + length
        for item in iterator:
            chunk.append(item)
            if clock() >= deadline:
                break
        if not chunk:
            return
        yield chunk


def encoded_slices(
    items: Iterable[Any],
    seconds: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Iterator[list[str]]:
    """``items`` built and JSON-encoded a slice of time at a time (only the encoded
    strings are kept: 10,000 queue items held as dicts make each collection of the garbage
    collector walk them all)."""
    return time_slices(map(encode_json, items), seconds, clock)


def json_array_pieces(
    items: Iterable[Any],
    seconds: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Iterator[str]:
    """A JSON array of ``items``, in pieces each built and encoded in about ``seconds``:
    write each piece, then yield the loop."""
    yield "["
    separator = ""
    for chunk in encoded_slices(items, seconds, clock):
        yield separator + ",".join(chunk)
        separator = ","
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
