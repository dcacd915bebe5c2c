"""Queue, exchange and binding arguments: compared by value, as RabbitMQ does.

Clients send the same number in different integer widths (pika a short, aio-pika a long);
RabbitMQ treats every integer type as one type class and compares values.
"""

from __future__ import annotations

import datetime
import decimal
from typing import Any

# The queue arguments RabbitMQ checks for equivalence on redeclare (others may differ).
QUEUE_EQUIVALENCE_KEYS = (
    "x-expires", "x-message-ttl", "x-dead-letter-exchange", "x-dead-letter-routing-key",
    "x-max-length", "x-max-length-bytes", "x-max-in-memory-length", "x-max-in-memory-bytes",
    "x-max-priority", "x-overflow", "x-queue-mode", "x-single-active-consumer", "x-queue-type",
    "x-queue-master-locator", "x-quorum-initial-group-size", "x-delivery-limit",
    "x-dead-letter-strategy", "x-queue-leader-locator", "x-max-age", "x-stream-max-segment-size-bytes",
    "x-initial-cluster-size",
)
EXCHANGE_EQUIVALENCE_KEYS = ("alternate-exchange",)


def freeze(value: Any) -> Any:
    """A hashable form of a field value or table, equal across integer widths."""
    if isinstance(value, dict):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    if isinstance(value, bytearray):
        return bytes(value)
    return value


def type_name(value: Any) -> str:
    """The name RabbitMQ gives a field value's type in its error messages."""
    if value is None:
        return "void"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "long" if -(2**31) <= value < 2**31 else "long"
    if isinstance(value, str | bytes):
        return "longstr"
    if isinstance(value, float):
        return "double"
    if isinstance(value, decimal.Decimal):
        return "decimal"
    if isinstance(value, datetime.datetime):
        return "timestamp"
    if isinstance(value, dict):
        return "table"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def describe(value: Any, present: bool) -> str:
    if not present:
        return "none"
    return f"the value '{_render(value)}' of type '{type_name(value)}'"


def first_inequivalent(current: dict[str, Any], received: dict[str, Any],
                       keys: tuple[str, ...]) -> str | None:
    """The first key (in RabbitMQ's order) whose value differs, or None."""
    for key in keys:
        in_current, in_received = key in current, key in received
        if in_current != in_received:
            return key
        if in_current and freeze(current[key]) != freeze(received[key]):
            return key
    return None
