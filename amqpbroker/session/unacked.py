"""A delivery awaiting its settlement, and the ways it can be settled."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from amqpbroker.core.consumers import Consumer
from amqpbroker.core.message import Envelope
from amqpbroker.core.queue import Queue


class Outcome(enum.Enum):
    """What becomes of settled deliveries (``Channel.settle``)."""

    ACK = "ack"  # basic.ack: done with
    REQUEUE = "requeue"  # nack or reject with requeue, basic.recover
    DROP = "drop"  # nack or reject without requeue: dead-lettered as 'rejected'
    CHANNEL_CLOSED = "channel closed"  # still unacked as its channel closed: requeued


@dataclass(slots=True)
class Unacked:
    """A delivered message waiting for its ack; ``consumer`` is None for basic.get."""

    envelope: Envelope
    queue: Queue
    consumer: Consumer[Queue] | None
