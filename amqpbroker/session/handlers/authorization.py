"""The permission checks the handlers make that span several steps, in RabbitMQ 3.10.8's
order (the single-right checks are a ``channel.access.check`` call in the handler itself).

- A declaration needs configure on the name; a new queue with ``x-dead-letter-exchange``
  (exchange with ``alternate-exchange``) also read on itself, then write on the other
  exchange.  The core calls ``DeclareChecks`` at the points RabbitMQ checks them.
- A binding needs write on the destination, then the default exchange is refused, then read
  on the source, then the topic rule on the routing key for a topic source.

Permissions are checked before existence: a refused name is 403 even if it does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from amqpbroker.access.permissions import Kind, VhostAccess
from amqpbroker.core.declaration_checks import check_not_default_exchange
from amqpbroker.core.vhost import VirtualHost

DEAD_LETTER_EXCHANGE = "x-dead-letter-exchange"
ALTERNATE_EXCHANGE = "alternate-exchange"


@dataclass(frozen=True, slots=True)
class DeclareChecks:
    """A ``DeclareGuard`` for ``VirtualHost.declare_queue`` / ``declare_exchange``."""

    access: VhostAccess
    kind: Kind
    other_exchange_argument: str  # the argument naming an exchange it will publish to

    def named(self, name: str) -> None:
        self.access.check("configure", self.kind, name)

    def creating(self, name: str, arguments: dict[str, Any]) -> None:
        other = arguments.get(self.other_exchange_argument)
        if isinstance(other, str):  # (another type is refused by the argument checks)
            self.access.check("read", self.kind, name)
            self.access.check("write", "exchange", other)


def queue_declare_checks(access: VhostAccess) -> DeclareChecks:
    return DeclareChecks(access, "queue", DEAD_LETTER_EXCHANGE)


def exchange_declare_checks(access: VhostAccess) -> DeclareChecks:
    return DeclareChecks(access, "exchange", ALTERNATE_EXCHANGE)


def check_binding(
    access: VhostAccess,
    vhost: VirtualHost,
    kind: Kind,
    destination: str,
    source: str,
    routing_key: str,
) -> None:
    """queue.bind/unbind (``kind`` "queue") and exchange.bind/unbind ("exchange")."""
    access.check("write", kind, destination)
    if kind == "exchange":
        check_not_default_exchange(destination)
    check_not_default_exchange(source)
    access.check("read", "exchange", source)
    exchange = vhost.exchanges.get(source)
    if exchange is not None and exchange.type_name == "topic":
        access.check_topic("read", source, routing_key)
