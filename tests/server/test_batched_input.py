"""Publishes and acks that arrive together are handled as a run (one dispatch at its end):
what clients see must be what one-at-a-time handling gives."""

from __future__ import annotations

from pamqp import commands
from pamqp import frame as pframe
from rawamqp import RawAMQP

from amqpbroker.protocol.fastcodec import encode_confirm


def consuming(c: RawAMQP, prefetch: int) -> str:
    c.open_channel(1)
    c.send_method(1, commands.Queue.Declare(queue="", exclusive=True))
    _, ok = c.expect_method(commands.Queue.DeclareOk)
    c.send_method(1, commands.Basic.Qos(prefetch_count=prefetch))
    c.expect_method(commands.Basic.QosOk)
    c.send_method(1, commands.Basic.Consume(queue=ok.queue, consumer_tag="c"))
    c.expect_method(commands.Basic.ConsumeOk)
    return str(ok.queue)


def delivered_body(c: RawAMQP) -> tuple[int, bytes]:
    _, deliver = c.expect_method(commands.Basic.Deliver)
    c.recv_frame()  # content header
    _, body = c.recv_frame()
    return deliver.delivery_tag, body.value


def test_deliveries_an_ack_frees_come_before_the_reply_to_a_later_command(broker):
    with RawAMQP.connect(broker.host, broker.port) as c:
        queue = consuming(c, prefetch=1)
        c.send(b"".join(RawAMQP.publish_bytes(1, "", queue, b"%d" % i) for i in range(3)))
        assert delivered_body(c) == (1, b"0")
        # The ack frees room for message 1; the cancel that follows in the same write is
        # answered after that delivery, as when each frame arrives on its own.
        cancel = pframe.marshal(commands.Basic.Cancel(consumer_tag="c"), 1)
        c.send(encode_confirm(1, 1, multiple=False) + cancel)
        assert delivered_body(c) == (2, b"1")
        c.expect_method(commands.Basic.CancelOk)


def test_a_run_of_acks_and_publishes_keeps_every_message_in_order(broker):
    with RawAMQP.connect(broker.host, broker.port) as c:
        queue = consuming(c, prefetch=10)
        c.send(b"".join(RawAMQP.publish_bytes(1, "", queue, b"%d" % i) for i in range(10)))
        received = [delivered_body(c) for _ in range(10)]
        # Acks of all ten and ten more publishes in one write.
        acks = b"".join(encode_confirm(1, tag, multiple=False) for tag, _ in received)
        more = b"".join(RawAMQP.publish_bytes(1, "", queue, b"%d" % i) for i in range(10, 20))
        c.send(acks + more)
        received += [delivered_body(c) for _ in range(10)]
        assert received == [(i + 1, b"%d" % i) for i in range(20)]


def test_an_unknown_tag_in_a_run_of_acks_closes_the_channel_406(broker):
    with RawAMQP.connect(broker.host, broker.port) as c:
        queue = consuming(c, prefetch=10)
        c.publish(1, "", queue, b"x")
        assert delivered_body(c) == (1, b"x")
        c.send(encode_confirm(1, 1, multiple=False) + encode_confirm(1, 7, multiple=False))
        _, close = c.expect_channel_close()
        assert (close.reply_code, close.reply_text) == (
            406,
            "PRECONDITION_FAILED - unknown delivery tag 7",
        )
        assert (close.class_id, close.method_id) == (60, 80)


def test_an_ack_inside_a_publish_is_an_unexpected_frame(broker):
    with RawAMQP.connect(broker.host, broker.port) as c:
        consuming(c, prefetch=10)
        method = RawAMQP.publish_bytes(1, "", "q", b"body").split(b"\xce")[0] + b"\xce"
        c.send(method + encode_confirm(1, 1, multiple=False))
        close = c.expect_connection_close()
        assert close.reply_code == 505
        assert close.reply_text == (
            "UNEXPECTED_FRAME - expected content header for class 60, "
            "got non content header frame instead"
        )


def test_acks_for_a_queue_with_several_consumers_are_seen_one_by_one(broker):
    """As RabbitMQ: low's ack frees it first, so m2 goes to low although high outranks it."""
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        c.send_method(1, commands.Queue.Declare(queue="", exclusive=True))
        _, ok = c.expect_method(commands.Queue.DeclareOk)
        c.send(b"".join(RawAMQP.publish_bytes(1, "", ok.queue, b"m%d" % i) for i in range(4)))
        c.send_method(1, commands.Basic.Qos(prefetch_count=1))
        c.expect_method(commands.Basic.QosOk)
        first = []
        for tag, priority in (("low", 0), ("high", 1)):
            arguments = {"x-priority": priority}
            consume = commands.Basic.Consume(queue=ok.queue, consumer_tag=tag, arguments=arguments)
            c.send_method(1, consume)
            c.expect_method(commands.Basic.ConsumeOk)
            first.append(consumed(c))
        assert first == [("low", 1, b"m0"), ("high", 2, b"m1")]
        c.send(encode_confirm(1, 1, multiple=False) + encode_confirm(1, 2, multiple=False))
        assert [consumed(c) for _ in range(2)] == [("low", 3, b"m2"), ("high", 4, b"m3")]


def consumed(c: RawAMQP) -> tuple[str, int, bytes]:
    _, deliver = c.expect_method(commands.Basic.Deliver)
    c.recv_frame()  # content header
    _, body = c.recv_frame()
    return deliver.consumer_tag, deliver.delivery_tag, body.value
