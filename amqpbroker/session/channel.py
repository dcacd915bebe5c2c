"""One AMQP channel: delivery tags, unacked messages, consumers, qos, confirms and tx.

Theory of operation: a channel is OPEN until either side closes it.  When the broker closes
it (a channel-level error) it is CLOSING: every frame but channel.close-ok is ignored, as
the spec says.  The channel is the ``DeliverySink`` of its consumers: queues call
``deliver`` and the channel numbers the delivery, remembers it until it is acked and writes
the frames.  Acks, nacks and rejects settle unacked messages; closing the channel requeues
whatever is still unacked, in order.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from pamqp import commands

from amqpbroker.core.consumers import Consumer, SharedPrefetch
from amqpbroker.core.message import Envelope, Message
from amqpbroker.core.queue import Queue
from amqpbroker.errors import PreconditionFailed
from amqpbroker.protocol.delivery_count import with_delivery_count
from amqpbroker.protocol.fastcodec import Publish, content_frames, deliver_frame, encode_confirm
from amqpbroker.protocol.methods import Method, encode_method, make_method

from . import direct_reply
from .return_order import closing_order, settled_order

if TYPE_CHECKING:
    from .connection import ConnectionSession


class ChannelState(enum.Enum):
    OPEN = "open"
    CLOSING = "closing"  # we sent channel.close and wait for close-ok


@dataclass(slots=True)
class Unacked:
    """A delivered message waiting for its ack; ``consumer`` is None for basic.get."""

    envelope: Envelope
    queue: Queue
    consumer: Consumer[Queue] | None


@dataclass(slots=True)
class Transaction:
    """Publishes and settlements held back until tx.commit."""

    publishes: list[tuple[Publish, Message]] = field(default_factory=list)
    settlements: list[tuple[list[int], list[Unacked], str]] = field(default_factory=list)


class Channel:
    """Per-channel state; the handlers in ``session.handlers`` act on it."""

    def __init__(self, number: int, connection: ConnectionSession) -> None:
        self.number = number
        self.connection = connection
        self.state = ChannelState.OPEN
        self.next_delivery_tag = 1
        self.unacked: dict[int, Unacked] = {}
        self.consumers: dict[str, Consumer[Queue]] = {}
        self.reply_consumer: direct_reply.ReplyConsumer | None = None  # amq.rabbitmq.reply-to
        self.prefetch_count = 0  # for consumers created from now on (global=false)
        self.shared_prefetch = SharedPrefetch()  # shared by the channel (global=true)
        self.confirm_mode = False
        self.publish_seq = 0
        self.tx: Transaction | None = None
        self.most_recent_queue = ""
        self.held_cancellations: list[str] | None = None
        # (seq, store batch it waits for or 0, ok), in publish order; see confirm_published
        self._unconfirmed: deque[tuple[int, int, bool]] = deque()
        self._durable_batch = 0  # every store batch up to this one is on disk
        self._awaited_batch = 0  # the last batch a when_durable callback waits for

    def __repr__(self) -> str:
        return f"<Channel {self.number} {self.state.value}>"

    # -- writing --------------------------------------------------------------------------------

    def send(self, method: Method) -> None:
        self.connection.write(encode_method(self.number, method))

    # -- DeliverySink ---------------------------------------------------------------------------

    def has_capacity(self) -> bool:
        """Open and writable (prefetch is ``Consumer.can_take``'s business)."""
        return self.state is ChannelState.OPEN and self.connection.writable

    def deliver(self, consumer: Consumer[Queue], envelope: Envelope) -> None:
        tag = self.next_delivery_tag
        self.next_delivery_tag = tag + 1
        if not consumer.no_ack:
            self.unacked[tag] = Unacked(envelope, consumer.queue, consumer)
        message = envelope.message
        conn = self.connection
        number = self.number
        conn.write(
            deliver_frame(number, consumer.tag_bytes, tag, envelope.redelivered, message.routing)
        )
        if envelope.delivery_count:  # a quorum queue's redelivery says how often it came back
            header = with_delivery_count(message.header, envelope.delivery_count)
            conn.write(content_frames(number, header, message.body, conn.max_body))
            return
        if message.frames_key < 0:
            conn.write(content_frames(number, message.header, message.body, conn.max_body))
            return
        key = number << 32 | conn.max_body
        if message.frames_key != key:
            message.frames = content_frames(number, message.header, message.body, conn.max_body)
            message.frames_key = key
        conn.write(message.frames)

    def consumer_cancelled(self, consumer: Consumer[Queue]) -> None:
        if self.consumers.pop(consumer.tag, None) is None:
            return
        if not self.connection.client_capability("consumer_cancel_notify"):
            return
        if self.held_cancellations is not None:
            self.held_cancellations.append(consumer.tag)
        else:
            self.send(make_method(commands.Basic.Cancel, consumer_tag=consumer.tag, nowait=True))

    def hold_cancellations(self) -> None:
        """Queue basic.cancel notifications until ``send_held_cancellations`` (see queue.delete)."""
        self.held_cancellations = []

    def send_held_cancellations(self) -> None:
        tags, self.held_cancellations = self.held_cancellations or [], None
        for tag in tags:
            self.send(make_method(commands.Basic.Cancel, consumer_tag=tag, nowait=True))

    # -- acknowledgements ---------------------------------------------------------------------

    def take_unacked(self, delivery_tag: int, multiple: bool) -> list[Unacked]:
        """Remove and return the deliveries an ack/nack/reject names (RabbitMQ's rules)."""
        unacked = self.unacked
        if multiple and delivery_tag == 0:
            taken = list(unacked.values())
            unacked.clear()
            return taken
        if delivery_tag not in unacked:
            raise PreconditionFailed(f"unknown delivery tag {delivery_tag}")
        if not multiple:
            return [unacked.pop(delivery_tag)]
        tags = []
        for tag in unacked:
            if tag > delivery_tag:
                break
            tags.append(tag)
        return [unacked.pop(tag) for tag in tags]

    def restore_unacked(self, tags: list[int], entries: list[Unacked]) -> None:
        """Put rolled-back settlements back among the unacked, in tag order."""
        merged = dict(zip(tags, entries, strict=True))
        merged.update(self.unacked)
        self.unacked = dict(sorted(merged.items()))

    def ack(self, delivery_tag: int, multiple: bool) -> list[Queue]:
        """basic.ack outside a transaction.  Returns the queues that may deliver more on this
        channel, for the caller to dispatch once the input at hand is handled: those whose
        only consumer is here.  The others dispatch now: which of several consumers gets
        the next message depends on the order of acks and deliveries (RabbitMQ's queue
        sees each ack on its own), and so does a channel-wide prefetch."""
        entries = self.take_unacked(delivery_tag, multiple)
        self.settle(entries, "ack", resume=False)
        later = []
        for consumer in list(self.consumers.values()):
            queue = consumer.queue
            if len(queue.consumers) == 1 and not self.shared_prefetch.limit:
                later.append(queue)
            else:
                queue.dispatch()
        return later

    def settle(self, entries: list[Unacked], outcome: str, resume: bool = True) -> None:
        """Apply an ack ('ack'), a requeue ('requeue'), a drop ('drop') or the requeue of a
        closing channel ('release') to deliveries (``resume``: then let the channel's
        consumers take more)."""
        if outcome == "requeue":
            entries = settled_order(entries)
        by_queue: dict[int, tuple[Queue, list[Envelope]]] = {}
        for entry in entries:
            consumer = entry.consumer
            if consumer is not None:
                consumer.settled()
            by_queue.setdefault(id(entry.queue), (entry.queue, []))[1].append(entry.envelope)
        for queue, envelopes in by_queue.values():
            if outcome in ("requeue", "release"):
                queue.requeue(envelopes, closing=outcome == "release")
            else:
                queue.forget(envelopes)
                if outcome == "drop":  # rejected or nacked without requeue
                    queue.dead_letter(queue, envelopes, "rejected")
        if resume:
            self.resume_consumers()

    def resume_consumers(self) -> None:
        """Capacity may have freed: let the queues of this channel's consumers dispatch."""
        for consumer in list(self.consumers.values()):
            consumer.queue.dispatch()

    # -- confirms -------------------------------------------------------------------------------

    def confirm_published(self, seq: int, after_disk: bool = False, ok: bool = True) -> None:
        """Publish ``seq`` is settled: ack (``ok``) or nack, once on disk when ``after_disk``.

        Confirms go out in publish order: one waiting for the disk holds back those after
        it, so a ``multiple`` ack never covers a message that is not yet safe.  A message's
        records are in the store batch being filled as it is published; one callback per
        batch (not per message) tells the channel that batch, and all before it, are on disk.
        """
        batch = 0
        if after_disk:
            store = self.connection.broker.store
            batch = store.batch_number
        self._unconfirmed.append((seq, batch, ok))
        if batch <= self._durable_batch:  # (a store without batches says 0: already safe)
            self.connection.confirms_pending.add(self)
        elif batch != self._awaited_batch:
            self._awaited_batch = batch
            store.when_durable(partial(self._on_disk, batch))

    def _on_disk(self, batch: int) -> None:
        self._durable_batch = max(self._durable_batch, batch)
        self.flush_confirms()

    def flush_confirms(self) -> None:
        """Send the settled prefix: runs of acks as one (multiple) ack, nacks one by one."""
        pending = self._unconfirmed
        if self.state is not ChannelState.OPEN:
            pending.clear()
            return
        durable = self._durable_batch
        run_end, run_length = 0, 0
        while pending and pending[0][1] <= durable:
            seq, _, ok = pending.popleft()
            if ok:
                run_end, run_length = seq, run_length + 1
                continue
            if run_length:
                self.connection.write(encode_confirm(self.number, run_end, run_length > 1))
                run_length = 0
            # Everything before it is settled, so RabbitMQ's multiple=true covers just it.
            self.connection.write(encode_confirm(self.number, seq, True, ack=False))
        if run_length:
            self.connection.write(encode_confirm(self.number, run_end, run_length > 1))

    # -- teardown -------------------------------------------------------------------------------

    def release(self) -> None:
        """The channel is going away: cancel its consumers and requeue its unacked messages."""
        self.state = ChannelState.CLOSING
        direct_reply.stop_consumer(self)
        if self.tx is not None:  # uncommitted settlements never happened
            for tags, entries, _outcome in self.tx.settlements:
                self.restore_unacked(tags, entries)
            self.tx = None
        for consumer in list(self.consumers.values()):
            self.connection.remove_consumer(self, consumer)
        self.consumers.clear()
        entries = closing_order(self.unacked)
        self.unacked.clear()
        self.settle(entries, "release")
