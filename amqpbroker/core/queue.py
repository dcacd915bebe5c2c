"""A queue: ready messages in order, consumers in a ring, and redelivery in original order.

Theory of operation: every enqueued message gets a per-queue sequence number.  Ready messages
sit in a deque ordered by that number; a requeued message goes back to where its number puts
it, so it is redelivered in its original position.  ``dispatch`` hands ready messages to
consumers round-robin, skipping consumers that are at their prefetch limit or whose channel
cannot take more; it is called whenever something that could unblock delivery happens
(a publish, an ack, a new consumer, qos, flow).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from .consumer import Consumer
from .message import Envelope, Message


class Queue:
    """One queue in one vhost."""

    def __init__(
        self,
        name: str,
        vhost: str,
        *,
        durable: bool,
        exclusive_owner: object | None,
        auto_delete: bool,
        arguments: dict[str, Any],
    ) -> None:
        self.name = name
        self.vhost = vhost
        self.durable = durable
        self.exclusive_owner = exclusive_owner
        self.auto_delete = auto_delete
        self.arguments = arguments
        self.consumers: list[Consumer] = []
        self.had_consumers = False
        self.deleted = False
        self._ready: deque[Envelope] = deque()
        self._next_seq = 0
        self._ring = 0
        self._dispatching = False

    def __repr__(self) -> str:
        return f"<Queue {self.name!r} in {self.vhost!r}>"

    @property
    def exclusive(self) -> bool:
        return self.exclusive_owner is not None

    @property
    def message_count(self) -> int:
        return len(self._ready)

    @property
    def consumer_count(self) -> int:
        return len(self.consumers)

    def ready_messages(self) -> Iterable[Envelope]:
        return iter(self._ready)

    # -- messages -------------------------------------------------------------------------------

    def enqueue(self, message: Message) -> None:
        self._next_seq += 1
        self._ready.append(Envelope(message, self._next_seq))
        if self.consumers:
            self.dispatch()

    def get(self) -> Envelope | None:
        """Take the head message for basic.get."""
        return self._ready.popleft() if self._ready else None

    def requeue(self, envelopes: list[Envelope]) -> None:
        """Put unacked messages back in their original positions, marked redelivered."""
        if not envelopes or self.deleted:
            return
        for envelope in envelopes:
            envelope.redelivered = True
        envelopes.sort(key=lambda e: e.seq)
        ready = self._ready
        if not ready or envelopes[-1].seq < ready[0].seq:
            ready.extendleft(reversed(envelopes))
        else:
            merged = sorted([*ready, *envelopes], key=lambda e: e.seq)
            self._ready = deque(merged)
        self.dispatch()

    def purge(self) -> int:
        count = len(self._ready)
        self._ready.clear()
        return count

    # -- consumers ------------------------------------------------------------------------------

    def add_consumer(self, consumer: Consumer) -> None:
        self.consumers.append(consumer)
        self.had_consumers = True
        self.dispatch()

    def remove_consumer(self, consumer: Consumer) -> None:
        try:
            index = self.consumers.index(consumer)
        except ValueError:
            return
        del self.consumers[index]
        if index < self._ring:
            self._ring -= 1

    def has_exclusive_consumer(self) -> bool:
        return any(c.exclusive for c in self.consumers)

    def dispatch(self) -> None:
        """Deliver ready messages to consumers that can take them, round-robin."""
        if self._dispatching:
            return
        self._dispatching = True
        try:
            ready = self._ready
            while ready:
                consumer = self._next_consumer()
                if consumer is None:
                    break
                consumer.sink.deliver(consumer, ready.popleft())
        finally:
            self._dispatching = False

    def _next_consumer(self) -> Consumer | None:
        consumers = self.consumers
        count = len(consumers)
        start = self._ring
        for step in range(count):
            index = (start + step) % count
            consumer = consumers[index]
            if consumer.can_take():
                self._ring = (index + 1) % count
                return consumer
        return None
