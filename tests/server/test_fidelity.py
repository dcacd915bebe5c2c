"""Smaller RabbitMQ behaviours found by replaying the reference catalogue against this broker.

Each was observed on RabbitMQ 3.10.8 first (the tests pass against it with
AMQPBROKER_TEST_URL set).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pika
import pika.exceptions
import pytest
from pamqp import commands
from pamqp.body import ContentBody
from pamqp.header import ContentHeader
from rawamqp import PROTOCOL_HEADER, RawAMQP

METHOD = 1


def method_frames(c: RawAMQP, count: int) -> list[Any]:
    """The next ``count`` method frames, skipping content headers and bodies."""
    found: list[Any] = []
    while len(found) < count:
        _, frame = c.recv_frame()
        if not isinstance(frame, ContentHeader | ContentBody):
            found.append(frame)
    return found


def test_recover_ok_comes_before_the_redeliveries(
    broker: Any, unique: Callable[[str], str]
) -> None:
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        c.send_method(1, commands.Queue.Declare(queue=unique("q"), exclusive=True))
        _, ok = c.expect_method(commands.Queue.DeclareOk)
        c.publish(1, "", ok.queue, b"a")
        c.send_method(1, commands.Basic.Consume(queue=ok.queue, consumer_tag="A"))
        c.expect_method(commands.Basic.ConsumeOk)
        _, first = c.expect_method(commands.Basic.Deliver)
        c.send_method(1, commands.Basic.Recover(requeue=True))
        frames = method_frames(c, 2)
        assert isinstance(frames[0], commands.Basic.RecoverOk)
        assert isinstance(frames[1], commands.Basic.Deliver)
        assert (frames[1].delivery_tag, frames[1].redelivered) == (first.delivery_tag + 1, True)


def test_access_request_from_old_clients_is_granted(broker: Any) -> None:
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        c.send_frame(METHOD, 1, RawAMQP.method_payload(30, 10, b"\x01/" + b"\x1f"))
        frame_type, channel, payload = c.recv_raw_frame()
        assert (frame_type, channel, payload) == (METHOD, 1, struct.pack(">HHH", 30, 11, 1))


def test_publish_with_unknown_delivery_mode_is_precondition_failed(
    broker_url: str, unique: Callable[[str], str]
) -> None:
    with pika.BlockingConnection(pika.URLParameters(broker_url)) as conn:
        ch = conn.channel()
        queue = ch.queue_declare(unique("q"), exclusive=True).method.queue
        ch.basic_publish("", queue, b"x", pika.BasicProperties(delivery_mode=3))
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
            ch.queue_declare(queue, passive=True)
    assert (info.value.reply_code, info.value.reply_text) == (
        406,
        "PRECONDITION_FAILED - invalid message: {delivery_mode_unknown,3}",
    )


def test_consumer_priority_must_be_an_integer(
    broker_url: str, unique: Callable[[str], str]
) -> None:
    with pika.BlockingConnection(pika.URLParameters(broker_url)) as conn:
        ch = conn.channel()
        queue = ch.queue_declare(unique("q"), exclusive=True).method.queue
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
            ch.basic_consume(queue, lambda *_: None, arguments={"x-priority": "abc"})
    assert (info.value.reply_code, info.value.reply_text) == (
        406,
        f"PRECONDITION_FAILED - invalid arg 'x-priority' for queue '{queue}' in vhost '/': "
        '"expected integer, got longstr"',
    )


def test_queue_name_with_invalid_utf8_is_frame_error(broker: Any) -> None:
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        args = struct.pack(">HB", 0, 2) + b"\xff\xfe" + b"\x00" + struct.pack(">I", 0)
        c.send_frame(METHOD, 1, RawAMQP.method_payload(50, 10, args))
        close = c.expect_connection_close()
    assert (close.reply_code, close.reply_text, close.class_id, close.method_id) == (
        501,
        "FRAME_ERROR - Malformed UTF-8 in shortstr",
        0,
        0,
    )


def test_content_header_with_nonzero_weight_is_unexpected_frame(broker: Any) -> None:
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        publish = RawAMQP.publish_bytes(1, "", "q", b"")
        method_frame = publish[: 7 + struct.unpack(">I", publish[3:7])[0] + 1]
        header = struct.pack(">HHQH", 60, 5, 0, 0)
        c.send(method_frame)
        c.send_frame(2, 1, header)
        close = c.expect_connection_close()
    assert (close.reply_code, close.class_id, close.method_id) == (505, 60, 40)
    assert close.reply_text == (
        "UNEXPECTED_FRAME - expected content header for class 60, "
        "got non content header frame instead"
    )


def test_trace_exchange_exists_and_is_internal(broker_url: str) -> None:
    with pika.BlockingConnection(pika.URLParameters(broker_url)) as conn:
        ch = conn.channel()
        ch.exchange_declare("amq.rabbitmq.trace", passive=True)
        ch.basic_publish("amq.rabbitmq.trace", "k", b"x")
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
            ch.exchange_declare("amq.rabbitmq.trace", passive=True)
    assert (info.value.reply_code, info.value.reply_text) == (
        403,
        "ACCESS_REFUSED - cannot publish to internal exchange 'amq.rabbitmq.trace' in vhost '/'",
    )


@pytest.mark.parametrize(
    "response",
    [b"guest\x00guest\x00guest", b"\x00guest\x00guest\x00", b"guest"],
    ids=["authzid", "trailing-nul", "no-nul"],
)
def test_plain_response_not_nul_user_nul_password_is_dropped(broker: Any, response: bytes) -> None:
    with RawAMQP(broker.host, broker.port) as c:
        c.send(PROTOCOL_HEADER)
        c.expect_method(commands.Connection.Start)
        c.send_method(
            0,
            commands.Connection.StartOk(
                client_properties={"capabilities": {"authentication_failure_close": True}},
                mechanism="PLAIN",
                response=response.decode(),
            ),
        )
        with pytest.raises(EOFError):
            c.recv_frame(timeout=8)


def test_tune_ok_frame_max_zero_is_dropped(broker: Any) -> None:
    """0 means "no limit", which is more than the broker offered."""
    with RawAMQP(broker.host, broker.port) as c:
        c.send(PROTOCOL_HEADER)
        c.expect_method(commands.Connection.Start)
        c.send_method(0, commands.Connection.StartOk(response="\x00guest\x00guest"))
        _, tune = c.expect_method(commands.Connection.Tune)
        c.send_method(0, commands.Connection.TuneOk(tune.channel_max, 0, 0))
        c.send_method(0, commands.Connection.Open())
        with pytest.raises(EOFError):
            c.recv_frame(timeout=8)
