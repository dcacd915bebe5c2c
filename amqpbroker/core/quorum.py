"""A quorum queue: a durable queue that counts how often each message came back.

Theory of operation (RabbitMQ 3.10's behaviour, not its Raft machinery): every return of an
unacked message raises its ``delivery_count``; the session shows the count to clients as
the x-delivery-count header.  Where a returned message goes depends on how it came back:

- nack, reject or basic.recover: to the back of the queue, in the order returned;
- its channel closed: to the front, behind any others a closed channel returned that are
  still waiting (``_front_returns`` counts those at the head of the window).

With an x-delivery-limit, a message whose count goes beyond the limit is not requeued but
dead-lettered (reason ``delivery_limit``), or dropped when the queue has no dead-letter
exchange.  A limit that is not a number (a string, a table, a boolean) is no limit, as in
RabbitMQ, where any other term compares greater than a number.

Counts live in memory: a returned message paged out to disk keeps its count in
``_paged_counts`` until it is read back; after a restart a message that had been delivered
counts as returned once.
"""

from __future__ import annotations

from typing import Any

from .message import Envelope, Message
from .paging import Stored
from .queue import Queue


class QuorumQueue(Queue):
    """A queue declared with x-queue-type quorum."""

    counts_deliveries = True
    keeps_transient = True  # RabbitMQ logs every message of a quorum queue, persistent or not

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delivery_limit = _number(self.arguments.get("x-delivery-limit"))
        self._front_returns = 0  # messages at the head of the window that closed channels returned
        self._paged_counts: dict[int, int] = {}  # seq -> count of returned messages on disk

    def requeue(self, envelopes: list[Envelope], closing: bool = False) -> None:
        """Return unacked messages (in the order given), counting the return."""
        if not envelopes:
            return
        if self.deleted:
            self.forget(envelopes)
            return
        kept: list[Envelope] = []
        spent: list[Envelope] = []
        for envelope in envelopes:
            envelope.delivery_count += 1
            envelope.redelivered = True
            (spent if self._beyond_limit(envelope) else kept).append(envelope)
        if spent:
            self.forget(spent)
            self.dead_letter(self, spent, "delivery_limit")
        for envelope in kept:
            self._bytes += len(envelope.message.body)
            if closing:
                self._ready.insert(self._front_returns, envelope)
                self._front_returns += 1
            else:
                self._to_back(envelope)
        if self.overflow == "drop-head":
            self._drop_head_over_limit()
        self.dispatch()

    def _beyond_limit(self, envelope: Envelope) -> bool:
        limit = self.delivery_limit
        return limit is not None and envelope.delivery_count > limit

    def _to_back(self, envelope: Envelope) -> None:
        if not (self._backlog or self._loading):
            self._ready.append(envelope)
            return
        ref = envelope.message.store_ref
        if self.keeps_on_disk(envelope.message) and ref is not None:
            self._backlog.add_stored(envelope.seq, ref, True, envelope.expires_at)
            self._paged_counts[envelope.seq] = envelope.delivery_count
        else:
            self._backlog.add_in_memory(envelope)

    def _take_head(self) -> Envelope:
        if self._front_returns:
            self._front_returns -= 1
        return super()._take_head()

    def _paged_in(self, entry: Stored, message: Message) -> Envelope:
        envelope = super()._paged_in(entry, message)
        envelope.delivery_count = self._paged_counts.pop(entry.seq, int(entry.redelivered))
        return envelope

    def purge(self) -> int:
        self._front_returns = 0
        self._paged_counts.clear()
        return super().purge()


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value
