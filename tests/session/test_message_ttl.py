"""Message TTL in the session layer: ``x-message-ttl`` and per-message ``expiration``, on
virtual time (tests/server/test_ttl.py asserts the same over sockets, against RabbitMQ too)."""

from __future__ import annotations

import pytest
from pamqp import commands
from sessionutil import bodies, declare, got, props

from amqpbroker.testing.harness import ClientChannel


def consumer(ch: ClientChannel, queue: str, prefetch: int = 0) -> ClientChannel:
    """A consumer on another channel of ``ch``'s connection (the queues are exclusive)."""
    channel = ch.client.channel()
    if prefetch:
        channel.qos(prefetch)
    channel.consume(queue)
    return channel


def test_queue_ttl_expires_messages_at_the_ttl_and_not_before(broker, ch):
    q = declare(ch, "q", **{"x-message-ttl": 100})
    for body in (b"m1", b"m2", b"m3"):
        assert ch.publish(body, q)
    broker.advance(0.099)
    assert ch.message_count(q) == 3
    broker.advance(0.001)
    assert ch.message_count(q) == 0
    assert ch.get(q) is None


def test_per_message_expiration_expires_messages(broker, ch):
    q = declare(ch, "q")
    ch.publish(b"m1", q, properties=props(expiration="100"))
    ch.publish(b"m2", q, properties=props(expiration="100"))
    broker.advance(0.099)
    assert ch.message_count(q) == 2
    broker.advance(0.001)
    assert ch.message_count(q) == 0
    watcher = consumer(ch, q)
    ch.publish(b"marker", q)
    assert bodies(watcher.deliveries()) == [b"marker"]


def test_messages_are_delivered_before_they_expire(broker, ch):
    q = declare(ch, "q", **{"x-message-ttl": 60000})
    ch.publish(b"m1", q, properties=props(expiration="60000"))
    ch.publish(b"m2", q)
    broker.advance(59)
    first = got(ch, q)
    assert (first.body, first.method.message_count, first.properties.expiration) == (
        b"m1",
        1,
        "60000",
    )
    assert bodies(consumer(ch, q).deliveries()) == [b"m2"]


@pytest.mark.parametrize(("queue_ttl", "expiration"), [(100, "60000"), (60000, "100")])
def test_lower_of_queue_and_message_ttl_wins(broker, ch, queue_ttl, expiration):
    q = declare(ch, "q", **{"x-message-ttl": queue_ttl})
    ch.publish(b"m", q, properties=props(expiration=expiration))
    broker.advance(0.1)
    assert ch.get(q) is None


def test_expired_message_behind_live_head_is_counted_until_it_reaches_head(broker, ch):
    q = declare(ch, "q")
    ch.publish(b"live", q)
    ch.publish(b"dead", q, properties=props(expiration="100"))
    broker.advance(1)
    assert ch.message_count(q) == 2  # RabbitMQ still counts it
    assert got(ch, q).body == b"live"
    assert ch.get(q) is None
    assert ch.message_count(q) == 0


def test_expired_message_reaching_head_leaves_at_once(broker, ch):
    q = declare(ch, "q")
    ch.publish(b"live", q)
    ch.publish(b"dead", q, properties=props(expiration="100"))
    broker.advance(1)
    message = got(ch, q)
    assert (message.body, message.method.message_count) == (b"live", 0)
    assert ch.message_count(q) == 0


def test_get_ok_message_count_excludes_expired_message_behind_new_head(broker, ch):
    q = declare(ch, "q")
    ch.publish(b"live", q)
    ch.publish(b"dead", q, properties=props(expiration="100"))
    ch.publish(b"live2", q)
    broker.advance(1)
    assert ch.message_count(q) == 3
    assert [(m.body, m.method.message_count) for m in (got(ch, q), got(ch, q))] == [
        (b"live", 1),
        (b"live2", 0),
    ]


def test_purge_counts_expired_messages_not_yet_removed(broker, ch):
    q = declare(ch, "q")
    ch.publish(b"live", q)
    ch.publish(b"dead", q, properties=props(expiration="100"))
    broker.advance(1)
    assert ch.call(commands.Queue.Purge(queue=q), commands.Queue.PurgeOk).message_count == 2


def test_expired_message_leaves_together_with_longer_lived_head(broker, ch):
    q = declare(ch, "q")
    ch.publish(b"a", q, properties=props(expiration="300"))
    ch.publish(b"b", q, properties=props(expiration="100"))
    broker.advance(0.2)
    assert ch.message_count(q) == 2
    broker.advance(0.1)
    assert ch.message_count(q) == 0


def test_expired_message_behind_unacked_delivery_is_never_delivered(broker, ch):
    q = declare(ch, "q")
    inbox = consumer(ch, q, prefetch=1)
    ch.publish(b"live", q)
    ch.publish(b"dead", q, properties=props(expiration="100"))
    [live] = inbox.deliveries()
    broker.advance(0.1)
    assert ch.message_count(q) == 0
    inbox.ack(live.method.delivery_tag)
    assert inbox.get(q) is None
    assert inbox.deliveries() == []


def test_requeued_message_keeps_original_expiry(broker, ch):
    q = declare(ch, "q", **{"x-message-ttl": 100})
    ch.publish(b"m1", q)
    message = got(ch, q, no_ack=False)
    broker.advance(0.1)
    ch.nack(message.method.delivery_tag, requeue=True)
    assert ch.get(q) is None
    assert ch.message_count(q) == 0


def test_consumer_nack_after_expiry_drops_message(broker, ch):
    q = declare(ch, "q", **{"x-message-ttl": 100})
    inbox = consumer(ch, q)
    ch.publish(b"m1", q)
    [message] = inbox.deliveries()
    broker.advance(0.1)
    inbox.nack(message.method.delivery_tag, requeue=True)
    assert inbox.get(q) is None
    assert inbox.deliveries() == []
    assert ch.message_count(q) == 0


def test_unacked_messages_requeued_on_channel_close_keep_their_expiry(broker, ch):
    q = declare(ch, "q")
    inbox = consumer(ch, q)
    ch.publish(b"dies", q, properties=props(expiration="100"))
    ch.publish(b"lives", q)
    assert bodies(inbox.deliveries()) == [b"dies", b"lives"]
    broker.advance(0.1)
    inbox.close()
    assert ch.message_count(q) == 1  # 'dies' was dropped as it came back
    message = got(ch, q)
    assert (message.body, message.method.redelivered, message.method.message_count) == (
        b"lives",
        True,
        0,
    )


def test_ttl_zero_delivers_to_waiting_consumer(broker, ch):
    q = declare(ch, "q", **{"x-message-ttl": 0})
    inbox = consumer(ch, q)
    ch.publish(b"now", q)
    assert bodies(inbox.deliveries()) == [b"now"]


def test_ttl_zero_without_consumer_drops_message(ch):
    q = declare(ch, "q", **{"x-message-ttl": 0})
    ch.publish(b"nobody", q)
    assert ch.message_count(q) == 0
    assert ch.get(q) is None


def test_ttl_zero_drops_what_a_consumer_at_its_limit_cannot_take(broker, ch):
    q = declare(ch, "q", **{"x-message-ttl": 0})
    inbox = consumer(ch, q, prefetch=1)
    ch.publish(b"taken", q)
    [taken] = inbox.deliveries()
    ch.publish(b"dropped", q)
    assert ch.message_count(q) == 0
    inbox.ack(taken.method.delivery_tag)
    assert inbox.get(q) is None
    assert inbox.deliveries() == []


def test_expiration_zero_behaves_like_ttl_zero(broker, ch):
    q = declare(ch, "q")
    inbox = consumer(ch, q, prefetch=1)
    ch.publish(b"taken", q, properties=props(expiration="0"))
    ch.publish(b"dropped", q, properties=props(expiration="0"))
    ch.publish(b"waits", q)
    assert ch.message_count(q) == 1
    assert bodies(inbox.deliveries()) == [b"taken"]
    message = got(ch, q)
    assert (message.body, message.method.message_count) == (b"waits", 0)


@pytest.mark.parametrize(
    ("expiration", "reason"),
    [
        (" 5", "no_integer"),
        ("\uff11\uff12", "no_integer"),
        ("1.5", '{leftover_string,".5"}'),
        ('5"q', '{leftover_string,"\\"q"}'),
        ("5\u0100", "{leftover_string,[196,128]}"),
        ("315360000001", "{value_too_large,315360000001}"),
    ],
)
def test_invalid_expiration_is_406(ch, expiration, reason):
    q = declare(ch, "q")
    ch.publish(b"x", q, properties=props(expiration=expiration))
    close = ch.expect_close(406)
    assert close.reply_text == f"PRECONDITION_FAILED - invalid expiration '{expiration}': {reason}"
    assert (close.class_id, close.method_id) == (60, 40)


def test_too_large_expiration_text_is_wrapped_as_erlang_prints_it(ch):
    value = "9" * 19
    column = len(f"invalid expiration '{value}': ")
    ch.publish(b"x", declare(ch, "q"), properties=props(expiration=value))
    assert ch.expect_close(406).reply_text == (
        f"PRECONDITION_FAILED - invalid expiration '{value}': "
        f"{{value_too_large,\n{' ' * (column + 1)}{value}}}"
    )


@pytest.mark.parametrize("expiration", ["+60000", "000060000", "315360000000"])
def test_expiration_property_is_delivered_as_published(ch, expiration):
    q = declare(ch, "q")
    assert ch.publish(b"x", q, properties=props(expiration=expiration))
    assert got(ch, q).properties.expiration == expiration
