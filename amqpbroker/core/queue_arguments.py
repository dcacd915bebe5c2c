"""Validation of the queue arguments RabbitMQ knows, with its reply texts.

Each check returns None when the value is acceptable, else the Erlang term RabbitMQ prints
after "invalid arg 'KEY' for queue 'Q' in vhost 'V': ".  What the arguments *do* (TTL,
length limits, dead-lettering...) belongs to the queue features, not here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amqpbroker.errors import PreconditionFailed

from .arguments import type_name
from .queue_types import queue_type

INTEGER_TYPES = frozenset(
    {"byte", "unsignedbyte", "short", "unsignedshort", "signedint", "unsignedint", "long"}
)
OVERFLOW_MODES = ("drop-head", "reject-publish", "reject-publish-dlx")
QUEUE_MODES = ("default", "lazy")
QUEUE_TYPES = ("classic", "quorum", "stream")
MAX_EXPIRY = 315_360_000_000  # ten years in milliseconds, RabbitMQ's limit

Check = Callable[[dict[str, Any], str], str | None]


def _integer(args: dict[str, Any], key: str) -> str | None:
    kind = type_name(args, key)
    if kind not in INTEGER_TYPES:
        return f'"expected integer, got {kind}"'
    return None


def _non_negative(args: dict[str, Any], key: str) -> str | None:
    error = _integer(args, key)
    if error is None and args[key] < 0:
        return f"{{value_negative,{args[key]}}}"
    return error


def _expiry(args: dict[str, Any], key: str) -> str | None:
    error = _non_negative(args, key)
    if error is None and args[key] > MAX_EXPIRY:
        return f"{{value_too_large,{args[key]}}}"
    return error


def _positive_expiry(args: dict[str, Any], key: str) -> str | None:
    error = _integer(args, key)
    if error is None and args[key] == 0:
        return "{value_zero,0}"
    return error or _expiry(args, key)


def _max_priority(args: dict[str, Any], key: str) -> str | None:
    error = _non_negative(args, key)
    if error is None and args[key] > 255:
        return f"{{max_value_exceeded,{args[key]}}}"
    return error


def _string_in(choices: tuple[str, ...], bad_value: Callable[[str], str]) -> Check:
    def check(args: dict[str, Any], key: str) -> str | None:
        kind = type_name(args, key)
        if kind != "longstr":
            return f"{{unacceptable_type,{kind}}}"
        value = args[key]
        value = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        return None if value in choices else bad_value(value)

    return check


def _boolean(args: dict[str, Any], key: str) -> str | None:
    kind = type_name(args, key)
    return None if kind == "bool" else f"{{unacceptable_type,{kind}}}"


def _dead_letter_routing_key(args: dict[str, Any], key: str) -> str | None:
    kind = type_name(args, key)
    if kind != "longstr":
        return f"{{unacceptable_type,{kind}}}"
    return None if "x-dead-letter-exchange" in args else "routing_key_but_no_dlx_defined"


_queue_type = _string_in(QUEUE_TYPES, lambda v: f"\"unsupported queue type '{v}'\"")

# In RabbitMQ's order (x-queue-type and the dead-letter exchange's type come before these).
CHECKS: dict[str, Check] = {
    "x-expires": _positive_expiry,
    "x-message-ttl": _expiry,
    "x-dead-letter-routing-key": _dead_letter_routing_key,
    "x-max-length": _non_negative,
    "x-max-length-bytes": _non_negative,
    "x-max-priority": _max_priority,
    "x-overflow": _string_in(OVERFLOW_MODES, lambda v: "invalid_overflow"),
    "x-queue-mode": _string_in(QUEUE_MODES, lambda v: f"\"unsupported queue mode '{v}'\""),
    "x-single-active-consumer": _boolean,
}


def validate_queue_arguments(args: dict[str, Any], queue: str, vhost: str) -> None:
    """Raise RabbitMQ's 406 for the first known argument with a bad value, then for the
    first argument the queue's type refuses (whose value is not checked)."""
    where = f"queue '{queue}' in vhost '{vhost}'"
    if "x-queue-type" in args:
        _raise_if_invalid(_queue_type, args, "x-queue-type", where)
    if "x-dead-letter-exchange" in args:
        kind = type_name(args, "x-dead-letter-exchange")
        if kind != "longstr":
            raise PreconditionFailed(
                f"invalid type '{kind}' for arg 'x-dead-letter-exchange' in {where}"
            )
    queue_kind = queue_type(args)
    refused = queue_kind.refused if queue_kind is not None else frozenset()
    for key, check in CHECKS.items():
        if key in args and key not in refused:
            _raise_if_invalid(check, args, key, where)
    refused_key = next((key for key in args if key in refused), None)  # first in the table
    if queue_kind is not None and refused_key is not None:
        raise PreconditionFailed(
            f"invalid arg '{refused_key}' for {where} of queue type {queue_kind.module}"
        )


def validate_consumer_arguments(args: dict[str, Any], queue: str, vhost: str) -> None:
    """basic.consume's x-priority must be an integer (RabbitMQ's text names the queue)."""
    if "x-priority" in args:
        _raise_if_invalid(_integer, args, "x-priority", f"queue '{queue}' in vhost '{vhost}'")


def _raise_if_invalid(check: Check, args: dict[str, Any], key: str, where: str) -> None:
    error = check(args, key)
    if error is not None:
        raise PreconditionFailed(f"invalid arg '{key}' for {where}: {error}")
