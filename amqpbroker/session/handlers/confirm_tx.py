"""confirm.select and tx.select / commit / rollback."""

from __future__ import annotations

from collections.abc import Callable

from pamqp import commands

from amqpbroker.errors import PreconditionFailed
from amqpbroker.session.channel import Channel, Outcome, Transaction, Unacked

from .basic import route


def confirm_select(channel: Channel, method: commands.Confirm.Select) -> None:
    if channel.tx is not None:
        raise PreconditionFailed("cannot switch from tx to confirm mode")
    channel.confirm_mode = True
    if not method.nowait:
        channel.send(commands.Confirm.SelectOk())


def tx_select(channel: Channel, method: commands.Tx.Select) -> None:
    if channel.confirm_mode:
        raise PreconditionFailed("cannot switch from confirm to tx mode")
    if channel.tx is None:
        channel.tx = Transaction()
    channel.send(commands.Tx.SelectOk())


def _transaction(channel: Channel) -> Transaction:
    if channel.tx is None:
        raise PreconditionFailed("channel is not transactional")
    return channel.tx


def tx_commit(channel: Channel, method: commands.Tx.Commit) -> None:
    tx = _transaction(channel)
    channel.tx = Transaction()
    vhost = channel.vhost
    complete = True
    for publish, message in tx.publishes:
        exchange = vhost.exchanges.get(publish.exchange)
        if exchange is not None:
            _, accepted = route(channel, exchange, publish, message, committed=True)
            complete = complete and accepted
    for entries, outcome in _merged(tx.settlements):
        channel.settle(entries, outcome)
    if not complete:  # a full queue (reject-publish) refused some of it
        raise PreconditionFailed("partial tx completion")
    channel.send(commands.Tx.CommitOk())


def _merged(
    settlements: list[tuple[list[int], list[Unacked], Outcome]],
) -> list[tuple[list[Unacked], Outcome]]:
    """A transaction's settlements with consecutive ones of the same outcome joined: RabbitMQ
    applies (and counts against a channel-wide prefetch) each such run as one."""
    runs: list[tuple[list[Unacked], Outcome]] = []
    for _tags, entries, outcome in settlements:
        if runs and runs[-1][1] is outcome:
            runs[-1][0].extend(entries)
        else:
            runs.append((list(entries), outcome))
    return runs


def tx_rollback(channel: Channel, method: commands.Tx.Rollback) -> None:
    tx = _transaction(channel)
    channel.tx = Transaction()
    for tags, entries, _outcome in tx.settlements:
        channel.restore_unacked(tags, entries)
    channel.send(commands.Tx.RollbackOk())


HANDLERS: dict[type, Callable[..., None]] = {
    commands.Confirm.Select: confirm_select,
    commands.Tx.Select: tx_select,
    commands.Tx.Commit: tx_commit,
    commands.Tx.Rollback: tx_rollback,
}
