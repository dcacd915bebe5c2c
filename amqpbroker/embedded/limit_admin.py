"""Embedded brokers' powers: per-vhost and per-user limits, as ``rabbitmqctl
set_vhost_limits`` / ``set_user_limits`` and their ``clear_`` forms set them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from amqpbroker.policies.components import VHOST_LIMITS
from amqpbroker.policies.parameters import LIMITS_NAME

from .powers import LoopAccess


class LimitAdmin(LoopAccess):
    """A definition RabbitMQ would refuse raises ``ValidationFailed`` (RabbitMQ's texts); a
    vhost that does not exist, ``LookupError``.  Durable brokers keep them."""

    def set_vhost_limits(self, definition: Mapping[str, Any], vhost: str = "/") -> None:
        """``rabbitmqctl set_vhost_limits -p VHOST '{"max-connections": 2}'``: the vhost's
        limits become ``definition`` (``max-connections``, ``max-queues``; negative: none)."""
        self._on_loop(self._set_vhost_limits, dict(definition), vhost)

    def clear_vhost_limits(self, vhost: str = "/") -> None:
        """``rabbitmqctl clear_vhost_limits -p VHOST``: no limits (nothing to do if none)."""
        self._on_loop(self._clear_vhost_limits, vhost)

    def vhost_limits(self, vhost: str = "/") -> dict[str, Any]:
        """The vhost's limits as set (``{}`` for none)."""
        value = self._on_loop(self.server.parameters.vhost_limits, vhost)
        return dict(value) if isinstance(value, dict) else {}

    def set_user_limits(self, user: str, definition: Mapping[str, int]) -> None:
        """``rabbitmqctl set_user_limits USER '{"max-connections": 1}'``: the keys given set
        (``max-connections``, ``max-channels``), others kept; ``LookupError`` for no user."""
        self._on_loop(self._set_user_limits, user, dict(definition))

    def clear_user_limits(self, user: str, name: str = "all") -> None:
        """``rabbitmqctl clear_user_limits USER NAME|all``."""
        self._on_loop(self.server.access.clear_user_limit, user, None if name == "all" else name)

    # -- on the loop ----------------------------------------------------------------------------

    def _set_vhost_limits(self, definition: dict[str, Any], vhost: str) -> None:
        if vhost not in self.server.state.vhosts:
            raise LookupError(f"no vhost '{vhost}'")
        self.server.parameters.set_parameter(vhost, VHOST_LIMITS, LIMITS_NAME, definition)

    def _set_user_limits(self, user: str, definition: dict[str, int]) -> None:
        for key, value in definition.items():
            self.server.access.set_user_limit(user, key, value)

    def _clear_vhost_limits(self, vhost: str) -> None:
        if self.server.parameters.vhost_limits(vhost) is not None:
            self.server.parameters.clear_parameter(vhost, VHOST_LIMITS, LIMITS_NAME)
