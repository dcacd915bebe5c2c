"""Publisher confirms (confirm.select) and transactions (tx.*): pika, aio-pika and raw sockets.

Covers: every publish on a confirm channel is acked, with delivery tags 1..N (a multiple ack covers
every earlier tag); a mandatory unroutable publish is answered basic.return then basic.ack; tx
publishes are routed only on commit and dropped on rollback; acks/rejects in a tx take effect only
on commit and a rolled-back ack leaves the message unacked; the 406 errors for tx.commit/rollback
outside a tx and for mixing confirm and tx modes. Expected codes and texts are RabbitMQ 3.10's.
"""

from __future__ import annotations

from collections.abc import Callable

import aio_pika
import aiormq
import pika
import pika.exceptions
import pytest
from pamqp import commands
from rawamqp import RawAMQP

from amqpbroker.testing.polling import wait_until


@pytest.fixture
def queue(conn, unique: Callable[[str], str]) -> str:
    return conn.channel().queue_declare(unique("q"), exclusive=True).method.queue


def ready_count(conn, queue: str) -> int:
    channel = conn.channel()
    try:
        return channel.queue_declare(queue, passive=True).method.message_count
    finally:
        channel.close()


def drain_after_close(conn, queue: str, n: int) -> list[tuple[bytes, bool]]:
    """Wait (polling, one round trip per step) until ``n`` messages are ready, then drain them."""
    wait_until(lambda: ready_count(conn, queue) == n, f"{n} ready messages", pause=lambda: None)
    return drain(conn.channel(), queue)


def drain(ch, queue: str) -> list[tuple[bytes, bool]]:
    out = []
    while True:
        method, _props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            return out
        out.append((body, method.redelivered))


def channel_error(fn) -> tuple[int, str]:
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        fn()
    return info.value.reply_code, info.value.reply_text


def _raw_queue(c: RawAMQP, channel: int = 1) -> str:
    c.send_method(channel, commands.Queue.Declare(queue="", exclusive=True))
    _, ok = c.expect_method(commands.Queue.DeclareOk)
    return ok.queue


# -- confirms --------------------------------------------------------------------------------------
def test_confirm_mode_publishes_are_acked_pika(conn, queue):
    ch = conn.channel()
    ch.confirm_delivery()
    for i in range(5):
        ch.basic_publish("", queue, str(i).encode())  # raises on nack; returns after the ack
    assert ready_count(conn, queue) == 5


def test_confirm_mode_mandatory_unroutable_raises_unroutable_pika(conn, unique):
    ch = conn.channel()
    ch.confirm_delivery()
    rk = unique("nowhere")
    with pytest.raises(pika.exceptions.UnroutableError) as info:
        ch.basic_publish("", rk, b"lost", mandatory=True)
    [returned] = info.value.messages
    assert (returned.method.reply_code, returned.method.reply_text) == (312, "NO_ROUTE")
    assert (returned.method.routing_key, returned.body) == (rk, b"lost")
    assert ch.is_open


def test_confirm_mode_non_mandatory_unroutable_is_acked_pika(conn, unique):
    ch = conn.channel()
    ch.confirm_delivery()
    ch.basic_publish("", unique("nowhere"), b"dropped")
    assert ch.is_open


async def test_publisher_confirms_return_basic_ack_with_tags_aio_pika(broker_url, unique):
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()  # publisher_confirms=True by default
        queue = await channel.declare_queue(unique("q"), exclusive=True)
        tags = []
        for i in range(3):
            confirmation = await channel.default_exchange.publish(
                aio_pika.Message(str(i).encode()), routing_key=queue.name
            )
            assert isinstance(confirmation, aiormq.spec.Basic.Ack)
            tags.append(confirmation.delivery_tag)
        assert tags == [1, 2, 3]
        declared = await channel.declare_queue(queue.name, passive=True)
        assert declared.declaration_result.message_count == 3


def test_raw_confirm_delivery_tags_are_1_to_n(broker):
    n = 50
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        q = _raw_queue(c)
        c.send_method(1, commands.Confirm.Select())
        _, select_ok = c.recv_frame()
        assert type(select_ok) is commands.Confirm.SelectOk
        c.send(b"".join(RawAMQP.publish_bytes(1, "", q, b"%d" % i) for i in range(n)))
        confirmed: list[int] = []
        while len(confirmed) < n:
            channel, ack = c.recv_frame()
            assert (channel, type(ack)) == (1, commands.Basic.Ack)
            assert 1 <= ack.delivery_tag <= n and ack.delivery_tag not in confirmed
            if ack.multiple:
                newly = [t for t in range(1, ack.delivery_tag + 1) if t not in confirmed]
                assert newly, "a multiple ack must confirm something new"
                confirmed += newly
            else:
                confirmed.append(ack.delivery_tag)
        assert sorted(confirmed) == list(range(1, n + 1))


def test_raw_confirm_select_nowait_then_tags_start_at_1(broker):
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        q = _raw_queue(c)
        c.send_method(1, commands.Confirm.Select(nowait=True))
        c.publish(1, "", q, b"x")
        channel, ack = c.recv_frame()  # no select-ok comes first
        assert (channel, type(ack), ack.delivery_tag, ack.multiple) == (
            1,
            commands.Basic.Ack,
            1,
            False,
        )


def test_raw_confirm_select_twice_is_ok(broker):
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        for _ in range(2):
            c.send_method(1, commands.Confirm.Select())
            _, ok = c.recv_frame()
            assert type(ok) is commands.Confirm.SelectOk


def test_raw_mandatory_unroutable_in_confirm_mode_is_return_then_ack(broker, unique):
    rk = unique("nowhere")
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        c.send_method(1, commands.Confirm.Select())
        c.expect_method(commands.Confirm.SelectOk)
        c.publish(1, "", rk, b"lost", mandatory=True)
        _, ret = c.recv_frame()
        assert dict(ret) == {
            "reply_code": 312,
            "reply_text": "NO_ROUTE",
            "exchange": "",
            "routing_key": rk,
        }
        assert c.recv_raw_frame() == (2, 1, RawAMQP.header_payload(4))
        assert c.recv_raw_frame() == (3, 1, b"lost")
        _, ack = c.recv_frame()
        assert (type(ack), ack.delivery_tag, ack.multiple) == (commands.Basic.Ack, 1, False)


def test_raw_publish_to_missing_exchange_in_confirm_mode_closes_channel(broker, unique):
    missing = unique("nox")
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        c.send_method(1, commands.Confirm.Select())
        c.expect_method(commands.Confirm.SelectOk)
        c.publish(1, missing, "rk", b"x")
        channel, close = c.recv_frame()  # no ack/nack first
        assert (channel, type(close)) == (1, commands.Channel.Close)
        assert (close.reply_code, close.reply_text, close.class_id, close.method_id) == (
            404,
            f"NOT_FOUND - no exchange '{missing}' in vhost '/'",
            60,
            40,
        )


# -- mixing modes ----------------------------------------------------------------------------------
def test_tx_select_on_confirm_channel_is_406(conn):
    ch = conn.channel()
    ch.confirm_delivery()
    code, text = channel_error(ch.tx_select)
    assert (code, text) == (406, "PRECONDITION_FAILED - cannot switch from confirm to tx mode")


def test_confirm_select_on_tx_channel_is_406(conn):
    ch = conn.channel()
    ch.tx_select()
    code, text = channel_error(ch.confirm_delivery)
    assert (code, text) == (406, "PRECONDITION_FAILED - cannot switch from tx to confirm mode")


@pytest.mark.parametrize(
    ("first", "second", "text", "ids"),
    [
        (
            commands.Confirm.Select(),
            commands.Tx.Select(),
            "PRECONDITION_FAILED - cannot switch from confirm to tx mode",
            (90, 10),
        ),
        (
            commands.Tx.Select(),
            commands.Confirm.Select(),
            "PRECONDITION_FAILED - cannot switch from tx to confirm mode",
            (85, 10),
        ),
    ],
    ids=["confirm-then-tx", "tx-then-confirm"],
)
def test_raw_mode_switch_close_ids(broker, first, second, text, ids):
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        c.send_method(1, first)
        c.recv_frame()
        c.send_method(1, second)
        _, close = c.expect_channel_close()
        assert (close.reply_code, close.reply_text, (close.class_id, close.method_id)) == (
            406,
            text,
            ids,
        )


# -- transactions ----------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["tx_commit", "tx_rollback"])
def test_tx_commit_or_rollback_without_select_is_406(conn, method):
    ch = conn.channel()
    code, text = channel_error(getattr(ch, method))
    assert (code, text) == (406, "PRECONDITION_FAILED - channel is not transactional")


@pytest.mark.parametrize(
    ("method", "ids"),
    [(commands.Tx.Commit(), (90, 20)), (commands.Tx.Rollback(), (90, 30))],
    ids=["commit", "rollback"],
)
def test_raw_tx_without_select_close_ids(broker, method, ids):
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        c.send_method(1, method)
        _, close = c.expect_channel_close()
        assert (close.reply_code, close.reply_text, (close.class_id, close.method_id)) == (
            406,
            "PRECONDITION_FAILED - channel is not transactional",
            ids,
        )


def test_tx_select_twice_and_empty_commit_rollback_are_ok(conn):
    ch = conn.channel()
    ch.tx_select()
    ch.tx_select()
    ch.tx_commit()
    ch.tx_rollback()
    ch.tx_commit()
    assert ch.is_open


def test_tx_publishes_are_routed_only_on_commit(conn, queue):
    ch = conn.channel()
    ch.tx_select()
    for i in range(3):
        ch.basic_publish("", queue, str(i).encode())
    assert ready_count(conn, queue) == 0
    ch.tx_commit()
    assert ready_count(conn, queue) == 3
    assert [b for b, _ in drain(ch, queue)] == [b"0", b"1", b"2"]


def test_tx_rollback_drops_publishes(conn, queue):
    ch = conn.channel()
    ch.tx_select()
    ch.basic_publish("", queue, b"rolled-back")
    ch.tx_rollback()
    ch.basic_publish("", queue, b"kept")
    ch.tx_commit()
    assert drain(ch, queue) == [(b"kept", False)]


def test_tx_publishes_dropped_when_channel_closes_uncommitted(conn, queue):
    ch = conn.channel()
    ch.tx_select()
    ch.basic_publish("", queue, b"never")
    ch.close()
    assert ready_count(conn, queue) == 0


def _get_unacked(conn, queue, bodies):
    ch = conn.channel()
    for b in bodies:
        ch.basic_publish("", queue, b)
    tags = [ch.basic_get(queue)[0].delivery_tag for _ in bodies]
    ch.tx_select()
    return ch, tags


def test_tx_ack_takes_effect_on_commit(conn, queue):
    ch, tags = _get_unacked(conn, queue, [b"a", b"b"])
    ch.basic_ack(tags[0])
    ch.tx_commit()
    ch.close()  # only the un-acked b comes back
    assert drain_after_close(conn, queue, 1) == [(b"b", True)]


def test_tx_ack_not_applied_when_channel_closes_uncommitted(conn, queue):
    ch, tags = _get_unacked(conn, queue, [b"a", b"b"])
    ch.basic_ack(tags[0])
    ch.close()
    assert drain_after_close(conn, queue, 2) == [(b"a", True), (b"b", True)]


def test_tx_rolled_back_ack_leaves_message_unacked(conn, queue):
    ch, tags = _get_unacked(conn, queue, [b"a"])
    ch.basic_ack(tags[0])
    ch.tx_rollback()
    assert ready_count(conn, queue) == 0  # not requeued by the rollback: still unacked
    ch.basic_ack(tags[0])  # and ackable again
    ch.tx_commit()
    ch.close()
    assert ready_count(conn, queue) == 0


def test_tx_rolled_back_ack_requeues_on_close(conn, queue):
    ch, tags = _get_unacked(conn, queue, [b"a"])
    ch.basic_ack(tags[0])
    ch.tx_rollback()
    ch.close()
    assert drain_after_close(conn, queue, 1) == [(b"a", True)]


def test_tx_reject_requeue_takes_effect_on_commit(conn, queue):
    ch, tags = _get_unacked(conn, queue, [b"a"])
    ch.basic_reject(tags[0], requeue=True)
    assert ready_count(conn, queue) == 0
    ch.tx_commit()
    assert ready_count(conn, queue) == 1


def test_tx_double_ack_is_406_at_the_second_ack(conn, queue):
    ch, tags = _get_unacked(conn, queue, [b"a"])
    ch.basic_ack(tags[0])
    ch.basic_ack(tags[0])
    code, text = channel_error(ch.tx_commit)
    assert (code, text) == (406, f"PRECONDITION_FAILED - unknown delivery tag {tags[0]}")


async def test_tx_commit_and_rollback_aio_pika(broker_url, unique):
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel(publisher_confirms=False)
        queue = await channel.declare_queue(unique("q"), exclusive=True)
        async with channel.transaction():
            await channel.default_exchange.publish(aio_pika.Message(b"c"), routing_key=queue.name)
            declared = await channel.declare_queue(queue.name, passive=True)
            assert declared.declaration_result.message_count == 0
        tx = channel.transaction()
        await tx.select()
        await channel.default_exchange.publish(aio_pika.Message(b"r"), routing_key=queue.name)
        await tx.rollback()
        declared = await channel.declare_queue(queue.name, passive=True)
        assert declared.declaration_result.message_count == 1
        msg = await queue.get(no_ack=True)
        assert msg.body == b"c"


async def test_tx_commit_without_select_aio_pika(broker_url):
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel(publisher_confirms=False)
        underlay = await channel.get_underlay_channel()
        with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed) as info:
            await underlay.tx_commit()
        assert info.value.args[0] == "PRECONDITION_FAILED - channel is not transactional"


def test_raw_tx_mandatory_unroutable_returned_at_commit_before_commit_ok(broker, unique):
    rk = unique("nowhere")
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        c.send_method(1, commands.Tx.Select())
        c.expect_method(commands.Tx.SelectOk)
        c.publish(1, "", rk, b"lost", mandatory=True)
        c.send_method(1, commands.Basic.Qos(prefetch_count=1))
        _, qos_ok = c.recv_frame()  # nothing is returned before the commit
        assert type(qos_ok) is commands.Basic.QosOk
        c.send_method(1, commands.Tx.Commit())
        _, ret = c.recv_frame()
        assert (type(ret), ret.reply_code, ret.reply_text, ret.routing_key) == (
            commands.Basic.Return,
            312,
            "NO_ROUTE",
            rk,
        )
        assert c.recv_raw_frame() == (2, 1, RawAMQP.header_payload(4))
        assert c.recv_raw_frame() == (3, 1, b"lost")
        _, commit_ok = c.recv_frame()
        assert type(commit_ok) is commands.Tx.CommitOk
