"""``export_definitions``: the broker's definitions in RabbitMQ 3.10.8's ``GET
/api/definitions`` shape, keys in its order.

As 3.10.8's management export: vhosts by name only (their description and tags are not
exported), every queue but exclusive ones (durable or not), every exchange but the default
and ``amq.*`` ones, explicit bindings only; operator policies among the ``parameters``
(component ``operator_policy``), policies in ``policies``.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterator
from typing import Any

from amqpbroker.access.control import AccessControl
from amqpbroker.core.broker import BrokerState
from amqpbroker.core.exchanges import Binding, Exchange
from amqpbroker.core.queue import Queue
from amqpbroker.core.vhost import VirtualHost
from amqpbroker.policies.parameters import RuntimeParameters
from amqpbroker.version import __version__

# The RabbitMQ release whose behaviour (and definitions format) this broker reproduces.
RABBITMQ_VERSION = "3.10.8"
PRODUCT_NAME = "amqpbroker"


def export_definitions(
    state: BrokerState, access: AccessControl, parameters: RuntimeParameters | None = None
) -> dict[str, Any]:
    return {
        key: list(value) if isinstance(value, Iterator) else value
        for key, value in export_sections(state, access, parameters).items()
    }


def export_sections(
    state: BrokerState, access: AccessControl, parameters: RuntimeParameters | None = None
) -> dict[str, Any]:
    """``export_definitions`` with its queues, exchanges and bindings as iterators, which
    build each item as it is read: the management API writes them a slice at a time,
    giving the event loop back between two.  The objects are listed at once; one deleted
    before its turn is left out."""
    parameters = parameters or RuntimeParameters()
    vhosts = list(state.vhosts.values())
    queues = [(vhost, queue) for vhost in vhosts for queue in vhost.queues.values()]
    exchanges = [(vhost, exchange) for vhost in vhosts for exchange in _exported_exchanges(vhost)]
    bindings = [
        (vhost, binding)
        for vhost in vhosts
        for source in vhost.exchanges.values()
        if source.name
        for binding in source.bindings.values()
    ]
    return {
        "rabbit_version": RABBITMQ_VERSION,
        "rabbitmq_version": RABBITMQ_VERSION,
        "product_name": PRODUCT_NAME,
        "product_version": __version__,
        "users": [
            {
                "name": user.name,
                "password_hash": user.password_hash,
                "hashing_algorithm": user.hashing_algorithm,
                "tags": list(user.tags),
                "limits": dict(user.limits),
            }
            for user in access.users
        ],
        "vhosts": [{"name": vhost.name} for vhost in vhosts],
        "permissions": [
            {
                "user": user,
                "vhost": vhost,
                "configure": permission.configure,
                "write": permission.write,
                "read": permission.read,
            }
            for (user, vhost), permission in access.permissions.items()
        ],
        "topic_permissions": [
            {
                "user": user,
                "vhost": vhost,
                "exchange": topic.exchange,
                "write": topic.write,
                "read": topic.read,
            }
            for (user, vhost), topics in access.topic_permissions.items()
            for topic in topics.values()
        ],
        "parameters": parameters.parameters(),
        "global_parameters": parameters.global_parameters(),
        "policies": [policy.item() for policy in parameters.policies_in()],
        "queues": (
            _queue(vhost, queue)
            for vhost, queue in queues
            if queue.exclusive_owner is None and not queue.deleted
        ),
        "exchanges": (_exchange(vhost, exchange) for vhost, exchange in exchanges),
        "bindings": (_binding(vhost, binding) for vhost, binding in bindings),
    }


def _queue(vhost: VirtualHost, queue: Queue) -> dict[str, Any]:
    return {
        "name": queue.name,
        "vhost": vhost.name,
        "durable": queue.durable,
        "auto_delete": queue.auto_delete,
        "arguments": json_table(queue.arguments),
    }


def _exported_exchanges(vhost: VirtualHost) -> list[Exchange]:
    return [x for x in vhost.exchanges.values() if x.name and not x.name.startswith("amq.")]


def _exchange(vhost: VirtualHost, exchange: Exchange) -> dict[str, Any]:
    return {
        "name": exchange.name,
        "vhost": vhost.name,
        "type": exchange.type_name,
        "durable": exchange.durable,
        "auto_delete": exchange.auto_delete,
        "internal": exchange.internal,
        "arguments": json_table(exchange.arguments),
    }


def _binding(vhost: VirtualHost, binding: Binding) -> dict[str, Any]:
    return {
        "source": binding.source,
        "vhost": vhost.name,
        "destination": binding.destination.name,
        "destination_type": "exchange" if isinstance(binding.destination, Exchange) else "queue",
        "routing_key": binding.routing_key,
        "arguments": json_table(binding.raw_arguments or {}),
    }


def json_table(table: dict[str, Any]) -> dict[str, Any]:
    """An AMQP field table as RabbitMQ shows it in JSON: keys sorted, byte strings as text."""
    return {key: _json_value(value) for key, value in sorted(table.items())}


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return json_table(value)
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.datetime):
        return int(value.timestamp())
    return value
