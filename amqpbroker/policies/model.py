"""Policies and operator policies: the record, its validation, and which one applies.

A policy is a vhost's named (pattern, apply-to, priority, definition).  ``check_policy``
validates one as RabbitMQ 3.10.8 does and collects its errors in RabbitMQ's order
(definition, apply-to, pattern, priority) into ``ValidationFailed``.  ``select`` picks the
policy that applies to a queue or exchange: the matching one with the highest priority
whose keys that kind of object supports (an operator policy is chosen the same way among
operator policies); ``effective_definition`` merges the two, an operator policy's numeric
limits winning when smaller.  Pure: no I/O, nothing applied to queues here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .definition_keys import NOT_APPLICABLE, NUMERIC_KEYS, definition_error
from .terms import Chars, Tuple, erlang_sorted, format_term, html_escaped

APPLY_TO = ("queues", "exchanges", "all")
KINDS = ("classic", "quorum", "stream", "exchange")  # what a policy may apply to
POLICY, OPERATOR_POLICY = "policy", "operator_policy"  # their parameter components

Priority = int | float


class ValidationFailed(ValueError):
    """A policy or parameter RabbitMQ would refuse: its error lines, in RabbitMQ's order."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors

    def reason(self, *, escape: bool = True) -> str:
        """The management API's 400 reason (HTML-escaped for policies and parameters, not
        for operator policies)."""
        text = "Validation failed\n\n" + "".join(error + "\n" for error in self.errors)
        return html_escaped(text) if escape else text


@dataclass(frozen=True)
class Policy:
    vhost: str
    name: str
    pattern: str
    definition: Mapping[str, Any]
    priority: Priority = 0
    apply_to: str | None = "all"  # None: a parameter value without it (listed "undefined")
    operator: bool = False
    regex: re.Pattern[str] = field(default=re.compile(""), compare=False, repr=False)

    @property
    def component(self) -> str:
        return OPERATOR_POLICY if self.operator else POLICY

    def value(self) -> dict[str, Any]:
        """The runtime parameter's value, in RabbitMQ's key order."""
        value = {
            "pattern": self.pattern,
            "definition": dict(self.definition),
            "priority": self.priority,
            "apply-to": self.apply_to,
        }
        return value if self.apply_to is not None else _without(value, "apply-to")

    def item(self) -> dict[str, Any]:
        """An ``/api/policies`` item (and a definitions file's ``policies`` entry)."""
        return {
            "vhost": self.vhost,
            "name": self.name,
            "pattern": self.pattern,
            "apply-to": "undefined" if self.apply_to is None else self.apply_to,
            "definition": dict(self.definition),
            "priority": self.priority,
        }

    def applies_to(self, name: str, kind: str) -> bool:
        """Whether this policy may apply to an object ``name`` of ``kind`` (``KINDS``)."""
        apply_to = self.apply_to or "all"
        if apply_to != "all" and (apply_to == "exchanges") != (kind == "exchange"):
            return False
        if NOT_APPLICABLE[kind].intersection(self.definition):
            return False
        return self.regex.search(name) is not None


def _without(value: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k != key}


# -- validation -----------------------------------------------------------------------------------

# Python's ``re`` messages for the mistakes people make, as PCRE words them (RabbitMQ's
# ``re:compile``), with PCRE's offset: where it noticed (the end, for a missing closer).
_PCRE_MESSAGES = {
    "missing ), unterminated subpattern": ("missing )", True),
    "unterminated character set": ("missing terminating ] for character class", True),
    "unbalanced parenthesis": ("unmatched parentheses", False),
    "nothing to repeat": ("nothing to repeat", False),
    "multiple repeat": ("nothing to repeat", False),
}


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The pattern compiled; ``re.error`` carrying PCRE's message and offset if invalid."""
    try:
        return re.compile(pattern)
    except re.error as error:
        message, at_end = _PCRE_MESSAGES.get(error.msg, (error.msg, False))
        position = len(pattern) if at_end else (error.pos or 0)
        raise re.error(message, pattern, position) from None


def _pattern_error(pattern: Any) -> str | None:
    if not isinstance(pattern, str):
        return format_term("pattern should be a binary but was ~p", pattern)
    try:
        compile_pattern(pattern)
    except re.error as error:
        term = Tuple((Chars(error.msg), error.pos or 0))
        return format_term("pattern should be regular expression but is invalid: ~p", term)
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _apply_to_error(apply_to: Any) -> str | None:
    if apply_to in APPLY_TO and isinstance(apply_to, str):
        return None
    shown = {None: "null", True: "true", False: "false"}.get(apply_to, apply_to)
    return f"apply-to '{shown}' unrecognised; should be 'queues', 'exchanges' or 'all'"


def check_policy(
    vhost: str,
    name: str,
    pattern: Any,
    definition: Mapping[str, Any],
    priority: Any = 0,
    apply_to: Any = "all",
    *,
    operator: bool = False,
) -> Policy:
    """A valid ``Policy``, or ``ValidationFailed`` with every error RabbitMQ reports, in
    its order (a JSON null priority or apply-to is an error, as there)."""
    errors = [
        definition_error(definition, operator=operator),
        None if apply_to is _ABSENT else _apply_to_error(apply_to),
        _pattern_error(pattern),
        None
        if _is_number(priority)
        else format_term("priority should be a number, actually was ~p", priority),
    ]
    found = [error for error in errors if error is not None]
    if found:
        raise ValidationFailed(found)
    return Policy(
        vhost,
        name,
        pattern,
        erlang_sorted(dict(definition)),
        priority,
        None if apply_to is _ABSENT else apply_to,
        operator,
        compile_pattern(pattern),
    )


_ABSENT: Any = object()  # a parameter value without apply-to: RabbitMQ keeps it so
_VALUE_KEYS = ("priority", "pattern", "apply-to", "definition")  # RabbitMQ's, in its order
_MANDATORY = ("priority", "pattern", "definition")


def policy_from_value(vhost: str, name: str, value: Any, *, operator: bool = False) -> Policy:
    """A policy from its runtime parameter value (``Policy.value``: how definitions files
    carry operator policies), checked as RabbitMQ checks a parameter: every key but
    ``apply-to`` required, no others."""
    if not isinstance(value, Mapping):
        raise ValidationFailed([format_term(f"{name} not a list ~p", value)])
    errors = [f'Key "{key}" not found in {name}' for key in _MANDATORY if key not in value]
    extra = sorted((k, v) for k, v in value.items() if k not in _VALUE_KEYS)
    if extra:
        errors.append(format_term(f"Unrecognised terms ~p in {name}", [Tuple(t) for t in extra]))
    if errors:
        raise ValidationFailed(errors[::-1])
    definition = value["definition"]
    if not isinstance(definition, Mapping):
        message = format_term("definition must be a dictionary: ~p", definition)
        raise ValidationFailed([message])
    return check_policy(
        vhost,
        name,
        value["pattern"],
        definition,
        value["priority"],
        value.get("apply-to", _ABSENT),
        operator=operator,
    )


# -- which policy applies -------------------------------------------------------------------------


def select(policies: Iterable[Policy], name: str, kind: str) -> Policy | None:
    """The policy that applies to object ``name`` of ``kind``: among those that may apply,
    the highest priority (a tie goes to the first in ``policies``, as ``max`` keeps it;
    RabbitMQ leaves ties undefined)."""
    candidates = [policy for policy in policies if policy.applies_to(name, kind)]
    return max(candidates, key=lambda policy: policy.priority, default=None)


def effective_definition(policy: Policy | None, operator_policy: Policy | None) -> dict[str, Any]:
    """The policy's definition merged with the operator policy's: a key both set takes
    the smaller number (RabbitMQ's ``merge_policy_value``), others come from whichever has
    it.  ``{}`` when neither applies (a queue's ``effective_policy_definition``)."""
    merged = dict(policy.definition) if policy is not None else {}
    for key, value in (operator_policy.definition if operator_policy is not None else {}).items():
        mine = merged.get(key)
        both_numbers = _is_number(mine) and _is_number(value)
        merged[key] = min(mine, value) if key in NUMERIC_KEYS and both_numbers else value
    return {key: merged[key] for key in sorted(merged, key=lambda k: k.encode())}


@dataclass(frozen=True)
class Applied:
    """What applies to one object: the policy, the operator policy, their merge."""

    policy: Policy | None
    operator_policy: Policy | None
    definition: Mapping[str, Any]


def resolve(
    policies: Iterable[Policy], operator_policies: Iterable[Policy], name: str, kind: str
) -> Applied:
    policy = select(policies, name, kind)
    operator_policy = select(operator_policies, name, kind)
    return Applied(policy, operator_policy, effective_definition(policy, operator_policy))
