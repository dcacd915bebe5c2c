"""What applies to a queue or exchange once its policy and operator policy are counted.

RabbitMQ 3.10.8 resolves each key of a queue's effective policy definition (the policy
merged with the operator policy: ``policies.model.effective_definition``) against the
queue's own x-argument, key by key, with a rule per key and queue type
(``rabbit_amqqueue_process:process_args_policy``, ``rabbit_quorum_queue``):

- the smaller wins: message-ttl, max-length, max-length-bytes (classic and quorum),
  expires (classic), delivery-limit (quorum);
- the policy wins: expires and overflow on quorum queues;
- the argument wins: overflow (classic), dead-letter-exchange, dead-letter-routing-key,
  and an exchange's alternate-exchange.

Other keys (queue-mode, queue-version, ha-*, federation) are accepted with no effect.
``PolicyBook`` holds one vhost's policies and picks what applies to each object; it is
consulted when an object is declared or recovered and when the vhost's policies change,
never per message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from amqpbroker.policies.model import Applied, Policy, resolve

from .arguments import integer, number, text
from .queue_settings import DROP_HEAD, QueueSettings

NO_POLICY = Applied(None, None, {})

_SMALLER_WINS = {  # policy key -> (x-argument, QueueSettings field)
    "message-ttl": ("x-message-ttl", "message_ttl"),
    "max-length": ("x-max-length", "max_length"),
    "max-length-bytes": ("x-max-length-bytes", "max_bytes"),
}
_ARGUMENT_WINS = {
    "dead-letter-exchange": ("x-dead-letter-exchange", "dead_letter_exchange"),
    "dead-letter-routing-key": ("x-dead-letter-routing-key", "dead_letter_routing_key"),
}


def _first(argument: str | None, policy: str | None) -> str | None:
    return argument if argument is not None else policy


def _smaller(argument: int | float | None, policy: int | float | None) -> Any:
    if argument is None or policy is None:
        return policy if argument is None else argument
    return min(argument, policy)


def queue_settings_under(
    arguments: Mapping[str, Any], definition: Mapping[str, Any], *, quorum: bool
) -> QueueSettings:
    """The settings of a queue declared with ``arguments`` under the effective policy
    ``definition`` (``{}``: the arguments' own)."""
    settings = QueueSettings.parse(dict(arguments))
    if not definition:
        return settings
    changes: dict[str, Any] = {}
    for key, (argument, field) in _SMALLER_WINS.items():
        changes[field] = _smaller(integer(arguments.get(argument)), integer(definition.get(key)))
    for key, (argument, field) in _ARGUMENT_WINS.items():
        changes[field] = _first(text(arguments.get(argument)), text(definition.get(key)))
    expires = integer(definition.get("expires"))
    if quorum:
        changes["expires"] = expires if expires is not None else settings.expires
        changes["overflow"] = text(definition.get("overflow")) or settings.overflow
        limit = number(arguments.get("x-delivery-limit"))
        changes["delivery_limit"] = _smaller(limit, number(definition.get("delivery-limit")))
    else:
        changes["expires"] = _smaller(settings.expires, expires)
        argument_overflow = text(arguments.get("x-overflow"))
        overflow = _first(argument_overflow, text(definition.get("overflow")))
        changes["overflow"] = overflow or DROP_HEAD
    return QueueSettings(
        **changes,
        max_priority=settings.max_priority,
        single_active=settings.single_active,
    )


def alternate_under(arguments: Mapping[str, Any], definition: Mapping[str, Any]) -> str | None:
    """An exchange's alternate exchange: its own argument, else its policy's."""
    return _first(
        text(arguments.get("alternate-exchange")), text(definition.get("alternate-exchange"))
    )


class PolicyBook:
    """One vhost's policies and operator policies, and what applies to each object."""

    def __init__(
        self, policies: Sequence[Policy] = (), operator_policies: Sequence[Policy] = ()
    ) -> None:
        self.policies = list(policies)
        self.operator_policies = list(operator_policies)

    def applied(self, name: str, kind: str) -> Applied:
        """What applies to object ``name`` of ``kind`` (``policies.model.KINDS``)."""
        if not (self.policies or self.operator_policies):
            return NO_POLICY
        return resolve(self.policies, self.operator_policies, name, kind)
