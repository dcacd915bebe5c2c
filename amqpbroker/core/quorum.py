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

Overflow as 3.10.8's quorum queues do it: reject-publish refuses a message only when the
queue is already beyond its limit (so one gets past), and reject-publish-dlx is drop-head.
"""

from __future__ import annotations

from dataclasses import replace

from .message import Envelope
from .queue import Queue
from .queue_settings import DROP_HEAD, REJECT_PUBLISH_DLX, QueueSettings
from .ready import QuorumReadyList, ReadyList


class QuorumQueue(Queue):
    """A queue declared with x-queue-type quorum."""

    counts_deliveries = True
    policy_kind = "quorum"
    counts_incoming = 0  # reject-publish lets one message past the limit (RabbitMQ 3.10.8)

    def _own_kind_of(self, settings: QueueSettings) -> QueueSettings:
        """RabbitMQ 3.10.8's quorum queues run reject-publish-dlx as drop-head (recorded,
        set by argument or by policy)."""
        if settings.overflow == REJECT_PUBLISH_DLX:
            return replace(settings, overflow=DROP_HEAD)
        return settings

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
