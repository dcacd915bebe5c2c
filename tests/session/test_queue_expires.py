"""Queue expiry (``x-expires``) in the session layer, on virtual time
(tests/server/test_queue_expiry.py asserts the same over sockets)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pamqp import commands

from amqpbroker.testing.harness import ClientChannel, SessionBroker


def expiring(ch: ClientChannel, name: str, ms: int) -> str:
    return str(ch.declare(name, arguments={"x-expires": ms}).queue)


def exists(ch: ClientChannel, queue: str) -> bool:
    """Asked by a mandatory publish (not a use): comes back with basic.return once gone."""
    ch.publish(b"probe", queue, mandatory=True)
    returned = [d for d in ch.deliveries() if isinstance(d.method, commands.Basic.Return)]
    return not returned


def test_unused_queue_is_deleted_at_its_time_with_messages_and_bindings(broker, ch):
    q = expiring(ch, "q", 200)
    ch.exchange("x", "direct")
    ch.bind(q, "x", "k")
    ch.publish(b"m1", q)
    broker.advance(0.199)
    assert exists(ch, q)
    broker.advance(0.001)
    assert not exists(ch, q)
    ch.publish(b"m", "k", exchange="x", mandatory=True)
    [returned] = ch.deliveries()
    assert (returned.method.reply_code, returned.method.reply_text) == (312, "NO_ROUTE")
    ch.send(commands.Queue.Declare(queue=q, passive=True))
    assert ch.expect_close(404).reply_text == f"NOT_FOUND - no queue '{q}' in vhost '/'"


def test_redeclared_after_expiry_is_a_new_empty_queue(broker, ch):
    q = expiring(ch, "q", 200)
    ch.publish(b"old", q)
    broker.advance(0.2)
    declared = ch.declare(q, arguments={"x-expires": 200})
    assert (declared.message_count, declared.consumer_count) == (0, 0)


USES: dict[str, Callable[[ClientChannel, str], object]] = {
    "basic-get-empty": lambda user, q: user.get(q),
    "redeclare": lambda user, q: user.declare(q, arguments={"x-expires": 400}),
    "passive-declare": lambda user, q: user.declare(q, passive=True),
}


@pytest.mark.parametrize("use", sorted(USES))
def test_use_restarts_the_period(broker, ch, use):
    q = expiring(ch, "q", 400)
    broker.advance(0.3)
    USES[use](ch.client.channel(), q)
    broker.advance(0.3)
    assert exists(ch, q)
    broker.advance(0.1)
    assert not exists(ch, q)


@pytest.mark.parametrize(
    "action",
    [
        lambda ch, q: ch.call(commands.Queue.Purge(queue=q), commands.Queue.PurgeOk),
        lambda ch, q: ch.publish(b"m", q),
    ],
    ids=["purge", "publish"],
)
def test_purge_and_publish_are_not_uses(broker, ch, action):
    q = expiring(ch, "q", 200)
    broker.advance(0.15)
    action(ch, q)
    broker.advance(0.05)
    assert not exists(ch, q)


def test_consumer_keeps_the_queue_alive_until_cancelled(broker, ch):
    q = expiring(ch, "q", 200)
    consumer = ch.client.channel()
    tag = consumer.consume(q, no_ack=True)
    broker.advance(10)
    assert exists(ch, q)
    consumer.call(commands.Basic.Cancel(consumer_tag=tag), commands.Basic.CancelOk)
    broker.advance(0.199)
    assert exists(ch, q)  # the period starts again at the cancel
    broker.advance(0.001)
    assert not exists(ch, q)


def test_queue_expires_once_the_consumers_channel_closes(broker, ch):
    q = expiring(ch, "q", 200)
    consumer = ch.client.channel()
    consumer.consume(q, no_ack=True)
    broker.advance(10)
    consumer.close()
    broker.advance(0.2)
    assert not exists(ch, q)


def test_queue_expires_once_the_consumers_connection_is_lost(broker: SessionBroker, ch):
    q = expiring(ch, "q", 200)
    other = broker.connect()
    other.channel().consume(q, no_ack=True)
    broker.advance(10)
    other.drop()
    broker.advance(0.2)
    assert not exists(ch, q)
