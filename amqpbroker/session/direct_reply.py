"""Direct reply-to: RPC replies go straight to the requester's channel, through no queue.

Theory of operation (RabbitMQ's, observed on 3.10.8): a channel consumes the pseudo-queue
``amq.rabbitmq.reply-to`` (no-ack only, one such consumer per channel) and publishes requests
with ``reply_to = amq.rabbitmq.reply-to``; the broker rewrites that property to a name unique
to the consumer, ``amq.rabbitmq.reply-to.<suffix>``.  A responder publishing to that name
through the default exchange reaches the channel at once: nothing is stored or acked, the
delivery tag is the channel's next one *without* using it up, and the message does not count
as routed, so a mandatory reply is both delivered and returned.  A name whose consumer has
gone is silently dropped.  The names live broker-wide, in ``BrokerState.reply_consumers``.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Protocol

from amqpbroker.core.broker import BrokerState
from amqpbroker.core.message import Message
from amqpbroker.errors import NotFound, PreconditionFailed
from amqpbroker.protocol.fastcodec import encode_deliver, short_str

from .host import ChannelHost

REPLY_QUEUE = "amq.rabbitmq.reply-to"
REPLY_PREFIX = REPLY_QUEUE + "."


class ReplyChannel(Protocol):
    """What direct reply-to uses of a channel (``session.channel.Channel``)."""

    number: int
    connection: ChannelHost
    next_delivery_tag: int
    reply_consumer: ReplyConsumer | None


@dataclass(slots=True)
class ReplyConsumer:
    """A channel's consumer of ``amq.rabbitmq.reply-to``."""

    tag: str
    tag_bytes: bytes
    suffix: str
    channel: ReplyChannel

    @property
    def name(self) -> str:
        return REPLY_PREFIX + self.suffix


def _registry(channel: ReplyChannel) -> dict[str, ReplyConsumer]:
    registry: dict[str, ReplyConsumer] = channel.connection.broker.reply_consumers
    return registry


def _new_suffix() -> str:
    # Shaped like RabbitMQ's (an opaque channel id, a dot, a base64 key); opaque to clients.
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    return f"{secrets.token_urlsafe(24)}.{key}"


def start_consumer(channel: ReplyChannel, tag: str, no_ack: bool) -> ReplyConsumer:
    """basic.consume on ``amq.rabbitmq.reply-to`` (``tag`` already chosen and checked)."""
    if not no_ack:
        raise PreconditionFailed("reply consumer cannot acknowledge")
    if channel.reply_consumer is not None:
        raise PreconditionFailed("reply consumer already set")
    consumer = ReplyConsumer(tag, short_str(tag), _new_suffix(), channel)
    channel.reply_consumer = consumer
    _registry(channel)[consumer.suffix] = consumer
    return consumer


def stop_consumer(channel: ReplyChannel) -> None:
    """The reply consumer is cancelled or its channel closes: its name stops working."""
    consumer = channel.reply_consumer
    if consumer is not None:
        channel.reply_consumer = None
        _registry(channel).pop(consumer.suffix, None)


def reply_name(channel: ReplyChannel) -> str:
    """What ``reply_to = amq.rabbitmq.reply-to`` becomes on a request published on ``channel``."""
    if channel.reply_consumer is None:
        raise PreconditionFailed("fast reply consumer does not exist")
    return channel.reply_consumer.name


def declare(channel: ReplyChannel, name: str, vhost: str) -> None:
    """queue.declare of a name starting with ``amq.rabbitmq.reply-to`` (passive or not).

    The pseudo-queue itself and live reply names exist (0 messages, 1 consumer); any other
    name under the prefix does not, and nothing under it can be created.
    """
    if name == REPLY_QUEUE or (
        name.startswith(REPLY_PREFIX) and name[len(REPLY_PREFIX) :] in _registry(channel)
    ):
        return
    raise NotFound(f"no queue '{name}' in vhost '{vhost}'")


def deliver_replies(broker: BrokerState, keys: tuple[str, ...], message: Message) -> None:
    """Deliver a default-exchange publish to every live reply name among its routing keys."""
    registry: dict[str, ReplyConsumer] = broker.reply_consumers
    for key in sorted(set(keys)):
        if not key.startswith(REPLY_PREFIX):
            continue
        consumer = registry.get(key[len(REPLY_PREFIX) :])
        if consumer is not None:
            _deliver(consumer, message)


def _deliver(consumer: ReplyConsumer, message: Message) -> None:
    channel = consumer.channel
    conn = channel.connection
    conn.write(
        encode_deliver(
            channel.number,
            consumer.tag_bytes,
            channel.next_delivery_tag,  # RabbitMQ's quirk: the next tag, not consumed
            False,
            message.routing,
            message.header,
            message.body,
            conn.max_body,
        )
    )
