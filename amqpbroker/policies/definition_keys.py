"""The keys a policy definition may hold, their validation, and which objects they fit.

RabbitMQ 3.10.8 validates a definition with one validator per plugin module, each over the
keys it knows, in a fixed order (queue-master-locator's, then the core's, then mirroring's);
within a module the keys are checked in Erlang's order (sorted) and the first bad value is
the one reported.  Keys no module knows are listed as "not recognised policy settings".
An operator policy knows only the numeric limits.  The texts are RabbitMQ's, checked
against 3.10.8.  ``federation-upstream`` and ``federation-upstream-set`` are accepted here
(strings) although a 3.10.8 without the federation plugin refuses them: definitions from
brokers that had it import here and keep them, with no effect.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .terms import Tuple, format_term

Check = Callable[[Any], str | None]  # None when the value is valid, else the error text

MAX_SEGMENT_SIZE = 3000000000  # ?MAX_STREAM_MAX_SEGMENT_SIZE
_MAX_AGE = re.compile(r"^\d+[YMDhms]$")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _integer(what: str, low: int = 0, high: int | None = None) -> Check:
    def check(value: Any) -> str | None:
        if _is_int(value) and value >= low and (high is None or value <= high):
            return None
        return format_term(f"~p is not a valid {what}", value)

    return check


def _string(what: str) -> Check:
    def check(value: Any) -> str | None:
        return None if isinstance(value, str) else format_term(f"~p is not a valid {what}", value)

    return check


def _one_of(template: str, *allowed: Any) -> Check:
    def check(value: Any) -> str | None:
        if value in allowed and type(value) is type(allowed[0]):
            return None
        return format_term(template, value)

    return check


def _max_age(value: Any) -> str | None:
    if isinstance(value, str) and _MAX_AGE.match(value):
        return None
    return format_term("~p is not a valid max age", value)


def _anything(value: Any) -> str | None:
    return None


CORE_CHECKS: dict[str, Check] = {
    "alternate-exchange": _string("alternate exchange name"),
    "dead-letter-exchange": _string("dead letter exchange name"),
    "dead-letter-routing-key": _string("dead letter routing key"),
    "dead-letter-strategy": _one_of(
        "~p is not a valid dead letter strategy", "at-most-once", "at-least-once"
    ),
    "message-ttl": _integer("message TTL"),  # (3.10.8 sets no upper bound here)
    "expires": _integer("queue expiry", 1),
    "max-length": _integer("maximum length"),
    "max-length-bytes": _integer("maximum length in bytes"),
    "max-in-memory-length": _integer("maximum memory in bytes"),
    "max-in-memory-bytes": _integer("maximum memory in bytes"),
    "delivery-limit": _integer("delivery limit"),
    "queue-mode": _one_of("~p is not a valid queue-mode value", "default", "lazy"),
    "queue-version": _one_of("~p is not a valid queue-version value", 1, 2),
    "overflow": _one_of(
        "~p is not a valid overflow value", "drop-head", "reject-publish", "reject-publish-dlx"
    ),
    "max-age": _max_age,
    "stream-max-segment-size-bytes": _integer("segment size", 0, MAX_SEGMENT_SIZE),
    "queue-leader-locator": _one_of(
        "~p is not a valid queue leader locator value",
        "client-local",
        "balanced",
        "random",
        "least-leaders",
    ),
    "initial-cluster-size": _integer("cluster size"),
}
LOCATION_CHECKS: dict[str, Check] = {
    "queue-master-locator": _one_of(
        "~p invalid queue-master-locator value", "min-masters", "client-local", "random"
    ),
}
FEDERATION_CHECKS: dict[str, Check] = {
    "federation-upstream": _anything,
    "federation-upstream-set": _anything,
}
MIRROR_KEYS = (
    "ha-mode",
    "ha-params",
    "ha-sync-mode",
    "ha-sync-batch-size",
    "ha-promote-on-shutdown",
    "ha-promote-on-failure",
)
OPERATOR_KEYS = (
    "expires",
    "message-ttl",
    "max-length",
    "max-length-bytes",
    "max-in-memory-length",
    "max-in-memory-bytes",
    "delivery-limit",
)


def _sync_batch_size(value: Any) -> str | None:
    if _is_int(value) and value > 0:
        return None
    return format_term("ha-sync-batch-size takes an integer greater than 0, ~p given", value)


def _mirror_mode(mode: Any, params: Any) -> str | None:
    if mode == "all":
        if params is None:
            return None
        return 'ha-mode="all" does not take parameters'
    if mode == "exactly":
        if _is_int(params) and params > 0:
            return None
        given = "none" if params is None else format_term("~p", params)
        return f'ha-mode="exactly" takes an integer, {given} given'
    if mode == "nodes":
        if isinstance(params, list) and params and all(isinstance(p, str) for p in params):
            return None
        given = "none" if params is None else format_term("~p", params)
        return f'ha-mode="nodes" takes a list, {given} given'
    return format_term("~p is not a valid ha-mode value", mode)


def _mirror_checks(keys: Mapping[str, Any]) -> str | None:
    """The mirroring keys (classic queue mirroring: stored, no effect here)."""
    if "ha-mode" not in keys:
        return (
            "ha-mode must be specified to specify ha-params, ha-sync-mode or ha-promote-on-shutdown"
        )
    error = _mirror_mode(keys["ha-mode"], keys.get("ha-params"))
    others: dict[str, Check] = {
        "ha-sync-mode": _one_of(
            'ha-sync-mode must be "manual" or "automatic", got ~p', "manual", "automatic"
        ),
        "ha-sync-batch-size": _sync_batch_size,
        "ha-promote-on-shutdown": _one_of(
            'ha-promote-on-shutdown must be "always" or "when-synced", got ~p',
            "always",
            "when-synced",
        ),
        "ha-promote-on-failure": _one_of(
            'ha-promote-on-failure must be "always" or "when-synced", got ~p',
            "always",
            "when-synced",
        ),
    }
    for key, check in others.items():
        if error is None and key in keys:
            error = check(keys[key])
    return error


def _module_error(checks: Mapping[str, Check], terms: list[tuple[str, Any]]) -> str | None:
    for key, value in terms:
        if key in checks:
            error = checks[key](value)
            if error is not None:
                return error
    return None


def definition_error(definition: Mapping[str, Any], *, operator: bool = False) -> str | None:
    """RabbitMQ's text for what is wrong with ``definition``, or None if it is valid."""
    terms = sorted(definition.items(), key=lambda item: item[0].encode())
    if not terms:
        return "no policy provided"
    if operator:
        modules: list[Mapping[str, Check]] = [{k: CORE_CHECKS[k] for k in OPERATOR_KEYS}]
    else:
        modules = [LOCATION_CHECKS, CORE_CHECKS, FEDERATION_CHECKS]
    known = {key for module in modules for key in module}
    for checks in modules:
        error = _module_error(checks, terms)
        if error is not None:
            return error
    mirrored = {k: v for k, v in terms if k in MIRROR_KEYS}
    if mirrored and not operator:
        error = _mirror_checks(mirrored)
        if error is not None:
            return error
        known.update(MIRROR_KEYS)
    unknown = [(k, v) for k, v in terms if k not in known]
    if unknown:
        return format_term("~p are not recognised policy settings", [Tuple(t) for t in unknown])
    return None


# -- which objects a key fits ---------------------------------------------------------------------

# Keys that make a policy skip an object of that kind (recorded against 3.10.8: the next
# matching policy by priority applies instead).  Exchanges take any policy.
NOT_APPLICABLE: dict[str, frozenset[str]] = {
    "classic": frozenset(
        {
            "delivery-limit",
            "dead-letter-strategy",
            "max-age",
            "queue-leader-locator",
            "initial-cluster-size",
            "stream-max-segment-size-bytes",
        }
    ),
    "quorum": frozenset(
        {
            "max-age",
            "initial-cluster-size",
            "stream-max-segment-size-bytes",
            "queue-mode",
            "queue-master-locator",
            *MIRROR_KEYS,
        }
    ),
    "stream": frozenset(
        {
            "delivery-limit",
            "dead-letter-strategy",
            "max-in-memory-length",
            "max-in-memory-bytes",
            "message-ttl",
            "queue-mode",
            "queue-master-locator",
            "expires",
            "overflow",
            "dead-letter-exchange",
            "dead-letter-routing-key",
            "max-length",
            *MIRROR_KEYS,
        }
    ),
    "exchange": frozenset(),
}

# Operator policy values merged with the policy's by taking the smaller (RabbitMQ's
# ``merge_policy_value``): every key an operator policy may hold is numeric.
NUMERIC_KEYS = frozenset(OPERATOR_KEYS)
