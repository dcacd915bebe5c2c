"""Exchange and binding items (``/api/exchanges``, ``/api/bindings``, a queue's and an
exchange's bindings) as RabbitMQ 3.10.8 shows them.

The default exchange is named "" in items (``amq.default`` in URLs).  Bindings include the
default exchange's implicit ones, one per queue (``source: ""``, the queue's name as
routing key), as RabbitMQ lists them; each carries its ``properties_key``
(``views.binding_keys``), the last path segment that names it in
``/api/bindings/{v}/e/{source}/q/{destination}/{properties_key}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import groupby
from typing import Any

from amqpbroker.core.exchanges import Binding, Exchange
from amqpbroker.core.queue import Queue
from amqpbroker.core.vhost import DEFAULT_EXCHANGES, VirtualHost

from .binding_keys import properties_key
from .context import INTERNAL_ACTOR, ViewContext
from .counters import EXCHANGE_MESSAGE_STATS, exchange_counters
from .formats import json_value, message_stats

_BUILT_IN = frozenset(("", *DEFAULT_EXCHANGES))


def exchange_item(
    exchange: Exchange, context: ViewContext, *, default_vhost: str = "/"
) -> dict[str, Any]:
    """One item of ``/api/exchanges``.  Built-in exchanges were declared by RabbitMQ
    itself in the vhost it creates at boot (``rmq-internal``) and by whoever created any
    other vhost (this broker does not record who: the context's ``default_actor``)."""
    counters = exchange_counters(exchange)
    built_in = exchange.name in _BUILT_IN and exchange.vhost == default_vhost
    item = {
        "arguments": json_value(exchange.arguments),
        "auto_delete": exchange.auto_delete,
        "durable": exchange.durable,
        "internal": exchange.internal,
        "message_stats": message_stats(EXCHANGE_MESSAGE_STATS, counters.counts, counters.rates),
        "name": exchange.name,
        "type": exchange.type_name,
        "user_who_performed_action": INTERNAL_ACTOR if built_in else context.default_actor,
        "vhost": exchange.vhost,
    }
    policy = exchange.policy.policy
    if policy is not None:  # (RabbitMQ shows the key only then; operator policies never)
        item["policy"] = policy.name
        return dict(sorted(item.items()))
    return item


def exchange_detail(
    exchange: Exchange, context: ViewContext, *, default_vhost: str = "/"
) -> dict[str, Any]:
    """``GET /api/exchanges/{vhost}/{name}``: the item with ``incoming`` and ``outgoing``
    (per-channel and per-queue flows: [] as RabbitMQ's basic rates mode shows them)."""
    item = exchange_item(exchange, context, default_vhost=default_vhost)
    item["incoming"] = []
    item["outgoing"] = []
    return dict(sorted(item.items()))


def exchange_items(
    exchanges: Iterable[Exchange], context: ViewContext, *, default_vhost: str = "/"
) -> Iterator[dict[str, Any]]:
    for exchange in exchanges:
        yield exchange_item(exchange, context, default_vhost=default_vhost)


# -- bindings -------------------------------------------------------------------------------------


def binding_item(binding: Binding, vhost: str) -> dict[str, Any]:
    """One explicit binding."""
    destination = binding.destination
    arguments = json_value(binding.raw_arguments or {})
    return {
        "source": binding.source,
        "vhost": vhost,
        "destination": destination.name,
        "destination_type": "queue" if isinstance(destination, Queue) else "exchange",
        "routing_key": binding.routing_key,
        "arguments": arguments,
        "properties_key": properties_key(binding.routing_key, binding.raw_arguments or {}),
    }


def default_binding_item(queue: Queue) -> dict[str, Any]:
    """The default exchange's implicit binding to ``queue``."""
    return {
        "source": "",
        "vhost": queue.vhost,
        "destination": queue.name,
        "destination_type": "queue",
        "routing_key": queue.name,
        "arguments": {},
        "properties_key": properties_key(queue.name, {}),
    }


def _order(item: dict[str, Any]) -> tuple[str, str, str, str, str]:
    """RabbitMQ's listing order (recorded on 3.10.8): source, destination name, its type,
    routing key, then the properties key (the plugin sorts the items themselves)."""
    return (
        item["source"],
        item["destination"],
        item["destination_type"],
        item["routing_key"],
        item["properties_key"],
    )


def vhost_binding_items(vhost: VirtualHost) -> list[dict[str, Any]]:
    """Every binding of ``vhost``: the implicit ones to each queue, then the explicit
    ones, in RabbitMQ's order."""
    return list(iter_binding_items(vhost))


def iter_binding_items(vhost: VirtualHost) -> Iterator[dict[str, Any]]:
    """``vhost_binding_items`` one at a time (for ``listing.in_chunks``): the vhost's
    queues and bindings are listed once, at the first item; a queue deleted meanwhile is
    skipped."""
    names = sorted(vhost.queues)
    explicit = [
        binding for exchange in vhost.exchanges.values() for binding in exchange.bindings.values()
    ]
    explicit.sort(key=_binding_order)
    for name in names:
        queue = vhost.queues.get(name)
        if queue is not None:
            yield default_binding_item(queue)
    for _, group in groupby(explicit, key=_binding_order):
        items = [binding_item(binding, vhost.name) for binding in group]
        yield from sorted(items, key=_order) if len(items) > 1 else items


def _binding_order(binding: Binding) -> tuple[str, str, str, str]:
    """``_order`` without the properties key (cheap: no hash of the arguments)."""
    destination = binding.destination
    kind = "queue" if isinstance(destination, Queue) else "exchange"
    return (binding.source, destination.name, kind, binding.routing_key)


def queue_binding_items(vhost: VirtualHost, queue: Queue) -> list[dict[str, Any]]:
    """``GET /api/queues/{v}/{q}/bindings``: the implicit binding, then those to ``queue``."""
    explicit = [
        binding_item(binding, vhost.name)
        for exchange in vhost.exchanges.values()
        for binding in exchange.bindings_to(queue)
    ]
    return [default_binding_item(queue), *sorted(explicit, key=_order)]


def exchange_source_items(vhost: VirtualHost, exchange: Exchange) -> list[dict[str, Any]]:
    """``GET /api/exchanges/{v}/{x}/bindings/source``: the bindings from ``exchange``
    (for the default exchange, its implicit ones)."""
    if exchange.name == "":
        return [default_binding_item(vhost.queues[name]) for name in sorted(vhost.queues)]
    items = [binding_item(binding, vhost.name) for binding in exchange.bindings.values()]
    return sorted(items, key=_order)


def exchange_destination_items(vhost: VirtualHost, exchange: Exchange) -> list[dict[str, Any]]:
    """``GET /api/exchanges/{v}/{x}/bindings/destination``: bindings to ``exchange``."""
    items = [
        binding_item(binding, vhost.name)
        for source in vhost.exchanges.values()
        for binding in source.bindings_to(exchange)
    ]
    return sorted(items, key=_order)


def pair_binding_items(
    vhost: VirtualHost, source: Exchange, destination: Queue | Exchange
) -> list[dict[str, Any]]:
    """``GET /api/bindings/{v}/e/{source}/{q|e}/{destination}``: the bindings between the
    two (from the default exchange to a queue: its implicit one)."""
    if source.name == "" and isinstance(destination, Queue):
        return [default_binding_item(destination)]
    items = [binding_item(b, vhost.name) for b in source.bindings_to(destination)]
    return sorted(items, key=_order)


def find_binding(source: Exchange, destination: Queue | Exchange, key: str) -> Binding | None:
    """The explicit binding from ``source`` to ``destination`` whose ``properties_key`` is
    ``key`` (``GET``/``DELETE /api/bindings/.../{props}``; ``binding_item`` shows it), or
    None (the default exchange's implicit bindings are not ``Binding`` objects)."""
    for binding in source.bindings_to(destination):
        if properties_key(binding.routing_key, binding.raw_arguments or {}) == key:
            return binding
    return None
