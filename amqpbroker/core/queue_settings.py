"""What a queue's arguments set, read once into a frozen value.

``QueueSettings.parse`` is the one reader of the x-arguments a queue acts on: the queue gets
the value at construction and can be given another on a live queue
(``Queue.apply_settings``), which is how policies will change limits and TTLs.  Reading is
lenient: a value of the wrong type reads as unset, as it did when each feature read its
own argument; declaring one is refused earlier, with RabbitMQ's texts
(``core.queue_arguments``).  The raw table stays on the queue (``Queue.arguments``) for
what compares or stores arguments as the client sent them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .arguments import integer, number, text

DROP_HEAD = "drop-head"
REJECT_PUBLISH = "reject-publish"
REJECT_PUBLISH_DLX = "reject-publish-dlx"


@dataclass(frozen=True, slots=True)
class QueueSettings:
    """The x-arguments a queue acts on (times in milliseconds, None: not set)."""

    message_ttl: int | None = None  # x-message-ttl
    expires: int | None = None  # x-expires
    max_length: int | None = None  # x-max-length
    max_bytes: int | None = None  # x-max-length-bytes
    overflow: str = DROP_HEAD  # x-overflow
    dead_letter_exchange: str | None = None  # x-dead-letter-exchange
    dead_letter_routing_key: str | None = None  # x-dead-letter-routing-key
    max_priority: int | None = None  # x-max-priority (fixed at declaration)
    single_active: bool = False  # x-single-active-consumer (fixed at declaration)
    # x-delivery-limit (quorum queues): any number; anything else is no limit, as in
    # RabbitMQ, where any other term compares greater than a number.
    delivery_limit: int | float | None = None
    limited: bool = field(init=False, default=False)  # whether a length limit applies

    def __post_init__(self) -> None:
        limited = self.max_length is not None or self.max_bytes is not None
        object.__setattr__(self, "limited", limited)

    def over(self, current: QueueSettings) -> QueueSettings:
        """These settings for a live queue declared with ``current``: its priorities and
        single active consumer stay as declared."""
        return replace(self, max_priority=current.max_priority, single_active=current.single_active)

    def beyond_limits(self, count: int, size: int) -> bool:
        """Whether ``count`` messages of ``size`` body bytes in all exceed a length limit."""
        max_length, max_bytes = self.max_length, self.max_bytes
        return (max_length is not None and count > max_length) or (
            max_bytes is not None and size > max_bytes
        )

    def expiry(self, message_ttl: int | None, now: float) -> float | None:
        """When a message with ``message_ttl`` arriving ``now`` expires: the lower of the
        queue's and the message's TTL wins (None: never)."""
        ttls = [t for t in (self.message_ttl, message_ttl) if t is not None]
        return now + min(ttls) / 1000 if ttls else None

    @classmethod
    def parse(cls, arguments: dict[str, Any]) -> QueueSettings:
        return cls(
            message_ttl=integer(arguments.get("x-message-ttl")),
            expires=integer(arguments.get("x-expires")),
            max_length=integer(arguments.get("x-max-length")),
            max_bytes=integer(arguments.get("x-max-length-bytes")),
            overflow=text(arguments.get("x-overflow")) or DROP_HEAD,
            dead_letter_exchange=text(arguments.get("x-dead-letter-exchange")),
            dead_letter_routing_key=text(arguments.get("x-dead-letter-routing-key")),
            max_priority=integer(arguments.get("x-max-priority")),
            single_active=arguments.get("x-single-active-consumer") is True,
            delivery_limit=number(arguments.get("x-delivery-limit")),
        )
