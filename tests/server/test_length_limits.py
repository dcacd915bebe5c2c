"""Queue length limits through pika and aio-pika: ``x-max-length`` and
``x-max-length-bytes`` with ``x-overflow`` drop-head (the default), reject-publish and
reject-publish-dlx.

What RabbitMQ does (each point observed on 3.10.8 and asserted below):

- only ready messages count: unacked deliveries do not; ``x-max-length-bytes`` counts body
  bytes only (not properties);
- drop-head: every publish is accepted (and confirmed); the oldest messages are dropped,
  dead-lettered as ``maxlen`` if there is a DLX — a body larger than the byte limit drops
  itself; a requeue that takes the queue over its limit drops the head at once too (the
  requeued messages, which are at the head);
- reject-publish: a publish that does not fit is not enqueued and is nacked under confirms
  (basic.nack with multiple and requeue set, as aio-pika shows); without confirms it is
  dropped silently; a mandatory publish is nacked, not returned; routed to a full queue and
  another, the other gets it and the publisher still gets a nack; in a transaction the
  commit fails with 406 "partial tx completion"; requeued messages may exceed the limit;
- reject-publish-dlx: as reject-publish, and the refused message is dead-lettered as
  ``maxlen``; plain reject-publish never dead-letters the refused message;
- ``x-max-length`` 0: drop-head accepts and drops every message, reject-publish nacks it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aio_pika
import aio_pika.exceptions
import pika
import pika.exceptions
import pytest

from amqpbroker.testing.polling import wait_until, wait_until_async


# -- helpers -------------------------------------------------------------------------------------
@pytest.fixture
def ch(channel: Any) -> Any:
    """A channel in confirm mode: basic_publish raises NackError when the broker nacks."""
    return channel


def declare(ch: Any, name: str, **arguments: Any) -> str:
    return ch.queue_declare(name, exclusive=True, arguments=arguments).method.queue


def fanout(ch: Any, name: str, *queues: str) -> str:
    ch.exchange_declare(name, "fanout", auto_delete=True)
    for queue in queues:
        ch.queue_bind(queue, name)
    return name


def dead_letter_target(ch: Any, unique: Callable[[str], str]) -> tuple[str, str]:
    """(exchange, queue): a fanout DLX and the queue bound to it."""
    dead = declare(ch, unique("dead"))
    return fanout(ch, unique("dlx"), dead), dead


def bodies(ch: Any, queue: str) -> list[bytes]:
    """Take every message in ``queue`` (basic.get until empty)."""
    out = []
    while True:
        method, _props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            return out
        out.append(body)


def message_count(ch: Any, queue: str) -> int:
    return ch.queue_declare(queue, passive=True).method.message_count


def count_reaches(ch: Any, queue: str, count: int) -> None:
    wait_until(
        lambda: message_count(ch, queue) == count,
        lambda: f"{queue} to hold {count} messages (it has {message_count(ch, queue)})",
    )


def nacked(ch: Any, exchange: str, key: str, body: bytes, **publish: Any) -> bool:
    """Publish (confirmed): True if the broker nacked it."""
    try:
        ch.basic_publish(exchange, key, body, **publish)
    except pika.exceptions.NackError:
        return True
    return False


def dead_letters(ch: Any, queue: str, count: int) -> list[tuple[bytes, Any]]:
    """Once ``count`` messages have arrived in ``queue``: (body, headers) of each."""
    count_reaches(ch, queue, count)
    out = []
    for _ in range(count):
        _method, props, body = ch.basic_get(queue, auto_ack=True)
        out.append((body, props.headers))
    return out


# -- drop-head -----------------------------------------------------------------------------------
def test_drop_head_keeps_the_newest(ch, unique):
    q = declare(ch, unique("q"), **{"x-max-length": 2})
    assert [nacked(ch, "", q, b) for b in (b"m1", b"m2", b"m3", b"m4", b"m5")] == [False] * 5
    assert message_count(ch, q) == 2
    assert bodies(ch, q) == [b"m4", b"m5"]


@pytest.mark.parametrize(
    ("published", "left"),
    [
        ([b"aaaa", b"bbbb", b"cccc", b"dddd"], [b"cccc", b"dddd"]),
        ([b"aaaa", b"0123456789"], [b"0123456789"]),
        ([b"aaaa", b"0123456789a"], []),  # larger than the limit: drops itself too
    ],
    ids=["four-byte-bodies", "exactly-the-limit", "over-the-limit"],
)
def test_drop_head_max_length_bytes(ch, unique, published, left):
    q = declare(ch, unique("q"), **{"x-max-length-bytes": 10})
    assert not any(nacked(ch, "", q, body) for body in published)
    assert bodies(ch, q) == left


def test_max_length_bytes_counts_bodies_only(ch, unique):
    q = declare(ch, unique("q"), **{"x-max-length-bytes": 4})
    properties = pika.BasicProperties(headers={"padding": "x" * 1000}, message_id="m" * 200)
    ch.basic_publish("", q, b"abcd", properties)
    assert message_count(ch, q) == 1
    ch.basic_publish("", q, b"e")
    assert bodies(ch, q) == [b"e"]


def test_both_limits_whichever_comes_first(ch, unique):
    q = declare(ch, unique("q"), **{"x-max-length": 3, "x-max-length-bytes": 6})
    for body in (b"1", b"22", b"333"):
        ch.basic_publish("", q, body)
    assert message_count(ch, q) == 3  # 6 bytes, 3 messages: at both limits
    ch.basic_publish("", q, b"4")
    assert bodies(ch, q) == [b"22", b"333", b"4"]


def test_max_length_zero(ch, unique):
    dlx, dead = dead_letter_target(ch, unique)
    drop = declare(ch, unique("drop"), **{"x-max-length": 0, "x-dead-letter-exchange": dlx})
    reject = declare(ch, unique("reject"), **{"x-max-length": 0, "x-overflow": "reject-publish"})
    assert not nacked(ch, "", drop, b"m")
    assert message_count(ch, drop) == 0
    [(body, headers)] = dead_letters(ch, dead, 1)
    assert (body, headers["x-death"][0]["reason"]) == (b"m", "maxlen")
    assert nacked(ch, "", reject, b"m")
    assert message_count(ch, reject) == 0


def test_unacked_messages_do_not_count_toward_drop_head(connection, ch, unique):
    """x-max-length 1: with m1 unacked, m2 fits; m3 drops m2.  Requeued, m1 takes the queue
    over the limit and, being the head, is dropped at once."""
    dlx, dead = dead_letter_target(ch, unique)
    q = declare(ch, unique("q"), **{"x-max-length": 1, "x-dead-letter-exchange": dlx})
    ch.basic_publish("", q, b"m1")
    other = connection.channel()
    method, _props, _body = other.basic_get(q)
    ch.basic_publish("", q, b"m2")
    assert message_count(ch, q) == 1
    ch.basic_publish("", q, b"m3")
    other.basic_nack(method.delivery_tag, requeue=True)
    assert bodies(other, q) == [b"m3"]  # basic.get is ordered after the nack on its channel
    dropped = dead_letters(ch, dead, 2)
    assert [(body, h["x-death"][0]["reason"]) for body, h in dropped] == [
        (b"m2", "maxlen"),
        (b"m1", "maxlen"),
    ]


def test_requeue_over_the_limit_drops_the_requeued_head(connection, ch, unique):
    dlx, dead = dead_letter_target(ch, unique)
    q = declare(ch, unique("q"), **{"x-max-length": 2, "x-dead-letter-exchange": dlx})
    ch.basic_publish("", q, b"m1")
    ch.basic_publish("", q, b"m2")
    other = connection.channel()
    other.basic_get(q)
    other.basic_get(q)
    ch.basic_publish("", q, b"m3")
    ch.basic_publish("", q, b"m4")
    other.basic_nack(0, multiple=True, requeue=True)
    assert bodies(other, q) == [b"m3", b"m4"]
    assert [body for body, _ in dead_letters(ch, dead, 2)] == [b"m1", b"m2"]


# -- reject-publish ------------------------------------------------------------------------------
def test_reject_publish_nacks_and_does_not_enqueue(ch, unique):
    q = declare(ch, unique("q"), **{"x-max-length": 2, "x-overflow": "reject-publish"})
    assert [nacked(ch, "", q, b) for b in (b"m1", b"m2", b"m3")] == [False, False, True]
    assert message_count(ch, q) == 2
    ch.basic_get(q, auto_ack=True)
    assert [nacked(ch, "", q, b) for b in (b"m4", b"m5")] == [False, True]
    assert bodies(ch, q) == [b"m2", b"m4"]


def test_reject_publish_max_length_bytes(ch, unique):
    q = declare(ch, unique("q"), **{"x-max-length-bytes": 5, "x-overflow": "reject-publish"})
    assert [nacked(ch, "", q, b) for b in (b"abc", b"de", b"f")] == [False, False, True]
    assert bodies(ch, q) == [b"abc", b"de"]
    big = declare(ch, unique("big"), **{"x-max-length-bytes": 5, "x-overflow": "reject-publish"})
    assert nacked(ch, "", big, b"123456")
    assert message_count(ch, big) == 0


def test_reject_publish_without_confirms_drops_silently(connection, unique):
    plain = connection.channel()
    q = declare(plain, unique("q"), **{"x-max-length": 1, "x-overflow": "reject-publish"})
    for body in (b"m1", b"m2", b"m3"):
        plain.basic_publish("", q, body)
    assert bodies(plain, q) == [b"m1"]
    assert plain.is_open


def test_reject_publish_mandatory_is_nacked_not_returned(ch, unique):
    q = declare(ch, unique("q"), **{"x-max-length": 1, "x-overflow": "reject-publish"})
    ch.basic_publish("", q, b"m1")
    with pytest.raises(pika.exceptions.NackError) as info:
        ch.basic_publish("", q, b"m2", mandatory=True)
    assert type(info.value) is pika.exceptions.NackError  # not UnroutableError


def test_reject_publish_nacks_even_if_another_queue_took_it(ch, unique):
    full = declare(ch, unique("full"), **{"x-max-length": 1, "x-overflow": "reject-publish"})
    other = declare(ch, unique("other"))
    x = fanout(ch, unique("x"), full, other)
    assert not nacked(ch, x, "", b"m1")
    assert nacked(ch, x, "", b"m2")
    assert bodies(ch, full) == [b"m1"]
    assert bodies(ch, other) == [b"m1", b"m2"]


def test_unacked_messages_do_not_count_toward_reject_publish(connection, ch, unique):
    """x-max-length 2 with both unacked: two more are accepted; requeued, the queue holds
    four (nothing dropped) and further publishes are nacked."""
    q = declare(ch, unique("q"), **{"x-max-length": 2, "x-overflow": "reject-publish"})
    ch.basic_publish("", q, b"m1")
    ch.basic_publish("", q, b"m2")
    other = connection.channel()
    other.basic_get(q)
    other.basic_get(q)
    assert [nacked(ch, "", q, b) for b in (b"m3", b"m4", b"m5")] == [False, False, True]
    other.close()
    count_reaches(ch, q, 4)
    assert nacked(ch, "", q, b"m6")
    assert bodies(ch, q) == [b"m1", b"m2", b"m3", b"m4"]


def test_reject_publish_requeue_may_exceed_the_limit(connection, ch, unique):
    q = declare(ch, unique("q"), **{"x-max-length": 1, "x-overflow": "reject-publish"})
    ch.basic_publish("", q, b"m1")
    other = connection.channel()
    method, _props, _body = other.basic_get(q)
    assert not nacked(ch, "", q, b"m2")
    other.basic_nack(method.delivery_tag, requeue=True)
    method, _props, body = other.basic_get(q, auto_ack=True)
    assert (body, method.message_count) == (b"m1", 1)


def test_reject_publish_in_a_transaction_fails_the_commit(connection, unique):
    """RabbitMQ: the commit is refused with 406 'partial tx completion'; the publish that
    fitted was enqueued all the same."""
    tx = connection.channel()
    q = declare(tx, unique("q"), **{"x-max-length": 1, "x-overflow": "reject-publish"})
    tx.tx_select()
    tx.basic_publish("", q, b"m1")
    tx.basic_publish("", q, b"m2")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        tx.tx_commit()
    assert (info.value.reply_code, info.value.reply_text) == (
        406,
        "PRECONDITION_FAILED - partial tx completion",
    )
    assert bodies(connection.channel(), q) == [b"m1"]


def test_reject_publish_does_not_dead_letter_the_refused_message(ch, unique):
    dlx, dead = dead_letter_target(ch, unique)
    q = declare(
        ch,
        unique("q"),
        **{"x-max-length": 1, "x-overflow": "reject-publish", "x-dead-letter-exchange": dlx},
    )
    assert [nacked(ch, "", q, b) for b in (b"kept", b"refused")] == [False, True]
    method, _props, _body = ch.basic_get(q)
    ch.basic_reject(method.delivery_tag, requeue=False)
    # The first arrival from q is the message rejected later: 'refused' never went there.
    [(body, headers)] = dead_letters(ch, dead, 1)
    assert (body, headers["x-death"][0]["reason"]) == (b"kept", "rejected")


def test_reject_publish_dlx_nacks_and_dead_letters_as_maxlen(ch, unique):
    dlx, dead = dead_letter_target(ch, unique)
    q = declare(
        ch,
        unique("q"),
        **{"x-max-length": 1, "x-overflow": "reject-publish-dlx", "x-dead-letter-exchange": dlx},
    )
    properties = pika.BasicProperties(expiration="60000", headers={"h": "v"})
    assert not nacked(ch, "", q, b"kept", properties=properties)
    assert nacked(ch, "", q, b"refused", properties=properties)
    [(body, headers)] = dead_letters(ch, dead, 1)
    assert body == b"refused"
    assert list(headers) == [
        "h",
        "x-death",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
    ]
    [death] = headers["x-death"]
    assert (death["count"], death["reason"], death["queue"]) == (1, "maxlen", q)
    assert (death["exchange"], death["routing-keys"]) == ("", [q])
    assert death["original-expiration"] == "60000"
    assert headers["x-first-death-reason"] == "maxlen"
    assert bodies(ch, q) == [b"kept"]


def test_reject_publish_dlx_without_a_dlx_just_nacks(ch, unique):
    q = declare(ch, unique("q"), **{"x-max-length": 1, "x-overflow": "reject-publish-dlx"})
    assert [nacked(ch, "", q, b) for b in (b"m1", b"m2")] == [False, True]
    assert bodies(ch, q) == [b"m1"]


# -- aio-pika ------------------------------------------------------------------------------------
async def test_reject_publish_nack_frame_aio_pika(broker_url, unique):
    """The nack aio-pika sees: delivery tag 2, multiple and requeue both set."""
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(
            unique("q"),
            exclusive=True,
            arguments={"x-max-length": 1, "x-overflow": "reject-publish"},
        )
        await channel.default_exchange.publish(aio_pika.Message(b"m1"), routing_key=queue.name)
        with pytest.raises(aio_pika.exceptions.DeliveryError) as info:
            await channel.default_exchange.publish(aio_pika.Message(b"m2"), routing_key=queue.name)
        frame = info.value.frame
        assert type(frame).__name__ == "Nack"
        assert (frame.delivery_tag, frame.multiple, frame.requeue) == (2, True, True)
        declared = await channel.declare_queue(queue.name, passive=True)
        assert declared.declaration_result.message_count == 1


async def test_drop_head_aio_pika(broker_url, unique):
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(
            unique("q"), exclusive=True, arguments={"x-max-length": 2}
        )
        for body in (b"m1", b"m2", b"m3"):
            await channel.default_exchange.publish(aio_pika.Message(body), routing_key=queue.name)
        got = []
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            got.append(message.body)
        assert got == [b"m2", b"m3"]


async def test_reject_publish_dlx_aio_pika(broker_url, unique):
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()
        dead = await channel.declare_queue(unique("dead"), exclusive=True)
        queue = await channel.declare_queue(
            unique("q"),
            exclusive=True,
            arguments={
                "x-max-length": 1,
                "x-overflow": "reject-publish-dlx",
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": dead.name,
            },
        )
        await channel.default_exchange.publish(aio_pika.Message(b"m1"), routing_key=queue.name)
        with pytest.raises(aio_pika.exceptions.DeliveryError):
            await channel.default_exchange.publish(aio_pika.Message(b"m2"), routing_key=queue.name)
        message = await wait_until_async(
            lambda: dead.get(no_ack=True, fail=False), "a dead-lettered message"
        )
        assert message.body == b"m2"
        assert message.headers["x-death"][0]["reason"] == "maxlen"
