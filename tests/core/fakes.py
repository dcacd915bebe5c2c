"""Fakes for instant core tests: an in-memory paging store, a recording channel, builders.

``MemoryStore`` keeps what a durable store would write and holds reads back until the test
says ``complete_reads()`` (a disk read comes back later, on the loop); ``Sink`` is the
channel side of a consumer (``DeliverySink``), recording what it was handed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amqpbroker.core.consumers import Consumer, SharedPrefetch
from amqpbroker.core.message import Envelope, Message
from amqpbroker.core.ports import Clock, ManualClock, Paging, StoreRef
from amqpbroker.core.queue import Queue

HEADER = b"\x00\x3c\x00\x00" + bytes(10)


def message(
    body: bytes | str,
    *,
    persistent: bool = False,
    priority: int = 0,
    ttl: int | None = None,
) -> Message:
    raw = body.encode() if isinstance(body, str) else body
    made = Message("", "q", b"\x00\x01q", HEADER, raw, persistent=persistent)
    made.priority = priority
    made.ttl = ttl
    return made


class MemoryStore:
    """A paging store in memory: reads wait for ``complete_reads``."""

    def __init__(self, window: int = 4, refill_batch: int = 2) -> None:
        self.paging: Paging | None = Paging(window=window, refill_batch=refill_batch)
        self.batch_number = 0
        self.written: dict[StoreRef, bytes] = {}
        self.removed_seqs: list[int] = []
        self.delivered_seqs: list[int] = []
        self.enqueued_seqs: list[int] = []
        self.pending: list[tuple[list[StoreRef], Callable[[list[Message]], None]]] = []
        self._offset = 0

    def enqueued(self, queue: Any, envelope: Envelope) -> None:
        stored = envelope.message
        if stored.store_ref is None:
            stored.store_ref = StoreRef(1, self._offset, len(stored.body))
            self._offset += len(stored.body) + 1
            self.written[stored.store_ref] = stored.body
        self.enqueued_seqs.append(envelope.seq)

    def delivered(self, queue: Any, envelope: Envelope) -> None:
        self.delivered_seqs.append(envelope.seq)

    def removed(self, queue: Any, seqs: list[int], refs: list[StoreRef]) -> None:
        self.removed_seqs.extend(seqs)

    def read(self, refs: list[StoreRef], callback: Callable[[list[Message]], None]) -> None:
        self.pending.append((refs, callback))

    def complete_reads(self) -> int:
        """Answer every read asked for so far (and those they cause); how many."""
        answered = 0
        while self.pending:
            refs, callback = self.pending.pop(0)
            callback([message(self.written[ref], persistent=True) for ref in refs])
            answered += 1
        return answered

    def when_durable(self, callback: Callable[[], None]) -> None:
        callback()


class Sink:
    """A channel stand-in: records deliveries; ``capacity`` is its has_capacity."""

    def __init__(self, capacity: bool = True) -> None:
        self.capacity = capacity
        self.delivered: list[tuple[str, bytes]] = []
        self.envelopes: list[Envelope] = []
        self.cancelled: list[str] = []

    def has_capacity(self) -> bool:
        return self.capacity

    def deliver(self, consumer: Consumer[Any], envelope: Envelope) -> None:
        self.delivered.append((consumer.tag, envelope.message.body))
        self.envelopes.append(envelope)

    def consumer_cancelled(self, consumer: Consumer[Any]) -> None:
        self.cancelled.append(consumer.tag)

    def tags(self) -> list[str]:
        return [tag for tag, _ in self.delivered]

    def bodies(self) -> list[bytes]:
        return [body for _, body in self.delivered]


def subscribe(
    queue: Queue,
    sink: Sink,
    tag: str,
    *,
    prefetch: int = 0,
    no_ack: bool = False,
    priority: int | None = None,
    shared: SharedPrefetch | None = None,
) -> Consumer[Queue]:
    """basic.consume: a consumer of ``queue`` on ``sink``, added to the queue."""
    arguments = {} if priority is None else {"x-priority": priority}
    consumer = Consumer(
        tag,
        bytes((len(tag),)) + tag.encode(),
        queue,
        sink,
        no_ack=no_ack,
        exclusive=False,
        prefetch=prefetch,
        arguments=arguments,
        shared=shared,
    )
    queue.add_consumer(consumer)
    return consumer


def make_queue(
    clock: Clock | None = None, *, durable: bool = False, store: Any = None, **arguments: Any
) -> Queue:
    return Queue(
        "q",
        "/",
        durable=durable,
        exclusive_owner=None,
        auto_delete=False,
        arguments=arguments,
        store=store,
        clock=clock or ManualClock(),
    )


class DeadLetters(list[tuple[bytes, str]]):
    """What a queue dead-letters: (body, reason) of each message, in order."""

    def __init__(self, queue: Queue) -> None:
        super().__init__()
        queue.dead_letter = self._record

    def _record(self, _queue: Queue, envelopes: list[Envelope], reason: str) -> None:
        self.extend((envelope.message.body, reason) for envelope in envelopes)


def publish(queue: Queue, *bodies: str, **options: Any) -> list[bool]:
    return [queue.enqueue(message(body, **options)) for body in bodies]


def ready_bodies(queue: Queue) -> list[bytes]:
    return [envelope.message.body for envelope in queue.ready.in_memory()]
