"""Restart round trips: what survives ``amqpbroker serve --data-dir`` stopping and starting.

Each test drives a broker subprocess (``brokerproc.Node``: a data directory and a fixed port)
with pika or aio-pika, stops it — SIGTERM for a clean stop, SIGKILL where the promise is about
crashes — starts it again on the same directory and port, and checks what came back, as
RabbitMQ classic queues behave: durable definitions and persistent messages in durable
queues survive; everything else does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from typing import Any

import aio_pika
import aiormq
import pika
import pika.exceptions
import pytest
from brokerproc import Node, assert_clean
from pikahelpers import (
    PERSISTENT,
    TRANSIENT,
    channel_error,
    get_all,
    pika_channel,
    pika_connect,
    stop,
)

from amqpbroker.testing.polling import wait_until

STOPS = [
    pytest.param(signal.SIGTERM, id="SIGTERM"),
    pytest.param(signal.SIGKILL, id="SIGKILL"),
]


# -- definitions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", STOPS)
def test_durable_definitions_survive_others_do_not(
    make_node: Callable[..., Node], signum: int
) -> None:
    node = make_node().start()
    conn = pika_connect(node)
    ch = conn.channel()
    ch.confirm_delivery()
    ch.exchange_declare("d.topic", "topic", durable=True)
    ch.exchange_declare("d.direct", "direct", durable=True)
    ch.exchange_declare("d.fanout", "fanout", durable=True, auto_delete=False)
    ch.exchange_declare("t.direct", "direct", durable=False)
    for queue in ("d.q", "d.e2e.q", "d.fan.q"):
        ch.queue_declare(queue, durable=True)
    ch.queue_declare("t.q", durable=False)
    ch.queue_declare("x.q", durable=True, exclusive=True)
    ch.queue_bind("d.q", "d.topic", "a.#")
    ch.exchange_bind("d.direct", "d.topic", "e.#")  # exchange to exchange, both durable
    ch.queue_bind("d.e2e.q", "d.direct", "e.x")
    ch.queue_bind("d.fan.q", "d.fanout")
    ch.queue_bind("t.q", "d.topic", "t.#")  # durable exchange, non-durable queue
    ch.queue_bind("d.q", "t.direct", "t")  # non-durable exchange, durable queue
    ch.queue_unbind("d.fan.q", "d.fanout")  # gone before the stop
    ch.queue_bind("d.fan.q", "d.fanout", "again")
    ch.exchange_declare("d.gone.x", "fanout", durable=True)
    ch.queue_declare("d.gone.q", durable=True)
    ch.queue_bind("d.gone.q", "d.gone.x")
    ch.basic_publish("", "d.gone.q", b"", pika.BasicProperties(delivery_mode=PERSISTENT))
    ch.exchange_delete("d.gone.x")
    ch.queue_delete("d.gone.q")
    # a confirmed persistent message: everything recorded before it is on disk too
    ch.queue_declare("sync", durable=True)
    ch.basic_publish("", "sync", b"", pika.BasicProperties(delivery_mode=PERSISTENT))
    stop(node, signum, conn)

    node.start()
    with pika_channel(node) as ch:
        for exchange, kind in (
            ("d.topic", "topic"),
            ("d.direct", "direct"),
            ("d.fanout", "fanout"),
        ):
            ch.exchange_declare(exchange, kind, passive=True)
            ch.exchange_declare(exchange, kind, durable=True)  # equivalent: no error
        for queue in ("d.q", "d.e2e.q", "d.fan.q"):
            assert ch.queue_declare(queue, passive=True).method.message_count == 0
        conn = ch.connection
        assert channel_error(conn, lambda c: c.exchange_declare("t.direct", passive=True)) == (
            404,
            "NOT_FOUND - no exchange 't.direct' in vhost '/'",
        )
        assert channel_error(conn, lambda c: c.exchange_declare("d.gone.x", passive=True))[0] == 404
        for queue in ("t.q", "x.q", "d.gone.q"):
            assert channel_error(conn, lambda c, q=queue: c.queue_declare(q, passive=True)) == (
                404,
                f"NOT_FOUND - no queue '{queue}' in vhost '/'",
            )
        assert channel_error(conn, lambda c: c.exchange_declare("d.topic", "direct")) == (
            406,
            "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'd.topic' in vhost '/': "
            "received 'direct' but current is 'topic'",
        )
        # the bindings route as before
        routed = conn.channel()
        routed.confirm_delivery()
        routed.queue_declare("t.q", durable=False)  # a new, unbound queue of the same name
        routed.basic_publish("d.topic", "a.b", b"to d.q")
        routed.basic_publish("d.topic", "e.x", b"via d.direct")
        routed.basic_publish("d.topic", "t.1", b"nowhere")
        routed.basic_publish("d.fanout", "", b"fanout")
        assert [b for _, _, b in get_all(routed, "d.q")] == [b"to d.q"]
        assert [b for _, _, b in get_all(routed, "d.e2e.q")] == [b"via d.direct"]
        assert [b for _, _, b in get_all(routed, "d.fan.q")] == [b"fanout"]
        assert get_all(routed, "t.q") == []
        with pytest.raises(pika.exceptions.UnroutableError):
            routed.basic_publish("d.topic", "t.2", b"unroutable", mandatory=True)
    node.restart()  # and once more: recovery rewrote the definitions compactly
    with pika_channel(node) as ch:
        ch.basic_publish("d.topic", "e.x", b"again")
        assert [b for _, _, b in get_all(ch, "d.e2e.q")] == [b"again"]
    assert node.stop() == 0
    assert_clean(node.all_logs())


async def test_queue_and_exchange_arguments_survive(make_node: Callable[..., Node]) -> None:
    """After a restart, redeclaring with the same arguments works and different ones get the
    same 406 as before it (types included: 'signedint' from aio-pika stays 'signedint')."""
    node = make_node().start()
    loop = asyncio.get_running_loop()
    arguments = {
        "x-max-length": 100,
        "x-message-ttl": 60000,
        "x-dead-letter-exchange": "dlx",
        "x-dead-letter-routing-key": "dead",
        "x-custom": "kept",
    }
    different = {**arguments, "x-max-length": 7}

    async def refusals(connection: aio_pika.abc.AbstractConnection) -> list[Any]:
        texts = []
        for action in (
            lambda ch: ch.declare_queue("args.q", durable=True, arguments=different),
            lambda ch: ch.declare_queue("args.q", durable=True),
            lambda ch: ch.declare_exchange(
                "args.x", "fanout", durable=True, arguments={"alternate-exchange": "other"}
            ),
        ):
            channel = await connection.channel()
            with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed) as info:
                await action(channel)
            texts.append(info.value.args)
        return texts

    async with await aio_pika.connect(node.url, timeout=10) as connection:
        channel = await connection.channel()
        await channel.declare_queue("args.q", durable=True, arguments=arguments)
        await channel.declare_exchange(
            "args.x", "fanout", durable=True, arguments={"alternate-exchange": "ae"}
        )
        before = await refusals(connection)
    assert await loop.run_in_executor(None, node.stop) == 0

    await loop.run_in_executor(None, node.start)
    async with await aio_pika.connect(node.url, timeout=10) as connection:
        channel = await connection.channel()
        await channel.declare_queue("args.q", durable=True, arguments=arguments)
        await channel.declare_exchange(
            "args.x", "fanout", durable=True, arguments={"alternate-exchange": "ae"}
        )
        after = await refusals(connection)
    assert after == before
    assert "inequivalent arg 'x-max-length' for queue 'args.q'" in after[0][0]
    assert after[0][0].endswith("received '7' but current is '100'")
    assert await loop.run_in_executor(None, node.stop) == 0


# -- messages -------------------------------------------------------------------------------------


def rich_properties(i: int) -> pika.BasicProperties:
    return pika.BasicProperties(
        content_type="application/json",
        content_encoding="utf-8",
        headers={
            "i": i,
            "negative": -i - 1,
            "big": 2**40 + i,
            "text": f"héllo {i}",
            "flag": i % 2 == 0,
            "nested": {"list": [1, "two", {"three": 3}], "none": None},
        },
        delivery_mode=PERSISTENT,
        priority=i % 10,
        correlation_id=f"corr-{i}",
        reply_to="replies",
        message_id=f"msg-{i}",
        timestamp=1_700_000_000 + i,
        type="test.message",
        user_id="guest",
        app_id="durability-tests",
    )


@pytest.mark.parametrize("signum", STOPS)
def test_persistent_messages_survive_with_properties_and_order(
    make_node: Callable[..., Node], signum: int
) -> None:
    node = make_node().start()
    sent = []
    with pika_channel(node) as ch:
        ch.exchange_declare("orders", "direct", durable=True)
        ch.queue_declare("work", durable=True)
        ch.queue_declare("scratch", durable=False)
        ch.queue_bind("work", "orders", "new")
        for i in range(40):
            if i % 4 == 3:  # a transient message in a durable queue: lost on restart
                props = pika.BasicProperties(delivery_mode=TRANSIENT, message_id=f"t{i}")
                ch.basic_publish("orders", "new", b"transient %d" % i, props)
                continue
            body = b"persistent %d " % i + bytes(range(256)) * (i % 5)
            ch.basic_publish("orders", "new", body, rich_properties(i))
            sent.append((body, rich_properties(i)))
        ch.basic_publish("", "scratch", b"lost", pika.BasicProperties(delivery_mode=PERSISTENT))
        ch.basic_publish("", "work", b"", pika.BasicProperties(delivery_mode=PERSISTENT))
        sent.append((b"", pika.BasicProperties(delivery_mode=PERSISTENT)))
        assert ch.queue_declare("work", passive=True).method.message_count == 41
        stop(node, signum, ch.connection)

    node.start()
    with pika_channel(node) as ch:
        assert ch.queue_declare("work", passive=True).method.message_count == len(sent)
        got = get_all(ch, "work")
        assert [body for _, _, body in got] == [body for body, _ in sent]
        for (method, properties, _), (_, expected) in zip(got, sent, strict=True):
            assert vars(properties) == vars(expected)
            # never delivered; after a kill every message counts as delivered (as in RabbitMQ)
            assert method.redelivered is (signum == signal.SIGKILL)
        assert [(m.exchange, m.routing_key) for m, _, _ in got[:-1]] == [("orders", "new")] * 30
        assert (got[-1][0].exchange, got[-1][0].routing_key) == ("", "work")
        assert (
            channel_error(ch.connection, lambda c: c.queue_declare("scratch", passive=True))[0]
            == 404
        )


@pytest.mark.parametrize("signum", STOPS)
async def test_unacked_come_back_redelivered_acked_do_not(
    make_node: Callable[..., Node], signum: int
) -> None:
    """Acked: gone.  Delivered, not acked: back with redelivered=true.  Never delivered: back
    with redelivered=false after a clean stop; after SIGKILL every message counts as
    delivered (RabbitMQ's classic queues do the same), since a delivery's record may not
    have reached the disk.  Before SIGKILL, a confirmed publish on the same connection
    ensures the acks before it are on disk (the store writes in order)."""
    node = make_node().start()
    loop = asyncio.get_running_loop()
    connection = await aio_pika.connect(node.url, timeout=10)
    try:
        publisher = await connection.channel()
        await publisher.declare_queue("work", durable=True)
        await publisher.declare_queue("barrier", durable=True)
        for i in range(20):
            await publisher.default_exchange.publish(
                aio_pika.Message(b"%d" % i, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key="work",
            )
        consumer = await connection.channel()
        await consumer.set_qos(prefetch_count=6)
        received: list[aio_pika.abc.AbstractIncomingMessage] = []
        six = asyncio.Event()

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            received.append(message)
            if len(received) == 6:
                six.set()

        work = await consumer.get_queue("work")
        await work.consume(on_message)
        await asyncio.wait_for(six.wait(), 10)
        assert [m.body for m in received] == [b"%d" % i for i in range(6)]
        for message in received[:3]:
            await message.ack()
        # requeued: it comes straight back, redelivered; the freed prefetch takes 6, 7, 8
        await received[3].nack(requeue=True)
        await consumer.set_qos(prefetch_count=6)  # a round trip: the acks were processed
        await publisher.default_exchange.publish(
            aio_pika.Message(b"barrier", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key="barrier",
        )
        if signum == signal.SIGKILL:
            node.kill()
        else:
            assert await loop.run_in_executor(None, node.stop) == 0
    finally:
        with contextlib.suppress(Exception):
            await connection.close()

    await loop.run_in_executor(None, node.start)
    async with await aio_pika.connect(node.url, timeout=10) as connection:
        channel = await connection.channel()
        work = await channel.declare_queue("work", durable=True, passive=True)
        back = []
        while (message := await work.get(no_ack=True, fail=False)) is not None:
            back.append((message.body, message.redelivered))
    # 3-8 were delivered and not acked; 9-19 never delivered
    killed = signum == signal.SIGKILL
    assert back == [(b"%d" % i, i < 9 or killed) for i in range(3, 20)]
    assert node.stop() == 0
    assert_clean(node.all_logs())


def test_a_confirmed_persistent_message_survives_sigkill(make_node: Callable[..., Node]) -> None:
    node = make_node().start()
    with pika_channel(node) as ch:
        ch.queue_declare("one", durable=True)
        ch.basic_publish("", "one", b"safe", pika.BasicProperties(delivery_mode=PERSISTENT))
        node.kill()  # at once, after the confirm
    node.start()
    with pika_channel(node) as ch:
        assert [body for _, _, body in get_all(ch, "one")] == [b"safe"]


async def test_many_concurrently_confirmed_messages_survive_sigkill(
    make_node: Callable[..., Node],
) -> None:
    """Hundreds in flight at once (group commit batches them): every confirmed one survives."""
    node = make_node().start()
    loop = asyncio.get_running_loop()
    count = 500
    async with await aio_pika.connect(node.url, timeout=10) as connection:
        channel = await connection.channel()
        await channel.declare_queue("many", durable=True)
        publishes = [
            channel.default_exchange.publish(
                aio_pika.Message(
                    b"%04d:" % i + b"x" * (i * 37 % 3000),
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    headers={"n": i},
                ),
                routing_key="many",
            )
            for i in range(count)
        ]
        confirms = await asyncio.wait_for(asyncio.gather(*publishes), 30)
        assert all(isinstance(c, aiormq.spec.Basic.Ack) for c in confirms)
        node.kill()
    await loop.run_in_executor(None, node.start)
    with pika_channel(node) as ch:
        got = get_all(ch, "many")
    assert [body[:4] for _, _, body in got] == [b"%04d" % i for i in range(count)]
    assert [len(body) for _, _, body in got] == [5 + i * 37 % 3000 for i in range(count)]
    assert [props.headers for _, props, _ in got] == [{"n": i} for i in range(count)]


def test_messages_accumulate_across_several_lives(make_node: Callable[..., Node]) -> None:
    node = make_node().start()
    with pika_channel(node) as ch:
        ch.queue_declare("q", durable=True)
        for i in range(5):
            ch.basic_publish("", "q", b"life1-%d" % i, pika.BasicProperties(delivery_mode=2))
        method, _, body = ch.basic_get("q")
        assert body == b"life1-0"
        ch.basic_ack(method.delivery_tag)
    node.restart(signal.SIGTERM)
    with pika_channel(node) as ch:
        for i in range(3):
            ch.basic_publish("", "q", b"life2-%d" % i, pika.BasicProperties(delivery_mode=2))
        node.kill()
    node.start()
    with pika_channel(node) as ch:
        got = [body for _, _, body in get_all(ch, "q")]
    assert got == [b"life1-%d" % i for i in range(1, 5)] + [b"life2-%d" % i for i in range(3)]
    node.restart()
    with pika_channel(node) as ch:
        assert get_all(ch, "q") == [], "acked after a clean stop: nothing comes back"


def test_after_a_kill_every_message_comes_back_redelivered_across_clean_restarts(
    make_node: Callable[..., Node],
) -> None:
    """A delivery's record may not have reached the disk when the broker was killed, so
    after a kill every message counts as delivered (as in RabbitMQ); that holds through
    later clean restarts, and messages published after the kill start unflagged."""
    node = make_node().start()
    with pika_channel(node) as ch:
        ch.queue_declare("q", durable=True)
        for i in range(3):
            ch.basic_publish("", "q", b"before-%d" % i, pika.BasicProperties(delivery_mode=2))
        node.kill()
    node.start()
    with pika_channel(node) as ch:
        ch.basic_publish("", "q", b"after", pika.BasicProperties(delivery_mode=2))
    node.restart(signal.SIGTERM)
    with pika_channel(node) as ch:
        got = [(body, method.redelivered) for method, _, body in get_all(ch, "q")]
    assert got == [(b"before-%d" % i, True) for i in range(3)] + [(b"after", False)]
    assert node.stop() == 0
    assert_clean(node.all_logs())


# -- regressions: bugs these tests found -------------------------------------------------------


def test_get_ok_message_count_after_a_restart(make_node: Callable[..., Node]) -> None:
    """After a restart the backlog is read back in chunks; get-ok and queue.declare-ok must
    count the messages still being read (RabbitMQ: the messages left in the queue)."""
    node = make_node().start()
    with pika_channel(node, confirm=False) as ch:
        ch.queue_declare("deep", durable=True)
        for i in range(6000):
            ch.basic_publish("", "deep", b"%d" % i, pika.BasicProperties(delivery_mode=2))
        assert ch.queue_declare("deep", passive=True).method.message_count == 6000
    node.restart()
    with pika_channel(node) as ch:
        method, _, body = ch.basic_get("deep", auto_ack=True)
        assert body == b"0"
        assert method.message_count == 5999
        assert ch.queue_declare("deep", passive=True).method.message_count == 5999


def test_new_messages_after_a_restart_keep_fifo_order(make_node: Callable[..., Node]) -> None:
    """A message published while the recovered backlog is being read back in chunks must
    queue behind it (it overtook the chunk in flight: 0..4999, new, 5000..9999)."""
    node = make_node().start()
    with pika_channel(node, confirm=False) as ch:
        ch.queue_declare("deep", durable=True)
        for i in range(10000):
            ch.basic_publish("", "deep", b"%d" % i, pika.BasicProperties(delivery_mode=2))
        assert ch.queue_declare("deep", passive=True).method.message_count == 10000
    node.restart()
    with pika_channel(node) as ch:
        _, _, body = ch.basic_get("deep", auto_ack=True)
        assert body == b"0"
        ch.basic_publish("", "deep", b"new", pika.BasicProperties(delivery_mode=2))
        got: list[bytes] = []
        ch.basic_consume(
            "deep", lambda _ch, _m, _p, b: got.append(b), auto_ack=True, consumer_tag="drain"
        )
        wait_until(
            lambda: ch.connection.process_data_events(time_limit=0.05) or len(got) >= 10000,
            "10000 deliveries",
            timeout=20,
        )
    assert got.index(b"new") == 9999, f"'new' delivered before {got[got.index(b'new') + 1]!r}"
    assert got == [b"%d" % i for i in range(1, 10000)] + [b"new"]


def test_a_priority_queue_delivers_by_priority_after_a_restart(
    make_node: Callable[..., Node],
) -> None:
    node = make_node().start()
    with pika_channel(node) as ch:
        ch.confirm_delivery()
        ch.queue_declare("prio", durable=True, arguments={"x-max-priority": 5})
        for body, priority in ((b"low", 1), (b"high", 5), (b"none", None), (b"mid", 3)):
            props = pika.BasicProperties(delivery_mode=PERSISTENT, priority=priority)
            ch.basic_publish("", "prio", body, props)
        stop(node, signal.SIGTERM, ch.connection)

    node.start()
    with pika_channel(node) as ch:
        assert [body for _, _, body in get_all(ch, "prio")] == [b"high", b"mid", b"low", b"none"]
