"""basic.*: publishing, consuming, getting and settling messages."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from pamqp import commands

from amqpbroker.core.consumers import Consumer
from amqpbroker.core.exchanges import Exchange
from amqpbroker.core.message import Message
from amqpbroker.core.queue import Queue
from amqpbroker.core.queue_arguments import MAX_EXPIRY, validate_consumer_arguments
from amqpbroker.errors import (
    NO_ROUTE,
    AccessRefused,
    InternalError,
    NotAllowed,
    NotImplemented_,
    PreconditionFailed,
)
from amqpbroker.protocol import erlang
from amqpbroker.protocol.delivery_count import with_delivery_count
from amqpbroker.protocol.fastcodec import Publish, encode_get_ok, encode_return, short_str
from amqpbroker.protocol.ids import PUBLISH_IDS
from amqpbroker.protocol.methods import make_method
from amqpbroker.protocol.properties import (
    EXPIRATION,
    HEADERS,
    PRIORITY,
    REPLY_TO,
    USER_ID,
    delivery_mode,
    expiration,
    plain_delivery_mode,
    priority,
    property_flags,
    reply_to,
    well_formed,
    with_value,
)
from amqpbroker.protocol.routing_headers import UnacceptableType, sender_selected
from amqpbroker.session import direct_reply
from amqpbroker.session.channel import Channel, ChannelState, Outcome, Unacked
from amqpbroker.session.tracing import party, traced_delivery, traced_publish, traced_recover

from .queue import queue_name

_REPLY_QUEUE = direct_reply.REPLY_QUEUE.encode()
_REPLY_PREFIX = direct_reply.REPLY_PREFIX


# -- publishing ---------------------------------------------------------------------------------


def handle_content(channel: Channel, publish: Publish, header: bytes, body: bytes) -> None:
    """A complete publish (method + header + body) arrived on ``channel``."""
    if publish.immediate:
        raise NotImplemented_("immediate=true", *PUBLISH_IDS)
    vhost = channel.vhost
    access = channel.access
    restricted = not access.unrestricted  # (the default user's .* .* .*: nothing to check)
    if restricted:  # write on the exchange comes before its existence
        access.check_publish(publish.exchange)
    exchange = vhost.exchanges.get(publish.exchange) or vhost.exchange(publish.exchange)
    if exchange.internal:
        raise AccessRefused(
            f"cannot publish to internal exchange '{exchange.name}' in vhost '{vhost.name}'"
        )
    if restricted and exchange.type_name == "topic":
        access.check_topic("write", exchange.name, publish.routing_key)
    message = Message(publish.exchange, publish.routing_key, publish.routing, header, body)
    mode = plain_delivery_mode(header)  # no properties, or delivery-mode only: most messages
    if mode is None:
        _read_properties(channel, message)
    elif mode:  # (0: no properties at all, nothing to set)
        set_delivery_mode(message, mode)
    if channel.tx is not None:
        if vhost.tracing:  # (RabbitMQ traces a publish as it comes, committed or not)
            queues = vhost.route(exchange, publish.routing_key, message)
            traced_publish(
                party(channel.connection, channel.number), vhost, exchange, message, queues
            )
        channel.tx.publishes.append((publish, message))
        return
    stored, accepted = route(channel, exchange, publish, message)
    if channel.confirm_mode:
        channel.confirm_published(after_disk=stored, ok=accepted)


def _read_properties(channel: Channel, message: Message) -> None:
    """What the broker takes from the properties, checked in RabbitMQ's order: first that
    they decode at all (RabbitMQ 3.10 closes the connection when they do not)."""
    if not well_formed(message.header):
        raise InternalError("")
    flags = property_flags(message.header)
    if flags & REPLY_TO:
        _direct_reply_to(channel, message)
    if flags & USER_ID:
        _check_user_id(channel, message)
    if flags & (EXPIRATION | PRIORITY):
        read_ttl_and_priority(message)
    if flags & HEADERS:
        apply_sender_selected(message)
    set_delivery_mode(message, delivery_mode(message.header))


def set_delivery_mode(message: Message, mode: int) -> None:
    if mode > 2:
        raise PreconditionFailed(f"invalid message: {{delivery_mode_unknown,{mode}}}")
    message.persistent = mode == 2


def _direct_reply_to(channel: Channel, message: Message) -> None:
    """reply_to = amq.rabbitmq.reply-to becomes this channel's reply name (or 406)."""
    if reply_to(message.header) == _REPLY_QUEUE:
        name = short_str(direct_reply.reply_name(channel))
        message.header = with_value(message.header, REPLY_TO, name)
        message.reset_properties()


def read_ttl_and_priority(message: Message) -> None:
    raw_ttl = expiration(message.header)
    if raw_ttl is not None:
        message.ttl = _expiration_ms(raw_ttl)
    level = priority(message.header)
    if level is not None:
        message.priority = level


def _check_user_id(channel: Channel, message: Message) -> None:
    user_id = message.properties.user_id
    if user_id and user_id != channel.connection.user and not channel.access.impersonator:
        raise PreconditionFailed(
            f"user_id property set to '{user_id}' but authenticated "
            f"user was '{channel.connection.user}'"
        )


def _expiration_ms(raw: bytes) -> int:
    """The expiration property in ms; RabbitMQ's rule: a decimal integer, not negative."""
    text = raw.decode("utf-8", "surrogateescape")
    digits = re.match(rb"[+-]?[0-9]+", raw)
    prefix = f"invalid expiration '{text}': "
    if digits is None:
        raise PreconditionFailed(prefix + "no_integer")
    if digits.end() != len(raw):
        leftover = erlang.char_list(raw[digits.end() :])
        raise PreconditionFailed(erlang.after(prefix, "leftover_string", leftover))
    value = int(digits.group())
    if value < 0:
        raise PreconditionFailed(erlang.after(prefix, "value_negative", str(value)))
    if value > MAX_EXPIRY:
        raise PreconditionFailed(erlang.after(prefix, "value_too_large", str(value)))
    return value


def apply_sender_selected(message: Message) -> None:
    """Take the routing keys of the CC and BCC headers; BCC is removed before delivery."""
    try:
        message.sender_keys, header = sender_selected(message.header)
    except UnacceptableType as exc:
        name = erlang.char_list(exc.header.encode())
        text = erlang.after("invalid message: ", "unacceptable_type_in_header", name, exc.type_name)
        raise PreconditionFailed(text) from None
    if header is not message.header:
        message.header = header
        message.reset_properties()


def route(
    channel: Channel,
    exchange: Exchange,
    publish: Publish,
    message: Message,
    committed: bool = False,
) -> tuple[bool, bool]:
    """Deliver to every queue the exchange routes to; return it if mandatory and unroutable
    (``committed``: a transaction's publish, traced when it came).

    Returns (stored: it went to disk, accepted: no full queue refused it).
    """
    conn = channel.connection
    channel.counters.publish += 1
    exchange.publish_in += 1
    vhost = channel.vhost
    queues = vhost.route(exchange, publish.routing_key, message)
    if vhost.tracing and not committed:
        traced_publish(party(conn, channel.number), vhost, exchange, message, queues)
    reply = not exchange.name and (
        message.sender_keys or publish.routing_key.startswith(_REPLY_PREFIX)
    )
    if reply:
        # Direct replies are delivered on the side and, as in RabbitMQ, do not count as routed.
        keys = (publish.routing_key, *message.sender_keys)
        direct_reply.deliver_replies(conn.broker, keys, message)
    stored, accepted = False, True
    if queues:
        if len(queues) > 1:
            message.frames_key = 0  # its deliveries share one encoding (see Channel.deliver)
            exchange.extra_out += len(queues) - 1
        for queue in queues:
            accepted = queue.enqueue(message, dispatch=False) and accepted
        conn.dispatch_later(queues)
        stored = message.store_ref is not None
    else:
        if exchange.name or reply:
            # (RabbitMQ routes a default-exchange publish to the queue its key names, there
            # or not, and counts that as publish_out: recorded on 3.10.8)
            exchange.unroutable += 1
        if publish.mandatory:
            channel.counters.return_unroutable += 1
            _return_unroutable(channel, message)
        else:
            channel.counters.drop_unroutable += 1
        if message.journey is not None:
            _unroutable_journey(message, publish.mandatory)
    published = conn.broker.published
    if published is not None:  # an embedded broker keeps a record for tests
        mandatory, number = publish.mandatory, channel.number
        published.append((message, queues, mandatory, accepted, exchange.vhost, conn.peer, number))
    return stored, accepted


def _unroutable_journey(message: Message, mandatory: bool) -> None:
    if message.journey is not None:
        if mandatory:
            message.journey.add("returned", reply_code=NO_ROUTE.code, reply_text=NO_ROUTE.name)
        else:
            message.journey.add("dropped", reason="unroutable")


def _return_unroutable(channel: Channel, message: Message) -> None:
    conn = channel.connection
    conn.write(
        encode_return(
            channel.number,
            NO_ROUTE.code,
            NO_ROUTE.name,
            message.routing,
            message.header,
            message.body,
            conn.max_body,
        )
    )


# -- consuming ----------------------------------------------------------------------------------


def basic_consume(channel: Channel, method: commands.Basic.Consume) -> None:
    conn = channel.connection
    vhost = channel.vhost
    if method.queue == direct_reply.REPLY_QUEUE:
        _consume_replies(channel, method)
        return
    _check_tag_unused(channel, method.consumer_tag or "")  # RabbitMQ's first check
    name = queue_name(channel, method.queue)
    channel.access.check("read", "queue", name)
    queue = vhost.queue(name, conn)
    validate_consumer_arguments(method.arguments or {}, queue.name, vhost.name)
    tag = _consumer_tag(channel, method)
    if queue.has_exclusive_consumer() or (
        method.exclusive and (queue.consumers or queue.settings.single_active)
    ):
        raise AccessRefused(f"queue '{queue.name}' in vhost '{vhost.name}' in exclusive use")
    consumer = Consumer(
        tag,
        short_str(tag),
        queue,
        channel,
        no_ack=method.no_ack,
        exclusive=method.exclusive,
        prefetch=channel.prefetch_count,
        arguments=method.arguments or {},
        shared=channel.shared_prefetch,
    )
    channel.consumers[tag] = consumer
    if not method.nowait:
        channel.send(make_method(commands.Basic.ConsumeOk, consumer_tag=tag))
    queue.add_consumer(consumer)


def _consumer_tag(channel: Channel, method: commands.Basic.Consume) -> str:
    tag = method.consumer_tag or "amq.ctag-" + secrets.token_urlsafe(16)
    _check_tag_unused(channel, tag)
    return tag


def _check_tag_unused(channel: Channel, tag: str) -> None:
    if tag in channel.consumers:
        raise NotAllowed(f"attempt to reuse consumer tag '{tag}'")


def _consume_replies(channel: Channel, method: commands.Basic.Consume) -> None:
    consumer = direct_reply.start_consumer(channel, _consumer_tag(channel, method), method.no_ack)
    if not method.nowait:
        channel.send(make_method(commands.Basic.ConsumeOk, consumer_tag=consumer.tag))


def basic_cancel(channel: Channel, method: commands.Basic.Cancel) -> None:
    reply_consumer = channel.reply_consumer
    if reply_consumer is not None and reply_consumer.tag == method.consumer_tag:
        direct_reply.stop_consumer(channel)
    consumer = channel.consumers.get(method.consumer_tag or "")
    if not method.nowait:
        channel.send(make_method(commands.Basic.CancelOk, consumer_tag=method.consumer_tag))
    if consumer is not None:
        channel.remove_consumer(consumer)


def basic_get(channel: Channel, method: commands.Basic.Get) -> None:
    name = queue_name(channel, method.queue)
    channel.access.check("read", "queue", name)
    queue = channel.vhost.queue(name, channel.connection)
    if queue.ready.head_ready():
        _answer_get(channel, queue, method.no_ack)
        return
    # The next message is on disk: hold this connection's later commands until it is read,
    # so replies keep their order.
    conn = channel.connection
    conn.hold_commands()

    def answer() -> None:
        if channel.state is ChannelState.OPEN:
            _answer_get(channel, queue, method.no_ack)
        conn.resume_commands()

    queue.ready.when_head_ready(answer)


def _answer_get(channel: Channel, queue: Queue, no_ack: bool) -> None:
    envelope = queue.get()
    if envelope is None:
        channel.counters.get_empty += 1
        queue.counters.get_empty += 1
        channel.send(commands.Basic.GetEmpty())
        return
    channel.counters.got(no_ack, envelope.redelivered)
    queue.counters.got(no_ack, envelope.redelivered)
    tag = channel.next_delivery_tag
    channel.next_delivery_tag = tag + 1
    queue.handed_out(envelope, not no_ack)
    if not no_ack:
        channel.unacked[tag] = Unacked(envelope, queue, None)
    message = envelope.message
    header = message.header
    if queue.counts_deliveries:  # a quorum queue says how often the message came back
        header = with_delivery_count(header, envelope.delivery_count)
    conn = channel.connection
    conn.write(
        encode_get_ok(
            channel.number,
            tag,
            envelope.redelivered,
            message.routing,
            queue.message_count,
            header,
            message.body,
            conn.max_body,
        )
    )
    vhost = channel.vhost
    if vhost.tracing:
        to = party(conn, channel.number)
        traced_delivery(to, vhost, queue, envelope, None, no_ack, header)


def basic_qos(channel: Channel, method: commands.Basic.Qos) -> None:
    if method.prefetch_size:
        raise NotImplemented_(f"prefetch_size!=0 ({method.prefetch_size})")
    if method.global_:
        channel.shared_prefetch.limit_to(method.prefetch_count, len(channel.unacked))
    else:  # as RabbitMQ 3.10: a per-consumer prefetch lifts the channel-wide one
        channel.prefetch_count = method.prefetch_count
        channel.shared_prefetch.limit_to(0)
    channel.send(commands.Basic.QosOk())
    channel.resume_consumers()


# -- settling -----------------------------------------------------------------------------------


def _settle(channel: Channel, delivery_tag: int, multiple: bool, outcome: Outcome) -> None:
    if channel.tx is not None:
        # Checked now (an unknown tag fails at once), applied on commit.
        tags = _tags_for(channel, delivery_tag, multiple)
        entries = channel.take_unacked(delivery_tag, multiple)
        channel.tx.settlements.append((tags, entries, outcome))
        return
    channel.settle(channel.take_unacked(delivery_tag, multiple), outcome)


def _tags_for(channel: Channel, delivery_tag: int, multiple: bool) -> list[int]:
    if multiple and delivery_tag == 0:
        return list(channel.unacked)
    if not multiple:
        return [delivery_tag]
    return [t for t in channel.unacked if t <= delivery_tag]


def basic_ack(channel: Channel, method: commands.Basic.Ack) -> None:
    _settle(channel, method.delivery_tag, method.multiple, Outcome.ACK)


def basic_nack(channel: Channel, method: commands.Basic.Nack) -> None:
    _settle(channel, method.delivery_tag, method.multiple, _rejected(method.requeue))


def basic_reject(channel: Channel, method: commands.Basic.Reject) -> None:
    _settle(channel, method.delivery_tag or 0, False, _rejected(method.requeue))


def _rejected(requeue: bool | None) -> Outcome:
    return Outcome.REQUEUE if requeue else Outcome.DROP


def _requeue_unacked(channel: Channel) -> None:
    """basic.recover: every unacked delivery goes back."""
    entries = list(channel.unacked.values())
    channel.unacked.clear()
    if channel.vhost.tracing:
        traced_recover(entries)
    channel.settle(entries, Outcome.REQUEUE, traced=False)


def basic_recover(channel: Channel, method: commands.Basic.Recover) -> None:
    if not method.requeue:
        raise NotImplemented_("requeue=false")
    channel.send(commands.Basic.RecoverOk())  # before the redeliveries, as RabbitMQ does
    _requeue_unacked(channel)


def basic_recover_async(channel: Channel, method: commands.Basic.RecoverAsync) -> None:
    if not method.requeue:
        raise NotImplemented_("requeue=false")
    _requeue_unacked(channel)


HANDLERS: dict[type, Callable[..., None]] = {
    commands.Basic.Consume: basic_consume,
    commands.Basic.Cancel: basic_cancel,
    commands.Basic.Get: basic_get,
    commands.Basic.Qos: basic_qos,
    commands.Basic.Ack: basic_ack,
    commands.Basic.Nack: basic_nack,
    commands.Basic.Reject: basic_reject,
    commands.Basic.Recover: basic_recover,
    commands.Basic.RecoverAsync: basic_recover_async,
}
