"""QuorumQueue: returns counted, returned to the back (nack) or the front (closed channel),
and x-delivery-limit."""

from __future__ import annotations

from typing import Any

import pytest

from amqpbroker.core.message import Envelope, Message
from amqpbroker.core.queue import Queue
from amqpbroker.core.queue_types import queue_class
from amqpbroker.core.quorum import QuorumQueue


def make_queue(**arguments: Any) -> QuorumQueue:
    return QuorumQueue(
        "q",
        "/",
        durable=True,
        exclusive_owner=None,
        auto_delete=False,
        arguments={"x-queue-type": "quorum", **arguments},
    )


def dead_letters(queue: Queue) -> list[tuple[bytes, str]]:
    """What ``queue`` dead-letters from now on: (body, reason) of each message."""
    dead: list[tuple[bytes, str]] = []

    def record(_queue: Queue, envelopes: list[Envelope], reason: str) -> None:
        dead.extend((envelope.message.body, reason) for envelope in envelopes)

    queue.dead_letter = record
    return dead


def fill(queue: Queue, *bodies: bytes) -> None:
    for body in bodies:
        queue.enqueue(Message("", "q", b"\x00\x01q", b"\x00\x3c\x00\x00" + bytes(10), body))


def take(queue: Queue) -> Envelope:
    envelope = queue.get()
    assert envelope is not None
    queue.handed_out(envelope, acknowledged_later=True)
    return envelope


def ready(queue: Queue) -> list[tuple[bytes, int]]:
    return [(e.message.body, e.delivery_count) for e in queue.ready.in_memory()]


def test_quorum_arguments_make_a_quorum_queue() -> None:
    assert queue_class({"x-queue-type": "quorum"}) is QuorumQueue
    assert queue_class({"x-queue-type": b"quorum"}) is QuorumQueue
    assert queue_class({}) is Queue
    assert queue_class({"x-queue-type": "stream"}) is Queue


def test_a_nacked_message_goes_to_the_back_counted() -> None:
    queue = make_queue()
    fill(queue, b"m1", b"m2", b"m3")
    m1 = take(queue)
    queue.requeue([m1])
    assert ready(queue) == [(b"m2", 0), (b"m3", 0), (b"m1", 1)]
    assert m1.redelivered


def test_a_closed_channels_messages_go_to_the_front_behind_earlier_ones() -> None:
    queue = make_queue()
    fill(queue, b"m1", b"m2", b"m3", b"m4")
    m1, m2, m3 = take(queue), take(queue), take(queue)
    queue.requeue([m2, m1], closing=True)
    queue.requeue([m3], closing=True)
    assert ready(queue) == [(b"m2", 1), (b"m1", 1), (b"m3", 1), (b"m4", 0)]
    again = take(queue)  # m2 leaves the front; it comes back behind m1 and m3
    queue.requeue([again], closing=True)
    assert ready(queue) == [(b"m1", 1), (b"m3", 1), (b"m2", 2), (b"m4", 0)]
    queue.purge()
    fill(queue, b"m5")
    queue.requeue([take(queue)], closing=True)
    fill(queue, b"m6")
    assert ready(queue) == [(b"m5", 1), (b"m6", 0)]


def test_beyond_the_delivery_limit_a_message_is_dead_lettered() -> None:
    queue = make_queue(**{"x-delivery-limit": 1})
    dead = dead_letters(queue)
    fill(queue, b"m1", b"m2")
    queue.requeue([take(queue)])  # count 1: kept
    queue.requeue([take(queue), take(queue)])  # m2 count 1 kept, m1 count 2 gone
    assert ready(queue) == [(b"m2", 1)]
    assert dead == [(b"m1", "delivery_limit")]
    queue.requeue([take(queue)], closing=True)
    assert dead[-1] == (b"m2", "delivery_limit")
    assert queue.message_count == 0


@pytest.mark.parametrize(
    ("limit", "expected"),
    [(0, 0), (-1, -1), (1.5, 1.5), ("1", None), (True, None), ({"a": 1}, None)],
)
def test_only_a_number_is_a_delivery_limit(limit: object, expected: object) -> None:
    assert make_queue(**{"x-delivery-limit": limit}).delivery_limit == expected
