"""Queue types (x-queue-type): the arguments each one has, and the ones it refuses.

RabbitMQ 3.10 gives every queue type a list of arguments: those are validated on declare and
compared on redeclare, in the list's order.  An argument that belongs only to another type
is refused when the queue is created (406 "invalid arg ... of queue type
rabbit_quorum_queue", after the values of its own arguments were checked); when several are
present RabbitMQ names the first in the client's table.  Stream queues are not implemented
(they behave as classic queues and keep the broker's older, type-blind rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .arguments import text
from .queue import Queue
from .quorum import QuorumQueue


@dataclass(frozen=True, slots=True)
class QueueType:
    module: str  # RabbitMQ's name for it in reply texts
    arguments: tuple[str, ...]  # validated on declare, compared on redeclare (in this order)
    refused: frozenset[str]  # other types' arguments
    queue_class: type[Queue]


CLASSIC = QueueType(
    "rabbit_classic_queue",
    arguments=(
        "x-expires",
        "x-message-ttl",
        "x-dead-letter-exchange",
        "x-dead-letter-routing-key",
        "x-max-length",
        "x-max-length-bytes",
        "x-max-priority",
        "x-overflow",
        "x-queue-mode",
        "x-queue-version",
        "x-single-active-consumer",
        "x-queue-type",
        "x-queue-master-locator",
    ),
    refused=frozenset(
        {
            "x-initial-cluster-size",
            "x-stream-max-segment-size-bytes",
            "x-max-age",
            "x-queue-leader-locator",
            "x-dead-letter-strategy",
            "x-delivery-limit",
            "x-quorum-initial-group-size",
            "x-max-in-memory-bytes",
            "x-max-in-memory-length",
        }
    ),
    queue_class=Queue,
)
QUORUM = QueueType(
    "rabbit_quorum_queue",
    arguments=(
        "x-dead-letter-exchange",
        "x-dead-letter-routing-key",
        "x-dead-letter-strategy",
        "x-expires",
        "x-max-length",
        "x-max-length-bytes",
        "x-max-in-memory-length",
        "x-max-in-memory-bytes",
        "x-overflow",
        "x-single-active-consumer",
        "x-queue-type",
        "x-quorum-initial-group-size",
        "x-delivery-limit",
        "x-message-ttl",
        "x-queue-leader-locator",
    ),
    refused=frozenset(
        {
            "x-queue-version",
            "x-initial-cluster-size",
            "x-stream-max-segment-size-bytes",
            "x-max-age",
            "x-queue-master-locator",
            "x-queue-mode",
            "x-max-priority",
        }
    ),
    queue_class=QuorumQueue,
)
QUEUE_TYPES = {"classic": CLASSIC, "quorum": QUORUM}


def queue_type(arguments: dict[str, Any]) -> QueueType | None:
    """The type the arguments ask for (classic when none); None for a stream."""
    name = text(arguments.get("x-queue-type", "classic"))
    return QUEUE_TYPES.get(name) if name is not None else None


def queue_class(arguments: dict[str, Any]) -> type[Queue]:
    kind = queue_type(arguments)
    return kind.queue_class if kind is not None else Queue
