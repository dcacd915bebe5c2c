"""queue.declare / bind / unbind / purge / delete."""

from __future__ import annotations

from collections.abc import Callable

from pamqp import commands

from amqpbroker.errors import NotFound
from amqpbroker.protocol.methods import make_method
from amqpbroker.session import direct_reply
from amqpbroker.session.channel import Channel

from .authorization import check_binding, queue_declare_checks


def queue_name(channel: Channel, name: str) -> str:
    """An empty queue name means the queue this channel declared last (AMQP's shortcut)."""
    if name:
        return name
    if not channel.most_recent_queue:
        raise NotFound("no previously declared queue")
    return channel.most_recent_queue


def queue_declare(channel: Channel, method: commands.Queue.Declare) -> None:
    conn = channel.connection
    if method.queue.startswith(direct_reply.REPLY_QUEUE):
        direct_reply.declare(channel, method.queue, channel.vhost.name)
        _declare_ok(channel, method, method.queue, message_count=0, consumer_count=1)
        return
    # (A passive declare of '' does not mean the last declared queue: RabbitMQ says 404.)
    queue = channel.vhost.declare_queue(
        method.queue,
        passive=method.passive,
        durable=method.durable,
        exclusive=method.exclusive,
        auto_delete=method.auto_delete,
        arguments=method.arguments or {},
        owner=conn,
        guard=queue_declare_checks(channel.access),
    )
    _declare_ok(channel, method, queue.name, queue.message_count, len(queue.consumers))


def _declare_ok(
    channel: Channel,
    method: commands.Queue.Declare,
    name: str,
    message_count: int,
    consumer_count: int,
) -> None:
    channel.most_recent_queue = name
    if not method.nowait:
        channel.send(
            make_method(
                commands.Queue.DeclareOk,
                queue=name,
                message_count=message_count,
                consumer_count=consumer_count,
            )
        )


def queue_bind(channel: Channel, method: commands.Queue.Bind) -> None:
    vhost = channel.vhost
    name = queue_name(channel, method.queue)
    routing_key = method.routing_key if (method.queue or method.routing_key) else name
    check_binding(channel.access, vhost, "queue", name, method.exchange, routing_key)
    vhost.bindable_source(method.exchange)  # a missing exchange is reported first
    queue = vhost.queue(name, channel.connection)
    vhost.bind(method.exchange, queue, routing_key, method.arguments or {})
    if not method.nowait:
        channel.send(commands.Queue.BindOk())


def queue_unbind(channel: Channel, method: commands.Queue.Unbind) -> None:
    vhost = channel.vhost
    name = queue_name(channel, method.queue)
    check_binding(channel.access, vhost, "queue", name, method.exchange, method.routing_key)
    queue = vhost.queues.get(name)
    if queue is not None:  # unbinding from a missing queue is not an error
        vhost.unbind(
            method.exchange,
            queue,
            method.routing_key,
            method.arguments or {},
            owner=channel.connection,
        )
    channel.send(commands.Queue.UnbindOk())


def queue_purge(channel: Channel, method: commands.Queue.Purge) -> None:
    name = queue_name(channel, method.queue)
    channel.access.check("read", "queue", name)
    count = channel.vhost.purge_queue(name, channel.connection)
    if not method.nowait:
        channel.send(commands.Queue.PurgeOk(message_count=count))


def queue_delete(channel: Channel, method: commands.Queue.Delete) -> None:
    vhost = channel.vhost
    name = queue_name(channel, method.queue)
    channel.access.check("configure", "queue", name)
    queue = vhost.queue_to_delete(
        name,
        if_unused=method.if_unused,
        if_empty=method.if_empty,
        owner=channel.connection,
    )
    count = queue.message_count if queue is not None else 0
    # As in RabbitMQ: consumers on other channels hear basic.cancel before the deleter gets
    # delete-ok; this channel's own consumers hear it after.
    channel.hold_cancellations()
    if queue is not None:
        vhost.remove_queue(queue)
    if not method.nowait:
        channel.send(commands.Queue.DeleteOk(message_count=count))
    channel.send_held_cancellations()


HANDLERS: dict[type, Callable[..., None]] = {
    commands.Queue.Declare: queue_declare,
    commands.Queue.Bind: queue_bind,
    commands.Queue.Unbind: queue_unbind,
    commands.Queue.Purge: queue_purge,
    commands.Queue.Delete: queue_delete,
}
