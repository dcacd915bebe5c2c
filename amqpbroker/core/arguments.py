"""Queue, exchange and binding arguments: compared by value, as RabbitMQ does.

Clients send the same number in different integer widths (pika a short, aio-pika a long);
RabbitMQ treats every integer type as one type class and compares values.
"""

from __future__ import annotations

import datetime
import decimal
from typing import Any

# The queue arguments compared on redeclare for queue types without their own list (streams,
# which behave as classic queues here); see core.queue_types for classic and quorum queues.
QUEUE_EQUIVALENCE_KEYS = (
    "x-expires",
    "x-message-ttl",
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-max-length",
    "x-max-length-bytes",
    "x-max-in-memory-length",
    "x-max-in-memory-bytes",
    "x-max-priority",
    "x-overflow",
    "x-queue-mode",
    "x-single-active-consumer",
    "x-queue-type",
    "x-queue-master-locator",
    "x-quorum-initial-group-size",
    "x-delivery-limit",
    "x-dead-letter-strategy",
    "x-queue-leader-locator",
    "x-max-age",
    "x-stream-max-segment-size-bytes",
    "x-initial-cluster-size",
)
EXCHANGE_EQUIVALENCE_KEYS = ("alternate-exchange",)
# Omitting these is the same as giving the default explicitly.
QUEUE_ARGUMENT_DEFAULTS = {"x-queue-type": "classic"}


def freeze(value: Any) -> Any:
    """A hashable form of a field value or table, equal across integer widths."""
    if isinstance(value, dict):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    if isinstance(value, bytearray):
        return bytes(value)
    return value


def text(value: Any) -> str | None:
    """A longstr (or binary) field value as text; None for any other type."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def integer(value: Any) -> int | None:
    """An integer field value (of any width; not a boolean); None for any other type."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def number(value: Any) -> int | float | None:
    """An integer or floating-point field value; None for any other type."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def type_name(table: dict[str, Any], key: str) -> str:
    """RabbitMQ's name for the wire type of ``table[key]`` (tables from the wire know it)."""
    types = getattr(table, "types", None)
    if types and key in types:
        return str(types[key])
    return _guess_type_name(table[key])


def _guess_type_name(value: Any) -> str:
    if value is None:
        return "void"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "long"
    if isinstance(value, str):
        return "longstr"
    if isinstance(value, bytes | bytearray):
        return "binary"
    if isinstance(value, float):
        return "double"
    if isinstance(value, decimal.Decimal):
        return "decimal"
    if isinstance(value, datetime.datetime):
        return "timestamp"
    if isinstance(value, dict):
        return "table"
    return "array" if isinstance(value, list) else type(value).__name__


def render(value: Any) -> str:
    """A value as RabbitMQ prints it in reply texts."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def inequivalence_text(current: dict[str, Any], received: dict[str, Any], key: str) -> str:
    """RabbitMQ's wording: bare values when both sides have the key, typed values otherwise."""
    if key in current and key in received:
        return f"received {_bare(received, key)} but current is {_bare(current, key)}"
    return f"received {_describe(received, key)} but current is {_describe(current, key)}"


def _bare(table: dict[str, Any], key: str) -> str:
    # RabbitMQ prints a bare void (Erlang's undefined) as none, like a missing key.
    return "none" if table[key] is None else f"'{_term(table, key)}'"


def _describe(table: dict[str, Any], key: str) -> str:
    if key not in table:
        return "none"
    return f"the value '{_term(table, key)}' of type '{type_name(table, key)}'"


def _term(table: dict[str, Any], key: str) -> str:
    """``table[key]`` as Erlang prints it (tables from the wire carry what Python cannot
    show: nested types, timestamps as integers)."""
    terms = getattr(table, "terms", None)
    if terms and key in terms:
        return str(terms[key])
    value = table[key]
    return "undefined" if value is None else render(value)


def _type_class(value: Any) -> str:
    """RabbitMQ compares arguments by type class (all integer widths are one) and value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    return type(value).__name__


def same_value(left: Any, right: Any) -> bool:
    if _type_class(left) == _type_class(right) and freeze(left) == freeze(right):
        return True
    # Values of different type classes match when Erlang holds them as the same term: a
    # longstr and a binary with the same octets are both binaries.
    return _octets(left) is not None and _octets(left) == _octets(right)


def _octets(value: Any) -> bytes | None:
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    return bytes(value) if isinstance(value, bytes | bytearray) else None


def first_inequivalent(
    current: dict[str, Any],
    received: dict[str, Any],
    keys: tuple[str, ...],
    defaults: dict[str, Any] | None = None,
) -> str | None:
    """The first key (in RabbitMQ's order) whose value differs, or None.

    A key in ``defaults`` that one side omits counts as having its default value.
    """
    defaults = defaults or {}
    missing = object()
    for key in keys:
        old = current.get(key, defaults.get(key, missing))
        new = received.get(key, defaults.get(key, missing))
        if (old is missing) != (new is missing):
            return key
        if old is not missing and not same_value(old, new):
            return key
    return None
