"""Per-vhost and per-user limits, as RabbitMQ 3.10.8 keeps and enforces them.

A vhost's limits are its ``vhost-limits`` runtime parameter named ``limits``
(``{"max-connections": N, "max-queues": N}``); a user's are kept on the user
(``{"max-connections": N, "max-channels": N}``).  A negative value, or a key not set, is no
limit; 0 allows none.  The values here are read once when they change, and checked where
RabbitMQ checks them: a connection's ``connection.open``, a new queue's declaration, a
``channel.open``; never per message.  The texts are RabbitMQ's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from amqpbroker.errors import NotAllowed, PreconditionFailed

NO_LIMIT = -1
VHOST_LIMIT_KEYS = ("max-connections", "max-queues")
USER_LIMIT_KEYS = ("max-connections", "max-channels")


def _limit(value: Any, key: str) -> int:
    number = value.get(key, NO_LIMIT) if isinstance(value, Mapping) else NO_LIMIT
    return int(number) if isinstance(number, int | float) else NO_LIMIT


def reached(limit: int, count: int) -> bool:
    """True when ``count`` things already use up ``limit`` (a negative limit never is)."""
    return 0 <= limit <= count


@dataclass(frozen=True, slots=True)
class VhostLimits:
    max_connections: int = NO_LIMIT
    max_queues: int = NO_LIMIT

    @classmethod
    def from_value(cls, value: Any) -> VhostLimits:
        """From the ``vhost-limits`` parameter's value (None or ``[]``: no limits)."""
        return cls(_limit(value, "max-connections"), _limit(value, "max-queues"))

    def check_connection(self, vhost: str, user: str, open_connections: int) -> None:
        if reached(self.max_connections, open_connections):
            raise NotAllowed(
                f"access to vhost '{vhost}' refused for user '{user}': "
                f"connection limit ({self.max_connections}) is reached"
            )

    def check_new_queue(self, vhost: str, queue: str, queues: int) -> None:
        if reached(self.max_queues, queues):
            raise PreconditionFailed(
                f"cannot declare queue '{queue}': "
                f"queue limit in vhost '{vhost}' ({self.max_queues}) is reached"
            )


NO_VHOST_LIMITS = VhostLimits()


@dataclass(frozen=True, slots=True)
class UserLimits:
    max_connections: int = NO_LIMIT
    max_channels: int = NO_LIMIT

    @classmethod
    def from_value(cls, value: Any) -> UserLimits:
        return cls(_limit(value, "max-connections"), _limit(value, "max-channels"))

    def check_connection(self, user: str, open_connections: int) -> None:
        if reached(self.max_connections, open_connections):
            raise NotAllowed(
                f"connection refused for user '{user}': "
                f"user connection limit ({self.max_connections}) is reached"
            )

    def check_channel(self, user: str, open_channels: int) -> None:
        if reached(self.max_channels, open_channels):
            raise NotAllowed(
                f"number of channels opened for user '{user}' has reached "
                f"the maximum allowed user limit of ({self.max_channels})"
            )


NO_USER_LIMITS = UserLimits()


def count_down(counts: dict[str, int], key: str, by: int) -> None:
    """Take ``by`` from ``counts[key]``, dropping the key at zero."""
    left = counts.get(key, 0) - by
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)
