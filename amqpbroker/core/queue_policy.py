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
from dataclasses import replace
from typing import Any

from amqpbroker.policies.model import Applied, Policy, resolve

from .arguments import integer, number, text
from .queue_settings import DROP_HEAD, QueueSettings

NO_POLICY = Applied(None, None, {})


def _first(argument: str | None, policy: str | None) -> str | None:
    return argument if argument is not None else policy


def _smaller(argument: int | float | None, policy: int | float | None) -> Any:
    if argument is None or policy is None:
        return policy if argument is None else argument
    return min(argument, policy)


def queue_settings_under(
    own: QueueSettings,
    arguments: Mapping[str, Any],
    definition: Mapping[str, Any],
    *,
    quorum: bool,
) -> QueueSettings:
    """The settings of a queue declared with ``arguments`` (read: ``own``) under the
    effective policy ``definition`` (``{}``: the arguments' own)."""
    if not definition:
        return own
    get = definition.get
    expires = integer(get("expires"))
    if quorum:
        expires = expires if expires is not None else own.expires
        overflow = text(get("overflow")) or own.overflow
        delivery_limit = _smaller(own.delivery_limit, number(get("delivery-limit")))
    else:
        expires = _smaller(own.expires, expires)
        overflow = _first(text(arguments.get("x-overflow")), text(get("overflow"))) or DROP_HEAD
        delivery_limit = own.delivery_limit
    return replace(
        own,
        message_ttl=_smaller(own.message_ttl, integer(get("message-ttl"))),
        max_length=_smaller(own.max_length, integer(get("max-length"))),
        max_bytes=_smaller(own.max_bytes, integer(get("max-length-bytes"))),
        dead_letter_exchange=_first(own.dead_letter_exchange, text(get("dead-letter-exchange"))),
        dead_letter_routing_key=_first(
            own.dead_letter_routing_key, text(get("dead-letter-routing-key"))
        ),
        expires=expires,
        overflow=overflow,
        delivery_limit=delivery_limit,
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
