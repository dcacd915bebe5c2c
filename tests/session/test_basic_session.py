"""basic.* in the session layer: get, consume/cancel, ack/nack/reject, qos, recover, and the
requeue order (tests/server/test_basic.py asserts the same over sockets)."""

from __future__ import annotations

import pytest
from pamqp import commands
from sessionutil import bodies, got, props, tags

from amqpbroker.testing.harness import Client, ClientChannel


@pytest.fixture
def q(ch: ClientChannel) -> str:
    return str(ch.declare("", exclusive=True).queue)


def publish_all(ch: ClientChannel, queue: str, count: int) -> None:
    for i in range(1, count + 1):
        assert ch.publish(str(i).encode(), queue)


def drain(ch: ClientChannel, queue: str) -> list[tuple[bytes, bool]]:
    out = []
    while (message := ch.get(queue)) is not None:
        out.append((message.body, message.method.redelivered))
    return out


# -- publish -------------------------------------------------------------------------------------
def test_publish_to_missing_exchange_closes_the_channel_only(client, ch):
    ch.publish(b"x", "rk", exchange="nox")
    close = ch.expect_close(404)
    assert close.reply_text == "NOT_FOUND - no exchange 'nox' in vhost '/'"
    assert not client.closed
    client.channel()


def test_mandatory_unroutable_is_returned_312_no_route(ch):
    ch.exchange("ex", "direct", auto_delete=True)
    assert ch.publish(
        b"lost", "nowhere", exchange="ex", properties=props(message_id="m1"), mandatory=True
    )
    [returned] = ch.deliveries()
    assert (returned.method.reply_code, returned.method.reply_text) == (312, "NO_ROUTE")
    assert (returned.method.exchange, returned.method.routing_key) == ("ex", "nowhere")
    assert (returned.body, returned.properties.message_id) == (b"lost", "m1")


def test_non_mandatory_unroutable_is_dropped_silently(ch):
    assert ch.publish(b"lost", "nowhere")
    assert ch.received() == []


# -- consume and cancel --------------------------------------------------------------------------
def test_consume_with_empty_tag_generates_amq_ctag(ch, q):
    assert ch.consume(q).startswith("amq.ctag-")


def test_consume_with_explicit_tag_delivers_with_that_tag(ch, q):
    ch.consume(q, "mine")
    ch.publish(b"x", q)
    [delivery] = ch.deliveries()
    assert (delivery.method.consumer_tag, delivery.method.delivery_tag) == ("mine", 1)


def test_exclusive_consumer_refuses_a_second_consumer_403(ch, q):
    ch.consume(q, exclusive=True)
    other = ch.client.channel()
    other.send(commands.Basic.Consume(queue=q))
    assert other.expect_close(403).reply_text == (
        f"ACCESS_REFUSED - queue '{q}' in vhost '/' in exclusive use"
    )


def test_exclusive_consume_on_queue_with_consumer_is_403(ch, q):
    ch.consume(q)
    other = ch.client.channel()
    other.send(commands.Basic.Consume(queue=q, exclusive=True))
    assert other.expect_close(403).reply_text == (
        f"ACCESS_REFUSED - queue '{q}' in vhost '/' in exclusive use"
    )


def test_no_ack_consumer_messages_are_not_requeued(ch, q):
    consumer = ch.client.channel()
    consumer.consume(q, no_ack=True)
    publish_all(ch, q, 2)
    assert len(consumer.deliveries()) == 2
    consumer.close()
    assert ch.message_count(q) == 0


def test_cancel_returns_tag_and_stops_deliveries(ch, q):
    consumer = ch.client.channel()
    tag = consumer.consume(q, no_ack=True)
    cancel = commands.Basic.Cancel(consumer_tag=tag)
    assert consumer.call(cancel, commands.Basic.CancelOk).consumer_tag == tag
    ch.publish(b"x", q)
    assert consumer.deliveries() == []
    assert ch.message_count(q) == 1


def test_queue_delete_replies_delete_ok_then_basic_cancel_nowait(ch, q):
    ch.consume(q, "ct")
    ch.send(commands.Queue.Delete(queue=q))
    first, second = ch.received()
    assert isinstance(first, commands.Queue.DeleteOk)
    assert isinstance(second, commands.Basic.Cancel)
    assert (second.consumer_tag, second.nowait) == ("ct", True)


def test_no_basic_cancel_without_consumer_cancel_notify(broker):
    ch = broker.connect(capabilities={"publisher_confirms": True}).channel()
    q = str(ch.declare("", exclusive=True).queue)
    ch.consume(q, "ct")
    ch.send(commands.Queue.Delete(queue=q))
    ch.send(commands.Basic.Qos(prefetch_count=1))
    assert [type(m) for m in ch.received()] == [commands.Queue.DeleteOk, commands.Basic.QosOk]


def test_reusing_consumer_tag_on_channel_is_530_connection_error(client, ch, q):
    ch.consume(q, "dup")
    ch.send(commands.Basic.Consume(queue=q, consumer_tag="dup"))
    close = client.expect_close(530)
    assert (close.reply_text, close.class_id, close.method_id) == (
        "NOT_ALLOWED - attempt to reuse consumer tag 'dup'",
        60,
        20,
    )
    assert client.closed


def test_cancel_of_unknown_tag_replies_cancel_ok(ch):
    cancel = commands.Basic.Cancel(consumer_tag="never-existed")
    assert ch.call(cancel, commands.Basic.CancelOk).consumer_tag == "never-existed"


def test_no_local_is_accepted_and_ignored(ch, q):
    ch.consume(q, "nl", no_local=True, no_ack=True)
    ch.publish(b"own", q)
    [delivery] = ch.deliveries()
    assert (delivery.method.consumer_tag, delivery.method.delivery_tag) == ("nl", 1)


def test_consume_on_missing_queue_is_404(ch):
    ch.send(commands.Basic.Consume(queue="missing"))
    close = ch.expect_close(404)
    assert (close.reply_text, close.class_id, close.method_id) == (
        "NOT_FOUND - no queue 'missing' in vhost '/'",
        60,
        20,
    )


# -- get -----------------------------------------------------------------------------------------
def test_get_ok_fields_and_get_empty(ch, q):
    assert ch.get(q) is None
    ch.publish(b"body", q)
    message = got(ch, q)
    assert dict(message.method) == {
        "delivery_tag": 1,
        "redelivered": False,
        "exchange": "",
        "routing_key": q,
        "message_count": 0,
    }
    assert (message.body, message.body_size) == (b"body", 4)


def test_get_ok_carries_remaining_message_count(ch, q):
    publish_all(ch, q, 3)
    assert [got(ch, q).method.message_count for _ in range(3)] == [2, 1, 0]


def test_get_of_requeued_message_is_redelivered(ch, q):
    ch.publish(b"x", q)
    ch.nack(got(ch, q, no_ack=False).method.delivery_tag, requeue=True)
    assert drain(ch, q) == [(b"x", True)]


# -- settling ------------------------------------------------------------------------------------
def test_nack_requeue_puts_messages_back_in_original_position(ch, q):
    publish_all(ch, q, 3)
    taken = [got(ch, q, no_ack=False) for _ in range(2)]
    ch.nack(taken[1].method.delivery_tag, multiple=True, requeue=True)
    assert drain(ch, q) == [(b"1", True), (b"2", True), (b"3", False)]


def test_nack_of_2_and_4_requeues_them_in_publish_order(ch, q):
    publish_all(ch, q, 5)
    taken = tags([got(ch, q, no_ack=False) for _ in range(5)])
    ch.nack(taken[3], requeue=True)
    ch.nack(taken[1], requeue=True)
    assert drain(ch, q) == [(b"2", True), (b"4", True)]


def test_reject_and_nack_without_requeue_drop_messages(ch, q):
    publish_all(ch, q, 3)
    taken = tags([got(ch, q, no_ack=False) for _ in range(3)])
    ch.reject(taken[0], requeue=False)
    ch.nack(taken[2], multiple=True, requeue=False)
    assert ch.message_count(q) == 0


def test_ack_multiple_with_tag_zero_acks_all_outstanding(client, ch, q):
    consumer = client.channel()
    consumer.consume(q)
    publish_all(ch, q, 3)
    assert len(consumer.deliveries()) == 3
    consumer.ack(0, multiple=True)
    consumer.close()
    assert ch.message_count(q) == 0


@pytest.mark.parametrize(
    ("settle", "ids"),
    [
        (commands.Basic.Ack(delivery_tag=99), (60, 80)),
        (commands.Basic.Nack(delivery_tag=99), (60, 120)),
        (commands.Basic.Reject(delivery_tag=99, requeue=False), (60, 90)),
        (commands.Basic.Ack(delivery_tag=99, multiple=True), (60, 80)),
    ],
    ids=["ack", "nack", "reject", "ack-multiple"],
)
def test_unknown_delivery_tag_is_406(ch, settle, ids):
    ch.send(settle)
    close = ch.expect_close(406)
    assert (close.reply_text, (close.class_id, close.method_id)) == (
        "PRECONDITION_FAILED - unknown delivery tag 99",
        ids,
    )


def test_ack_of_tag_zero_without_multiple_is_406(ch):
    ch.ack(0)
    assert ch.expect_close(406).reply_text == "PRECONDITION_FAILED - unknown delivery tag 0"


@pytest.mark.parametrize("no_ack", [False, True], ids=["double-ack", "auto-acked"])
def test_ack_of_a_settled_delivery_is_406(ch, q, no_ack):
    ch.publish(b"x", q)
    tag = got(ch, q, no_ack=no_ack).method.delivery_tag
    if not no_ack:
        ch.ack(tag)
    ch.ack(tag)
    assert ch.expect_close(406).reply_text == f"PRECONDITION_FAILED - unknown delivery tag {tag}"


# -- recover and qos -----------------------------------------------------------------------------
def test_recover_requeue_redelivers_unacked_with_redelivered(ch, q):
    ch.consume(q)
    publish_all(ch, q, 3)
    assert tags(ch.deliveries()) == [1, 2, 3]
    ch.ack(2)
    ch.call(commands.Basic.Recover(requeue=True), commands.Basic.RecoverOk)
    again = ch.deliveries()
    assert [(d.method.delivery_tag, d.method.redelivered, d.body) for d in again] == [
        (4, True, b"1"),
        (5, True, b"3"),
    ]


@pytest.mark.parametrize(
    ("method", "text", "ids"),
    [
        (commands.Basic.Qos(prefetch_size=10), "NOT_IMPLEMENTED - prefetch_size!=0 (10)", (60, 10)),
        (commands.Basic.Recover(requeue=False), "NOT_IMPLEMENTED - requeue=false", (60, 110)),
    ],
    ids=["qos-prefetch-size", "recover-no-requeue"],
)
def test_not_implemented_is_a_connection_close(client, ch, method, text, ids):
    ch.send(method)
    close = client.expect_close(540)
    assert (close.reply_text, (close.class_id, close.method_id)) == (text, ids)
    assert client.closed


def test_prefetch_count_limits_unacked_per_consumer(ch, q):
    publish_all(ch, q, 10)
    ch.qos(2)
    ch.consume(q, "x")
    ch.consume(q, "y")
    delivered = ch.deliveries()
    assert sorted(d.method.consumer_tag for d in delivered) == ["x", "x", "y", "y"]
    assert ch.message_count(q) == 6


def test_acking_frees_a_prefetch_slot(ch, q):
    publish_all(ch, q, 3)
    ch.qos(1)
    ch.consume(q)
    [first] = ch.deliveries()
    assert ch.message_count(q) == 2
    ch.ack(first.method.delivery_tag)
    assert bodies(ch.deliveries()) == [b"2"]
    assert ch.message_count(q) == 1


def test_global_prefetch_limits_unacked_per_channel(ch, q):
    publish_all(ch, q, 10)
    ch.qos(3, global_=True)
    ch.consume(q, "x")
    ch.consume(q, "y")
    assert len(ch.deliveries()) == 3
    assert ch.message_count(q) == 7


def test_a_per_consumer_prefetch_lifts_the_global_one(ch, q):
    """RabbitMQ 3.10: basic.qos global=false after global=true leaves no channel-wide limit
    (interop scenario prefetch.global_then_consumer_prefetch)."""
    publish_all(ch, q, 10)
    ch.qos(3, global_=True)
    ch.qos(2)
    ch.consume(q, "x")
    ch.consume(q, "y")
    assert len(ch.deliveries()) == 4


def test_a_global_prefetch_set_later_counts_unacked_gets_for_good(ch, q):
    """Unacked basic.get deliveries fill a channel-wide limit set after them, and acking them
    frees nothing (RabbitMQ's limiter counts the channel's unacked when the limit is set)."""
    publish_all(ch, q, 6)
    first, second = ch.get(q, no_ack=False), ch.get(q, no_ack=False)
    assert first is not None and second is not None
    ch.qos(2, global_=True)
    ch.consume(q, "x")
    assert ch.deliveries() == []
    ch.ack(first.method.delivery_tag)
    ch.ack(second.method.delivery_tag)
    assert ch.deliveries() == []
    ch.qos(3, global_=True)
    assert bodies(ch.deliveries()) == [b"3"]


def test_round_robin_skips_consumer_at_prefetch_limit(ch, q):
    publish_all(ch, q, 6)
    ch.qos(1)
    for tag in "abc":
        ch.consume(q, tag)
    seen: dict[str, list[bytes]] = {"a": [], "b": [], "c": []}
    while delivered := ch.deliveries():
        for delivery in delivered:
            seen[delivery.method.consumer_tag].append(delivery.body)
            if delivery.method.consumer_tag != "a":  # 'a' never acks
                ch.ack(delivery.method.delivery_tag)
    assert seen["a"] == [b"1"]
    assert (seen["b"][0], seen["c"][0]) == (b"2", b"3")
    assert sorted(seen["b"] + seen["c"]) == [b"2", b"3", b"4", b"5", b"6"]


# -- unacked messages on close -------------------------------------------------------------------
def test_channel_close_requeues_unacked_in_order_redelivered(ch, q):
    consumer = ch.client.channel()
    consumer.consume(q)
    publish_all(ch, q, 5)
    assert len(consumer.deliveries()) == 5
    consumer.ack(3)
    consumer.close()
    assert drain(ch, q) == [(b"1", True), (b"2", True), (b"4", True), (b"5", True)]


@pytest.mark.parametrize("how", ["close", "drop"])
def test_connection_end_requeues_unacked_in_order_redelivered(broker, ch, how):
    ch.declare("shared")
    publish_all(ch, "shared", 3)
    other: Client = broker.connect()
    taker = other.channel()
    taken = tags([got(taker, "shared", no_ack=False) for _ in range(3)])
    taker.ack(taken[1])
    if how == "close":
        other.close()
    else:
        other.drop()
    assert other.closed
    assert drain(ch, "shared") == [(b"1", True), (b"3", True)]
