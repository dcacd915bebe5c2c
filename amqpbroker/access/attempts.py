"""Counts of login attempts per protocol, as RabbitMQ keeps them for
``/api/auth/attempts/{node}``: AMQP connections (``amqp091``) and management API requests
(``http``), each attempt a success or a failure of the credentials check.

RabbitMQ tracks attempts by source (remote address and user name) only when
``track_auth_attempt_source`` is on, which it is not by default; nor is it here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ProtocolAttempts:
    protocol: str
    succeeded: int = 0
    failed: int = 0

    def item(self) -> dict[str, object]:
        """RabbitMQ's item for this protocol."""
        return {
            "protocol": self.protocol,
            "auth_attempts": self.succeeded + self.failed,
            "auth_attempts_failed": self.failed,
            "auth_attempts_succeeded": self.succeeded,
        }


class AuthAttempts:
    """Per protocol, in the order each was first tried; ``reset`` forgets them all."""

    def __init__(self) -> None:
        self._by_protocol: dict[str, ProtocolAttempts] = {}

    def record(self, protocol: str, succeeded: bool) -> None:
        counts = self._by_protocol.get(protocol)
        if counts is None:
            counts = self._by_protocol[protocol] = ProtocolAttempts(protocol)
        if succeeded:
            counts.succeeded += 1
        else:
            counts.failed += 1

    def items(self) -> list[dict[str, object]]:
        return [counts.item() for counts in self._by_protocol.values()]

    def reset(self) -> None:
        self._by_protocol.clear()
