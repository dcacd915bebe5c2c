"""Consumers and the seam through which queues hand messages to channels.

The core never writes frames: a queue asks a consumer's ``DeliverySink`` (implemented by the
session's channel) whether it can take a message and hands it over.  The sink assigns the
delivery tag, tracks unacked messages and encodes the frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .message import Envelope
    from .queue import Queue


class DeliverySink(Protocol):
    """What a queue needs from the channel a consumer lives on."""

    def has_capacity(self) -> bool:
        """False while the channel cannot take deliveries (global prefetch, flow, back-pressure)."""

    def deliver(self, consumer: Consumer, envelope: Envelope) -> None:
        """Send ``envelope`` to ``consumer``; called only after ``has_capacity``."""

    def consumer_cancelled(self, consumer: Consumer) -> None:
        """The broker removed ``consumer`` (its queue was deleted)."""


class Consumer:
    """A basic.consume subscription of one channel to one queue."""

    __slots__ = (
        "arguments",
        "exclusive",
        "no_ack",
        "prefetch",
        "priority",
        "queue",
        "sink",
        "tag",
        "tag_bytes",
        "unacked",
    )

    def __init__(
        self,
        tag: str,
        tag_bytes: bytes,
        queue: Queue,
        sink: DeliverySink,
        *,
        no_ack: bool,
        exclusive: bool,
        prefetch: int,
        arguments: dict[str, Any],
    ) -> None:
        self.tag = tag
        self.tag_bytes = tag_bytes  # the wire short string, pre-encoded for the hot path
        self.queue = queue
        self.sink = sink
        self.no_ack = no_ack
        self.exclusive = exclusive
        self.prefetch = prefetch  # 0 = unlimited
        self.arguments = arguments
        self.unacked = 0
        priority = arguments.get("x-priority", 0)
        self.priority = priority if isinstance(priority, int) else 0  # x-priority

    def can_take(self) -> bool:
        if not self.no_ack and self.prefetch and self.unacked >= self.prefetch:
            return False
        return self.sink.has_capacity()
