"""channel.close, channel.flow."""

from __future__ import annotations

from collections.abc import Callable

from pamqp import commands

from amqpbroker.errors import NotImplemented_
from amqpbroker.protocol.methods import AccessRequest, AccessRequestOk
from amqpbroker.session.channel import Channel


def channel_close(channel: Channel, method: commands.Channel.Close) -> None:
    channel.teardown()
    channel.send(commands.Channel.CloseOk())
    channel.connection.channel_closed(channel.number)


def channel_flow(channel: Channel, method: commands.Channel.Flow) -> None:
    # RabbitMQ 3.x does not let clients stop deliveries with channel.flow.
    if not method.active:
        raise NotImplemented_("active=false")
    channel.send(commands.Channel.FlowOk(active=True))


def access_request(channel: Channel, method: AccessRequest) -> None:
    channel.send(AccessRequestOk(ticket=1))


HANDLERS: dict[type, Callable[..., None]] = {
    commands.Channel.Close: channel_close,
    commands.Channel.Flow: channel_flow,
    AccessRequest: access_request,
}
