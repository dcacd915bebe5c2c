"""Queue expiry (``x-expires``) through pika and aio-pika.

What RabbitMQ does (each point observed on 3.10.8 and asserted below):

- a queue unused for x-expires ms is deleted, with its messages and bindings, and not before;
- "used" means: it has a consumer (for as long as it has one; the period starts again when
  the last one leaves, by basic.cancel or by its channel closing), a basic.get (even one
  that finds it empty), a redeclare — a passive declare included;
- publishing to it is not a use: a queue published to all the time still expires.

Whether a queue exists is probed without using it: a mandatory publish to it through the
default exchange, which comes back unroutable once it is gone.  That a queue outlives its
time is shown against a *witness*: a queue with the same x-expires declared right after it,
left alone; when the witness is gone, the queue would be too had it not been used.  No test
sleeps for an expiry: each polls up to a deadline.
"""

from __future__ import annotations

import time
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
    """A channel in confirm mode: a mandatory publish to a missing queue raises."""
    return channel


def expiring(ch: Any, name: str, ms: int) -> str:
    return ch.queue_declare(name, arguments={"x-expires": ms}).method.queue


def exists(ch: Any, queue: str) -> bool:
    """Is ``queue`` there?  Asked by a mandatory publish, which does not count as use."""
    try:
        ch.basic_publish("", queue, b"probe", mandatory=True)
    except pika.exceptions.UnroutableError:
        return False
    return True


def until_gone(ch: Any, queue: str, between: Callable[[], Any] | None = None) -> float:
    """Probe until ``queue`` is gone, calling ``between()`` between probes; the seconds it
    took (the test fails at the deadline)."""
    started = time.monotonic()

    def gone() -> bool:
        if not exists(ch, queue):
            return True
        if between is not None:
            try:
                between()
            except pika.exceptions.ChannelClosedByBroker as closed:
                assert closed.reply_code == 404, closed  # it expired since the probe
                return True
        return False

    wait_until(gone, f"{queue} to expire")
    return time.monotonic() - started


@pytest.fixture
def cleanup(ch: Any) -> Any:
    """Queues to delete after the test, should they have outlived it."""
    names: list[str] = []
    yield names.append
    for name in names:
        if ch.is_open:
            ch.queue_delete(name)


# -- expiry --------------------------------------------------------------------------------------
def test_unused_queue_is_deleted_with_messages_and_bindings(ch, unique, cleanup):
    started = time.monotonic()
    q = expiring(ch, unique("q"), 200)
    cleanup(q)
    x = unique("x")
    ch.exchange_declare(x, "fanout", auto_delete=True)
    ch.queue_bind(q, x)
    ch.basic_publish("", q, b"m1")
    until_gone(ch, q)
    assert time.monotonic() - started >= 0.19  # not before its time
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch.queue_declare(q, passive=True)
    assert info.value.reply_code == 404


def test_binding_goes_with_the_expired_queue(ch, unique, cleanup):
    q = expiring(ch, unique("q"), 200)
    cleanup(q)
    x = unique("x")
    ch.exchange_declare(x, "direct")
    try:
        ch.queue_bind(q, x, "k")
        ch.basic_publish(x, "k", b"m", mandatory=True)  # routed while it exists
        until_gone(ch, q)
        with pytest.raises(pika.exceptions.UnroutableError):
            ch.basic_publish(x, "k", b"m", mandatory=True)
    finally:
        ch.exchange_delete(x)


def test_redeclared_after_expiry_is_a_new_empty_queue(ch, unique, cleanup):
    q = expiring(ch, unique("q"), 200)
    cleanup(q)
    ch.basic_publish("", q, b"old")
    until_gone(ch, q)
    declared = ch.queue_declare(q, arguments={"x-expires": 200}).method
    assert (declared.message_count, declared.consumer_count) == (0, 0)


# (long enough that a loaded machine never leaves 1 s between two uses of the queue: 400 ms
# once did in CI)
EXPIRES_MS_WHILE_USED = 1000


@pytest.mark.parametrize(
    "use",
    ["basic-get-empty", "basic-get", "redeclare", "passive-declare"],
)
def test_use_keeps_the_queue_alive(connection, ch, unique, cleanup, use):
    """Used every 10 ms, the queue outlives a witness declared after it with the same
    x-expires; left alone, it then expires too."""
    user = connection.channel()
    q = expiring(ch, unique("q"), EXPIRES_MS_WHILE_USED)
    witness = expiring(ch, unique("witness"), EXPIRES_MS_WHILE_USED)
    cleanup(q)
    cleanup(witness)

    def use_it() -> None:
        if use == "basic-get-empty":
            user.queue_purge(q)  # (the probes land in q; purging is not a use)
            assert user.basic_get(q, auto_ack=True) == (None, None, None)
        elif use == "basic-get":
            user.basic_get(q, auto_ack=True)
        elif use == "redeclare":
            user.queue_declare(q, arguments={"x-expires": EXPIRES_MS_WHILE_USED})
        else:
            user.queue_declare(q, passive=True)

    until_gone(ch, witness, use_it)
    assert exists(ch, q)
    until_gone(ch, q)


def test_purge_does_not_keep_the_queue_alive(ch, unique, cleanup):
    q = expiring(ch, unique("q"), 200)
    cleanup(q)
    until_gone(ch, q, lambda: ch.queue_purge(q))


def test_publishing_does_not_keep_the_queue_alive(ch, unique, cleanup):
    q = expiring(ch, unique("q"), 200)
    cleanup(q)
    until_gone(ch, q, lambda: ch.basic_publish("", q, b"m"))


def test_consumer_keeps_the_queue_alive_until_cancelled(connection, ch, unique, cleanup):
    q = expiring(ch, unique("q"), 200)
    witness = expiring(ch, unique("witness"), 200)
    cleanup(q)
    cleanup(witness)
    consumer = connection.channel()
    tag = consumer.basic_consume(q, lambda *_: None, auto_ack=True)
    until_gone(ch, witness)
    assert exists(ch, q)
    consumer.basic_cancel(tag)
    assert exists(ch, q)  # the period starts again now
    assert until_gone(ch, q) > 0.1


def test_queue_expires_once_the_consumers_channel_closes(connection, ch, unique, cleanup):
    q = expiring(ch, unique("q"), 200)
    witness = expiring(ch, unique("witness"), 200)
    cleanup(q)
    cleanup(witness)
    consumer = connection.channel()
    consumer.basic_consume(q, lambda *_: None, auto_ack=True)
    until_gone(ch, witness)
    consumer.close()
    until_gone(ch, q)


# -- aio-pika ------------------------------------------------------------------------------------
async def _aio_exists(channel: aio_pika.abc.AbstractChannel, name: str) -> bool:
    try:
        await channel.default_exchange.publish(
            aio_pika.Message(b"probe"), routing_key=name, mandatory=True
        )
    except aio_pika.exceptions.DeliveryError:
        return False
    return True


async def _aio_until_gone(channel: aio_pika.abc.AbstractChannel, name: str) -> None:
    async def gone() -> bool:
        return not await _aio_exists(channel, name)

    await wait_until_async(gone, f"{name} to expire")


async def _ignore(_message: aio_pika.abc.AbstractIncomingMessage) -> None:
    pass


async def test_queue_expiry_and_consumer_aio_pika(broker_url, unique):
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel(on_return_raises=True)
        queue = await channel.declare_queue(unique("q"), arguments={"x-expires": 200})
        witness = await channel.declare_queue(unique("witness"), arguments={"x-expires": 200})
        tag = await queue.consume(_ignore, no_ack=True)
        await _aio_until_gone(channel, witness.name)
        assert await _aio_exists(channel, queue.name)
        await queue.cancel(tag)
        await _aio_until_gone(channel, queue.name)
        with pytest.raises(aio_pika.exceptions.ChannelNotFoundEntity):
            await (await connection.channel()).declare_queue(queue.name, passive=True)
