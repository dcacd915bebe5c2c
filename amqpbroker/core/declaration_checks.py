"""RabbitMQ's checks on declaring and deleting exchanges and queues, with its reply texts.

Each check raises the ``amqpbroker.errors`` exception RabbitMQ answers with; where several
apply, ``VirtualHost`` calls them in RabbitMQ's order.  ``where`` arguments name the object
as the texts do: "queue 'q' in vhost '/'".
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any, Protocol

from amqpbroker.errors import AccessRefused, PreconditionFailed

from .arguments import (
    EXCHANGE_EQUIVALENCE_KEYS,
    QUEUE_ARGUMENT_DEFAULTS,
    QUEUE_EQUIVALENCE_KEYS,
    first_inequivalent,
    inequivalence_text,
)
from .arguments import type_name as argument_type
from .queue_types import queue_type

if TYPE_CHECKING:
    from .exchanges import Exchange
    from .queue import Queue

RESERVED_PREFIX = "amq."


class DeclareGuard(Protocol):
    """The caller's own checks (the session's permissions), made by a declaration at the
    points RabbitMQ makes them: ``named`` once the name is settled and before looking for
    an existing one; ``creating`` only when a new one is about to be made, after the
    name and argument-type checks.  Each raises to refuse."""

    def named(self, name: str) -> None: ...

    def creating(self, name: str, arguments: dict[str, Any]) -> None: ...


def where(kind: str, name: str, vhost: str) -> str:
    return f"{kind} '{name}' in vhost '{vhost}'"


def unknown_type_text(type_name: str) -> str:
    """RabbitMQ says "invalid" for names that are atoms in its VM ('' and common words) and
    "unknown" otherwise; only the empty name is predictable."""
    adjective = "invalid" if type_name == "" else "unknown"
    return f"{adjective} exchange type '{type_name}'"


def server_generated_name(prefix: str) -> str:
    """RabbitMQ's style: prefix + 22 url-safe base64 characters."""
    return prefix + secrets.token_urlsafe(16)


def check_not_default_exchange(name: str) -> None:
    """The default exchange cannot be declared, deleted or bound by a client."""
    if name == "":
        raise AccessRefused("operation not permitted on the default exchange")


def check_unreserved_name(kind: str, name: str) -> None:
    """A client may not create an exchange or queue named amq.*."""
    if name.startswith(RESERVED_PREFIX):
        raise AccessRefused(f"{kind} name '{name}' contains reserved prefix '{RESERVED_PREFIX}*'")


def check_deletable_exchange(name: str, vhost: str) -> None:
    check_not_default_exchange(name)
    if name.startswith(RESERVED_PREFIX):
        raise AccessRefused(f"deletion of system exchange '{name}' in vhost '{vhost}' not allowed")


def check_alternate_argument(arguments: dict[str, Any], where: str) -> None:
    """A new exchange's alternate-exchange names an exchange: a longstr, nothing else."""
    key = "alternate-exchange"
    if key in arguments and argument_type(arguments, key) != "longstr":
        raise PreconditionFailed(
            f"invalid type '{argument_type(arguments, key)}' for arg '{key}' in {where}"
        )


def check_exchange_equivalence(
    exchange: Exchange,
    type_name: str,
    durable: bool,
    auto_delete: bool,
    internal: bool,
    arguments: dict[str, Any],
    where: str,
) -> None:
    """A redeclare must match the exchange as it is: type, flags, then arguments."""
    if exchange.type_name != type_name:
        raise PreconditionFailed(
            f"inequivalent arg 'type' for {where}: received "
            f"'{type_name}' but current is '{exchange.type_name}'"
        )
    _check_flags(
        where,
        ("durable", exchange.durable, durable),
        ("auto_delete", exchange.auto_delete, auto_delete),
        ("internal", exchange.internal, internal),
    )
    _check_arguments(where, exchange.arguments, arguments, EXCHANGE_EQUIVALENCE_KEYS)


def check_queue_equivalence(
    queue: Queue, durable: bool, auto_delete: bool, arguments: dict[str, Any], where: str
) -> None:
    """A redeclare must match the queue as it is: flags, then the arguments its type
    compares.  (An exclusive mismatch never gets here: it is 405 RESOURCE_LOCKED.)"""
    _check_flags(
        where,
        ("durable", queue.durable, durable),
        ("auto_delete", queue.auto_delete, auto_delete),
    )
    kind = queue_type(queue.arguments)  # (the existing queue's type decides)
    keys = kind.arguments if kind is not None else QUEUE_EQUIVALENCE_KEYS
    _check_arguments(where, queue.arguments, arguments, keys, QUEUE_ARGUMENT_DEFAULTS)


def check_quorum_properties(where: str, durable: bool, exclusive: bool, auto_delete: bool) -> None:
    """Quorum queues are durable, shared and kept: RabbitMQ's 406s, in its order."""
    for name, invalid in (
        ("auto-delete", auto_delete),
        ("exclusive-owner", exclusive),
        ("non-durable", not durable),
    ):
        if invalid:
            raise PreconditionFailed(f"invalid property '{name}' for {where}")


def _check_flags(where: str, *flags: tuple[str, bool, bool]) -> None:
    """(field, current, received): the first that differs is the 406."""
    for field, current, received in flags:
        if current != received:
            raise PreconditionFailed(
                f"inequivalent arg '{field}' for {where}: received "
                f"'{str(received).lower()}' but current is '{str(current).lower()}'"
            )


def _check_arguments(
    where: str,
    current: dict[str, Any],
    received: dict[str, Any],
    keys: tuple[str, ...],
    defaults: dict[str, Any] | None = None,
) -> None:
    key = first_inequivalent(current, received, keys, defaults)
    if key is not None:
        raise PreconditionFailed(
            f"inequivalent arg '{key}' for {where}: {inequivalence_text(current, received, key)}"
        )
