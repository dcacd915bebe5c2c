"""basic.* through real clients (pika BlockingConnection, aio-pika) and raw sockets.

Covers publish routing failures (404 on a missing exchange, basic.return 312 NO_ROUTE for mandatory
unroutable messages, silent drop otherwise), consumers (generated and explicit tags, exclusive use,
no-ack, no-local, cancel, broker-sent basic.cancel when the queue is deleted), basic.get, ack /
nack / reject (multiple, requeue, redelivered flag, requeue position, unknown delivery tags),
basic.recover, basic.qos (per consumer, per channel, prefetch_size, round-robin dispatch) and the
requeueing of unacked messages when their channel or connection closes. Expected codes and texts
are those of RabbitMQ 3.10.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import aio_pika
import aiormq
import pika
import pika.exceptions
import pytest
from pamqp import commands
from rawamqp import RawAMQP

from amqpbroker.testing.polling import DEADLINE, wait_until, wait_until_async

CTAG_RE = re.compile(r"^amq\.ctag-[A-Za-z0-9_-]{22}$")


# -- helpers -------------------------------------------------------------------------------------


@pytest.fixture
def ch(conn: pika.BlockingConnection) -> pika.adapters.blocking_connection.BlockingChannel:
    """A channel in confirm mode, so a returned publish means the message is in its queue."""
    channel = conn.channel()
    channel.confirm_delivery()
    return channel


@pytest.fixture
def queue(ch, unique: Callable[[str], str]) -> str:
    return ch.queue_declare(unique("q"), exclusive=True).method.queue


def publish_all(ch, queue: str, bodies) -> None:
    for b in bodies:
        ch.basic_publish("", queue, b if isinstance(b, bytes) else str(b).encode())


def pump_until(conn: pika.BlockingConnection, pred: Callable[[], object]) -> None:
    """Service ``conn`` (its consumers' callbacks run) until ``pred()``."""
    wait_until(pred, "the broker", pause=lambda: conn.process_data_events(time_limit=0.02))


def ready_count(ch, queue: str) -> int:
    return ch.queue_declare(queue, passive=True).method.message_count


def wait_ready(ch, queue: str, n: int) -> None:
    """Poll (one broker round trip per step) until ``n`` messages are ready in the queue."""
    wait_until(lambda: ready_count(ch, queue) == n, f"{n} ready messages", pause=lambda: None)


def drain(ch, queue: str) -> list[tuple[bytes, bool]]:
    """basic.get (auto-ack) until get-empty: [(body, redelivered)]."""
    out = []
    while True:
        method, _props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            return out
        out.append((body, method.redelivered))


async def ignore_message(_message) -> None:
    pass


def channel_error(fn) -> tuple[int, str]:
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        fn()
    return info.value.reply_code, info.value.reply_text


def connection_error(fn) -> tuple[int, str]:
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as info:
        fn()
    return info.value.reply_code, info.value.reply_text


# -- publish routing -----------------------------------------------------------------------------
def test_publish_to_missing_exchange_closes_channel_404(conn, unique):
    channel = conn.channel()
    missing = unique("nox")
    channel.basic_publish(missing, "rk", b"x")
    # the channel close arrives asynchronously; the next synchronous call surfaces it
    code, text = channel_error(lambda: channel.queue_declare("", exclusive=True))
    assert (code, text) == (404, f"NOT_FOUND - no exchange '{missing}' in vhost '/'")
    assert conn.channel().is_open  # the connection survives


async def test_publish_to_missing_exchange_aio_pika(broker_url, unique):
    missing = unique("nox")
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(missing, ensure=False)
        with pytest.raises(aiormq.exceptions.ChannelNotFoundEntity) as info:
            await exchange.publish(aio_pika.Message(b"x"), routing_key="rk")
        assert info.value.args[0] == f"NOT_FOUND - no exchange '{missing}' in vhost '/'"


def test_mandatory_unroutable_is_returned_312_no_route(conn, unique):
    channel = conn.channel()
    exchange = unique("ex")
    channel.exchange_declare(exchange, "direct", auto_delete=True)
    try:
        returned = []
        channel.add_on_return_callback(lambda _c, m, p, b: returned.append((m, p, b)))
        channel.basic_publish(
            exchange, "nowhere", b"lost", pika.BasicProperties(message_id="m1"), mandatory=True
        )
        pump_until(conn, lambda: returned)
        method, props, body = returned[0]
        assert (method.reply_code, method.reply_text) == (312, "NO_ROUTE")
        assert (method.exchange, method.routing_key) == (exchange, "nowhere")
        assert (body, props.message_id) == (b"lost", "m1")
    finally:
        channel.exchange_delete(exchange)


async def test_mandatory_unroutable_is_returned_aio_pika(broker_url, unique):
    rk = unique("nowhere")
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()
        returned: asyncio.Future = asyncio.get_running_loop().create_future()
        channel.return_callbacks.add(lambda _ch, msg: returned.set_result(msg))
        await channel.default_exchange.publish(
            aio_pika.Message(b"lost", correlation_id="c1"), routing_key=rk, mandatory=True
        )
        msg = await asyncio.wait_for(returned, 5)
        assert (msg.exchange, msg.routing_key, msg.body) == ("", rk, b"lost")
        assert msg.correlation_id == "c1"


async def test_mandatory_unroutable_raises_with_on_return_raises_aio_pika(broker_url, unique):
    rk = unique("nowhere")
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel(on_return_raises=True)
        with pytest.raises(aiormq.exceptions.PublishError):
            await channel.default_exchange.publish(
                aio_pika.Message(b"x"), routing_key=rk, mandatory=True
            )


def test_non_mandatory_unroutable_is_dropped_silently(conn, ch, unique):
    returned = []
    ch.add_on_return_callback(lambda *a: returned.append(a))
    exchange = unique("ex")
    ch.exchange_declare(exchange, "fanout", auto_delete=True)
    try:
        ch.basic_publish(exchange, "k", b"dropped")  # confirmed: no exception
        ch.basic_publish("", unique("no-such-queue"), b"dropped")
        conn.process_data_events(time_limit=0)
        assert returned == []
        assert ch.is_open
    finally:
        ch.exchange_delete(exchange)


# -- consumers -----------------------------------------------------------------------------------
def test_consume_with_empty_tag_generates_amq_ctag(broker):
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        c.send_method(1, commands.Queue.Declare(queue="", exclusive=True))
        _, ok = c.expect_method(commands.Queue.DeclareOk)
        c.send_method(1, commands.Basic.Consume(queue=ok.queue, consumer_tag=""))
        _, consume_ok = c.expect_method(commands.Basic.ConsumeOk)
        assert CTAG_RE.match(consume_ok.consumer_tag), consume_ok.consumer_tag
        c.send_method(1, commands.Basic.Consume(queue=ok.queue, consumer_tag=""))
        _, second = c.expect_method(commands.Basic.ConsumeOk)
        assert CTAG_RE.match(second.consumer_tag) and second.consumer_tag != consume_ok.consumer_tag


def test_consume_with_explicit_tag_delivers_with_that_tag(conn, ch, queue):
    got = []
    tag = ch.basic_consume(
        queue, lambda _c, m, _p, b: got.append((m.consumer_tag, b)), consumer_tag="my-tag"
    )
    assert tag == "my-tag"
    publish_all(ch, queue, [b"hello"])
    pump_until(conn, lambda: got)
    assert got == [("my-tag", b"hello")]


def test_exclusive_consumer_refuses_second_consumer_403(conn, ch, queue):
    ch.basic_consume(queue, lambda *a: None, exclusive=True)
    other = conn.channel()
    code, text = channel_error(lambda: other.basic_consume(queue, lambda *a: None))
    assert (code, text) == (403, f"ACCESS_REFUSED - queue '{queue}' in vhost '/' in exclusive use")


def test_exclusive_consume_on_queue_with_consumer_is_403(conn, ch, queue):
    ch.basic_consume(queue, lambda *a: None)
    other = conn.channel()
    code, text = channel_error(lambda: other.basic_consume(queue, lambda *a: None, exclusive=True))
    assert (code, text) == (403, f"ACCESS_REFUSED - queue '{queue}' in vhost '/' in exclusive use")


async def test_exclusive_consumer_refuses_second_consumer_aio_pika(broker_url, unique):
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(unique("q"), exclusive=True)
        await queue.consume(ignore_message, exclusive=True)
        other = await connection.channel()
        other_queue = await other.get_queue(queue.name, ensure=False)
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused) as info:
            await other_queue.consume(ignore_message)
        expected = f"ACCESS_REFUSED - queue '{queue.name}' in vhost '/' in exclusive use"
        assert info.value.args[0] == expected


def test_no_ack_consumer_messages_are_not_requeued(conn, ch, queue):
    consumer_ch = conn.channel()
    got = []
    consumer_ch.basic_consume(queue, lambda _c, m, _p, b: got.append(b), auto_ack=True)
    publish_all(ch, queue, [1, 2, 3])
    pump_until(conn, lambda: len(got) == 3)
    consumer_ch.close()  # nothing unacked: nothing comes back
    assert got == [b"1", b"2", b"3"]
    assert ready_count(ch, queue) == 0


def test_cancel_returns_tag_and_stops_deliveries(conn, ch, queue):
    consumer_ch = conn.channel()
    got = []
    tag = consumer_ch.basic_consume(queue, lambda _c, _m, _p, b: got.append(b))
    publish_all(ch, queue, [b"before"])
    pump_until(conn, lambda: got)
    consumer_ch.basic_cancel(tag)
    publish_all(ch, queue, [b"after"])
    assert ready_count(ch, queue) == 1  # stays in the queue
    assert got == [b"before"]


async def test_cancel_stops_deliveries_aio_pika(broker_url, unique):
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(unique("q"), exclusive=True)
        got: asyncio.Queue = asyncio.Queue()
        tag = await queue.consume(got.put, no_ack=True, consumer_tag="ctag-x")
        assert tag == "ctag-x"
        await channel.default_exchange.publish(aio_pika.Message(b"1"), routing_key=queue.name)
        assert (await asyncio.wait_for(got.get(), 5)).body == b"1"
        cancel_ok = await queue.cancel(tag)
        assert cancel_ok.consumer_tag == "ctag-x"
        await channel.default_exchange.publish(aio_pika.Message(b"2"), routing_key=queue.name)
        declared = await channel.declare_queue(queue.name, passive=True)
        assert declared.declaration_result.message_count == 1
        assert got.empty()


def test_queue_delete_sends_basic_cancel_to_consumer(conn, unique):
    channel = conn.channel()
    name = unique("q")
    channel.queue_declare(name)
    cancelled = []
    channel.add_on_cancel_callback(lambda frame: cancelled.append(frame.method.consumer_tag))
    tag = channel.basic_consume(name, lambda *a: None)
    conn.channel().queue_delete(name)
    pump_until(conn, lambda: cancelled)
    assert cancelled == [tag]
    assert channel.is_open


async def test_queue_delete_sends_basic_cancel_aio_pika(broker_url, unique):
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(unique("q"))
        cancelled: asyncio.Future = asyncio.get_running_loop().create_future()
        underlay = await channel.get_underlay_channel()
        underlay.on_consumer_cancel_callbacks.add(cancelled.set_result)
        tag = await queue.consume(ignore_message)
        other = await connection.channel()
        await other.queue_delete(queue.name)
        frame = await asyncio.wait_for(cancelled, 5)
        assert frame.consumer_tag == tag
        assert not channel.is_closed


# -- basic.get -----------------------------------------------------------------------------------
def test_get_on_empty_queue_is_get_empty(ch, queue):
    assert ch.basic_get(queue) == (None, None, None)


def test_get_ok_carries_remaining_message_count(ch, queue):
    publish_all(ch, queue, [1, 2, 3])
    counts = [ch.basic_get(queue, auto_ack=True)[0].message_count for _ in range(3)]
    assert counts == [2, 1, 0]


def test_get_ok_fields(ch, queue):
    publish_all(ch, queue, [b"x"])
    method, _props, body = ch.basic_get(queue)
    assert (method.delivery_tag, method.redelivered, method.exchange, method.routing_key) == (
        1,
        False,
        "",
        queue,
    )
    assert body == b"x"


def test_get_of_requeued_message_is_redelivered(ch, queue):
    publish_all(ch, queue, [b"x"])
    method, _, _ = ch.basic_get(queue)
    ch.basic_reject(method.delivery_tag, requeue=True)
    again, _, body = ch.basic_get(queue)
    assert (body, again.redelivered, again.delivery_tag) == (b"x", True, 2)


async def test_get_and_get_empty_aio_pika(broker_url, unique):
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(unique("q"), exclusive=True)
        assert await queue.get(fail=False) is None
        with pytest.raises(aio_pika.exceptions.QueueEmpty):
            await queue.get()
        for b in (b"a", b"b"):
            await channel.default_exchange.publish(aio_pika.Message(b), routing_key=queue.name)
        msg = await queue.get(no_ack=False)
        assert (msg.body, msg.message_count, msg.redelivered) == (b"a", 1, False)
        await msg.nack(requeue=True)
        again = await queue.get(no_ack=True)
        assert (again.body, again.redelivered) == (b"a", True)


# -- ack / nack / reject ---------------------------------------------------------------------------
def test_nack_requeue_puts_messages_back_in_original_position(ch, queue):
    publish_all(ch, queue, [1, 2, 3, 4, 5])
    tags = [ch.basic_get(queue)[0].delivery_tag for _ in range(3)]  # 1, 2, 3 unacked
    ch.basic_nack(tags[2], requeue=True)  # 3 first, then 1
    ch.basic_nack(tags[0], requeue=True)
    ch.basic_ack(tags[1])
    assert drain(ch, queue) == [(b"1", True), (b"3", True), (b"4", False), (b"5", False)]


def test_nack_of_2_and_4_requeues_them_in_publish_order(ch, queue):
    publish_all(ch, queue, [1, 2, 3, 4, 5])
    tags = {}
    for _ in range(5):
        method, _, body = ch.basic_get(queue)
        tags[body] = method.delivery_tag
    ch.basic_nack(tags[b"4"], requeue=True)
    ch.basic_nack(tags[b"2"], requeue=True)
    assert drain(ch, queue) == [(b"2", True), (b"4", True)]


def test_consumer_nack_multiple_requeue_redelivers_in_order(conn, ch, queue):
    got = []
    ch.basic_consume(queue, lambda _c, m, _p, b: got.append((m.delivery_tag, m.redelivered, b)))
    publish_all(ch, queue, [1, 2, 3, 4])
    pump_until(conn, lambda: len(got) == 4)
    ch.basic_ack(4)
    ch.basic_nack(3, multiple=True, requeue=True)  # 1, 2, 3
    pump_until(conn, lambda: len(got) == 7)
    assert got[4:] == [(5, True, b"1"), (6, True, b"2"), (7, True, b"3")]


def test_reject_without_requeue_drops_message(ch, queue):
    publish_all(ch, queue, [b"x"])
    ch.basic_reject(ch.basic_get(queue)[0].delivery_tag, requeue=False)
    assert ready_count(ch, queue) == 0
    assert ch.basic_get(queue) == (None, None, None)


def test_nack_multiple_without_requeue_drops_messages(ch, queue):
    publish_all(ch, queue, [1, 2, 3])
    for _ in range(2):
        ch.basic_get(queue)
    ch.basic_nack(2, multiple=True, requeue=False)
    assert drain(ch, queue) == [(b"3", False)]


def test_ack_multiple_acks_every_tag_up_to_it(conn, ch, queue):
    publish_all(ch, queue, [1, 2, 3, 4])
    for _ in range(4):
        ch.basic_get(queue)
    ch.basic_ack(3, multiple=True)
    ch.close()  # only tag 4 was still unacked
    other = conn.channel()
    wait_ready(other, queue, 1)
    assert drain(other, queue) == [(b"4", True)]


def test_ack_multiple_with_tag_zero_acks_all_outstanding(conn, ch, queue):
    publish_all(ch, queue, [1, 2, 3])
    for _ in range(3):
        ch.basic_get(queue)
    ch.basic_ack(0, multiple=True)
    ch.close()
    assert drain(conn.channel(), queue) == []


@pytest.mark.parametrize(
    "settle",
    [
        lambda c: c.basic_ack(99),
        lambda c: c.basic_nack(99, requeue=True),
        lambda c: c.basic_reject(99, requeue=False),
        lambda c: c.basic_ack(99, multiple=True),
    ],
    ids=["ack", "nack", "reject", "ack-multiple"],
)
def test_unknown_delivery_tag_is_406(ch, settle):
    settle(ch)
    code, text = channel_error(lambda: ch.queue_declare("", exclusive=True))
    assert (code, text) == (406, "PRECONDITION_FAILED - unknown delivery tag 99")


def test_ack_of_tag_zero_without_multiple_is_406(ch):
    ch.basic_ack(0)
    code, text = channel_error(lambda: ch.queue_declare("", exclusive=True))
    assert (code, text) == (406, "PRECONDITION_FAILED - unknown delivery tag 0")


def test_double_ack_is_406(ch, queue):
    publish_all(ch, queue, [b"x"])
    tag = ch.basic_get(queue)[0].delivery_tag
    ch.basic_ack(tag)
    ch.basic_ack(tag)
    code, text = channel_error(lambda: ch.queue_declare("", exclusive=True))
    assert (code, text) == (406, f"PRECONDITION_FAILED - unknown delivery tag {tag}")


def test_ack_of_auto_acked_delivery_is_406(ch, queue):
    publish_all(ch, queue, [b"x"])
    tag = ch.basic_get(queue, auto_ack=True)[0].delivery_tag
    ch.basic_ack(tag)
    code, text = channel_error(lambda: ch.queue_declare("", exclusive=True))
    assert (code, text) == (406, f"PRECONDITION_FAILED - unknown delivery tag {tag}")


async def test_unknown_delivery_tag_aio_pika(broker_url):
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()
        underlay = await channel.get_underlay_channel()
        await underlay.basic_ack(42)
        with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed) as info:
            await channel.declare_queue(exclusive=True)
        assert info.value.args[0] == "PRECONDITION_FAILED - unknown delivery tag 42"


# -- recover ---------------------------------------------------------------------------------------
def test_recover_requeue_redelivers_unacked_with_redelivered(conn, ch, queue):
    got = []
    ch.basic_consume(queue, lambda _c, m, _p, b: got.append((m.delivery_tag, m.redelivered, b)))
    publish_all(ch, queue, [1, 2, 3])
    pump_until(conn, lambda: len(got) == 3)
    ch.basic_ack(2)
    ch.basic_recover(requeue=True)
    pump_until(conn, lambda: len(got) == 5)
    assert got[3:] == [(4, True, b"1"), (5, True, b"3")]


def test_recover_without_requeue_is_540_not_implemented(ch):
    code, text = connection_error(lambda: ch.basic_recover(requeue=False))
    assert (code, text) == (540, "NOT_IMPLEMENTED - requeue=false")


# -- qos -------------------------------------------------------------------------------------------
def test_prefetch_size_is_540_not_implemented(ch):
    code, text = connection_error(lambda: ch.basic_qos(prefetch_size=10))
    assert (code, text) == (540, "NOT_IMPLEMENTED - prefetch_size!=0 (10)")


def _wait_split(conn, ch, queue, delivered: Callable[[], int], total: int) -> None:
    """Wait until every message is either delivered or ready in the queue."""
    pump_until(conn, lambda: delivered() + ready_count(ch, queue) == total)


def test_prefetch_count_limits_unacked_per_consumer(conn, ch, queue):
    publish_all(ch, queue, range(10))
    ch.basic_qos(prefetch_count=2)
    got: dict[str, list] = {"x": [], "y": []}
    for tag in got:
        ch.basic_consume(queue, lambda _c, _m, _p, b, t=tag: got[t].append(b), consumer_tag=tag)
    _wait_split(conn, ch, queue, lambda: len(got["x"]) + len(got["y"]), 10)
    assert (len(got["x"]), len(got["y"]), ready_count(ch, queue)) == (2, 2, 6)


def test_acking_frees_prefetch_slot(conn, ch, queue):
    publish_all(ch, queue, range(3))
    ch.basic_qos(prefetch_count=1)
    got = []
    ch.basic_consume(queue, lambda _c, m, _p, b: got.append(m.delivery_tag))
    pump_until(conn, lambda: got)
    assert ready_count(ch, queue) == 2
    ch.basic_ack(got[0])
    pump_until(conn, lambda: len(got) == 2)
    assert ready_count(ch, queue) == 1


def test_global_prefetch_limits_unacked_per_channel(conn, ch, queue):
    publish_all(ch, queue, range(10))
    ch.basic_qos(prefetch_count=3, global_qos=True)
    got: dict[str, list] = {"x": [], "y": []}
    for tag in got:
        ch.basic_consume(queue, lambda _c, _m, _p, b, t=tag: got[t].append(b), consumer_tag=tag)
    _wait_split(conn, ch, queue, lambda: len(got["x"]) + len(got["y"]), 10)
    assert len(got["x"]) + len(got["y"]) == 3
    assert ready_count(ch, queue) == 7


def test_round_robin_skips_consumer_at_prefetch_limit(conn, ch, queue):
    publish_all(ch, queue, range(1, 7))
    ch.basic_qos(prefetch_count=1)
    got: dict[str, list] = {"a": [], "b": [], "c": []}

    def on_message(tag):
        def cb(channel, method, _props, body):
            got[tag].append(int(body))
            if tag != "a":  # 'a' never acks
                channel.basic_ack(method.delivery_tag)

        return cb

    for tag in got:
        ch.basic_consume(queue, on_message(tag), consumer_tag=tag)
    pump_until(conn, lambda: sum(map(len, got.values())) == 6)
    assert got["a"] == [1]
    assert got["b"][0] == 2 and got["c"][0] == 3
    assert sorted(got["b"] + got["c"]) == [2, 3, 4, 5, 6]


async def test_prefetch_limits_unacked_aio_pika(broker_url, unique):
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=2)
        queue = await channel.declare_queue(unique("q"), exclusive=True)
        for i in range(5):
            await channel.default_exchange.publish(
                aio_pika.Message(str(i).encode()), routing_key=queue.name
            )
        inbox: asyncio.Queue = asyncio.Queue()
        await queue.consume(inbox.put)
        first = [await asyncio.wait_for(inbox.get(), DEADLINE) for _ in range(2)]

        async def ready() -> int:
            declared = await channel.declare_queue(queue.name, passive=True)
            return int(declared.declaration_result.message_count or 0)

        async def settled() -> tuple[int] | None:  # every message delivered or ready
            count = await ready()
            return (count,) if count + 2 + inbox.qsize() == 5 else None

        # each check is a broker round trip
        (count,) = await wait_until_async(settled, "5 messages", pause=lambda: asyncio.sleep(0))
        assert (inbox.qsize(), count) == (0, 3)
        await first[0].ack()
        third = await asyncio.wait_for(inbox.get(), DEADLINE)
        assert [m.body for m in [*first, third]] == [b"0", b"1", b"2"]


# -- unacked messages on close ---------------------------------------------------------------------
def test_channel_close_requeues_unacked_in_order_redelivered(conn, ch, queue):
    consumer_ch = conn.channel()
    got = []
    consumer_ch.basic_consume(queue, lambda _c, m, _p, b: got.append(m.delivery_tag))
    publish_all(ch, queue, [1, 2, 3, 4, 5])
    pump_until(conn, lambda: len(got) == 5)
    consumer_ch.basic_ack(3)
    consumer_ch.close()
    wait_ready(ch, queue, 4)
    assert drain(ch, queue) == [(b"1", True), (b"2", True), (b"4", True), (b"5", True)]


def test_connection_close_requeues_unacked_in_order_redelivered(broker_url, ch, unique):
    name = unique("q")
    ch.queue_declare(name, auto_delete=False)
    try:
        publish_all(ch, name, [1, 2, 3])
        with pika.BlockingConnection(pika.URLParameters(broker_url)) as other:
            other_ch = other.channel()
            for _ in range(3):
                other_ch.basic_get(name)
            other_ch.basic_ack(2)
        wait_ready(ch, name, 2)  # the close is processed asynchronously
        assert drain(ch, name) == [(b"1", True), (b"3", True)]
    finally:
        ch.queue_delete(name)


# -- raw -------------------------------------------------------------------------------------------
def _raw_queue(c: RawAMQP, channel: int = 1) -> str:
    c.send_method(channel, commands.Queue.Declare(queue="", exclusive=True))
    _, ok = c.expect_method(commands.Queue.DeclareOk)
    return ok.queue


def test_raw_queue_delete_replies_delete_ok_then_basic_cancel_nowait(broker):
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        q = _raw_queue(c)
        c.send_method(1, commands.Basic.Consume(queue=q, consumer_tag="ct"))
        c.expect_method(commands.Basic.ConsumeOk)
        c.send_method(1, commands.Queue.Delete(queue=q))
        ch1, first = c.recv_frame()
        ch2, second = c.recv_frame()
        assert (ch1, type(first)) == (1, commands.Queue.DeleteOk)
        assert (ch2, type(second)) == (1, commands.Basic.Cancel)
        assert (second.consumer_tag, second.nowait) == ("ct", True)


def test_raw_no_basic_cancel_without_consumer_cancel_notify(broker):
    props = {"capabilities": {"publisher_confirms": True}}
    with RawAMQP.connect(broker.host, broker.port, client_properties=props) as c:
        c.open_channel(1)
        q = _raw_queue(c)
        c.send_method(1, commands.Basic.Consume(queue=q, consumer_tag="ct"))
        c.expect_method(commands.Basic.ConsumeOk)
        c.send_method(1, commands.Queue.Delete(queue=q))
        c.send_method(1, commands.Basic.Qos(prefetch_count=1))
        assert isinstance(c.recv_frame()[1], commands.Queue.DeleteOk)
        assert isinstance(c.recv_frame()[1], commands.Basic.QosOk)


def test_raw_reusing_consumer_tag_on_channel_is_530_connection_error(broker):
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        q = _raw_queue(c)
        c.send_method(1, commands.Basic.Consume(queue=q, consumer_tag="dup"))
        c.expect_method(commands.Basic.ConsumeOk)
        c.send_method(1, commands.Basic.Consume(queue=q, consumer_tag="dup"))
        close = c.expect_connection_close()
        assert (close.reply_code, close.reply_text, close.class_id, close.method_id) == (
            530,
            "NOT_ALLOWED - attempt to reuse consumer tag 'dup'",
            60,
            20,
        )


def test_raw_cancel_of_unknown_tag_replies_cancel_ok(broker):
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        c.send_method(1, commands.Basic.Cancel(consumer_tag="never-existed"))
        channel, ok = c.recv_frame()
        assert (channel, type(ok), ok.consumer_tag) == (1, commands.Basic.CancelOk, "never-existed")


def test_raw_no_local_is_accepted_and_ignored(broker):
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        q = _raw_queue(c)
        c.send_method(
            1, commands.Basic.Consume(queue=q, consumer_tag="nl", no_local=True, no_ack=True)
        )
        c.expect_method(commands.Basic.ConsumeOk)
        c.publish(1, "", q, b"own")
        _, deliver = c.expect_method(commands.Basic.Deliver)
        assert (deliver.consumer_tag, deliver.delivery_tag) == ("nl", 1)


def test_raw_consume_on_missing_queue_is_404(broker, unique):
    missing = unique("q")
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        c.send_method(1, commands.Basic.Consume(queue=missing))
        _, close = c.expect_channel_close()
        assert (close.reply_code, close.reply_text, close.class_id, close.method_id) == (
            404,
            f"NOT_FOUND - no queue '{missing}' in vhost '/'",
            60,
            20,
        )


def test_raw_get_ok_and_get_empty_frames(broker):
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        q = _raw_queue(c)
        c.send_method(1, commands.Basic.Get(queue=q))
        _, empty = c.recv_frame()
        assert type(empty) is commands.Basic.GetEmpty
        c.send_method(1, commands.Confirm.Select())
        c.expect_method(commands.Confirm.SelectOk)
        c.publish(1, "", q, b"body")
        c.expect_method(commands.Basic.Ack)
        c.send_method(1, commands.Basic.Get(queue=q, no_ack=True))
        _, get_ok = c.recv_frame()
        assert dict(get_ok) == {
            "delivery_tag": 1,
            "redelivered": False,
            "exchange": "",
            "routing_key": q,
            "message_count": 0,
        }
        frame_type, _, header = c.recv_raw_frame()
        assert (frame_type, header) == (2, RawAMQP.header_payload(4))
        assert c.recv_raw_frame() == (3, 1, b"body")


@pytest.mark.parametrize(
    ("method", "code", "text", "ids"),
    [
        (
            commands.Basic.Qos(prefetch_size=10),
            540,
            "NOT_IMPLEMENTED - prefetch_size!=0 (10)",
            (60, 10),
        ),
        (commands.Basic.Recover(requeue=False), 540, "NOT_IMPLEMENTED - requeue=false", (60, 110)),
    ],
    ids=["qos-prefetch-size", "recover-no-requeue"],
)
def test_raw_not_implemented_is_a_connection_close(broker, method, code, text, ids):
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        c.send_method(1, method)
        close = c.expect_connection_close()
        assert (close.reply_code, close.reply_text, (close.class_id, close.method_id)) == (
            code,
            text,
            ids,
        )
        assert c.wait_closed(5)


def test_raw_unknown_delivery_tag_close_ids(broker):
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        c.send_method(1, commands.Basic.Reject(delivery_tag=7))
        channel, close = c.expect_channel_close()
        assert (channel, close.reply_code, close.reply_text, close.class_id, close.method_id) == (
            1,
            406,
            "PRECONDITION_FAILED - unknown delivery tag 7",
            60,
            90,
        )
