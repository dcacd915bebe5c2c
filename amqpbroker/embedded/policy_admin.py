"""Embedded brokers' powers: policies, operator policies and runtime parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from amqpbroker.policies.model import Policy, check_policy

from .powers import LoopAccess


class PolicyAdmin(LoopAccess):
    """What ``rabbitmqctl set_policy`` / ``set_operator_policy`` / ``set_parameter`` /
    ``set_global_parameter`` and their ``clear_`` forms do.  A definition RabbitMQ would
    refuse raises ``amqpbroker.policies.model.ValidationFailed`` (a ``ValueError`` with
    RabbitMQ's texts); a vhost that does not exist, ``LookupError``.  Durable brokers keep
    them across restarts."""

    def policies(self, vhost: str | None = None, *, operator: bool = False) -> list[Policy]:
        """The policies (or operator policies) of ``vhost`` (of every vhost for None), by
        priority."""
        return self._on_loop(lambda: self.server.parameters.policies_in(vhost, operator=operator))

    def set_policy(
        self,
        name: str,
        pattern: str,
        definition: Mapping[str, Any],
        apply_to: str = "all",
        priority: int = 0,
        vhost: str = "/",
    ) -> None:
        """``rabbitmqctl set_policy -p VHOST --apply-to APPLY_TO --priority PRIORITY NAME
        PATTERN DEFINITION``: add or replace policy ``name``."""
        self._set(name, pattern, definition, apply_to, priority, vhost, operator=False)

    def clear_policy(self, name: str, vhost: str = "/") -> None:
        """Remove policy ``name`` (``LookupError`` if there is none)."""
        self._on_loop(self._clear_policy, name, vhost, False)

    def set_operator_policy(
        self,
        name: str,
        pattern: str,
        definition: Mapping[str, Any],
        apply_to: str = "all",
        priority: int = 0,
        vhost: str = "/",
    ) -> None:
        """``rabbitmqctl set_operator_policy``: limits (message-ttl, expires, max-length,
        max-length-bytes, delivery-limit...) that cap the policies' and arguments'."""
        self._set(name, pattern, definition, apply_to, priority, vhost, operator=True)

    def clear_operator_policy(self, name: str, vhost: str = "/") -> None:
        self._on_loop(self._clear_policy, name, vhost, True)

    def set_parameter(self, component: str, name: str, value: Any, vhost: str = "/") -> None:
        """``rabbitmqctl set_parameter -p VHOST COMPONENT NAME VALUE`` (``vhost-limits``, or a
        plugin's component, kept with no effect)."""
        self._on_loop(self._set_parameter, component, name, value, vhost)

    def clear_parameter(self, component: str, name: str, vhost: str = "/") -> None:
        self._on_loop(self.server.parameters.clear_parameter, vhost, component, name)

    def set_global_parameter(self, name: str, value: Any) -> None:
        self._on_loop(self.server.parameters.set_global, name, value)

    def clear_global_parameter(self, name: str) -> None:
        self._on_loop(self.server.parameters.clear_global, name)

    # -- on the loop ----------------------------------------------------------------------------

    def _set(
        self,
        name: str,
        pattern: str,
        definition: Mapping[str, Any],
        apply_to: str,
        priority: int,
        vhost: str,
        *,
        operator: bool,
    ) -> None:
        policy = check_policy(
            vhost, name, pattern, definition, priority, apply_to, operator=operator
        )
        self._on_loop(self._put_policy, policy)

    def _existing(self, vhost: str) -> None:
        if vhost not in self.server.state.vhosts:
            raise LookupError(f"no vhost '{vhost}'")

    def _put_policy(self, policy: Policy) -> None:
        self._existing(policy.vhost)
        self.server.parameters.set_policy(policy)

    def _clear_policy(self, name: str, vhost: str, operator: bool) -> None:
        self.server.parameters.clear_policy(vhost, name, operator=operator)

    def _set_parameter(self, component: str, name: str, value: Any, vhost: str) -> None:
        self._existing(vhost)
        self.server.parameters.set_parameter(vhost, component, name, value)
