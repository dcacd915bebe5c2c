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
from dataclasses import dataclass, field
from functools import partial

from pamqp import commands

from amqpbroker.core.consumers import Consumer, SharedPrefetch
from amqpbroker.core.message import Envelope, Message
from amqpbroker.core.queue import Queue
from amqpbroker.core.sampler import Sample
from amqpbroker.core.stats import CHANNEL_FIELDS, ChannelCounters, add_counts, channel_counts
from amqpbroker.core.vhost import VirtualHost
from amqpbroker.errors import PreconditionFailed
from amqpbroker.protocol.delivery_count import with_delivery_count
from amqpbroker.protocol.fastcodec import Publish, content_frames, deliver_frame, encode_confirm
from amqpbroker.protocol.methods import Method, encode_method, make_method

from . import direct_reply
from .confirms import ConfirmTracker, ConfirmWait
from .host import ChannelHost
from .return_order import closing_order, settled_order
from .tracing import party, traced_delivery, traced_settlement
from .unacked import Outcome, Unacked

__all__ = ["Channel", "ChannelState", "Outcome", "Transaction", "Unacked"]


# Outcomes by module name: looking a member up through its Enum class costs about 0.1 µs,
# and settle runs for every ack.
_ACK, _REQUEUE, _DROP = Outcome.ACK, Outcome.REQUEUE, Outcome.DROP
_CHANNEL_CLOSED = Outcome.CHANNEL_CLOSED


class ChannelState(enum.Enum):
    """OPEN -> CLOSING, the one transition (``teardown``)."""

    OPEN = "open"
    CLOSING = "closing"  # we sent channel.close and wait for close-ok


@dataclass(slots=True)
class Transaction:
    """Publishes and settlements held back until tx.commit."""

    publishes: list[tuple[Publish, Message]] = field(default_factory=list)
    settlements: list[tuple[list[int], list[Unacked], Outcome]] = field(default_factory=list)


class Channel:
    """Per-channel state; the handlers in ``session.handlers`` act on it.  A channel exists
    only on an open connection, so it always has its ``vhost``."""

    def __init__(self, number: int, connection: ChannelHost, vhost: VirtualHost) -> None:
        self.number = number
        self.connection = connection
        self.vhost = vhost
        if connection.access is None:
            raise RuntimeError("a channel opens only on an open connection")
        self.access = connection.access  # the user's rights in the vhost (refreshed in place)
        self.state = ChannelState.OPEN
        self.next_delivery_tag = 1
        self.unacked: dict[int, Unacked] = {}
        self.ack_watch: tuple[int, float] | None = None  # consumer_timeout's: (tag, first seen)
        self.consumers: dict[str, Consumer[Queue]] = {}
        self.reply_consumer: direct_reply.ReplyConsumer | None = None  # amq.rabbitmq.reply-to
        self.prefetch_count = 0  # for consumers created from now on (global=false)
        self.shared_prefetch = SharedPrefetch()  # shared by the channel (global=true)
        self.confirm_mode = False
        self.confirms = ConfirmTracker()
        self.tx: Transaction | None = None
        self.most_recent_queue = ""
        self.held_cancellations: list[str] | None = None
        # Statistics (core.stats): what went out and came in; rates and idle_since
        # (core.sampler) from the channel's opening.
        self.counters = ChannelCounters()
        clock = connection.broker.clock
        self.sample = Sample(len(CHANNEL_FIELDS), clock.wall(), clock.now())

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
        redelivered = envelope.redelivered
        if redelivered:
            consumer.redelivered += 1
        conn.write(deliver_frame(number, consumer.tag_bytes, tag, redelivered, message.routing))
        if envelope.delivery_count:  # a quorum queue's redelivery says how often it came back
            header = with_delivery_count(message.header, envelope.delivery_count)
            conn.write(content_frames(number, header, message.body, conn.max_body))
        elif message.frames_key < 0:
            conn.write(content_frames(number, message.header, message.body, conn.max_body))
        else:
            key = number << 32 | conn.max_body
            if message.frames_key != key:
                message.frames = content_frames(number, message.header, message.body, conn.max_body)
                message.frames_key = key
            conn.write(message.frames)
        vhost = self.vhost
        if vhost.tracing:  # (after the frames: the copy may go out on this channel too)
            queue = consumer.queue
            header = message.header
            if envelope.delivery_count:
                header = with_delivery_count(header, envelope.delivery_count)
            to = party(conn, number)
            traced_delivery(to, vhost, queue, envelope, consumer.tag, consumer.no_ack, header)

    def consumer_cancelled(self, consumer: Consumer[Queue]) -> None:
        if self.consumers.pop(consumer.tag, None) is None:
            return
        self.counters.consumer_left(consumer)
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
        self.settle(entries, _ACK, resume=False)
        if self.shared_prefetch.limit:
            self._resume_after(entries)
            return []
        later = []
        for consumer in list(self.consumers.values()):
            queue = consumer.queue
            if len(queue.consumers) == 1:
                later.append(queue)
            else:
                queue.dispatch()
        return later

    def settle(
        self, entries: list[Unacked], outcome: Outcome, resume: bool = True, traced: bool = True
    ) -> None:
        """Apply ``outcome`` to deliveries (``resume``: then let the channel's consumers
        take more; ``traced=False``: the caller told the journeys already)."""
        if traced and self.vhost.tracing:
            traced_settlement(entries, outcome)
        if outcome is _REQUEUE:
            entries = settled_order(entries)
        acked = outcome is _ACK
        if acked:
            self.counters.ack += len(entries)
        by_queue: dict[int, tuple[Queue, list[Envelope]]] = {}
        from_consumers = 0
        for entry in entries:
            consumer = entry.consumer
            if consumer is not None:
                consumer.settled()
                from_consumers += 1
            by_queue.setdefault(id(entry.queue), (entry.queue, []))[1].append(entry.envelope)
        if from_consumers:  # one batch, as RabbitMQ's limiter hears of it
            self.shared_prefetch.settled(from_consumers)
        for queue, envelopes in by_queue.values():
            if acked:
                queue.counters.ack += len(envelopes)
            else:
                queue.counters.returned += len(envelopes)
            if acked or outcome is _DROP:
                queue.forget(envelopes)
                if outcome is _DROP:  # rejected or nacked without requeue
                    queue.dead_letter(queue, envelopes, "rejected")
            else:
                queue.requeue(envelopes, closing=outcome is _CHANNEL_CLOSED)
        if not resume:
            return
        if self.shared_prefetch.limit:
            self._resume_after(entries)
        else:
            self.resume_consumers()

    def resume_consumers(self) -> None:
        """Capacity may have freed: let the queues of this channel's consumers dispatch."""
        for consumer in list(self.consumers.values()):
            consumer.queue.dispatch()

    def _resume_after(self, entries: list[Unacked]) -> None:
        """Settling ``entries`` freed room under the channel-wide prefetch: the queues they
        came from dispatch first.  (In RabbitMQ those queues hear of the settlement straight
        from the channel; the others only when the limiter tells them, one hop later.)"""
        first = {id(entry.queue): entry.queue for entry in entries}
        for queue in first.values():
            queue.dispatch()
        for consumer in list(self.consumers.values()):
            if id(consumer.queue) not in first:
                consumer.queue.dispatch()

    # -- confirms -------------------------------------------------------------------------------

    def confirm_published(self, after_disk: bool = False, ok: bool = True) -> None:
        """The next publish in confirm mode is settled: ack (``ok``) or nack, once on disk
        when ``after_disk`` (see ``session.confirms``)."""
        store = self.connection.broker.store
        batch = store.batch_number if after_disk else 0
        wait = self.confirms.published(ok, batch)
        if wait is ConfirmWait.NONE:  # (a store without batches says 0: already safe)
            self.connection.confirm_later(self)
        elif wait is ConfirmWait.NEW_BATCH:
            store.when_durable(partial(self._on_disk, batch))

    def _on_disk(self, batch: int) -> None:
        self.confirms.durable(batch)
        self.flush_confirms()

    def flush_confirms(self) -> None:
        """Send the confirms that may go out (those of a closed channel never do)."""
        if self.state is not ChannelState.OPEN:
            self.confirms.clear()
            return
        write, number = self.connection.write, self.number
        for seq, multiple, ack in self.confirms.settled():
            write(encode_confirm(number, seq, multiple, ack=ack))
        self.counters.confirm = self.confirms.acks_sent

    # -- teardown -------------------------------------------------------------------------------

    def remove_consumer(self, consumer: Consumer[Queue]) -> None:
        """``consumer`` is cancelled (basic.cancel, or its channel goes away)."""
        if self.consumers.pop(consumer.tag, None) is not None:
            self.counters.consumer_left(consumer)
        queue = consumer.queue
        queue.remove_consumer(consumer)
        self.vhost.consumer_removed(queue)

    def stop_deliveries(self) -> None:
        """The channel is closing: its consumers take no more messages (``has_capacity``)."""
        self.state = ChannelState.CLOSING

    def teardown(self) -> None:
        """The channel is going away: cancel its consumers and requeue its unacked messages."""
        self.stop_deliveries()
        direct_reply.stop_consumer(self)
        if self.tx is not None:  # uncommitted settlements never happened
            for tags, entries, _outcome in self.tx.settlements:
                self.restore_unacked(tags, entries)
            self.tx = None
        for consumer in list(self.consumers.values()):
            self.remove_consumer(consumer)
        self.consumers.clear()
        entries = closing_order(self.unacked)
        self.unacked.clear()
        self.settle(entries, Outcome.CHANNEL_CLOSED)
        self._retire_counters()

    def _retire_counters(self) -> None:
        """The channel is gone: what it counted stays in its vhost's and the broker's
        totals (its consumers' counts were folded in as they left)."""
        counts = channel_counts(self.counters, ())
        add_counts(self.vhost.retired, counts)
        self.connection.broker.stats.channel_closed_with(counts)

    def message_counts(self) -> tuple[int, ...]:
        """This channel's message_stats now, in ``core.stats.CHANNEL_FIELDS`` order."""
        return channel_counts(self.counters, self.consumers.values())
