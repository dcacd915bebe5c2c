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
from typing import Any

from amqpbroker.access.control import AccessControl
from amqpbroker.core.broker import BrokerState
from amqpbroker.core.exchanges import Exchange
from amqpbroker.core.vhost import VirtualHost
from amqpbroker.policies.parameters import RuntimeParameters
from amqpbroker.version import __version__

# The RabbitMQ release whose behaviour (and definitions format) this broker reproduces.
RABBITMQ_VERSION = "3.10.8"
PRODUCT_NAME = "amqpbroker"


def export_definitions(
    state: BrokerState, access: AccessControl, parameters: RuntimeParameters | None = None
) -> dict[str, Any]:
    vhosts = list(state.vhosts.values())
    parameters = parameters or RuntimeParameters()
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
                "limits": {},
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
        "queues": [queue for vhost in vhosts for queue in _queues(vhost)],
        "exchanges": [exchange for vhost in vhosts for exchange in _exchanges(vhost)],
        "bindings": [binding for vhost in vhosts for binding in _bindings(vhost)],
    }


def _queues(vhost: VirtualHost) -> list[dict[str, Any]]:
    return [
        {
            "name": queue.name,
            "vhost": vhost.name,
            "durable": queue.durable,
            "auto_delete": queue.auto_delete,
            "arguments": json_table(queue.arguments),
        }
        for queue in vhost.queues.values()
        if queue.exclusive_owner is None
    ]


def _exported_exchanges(vhost: VirtualHost) -> list[Exchange]:
    return [x for x in vhost.exchanges.values() if x.name and not x.name.startswith("amq.")]


def _exchanges(vhost: VirtualHost) -> list[dict[str, Any]]:
    return [
        {
            "name": exchange.name,
            "vhost": vhost.name,
            "type": exchange.type_name,
            "durable": exchange.durable,
            "auto_delete": exchange.auto_delete,
            "internal": exchange.internal,
            "arguments": json_table(exchange.arguments),
        }
        for exchange in _exported_exchanges(vhost)
    ]


def _bindings(vhost: VirtualHost) -> list[dict[str, Any]]:
    return [
        {
            "source": binding.source,
            "vhost": vhost.name,
            "destination": binding.destination.name,
            "destination_type": "exchange"
            if isinstance(binding.destination, Exchange)
            else "queue",
            "routing_key": binding.routing_key,
            "arguments": json_table(binding.raw_arguments or {}),
        }
        for source in vhost.exchanges.values()
        if source.name
        for binding in source.bindings.values()
    ]


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
