"""A queue's message counts as the management API splits them: ready and unacknowledged,
in memory and paged out, persistent or not, in messages and in body bytes.

Persistent means what RabbitMQ means: kept on disk by a durable queue (a persistent
message in a durable classic queue; every message of a quorum queue).  Counting them walks
the messages in memory of a durable classic queue (at most its paging window, 20,000,
unless it has priorities); every other count is read off the queue as it stands.
"""

from __future__ import annotations

from dataclasses import dataclass

from amqpbroker.core.queue import Queue

from .context import UnackedIndex


@dataclass(frozen=True, slots=True)
class QueueTotals:
    ready: int
    unacked: int
    ready_bytes: int
    unacked_bytes: int
    paged_out: int  # ready messages whose bodies are on disk
    paged_out_bytes: int
    persistent: int  # ready and unacknowledged
    persistent_bytes: int

    @property
    def messages(self) -> int:
        return self.ready + self.unacked

    @property
    def bytes(self) -> int:
        return self.ready_bytes + self.unacked_bytes


def queue_totals(queue: Queue, unacked: UnackedIndex) -> QueueTotals:
    ready_list = queue.ready
    ready, ready_bytes = len(ready_list), ready_list.bytes
    paged_out = ready_list.paged_out_count
    paged_out_bytes = persistent = persistent_bytes = 0
    if queue.durable and ready_list.keeps_transient:  # a quorum queue keeps them all
        persistent, persistent_bytes = ready, ready_bytes
    elif queue.durable:
        persistent, persistent_bytes, outside_bytes = _persistent_ready(queue)
        paged_out_bytes = outside_bytes if paged_out else 0
    unacked_persistent, unacked_persistent_bytes = unacked.persistent(queue)
    return QueueTotals(
        ready=ready,
        unacked=unacked.count(queue),
        ready_bytes=ready_bytes,
        unacked_bytes=unacked.bytes(queue),
        paged_out=paged_out,
        paged_out_bytes=paged_out_bytes,
        persistent=persistent + unacked_persistent,
        persistent_bytes=persistent_bytes + unacked_persistent_bytes,
    )


def _persistent_ready(queue: Queue) -> tuple[int, int, int]:
    """(persistent ready messages, their bytes, bytes of the ready messages outside the
    in-memory window) of a durable classic queue: what is outside the window is stored,
    so persistent."""
    window = queue.ready.window
    count = size = window_bytes = 0
    for envelope in window:
        body = len(envelope.message.body)
        window_bytes += body
        if envelope.message.persistent:
            count += 1
            size += body
    outside = len(queue.ready) - len(window)
    outside_bytes = queue.ready.bytes - window_bytes
    return count + outside, size + outside_bytes, outside_bytes
