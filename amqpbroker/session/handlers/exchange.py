"""exchange.declare / delete / bind / unbind."""

from __future__ import annotations

from collections.abc import Callable

from pamqp import commands

from amqpbroker.errors import AccessRefused
from amqpbroker.session.channel import Channel


def exchange_declare(channel: Channel, method: commands.Exchange.Declare) -> None:
    channel.vhost.declare_exchange(
        method.exchange,
        method.exchange_type,
        passive=method.passive,
        durable=method.durable,
        auto_delete=method.auto_delete,
        internal=method.internal,
        arguments=method.arguments or {},
    )
    if not method.nowait:
        channel.send(commands.Exchange.DeclareOk())


def exchange_delete(channel: Channel, method: commands.Exchange.Delete) -> None:
    channel.vhost.delete_exchange(method.exchange, if_unused=method.if_unused)
    if not method.nowait:
        channel.send(commands.Exchange.DeleteOk())


def exchange_bind(channel: Channel, method: commands.Exchange.Bind) -> None:
    vhost = channel.vhost
    if method.destination == "":
        raise AccessRefused("operation not permitted on the default exchange")
    vhost.exchange(method.source)
    destination = vhost.exchange(method.destination)
    vhost.bind(method.source, destination, method.routing_key, method.arguments or {})
    if not method.nowait:
        channel.send(commands.Exchange.BindOk())


def exchange_unbind(channel: Channel, method: commands.Exchange.Unbind) -> None:
    vhost = channel.vhost
    if method.destination == "":
        raise AccessRefused("operation not permitted on the default exchange")
    destination = vhost.exchanges.get(method.destination)
    if destination is not None:
        vhost.unbind(method.source, destination, method.routing_key, method.arguments or {})
    if not method.nowait:
        channel.send(commands.Exchange.UnbindOk())


HANDLERS: dict[type, Callable[..., None]] = {
    commands.Exchange.Declare: exchange_declare,
    commands.Exchange.Delete: exchange_delete,
    commands.Exchange.Bind: exchange_bind,
    commands.Exchange.Unbind: exchange_unbind,
}
