"""max_message_size in the session layer: a content header announcing a larger body closes
the channel with RabbitMQ 3.10.8's 406 (text recorded on the reference broker with 128 MiB +
1 octet); the body frames that follow are dropped, and the connection goes on."""

from __future__ import annotations

from pamqp import commands

from amqpbroker.testing.harness import SessionBroker

TOO_BIG = "PRECONDITION_FAILED - message size 101 is larger than configured max size 100"


def test_a_body_over_the_limit_closes_the_channel_whole_publish() -> None:
    broker = SessionBroker(max_message_size=100)
    client = broker.connect()
    ch = client.channel()
    ch.declare("q")
    ch.publish(b"x" * 100, "q")  # at the limit: taken
    ch.publish(b"x" * 101, "q")  # frames arriving together: the fast path leaves it
    close = ch.expect_close(406)
    assert (close.reply_text, close.class_id, close.method_id) == (TOO_BIG, 60, 40)
    other = client.channel()
    assert other.message_count("q") == 1


def test_a_body_over_the_limit_in_many_frames_is_dropped_as_it_comes() -> None:
    broker = SessionBroker(max_message_size=100)
    client = broker.connect(frame_max=4096)
    ch = client.channel()
    ch.declare("q")
    data = client.publish_bytes(ch.number, b"y" * 10_000, "", "q")
    header_end = data.index(b"\xce", data.index(b"\xce") + 1) + 1
    client.send_bytes(data[:header_end])  # method and header: refused at once
    close = ch.next()
    assert isinstance(close, commands.Channel.Close)
    assert close.reply_text == (
        "PRECONDITION_FAILED - message size 10000 is larger than configured max size 100"
    )
    client.send_bytes(data[header_end:])  # the body frames: dropped, no error
    client.send(ch.number, commands.Channel.CloseOk())
    assert not client.closed
    assert client.channel().message_count("q") == 0


def test_the_default_limit_is_128_mib() -> None:
    assert SessionBroker().config.max_message_size == 128 * 1024 * 1024
