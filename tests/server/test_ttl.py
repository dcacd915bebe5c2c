"""Message TTL through pika and aio-pika: the ``x-message-ttl`` queue argument and the
per-message ``expiration`` property, as RabbitMQ 3.10 applies them to classic queues.

What RabbitMQ does (each point observed on 3.10.8 and asserted below):

- a message expires TTL ms after it entered the queue; the lower of the queue's and the
  message's TTL wins; an expired message is never delivered (neither to a consumer nor by
  basic.get);
- expired messages are removed only when they reach the head of the queue: one behind a live
  head is still counted by declare-ok and purge-ok, and leaves as soon as the head is taken
  (already in the get-ok's message_count), or together with the head when that expires;
- a requeued message keeps its original expiry: requeued after it expired, it is gone;
- TTL 0 (queue or message): delivered if a consumer can take it at once, otherwise dropped;
- invalid ``expiration`` values are 406 with RabbitMQ's Erlang-flavoured reason (the two
  basic cases are in ``test_content.py``); the largest accepted value is ten years in ms.

No test sleeps for a TTL: each polls (passive declares, basic.get) up to a deadline. To know
that a message behind the head has expired without seeing it go, a *witness* — a message with
the same TTL in a queue of its own, published after it — is polled until it is gone.
"""

from __future__ import annotations

import asyncio
import datetime
import time
import uuid
from collections.abc import Callable
from typing import Any

import aio_pika
import pika
import pika.exceptions
import pytest

from amqpbroker.testing.polling import DEADLINE, wait_until, wait_until_async


# -- helpers -------------------------------------------------------------------------------------
@pytest.fixture
def ch(channel: Any) -> Any:
    return channel


def declare(ch: Any, name: str, ttl: int | None = None) -> str:
    arguments = {} if ttl is None else {"x-message-ttl": ttl}
    return ch.queue_declare(name, exclusive=True, arguments=arguments).method.queue


def publish(ch: Any, queue: str, body: bytes, expiration: str | None = None) -> None:
    """Publish through the default exchange; ``ch`` is in confirm mode, so on return the
    message is in the queue."""
    ch.basic_publish("", queue, body, pika.BasicProperties(expiration=expiration))


def message_count(ch: Any, queue: str) -> int:
    return ch.queue_declare(queue, passive=True).method.message_count


def counts_until(ch: Any, queue: str, done: Callable[[int], bool]) -> list[int]:
    """Poll the queue's message_count until ``done(count)``; the distinct counts seen, in
    order (the test fails if the deadline passes first)."""
    seen: list[int] = []

    def check() -> bool:
        count = message_count(ch, queue)
        if not seen or seen[-1] != count:
            seen.append(count)
        return done(count)

    wait_until(check, lambda: f"the message_count of {queue} (it went {seen})")
    return seen


def wait_past(ch: Any, ttl_ms: int) -> None:
    """Return once every message confirmed before this call with a TTL of at most ``ttl_ms``
    has expired: a witness with that TTL, published now, has expired and left its queue."""
    witness = declare(ch, f"ttl-witness-{uuid.uuid4().hex}", ttl_ms)
    publish(ch, witness, b"witness")
    counts_until(ch, witness, lambda count: count == 0)
    ch.queue_delete(witness)


class Inbox:
    """A pika consumer collecting (delivery_tag, body, redelivered) of each delivery."""

    def __init__(
        self, connection: Any, queue: str, prefetch: int = 0, consumer_channel: Any = None
    ) -> None:
        self.connection = connection
        self.channel = consumer_channel or connection.channel()
        if prefetch:
            self.channel.basic_qos(prefetch_count=prefetch)
        self.got: list[tuple[int, bytes, bool]] = []
        self.channel.basic_consume(queue, self._on_message)

    def _on_message(self, _ch: Any, method: Any, _props: Any, body: bytes) -> None:
        self.got.append((method.delivery_tag, body, method.redelivered))

    def wait_for(self, count: int) -> list[tuple[int, bytes, bool]]:
        wait_until(
            lambda: len(self.got) >= count,
            lambda: f"{count} deliveries, got {self.got}",
            pause=lambda: self.connection.process_data_events(time_limit=0.01),
        )
        return self.got

    def bodies(self) -> list[bytes]:
        self.connection.process_data_events(time_limit=0)
        return [body for _, body, _ in self.got]


def assert_never_delivered(connection: Any, ch: Any, queue: str) -> None:
    """A consumer that starts now receives a marker published after it, and nothing before
    it: whatever expired in ``queue`` is not delivered."""
    inbox = Inbox(connection, queue)
    publish(ch, queue, b"marker")
    assert inbox.wait_for(1)[0][1] == b"marker"
    assert inbox.bodies() == [b"marker"]


# -- x-message-ttl and expiration ----------------------------------------------------------------
def test_queue_ttl_expires_messages(connection, ch, unique):
    q = declare(ch, unique("q"), ttl=100)
    started = time.monotonic()
    for body in (b"m1", b"m2", b"m3"):
        publish(ch, q, body)
    assert counts_until(ch, q, lambda count: count == 0)[-1] == 0
    assert time.monotonic() - started >= 0.09  # not before the TTL
    assert ch.basic_get(q, auto_ack=True) == (None, None, None)
    assert_never_delivered(connection, ch, q)


def test_per_message_expiration_expires_messages(connection, ch, unique):
    q = declare(ch, unique("q"))
    started = time.monotonic()
    publish(ch, q, b"m1", expiration="100")
    publish(ch, q, b"m2", expiration="100")
    counts_until(ch, q, lambda count: count == 0)
    assert time.monotonic() - started >= 0.09
    assert ch.basic_get(q, auto_ack=True) == (None, None, None)
    assert_never_delivered(connection, ch, q)


def test_messages_are_delivered_before_they_expire(connection, ch, unique):
    q = declare(ch, unique("q"), ttl=60000)
    publish(ch, q, b"m1", expiration="60000")
    publish(ch, q, b"m2")
    method, props, body = ch.basic_get(q, auto_ack=True)
    assert (body, method.message_count, props.expiration) == (b"m1", 1, "60000")
    inbox = Inbox(connection, q)
    assert [body for _, body, _ in inbox.wait_for(1)] == [b"m2"]


@pytest.mark.parametrize(
    ("queue_ttl", "expiration"),
    [(100, "60000"), (60000, "100")],
    ids=["queue-ttl-lower", "expiration-lower"],
)
def test_lower_of_queue_and_message_ttl_wins(ch, unique, queue_ttl, expiration):
    q = declare(ch, unique("q"), ttl=queue_ttl)
    started = time.monotonic()
    publish(ch, q, b"m", expiration=expiration)
    counts_until(ch, q, lambda count: count == 0)  # within DEADLINE, so well before 60 s
    assert time.monotonic() - started >= 0.09
    assert ch.basic_get(q, auto_ack=True) == (None, None, None)


# -- removal at the head -------------------------------------------------------------------------
def test_expired_message_behind_live_head_is_counted_until_it_reaches_head(ch, unique):
    q = declare(ch, unique("q"))
    publish(ch, q, b"live")
    publish(ch, q, b"dead", expiration="100")
    wait_past(ch, 100)
    assert message_count(ch, q) == 2  # RabbitMQ still counts it
    _method, _props, body = ch.basic_get(q, auto_ack=True)
    assert body == b"live"
    assert ch.basic_get(q, auto_ack=True) == (None, None, None)  # never handed out
    assert message_count(ch, q) == 0


def test_expired_message_reaching_head_leaves_at_once(ch, unique):
    """Taking the live head drops the expired message behind it before get-ok is sent:
    RabbitMQ reports message_count 0 in that get-ok and in the next declare-ok."""
    q = declare(ch, unique("q"))
    publish(ch, q, b"live")
    publish(ch, q, b"dead", expiration="100")
    wait_past(ch, 100)
    method, _props, body = ch.basic_get(q, auto_ack=True)
    assert (body, method.message_count) == (b"live", 0)
    assert message_count(ch, q) == 0


def test_get_ok_message_count_excludes_expired_message_behind_new_head(ch, unique):
    """live, dead (expired), live2: after taking 'live', 'dead' is the head and is dropped,
    so get-ok counts only 'live2'."""
    q = declare(ch, unique("q"))
    publish(ch, q, b"live")
    publish(ch, q, b"dead", expiration="100")
    publish(ch, q, b"live2")
    wait_past(ch, 100)
    assert message_count(ch, q) == 3
    method, _props, body = ch.basic_get(q, auto_ack=True)
    assert (body, method.message_count) == (b"live", 1)
    method, _props, body = ch.basic_get(q, auto_ack=True)
    assert (body, method.message_count) == (b"live2", 0)


def test_purge_counts_expired_messages_not_yet_removed(ch, unique):
    q = declare(ch, unique("q"))
    publish(ch, q, b"live")
    publish(ch, q, b"dead", expiration="100")
    wait_past(ch, 100)
    assert ch.queue_purge(q).method.message_count == 2


def test_expired_message_leaves_together_with_longer_lived_head(ch, unique):
    """'b' (100 ms) behind 'a' (300 ms): counted until 'a' expires, then both go at once."""
    q = declare(ch, unique("q"))
    publish(ch, q, b"a", expiration="300")
    publish(ch, q, b"b", expiration="100")
    wait_past(ch, 100)
    assert counts_until(ch, q, lambda count: count < 2) == [2, 0]


def test_expired_message_behind_unacked_delivery_is_never_delivered(connection, ch, unique):
    """With the consumer at its prefetch limit, the message queued behind expires at the head
    of the ready messages: it is dropped and not delivered once the consumer acks."""
    q = declare(ch, unique("q"))
    inbox = Inbox(connection, q, prefetch=1)
    publish(ch, q, b"live")
    publish(ch, q, b"dead", expiration="100")
    tag = inbox.wait_for(1)[0][0]
    wait_past(ch, 100)
    assert counts_until(ch, q, lambda count: count == 0)[-1] == 0
    inbox.channel.basic_ack(tag)
    # basic.get on the consumer's channel is ordered after its ack in RabbitMQ.
    assert inbox.channel.basic_get(q, auto_ack=True) == (None, None, None)
    assert inbox.bodies() == [b"live"]


# -- requeue keeps the original expiry -----------------------------------------------------------
def test_requeued_message_keeps_original_expiry(ch, unique):
    q = declare(ch, unique("q"), ttl=100)
    publish(ch, q, b"m1")
    method, _props, body = ch.basic_get(q)
    assert body == b"m1"
    wait_past(ch, 100)
    ch.basic_nack(method.delivery_tag, requeue=True)
    assert ch.basic_get(q, auto_ack=True) == (None, None, None)
    assert message_count(ch, q) == 0


def test_consumer_nack_after_expiry_drops_message(connection, ch, unique):
    q = declare(ch, unique("q"), ttl=100)
    inbox = Inbox(connection, q)
    publish(ch, q, b"m1")
    tag = inbox.wait_for(1)[0][0]
    wait_past(ch, 100)
    inbox.channel.basic_nack(tag, requeue=True)
    # On the consumer's own channel: a redelivery, had there been one, would arrive first.
    assert inbox.channel.basic_get(q, auto_ack=True) == (None, None, None)
    assert inbox.bodies() == [b"m1"]
    assert message_count(ch, q) == 0


def test_unacked_messages_requeued_on_channel_close_keep_their_expiry(connection, ch, unique):
    q = declare(ch, unique("q"))
    inbox = Inbox(connection, q)
    publish(ch, q, b"dies", expiration="100")
    publish(ch, q, b"lives")
    assert [body for _, body, _ in inbox.wait_for(2)] == [b"dies", b"lives"]
    wait_past(ch, 100)
    inbox.channel.close()
    seen = counts_until(ch, q, lambda count: count != 0)
    assert seen[-1] == 1 and 2 not in seen, seen  # 'dies' was dropped as it came back
    method, _props, body = ch.basic_get(q, auto_ack=True)
    assert (body, method.redelivered, method.message_count) == (b"lives", True, 0)


# -- TTL 0 ---------------------------------------------------------------------------------------
def test_ttl_zero_delivers_to_waiting_consumer(connection, ch, unique):
    q = declare(ch, unique("q"), ttl=0)
    inbox = Inbox(connection, q)
    publish(ch, q, b"now")
    assert [body for _, body, _ in inbox.wait_for(1)] == [b"now"]


def test_ttl_zero_without_consumer_drops_message(ch, unique):
    q = declare(ch, unique("q"), ttl=0)
    publish(ch, q, b"nobody")
    assert message_count(ch, q) == 0
    assert ch.basic_get(q, auto_ack=True) == (None, None, None)


def test_ttl_zero_drops_what_a_consumer_at_its_limit_cannot_take(connection, ch, unique):
    q = declare(ch, unique("q"), ttl=0)
    inbox = Inbox(connection, q, prefetch=1)
    publish(ch, q, b"taken")
    tag = inbox.wait_for(1)[0][0]
    publish(ch, q, b"dropped")
    assert message_count(ch, q) == 0
    inbox.channel.basic_ack(tag)
    assert inbox.channel.basic_get(q, auto_ack=True) == (None, None, None)
    assert inbox.bodies() == [b"taken"]


def test_expiration_zero_behaves_like_ttl_zero(connection, ch, unique):
    """expiration '0': the first goes to the waiting consumer, the second (consumer now at its
    prefetch limit) is dropped; a message without expiration waits in the queue."""
    q = declare(ch, unique("q"))
    inbox = Inbox(connection, q, prefetch=1)
    publish(ch, q, b"taken", expiration="0")
    inbox.wait_for(1)
    publish(ch, q, b"dropped", expiration="0")
    publish(ch, q, b"waits")
    assert message_count(ch, q) == 1
    assert inbox.bodies() == [b"taken"]
    method, _props, body = ch.basic_get(q, auto_ack=True)
    assert (body, method.message_count) == (b"waits", 0)


# -- expiration values ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expiration", "reason"),
    [
        ("", "no_integer"),
        (" 5", "no_integer"),
        ("-", "no_integer"),
        ("\uff11\uff12", "no_integer"),  # fullwidth digits are not digits to Erlang
        ("1.5", '{leftover_string,".5"}'),
        ("100abc", '{leftover_string,"abc"}'),
        ("5 ", '{leftover_string," "}'),
        ("0x10", '{leftover_string,"x10"}'),
        ('5"q', '{leftover_string,"\\"q"}'),  # Erlang's ~p escapes the string
        ("5\\", '{leftover_string,"\\\\"}'),
        ("5\u00e9", '{leftover_string,"\u00e9"}'),  # octets C3 A9: printable Latin-1
        ("5\u0100", "{leftover_string,[196,128]}"),  # octets C4 80: 0x80 is not
        ("5\x01", "{leftover_string,[1]}"),
        ("315360000001", "{value_too_large,315360000001}"),
    ],
)
def test_invalid_expiration_is_406(connection, unique, expiration, reason):
    ch = connection.channel()
    q = declare(ch, unique("q"))
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch.basic_publish("", q, b"x", pika.BasicProperties(expiration=expiration))
        ch.queue_declare(q, passive=True)  # the 406 arrives before this reply
    assert (info.value.reply_code, info.value.reply_text) == (
        406,
        f"PRECONDITION_FAILED - invalid expiration '{expiration}': {reason}",
    )


@pytest.mark.parametrize("digits", [18, 19, 22])
def test_too_large_expiration_text_is_wrapped_as_erlang_prints_it(connection, unique, digits):
    """RabbitMQ formats the reason with ~p ("invalid expiration ~s: ~p", 80 columns): from 19
    digits on, the number goes on a new line indented to one column after the '{'."""
    value = "9" * digits
    column = len(f"invalid expiration '{value}': ")
    shown = f"{{value_too_large,{value}}}"
    if digits >= 19:
        shown = f"{{value_too_large,\n{' ' * (column + 1)}{value}}}"
    ch = connection.channel()
    q = declare(ch, unique("q"))
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch.basic_publish("", q, b"x", pika.BasicProperties(expiration=value))
        ch.queue_declare(q, passive=True)
    assert (info.value.reply_code, info.value.reply_text) == (
        406,
        f"PRECONDITION_FAILED - invalid expiration '{value}': {shown}",
    )


@pytest.mark.parametrize("expiration", ["+5", "-0", "00100", "4294967296", "315360000000"])
def test_edge_expiration_values_are_accepted(ch, unique, expiration):
    q = declare(ch, unique("q"))
    publish(ch, q, b"x", expiration=expiration)  # confirmed: accepted
    assert ch.is_open


@pytest.mark.parametrize("expiration", ["+60000", "000060000", "315360000000"])
def test_expiration_property_is_delivered_as_published(ch, unique, expiration):
    q = declare(ch, unique("q"))
    publish(ch, q, b"x", expiration=expiration)
    _method, props, body = ch.basic_get(q, auto_ack=True)
    assert (body, props.expiration) == (b"x", expiration)


# -- aio-pika ------------------------------------------------------------------------------------
async def _aio_count(channel: aio_pika.abc.AbstractChannel, name: str) -> int:
    queue = await channel.declare_queue(name, passive=True)
    result = queue.declaration_result
    return int(result.message_count or 0)


async def _aio_until_empty(channel: aio_pika.abc.AbstractChannel, name: str) -> None:
    async def empty() -> bool:
        return await _aio_count(channel, name) == 0

    await wait_until_async(empty, f"{name} to run empty")


async def _aio_wait_past(channel: aio_pika.abc.AbstractChannel, ttl_ms: int) -> None:
    """``wait_past`` for aio-pika: a witness message with the same TTL has expired."""
    name = f"ttl-witness-{uuid.uuid4().hex}"
    witness = await channel.declare_queue(name, exclusive=True, arguments={"x-message-ttl": ttl_ms})
    await channel.default_exchange.publish(aio_pika.Message(b"witness"), routing_key=name)
    await _aio_until_empty(channel, name)
    await witness.delete()


async def test_queue_ttl_aio_pika(broker_url, unique):
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()  # publisher confirms are on by default
        queue = await channel.declare_queue(
            unique("q"), exclusive=True, arguments={"x-message-ttl": 100}
        )
        started = time.monotonic()
        for body in (b"m1", b"m2"):
            await channel.default_exchange.publish(aio_pika.Message(body), routing_key=queue.name)
        await _aio_until_empty(channel, queue.name)
        assert time.monotonic() - started >= 0.09
        assert await queue.get(no_ack=True, fail=False) is None


async def test_per_message_expiration_aio_pika(broker_url, unique):
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(unique("q"), exclusive=True)
        message = aio_pika.Message(b"dies", expiration=datetime.timedelta(milliseconds=100))
        assert message.properties.expiration == "100"
        await channel.default_exchange.publish(message, routing_key=queue.name)
        await _aio_until_empty(channel, queue.name)
        inbox: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
        await queue.consume(inbox.put, no_ack=True)
        await channel.default_exchange.publish(aio_pika.Message(b"marker"), routing_key=queue.name)
        first = await asyncio.wait_for(inbox.get(), DEADLINE)
        assert first.body == b"marker"
        assert inbox.empty()


async def test_requeued_after_expiry_is_gone_aio_pika(broker_url, unique):
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(
            unique("q"), exclusive=True, arguments={"x-message-ttl": 100}
        )
        inbox: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
        await queue.consume(inbox.put)
        await channel.default_exchange.publish(aio_pika.Message(b"m1"), routing_key=queue.name)
        delivered = await asyncio.wait_for(inbox.get(), DEADLINE)
        assert delivered.body == b"m1"
        await _aio_wait_past(channel, 100)
        await delivered.nack(requeue=True)
        # basic.get on the consumer's channel comes after the nack: a redelivery would be first.
        assert await queue.get(no_ack=True, fail=False) is None
        assert inbox.empty()
        assert await _aio_count(channel, queue.name) == 0


async def test_ttl_zero_delivers_to_waiting_consumer_aio_pika(broker_url, unique):
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(
            unique("q"), exclusive=True, arguments={"x-message-ttl": 0}
        )
        inbox: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
        await queue.consume(inbox.put, no_ack=True)
        await channel.default_exchange.publish(aio_pika.Message(b"now"), routing_key=queue.name)
        assert (await asyncio.wait_for(inbox.get(), DEADLINE)).body == b"now"
