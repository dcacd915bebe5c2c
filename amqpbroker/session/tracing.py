"""Tracing a vhost: RabbitMQ's firehose and the message journeys (``core.journeys``).

``switch_tracing`` turns a vhost's tracing on or off (RabbitMQ's ``trace_on``/``trace_off``,
``PUT /api/vhosts/{v}`` with ``tracing``), logging as RabbitMQ does.  While it is on, the
session calls in here at three places, each behind one test of ``vhost.tracing``:

- ``traced_publish``: a client's publish was routed.  As RabbitMQ's ``rabbit_trace:tap_in``,
  a copy goes to ``amq.rabbitmq.trace`` with routing key ``publish.<exchange>``, and the
  message starts a journey with its ``routed`` event;
- ``traced_delivery``: basic.deliver or basic.get-ok went out (``tap_out``): a copy with
  ``deliver.<queue>``, and the journey's ``delivered`` or ``got`` event;
- ``traced_settlement``: acks, rejects, nacks and requeues of delivered messages.

A copy's own deliveries are not traced (its exchange is the trace exchange), so there is no
loop.  The copy's header is built in ``protocol/firehose.py``.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Sequence

from amqpbroker.core import journeys
from amqpbroker.core.exchanges import Exchange
from amqpbroker.core.journeys import Party, Publication
from amqpbroker.core.message import Envelope, Message, routing_bytes
from amqpbroker.core.queue import Queue
from amqpbroker.core.vhost import VirtualHost
from amqpbroker.protocol.firehose import Field, trace_header

from .direct_reply import REPLY_PREFIX
from .host import ChannelHost
from .unacked import Outcome, Unacked

log = logging.getLogger(__name__)

TRACE_EXCHANGE = "amq.rabbitmq.trace"
# The ``node`` header: this node's name as the management API gives it (RabbitMQ's
# ``rabbit@host``).
NODE = "amqpbroker@" + platform.node().split(".", 1)[0]


def switch_tracing(vhost: VirtualHost, on: bool) -> None:
    """Tracing on or off for ``vhost``, logged as RabbitMQ logs it."""
    log.info("%s", journeys.switch_tracing(vhost, on))


def party(conn: ChannelHost, channel: int) -> Party:
    """A client's channel; the connection named as RabbitMQ names it (``client
    address:port -> server address:port``)."""
    return Party(f"{conn.peer} -> {conn.local_address}", channel, conn.user)


def traced_publish(
    by: Party,
    vhost: VirtualHost,
    exchange: Exchange,
    message: Message,
    queues: Sequence[Queue],
) -> None:
    """A publish to ``exchange`` was routed to ``queues`` (none: unroutable)."""
    routed = [queue.name for queue in queues]
    extra: list[Field] = [
        ("vhost", vhost.name),
        ("connection", by.connection),
        ("channel", by.channel),
        ("user", by.user),
        ("routed_queues", _routed_queues(exchange, message, routed)),
    ]
    _firehose(vhost, "publish." + exchange.name, message, extra)
    published = Publication(exchange.name, message.routing_key, by, message.header, message.body)
    journey = vhost.journeys.start(published)
    message.journey = journey
    journey.add("routed", queues=routed)


def _routed_queues(exchange: Exchange, message: Message, routed: list[str]) -> list[str]:
    """What RabbitMQ's router answers, sorted and without repeats: through the default
    exchange, the queue each routing key names (there or not; direct reply-to keys
    aside), else the queues reached."""
    if exchange.name:
        return sorted(routed)
    keys = {message.routing_key, *message.sender_keys}
    return sorted(key for key in keys if not key.startswith(REPLY_PREFIX))


def traced_delivery(
    to: Party,
    vhost: VirtualHost,
    queue: Queue,
    envelope: Envelope,
    consumer_tag: str | None,
    no_ack: bool,
    header: bytes | None = None,
) -> None:
    """``envelope`` went out from ``queue``: to ``consumer_tag``, or to basic.get (None);
    ``header``: the content header it went out with, when not the message's own (a quorum
    queue's x-delivery-count)."""
    message = envelope.message
    if message.exchange == TRACE_EXCHANGE:
        return  # a firehose copy: not traced again
    redelivered = envelope.redelivered
    extra: list[Field] = [
        ("redelivered", int(redelivered)),
        ("vhost", vhost.name),
        ("connection", to.connection),
        ("channel", to.channel),
        ("user", to.user),
    ]
    _firehose(vhost, "deliver." + queue.name, message, extra, header)
    journey = message.journey
    if journey is None:
        return
    if consumer_tag is None:
        ack_mode = "auto" if no_ack else "manual"
        journey.add(
            "got",
            queue=queue.name,
            connection=to.connection,
            channel=to.channel,
            redelivered=redelivered,
            ack_mode=ack_mode,
        )
    else:
        journey.add(
            "delivered",
            queue=queue.name,
            consumer_tag=consumer_tag,
            connection=to.connection,
            channel=to.channel,
            redelivered=redelivered,
        )


_SETTLED: dict[Outcome, tuple[str, dict[str, object]]] = {
    Outcome.ACK: ("acked", {}),
    Outcome.DROP: ("rejected", {"requeue": False}),
    Outcome.REQUEUE: ("rejected", {"requeue": True}),
    Outcome.CHANNEL_CLOSED: ("requeued", {"reason": "channel closed"}),
}


def traced_settlement(entries: Sequence[Unacked], outcome: Outcome) -> None:
    """Deliveries settled with ``outcome``."""
    for entry in entries:
        traced_settled(entry.queue, entry.envelope, outcome)


def traced_settled(queue: Queue, envelope: Envelope, outcome: Outcome) -> None:
    journey = envelope.message.journey
    if journey is not None:
        kind, fields = _SETTLED[outcome]
        journey.add(kind, queue=queue.name, **fields)


def traced_recover(entries: Sequence[Unacked]) -> None:
    """basic.recover requeues ``entries``."""
    for entry in entries:
        journey = entry.envelope.message.journey
        if journey is not None:
            journey.add("requeued", queue=entry.queue.name, reason="recover")


def _firehose(
    vhost: VirtualHost,
    key: str,
    message: Message,
    extra: list[Field],
    header: bytes | None = None,
) -> None:
    """The copy of ``message`` (with ``header`` if given) on the trace exchange, routed
    once to each of its queues."""
    trace = vhost.exchanges.get(TRACE_EXCHANGE)
    if trace is None or not (trace.bindings or trace.alternate):
        return
    copied = trace_header(
        exchange=message.exchange,
        routing_keys=(message.routing_key, *message.sender_keys),
        header=message.header if header is None else header,
        node=NODE,
        extra=extra,
        body_size=len(message.body),
    )
    copy = Message(TRACE_EXCHANGE, key, routing_bytes(TRACE_EXCHANGE, key), copied, message.body)
    queues = vhost.route(trace, key, copy)
    if len(queues) > 1:
        copy.frames_key = 0  # (its deliveries share one encoding, as a routed publish's)
    for queue in queues:
        queue.enqueue(copy)
