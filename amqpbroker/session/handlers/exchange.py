"""exchange.declare / delete / bind / unbind."""

from __future__ import annotations

from collections.abc import Callable

from pamqp import commands

from amqpbroker.core.declaration_checks import check_deletable_exchange
from amqpbroker.session.channel import Channel

from .authorization import check_binding, exchange_declare_checks


def exchange_declare(channel: Channel, method: commands.Exchange.Declare) -> None:
    channel.vhost.declare_exchange(
        method.exchange,
        method.exchange_type,
        passive=method.passive,
        durable=method.durable,
        auto_delete=method.auto_delete,
        internal=method.internal,
        arguments=method.arguments or {},
        guard=exchange_declare_checks(channel.access),
    )
    if not method.nowait:
        channel.send(commands.Exchange.DeclareOk())


def exchange_delete(channel: Channel, method: commands.Exchange.Delete) -> None:
    check_deletable_exchange(method.exchange, channel.vhost.name)  # (before configure)
    channel.access.check("configure", "exchange", method.exchange)
    channel.vhost.delete_exchange(method.exchange, if_unused=method.if_unused)
    if not method.nowait:
        channel.send(commands.Exchange.DeleteOk())


def exchange_bind(channel: Channel, method: commands.Exchange.Bind) -> None:
    vhost = channel.vhost
    check_binding(
        channel.access, vhost, "exchange", method.destination, method.source, method.routing_key
    )
    vhost.exchange(method.source)
    destination = vhost.exchange(method.destination)
    vhost.bind(method.source, destination, method.routing_key, method.arguments or {})
    if not method.nowait:
        channel.send(commands.Exchange.BindOk())


def exchange_unbind(channel: Channel, method: commands.Exchange.Unbind) -> None:
    vhost = channel.vhost
    check_binding(
        channel.access, vhost, "exchange", method.destination, method.source, method.routing_key
    )
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
