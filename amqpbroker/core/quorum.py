"""A quorum queue: a durable queue that counts how often each message came back.

Theory of operation (RabbitMQ 3.10's behaviour, not its Raft machinery): every return of an
unacked message raises its ``delivery_count``; the session shows the count to clients as
the x-delivery-count header.  Where a returned message goes depends on how it came back
(``core.ready.QuorumReadyList``):

- nack, reject or basic.recover: to the back of the queue, in the order returned;
- its channel closed: to the front, behind any others a closed channel returned that are
  still waiting.

With an x-delivery-limit, a message whose count goes beyond the limit is not requeued but
dead-lettered (reason ``delivery_limit``), or dropped when the queue has no dead-letter
exchange.  A limit that is not a number (a string, a table, a boolean) is no limit, as in
RabbitMQ, where any other term compares greater than a number.

Counts live in memory: a returned message paged out to disk keeps its count in the ready
list until it is read back; after a restart a message that had been delivered counts as
returned once.
"""

from __future__ import annotations

from .message import Envelope
from .queue import Queue
from .ready import QuorumReadyList, ReadyList


class QuorumQueue(Queue):
    """A queue declared with x-queue-type quorum."""

    counts_deliveries = True
    policy_kind = "quorum"

    def _ready_list(self) -> ReadyList[Queue]:
        # (keeping transient messages too: RabbitMQ's Raft log holds every message)
        return QuorumReadyList(self, self.store, self.store.paging, durable=self.durable)

    @property
    def delivery_limit(self) -> int | float | None:
        return self.settings.delivery_limit

    def _returned(self, envelopes: list[Envelope]) -> list[Envelope]:
        """Count the returns; those beyond the delivery limit are dead-lettered."""
        limit = self.settings.delivery_limit
        kept: list[Envelope] = []
        spent: list[Envelope] = []
        for envelope in envelopes:
            envelope.delivery_count += 1
            envelope.redelivered = True
            beyond = limit is not None and envelope.delivery_count > limit
            (spent if beyond else kept).append(envelope)
        if spent:
            self.forget(spent)
            self.dead_letter(self, spent, "delivery_limit")
        return kept
