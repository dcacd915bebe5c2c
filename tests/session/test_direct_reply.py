"""Direct reply-to (amq.rabbitmq.reply-to) in the session layer
(tests/server/test_direct_reply_to.py asserts the same over sockets)."""

from __future__ import annotations

import pytest
from pamqp import commands
from sessionutil import got, props

from amqpbroker.protocol.methods import make_method
from amqpbroker.testing.harness import ClientChannel, SessionBroker

REPLY_QUEUE = "amq.rabbitmq.reply-to"


def requester(broker: SessionBroker) -> ClientChannel:
    """A channel consuming replies (no-ack), with the shared request queue 'rpc' declared."""
    channel = broker.connect().channel()
    channel.consume(REPLY_QUEUE, no_ack=True)
    channel.declare("rpc")
    return channel


def ask(ch: ClientChannel, body: bytes = b"q", **properties: object) -> None:
    ch.publish(body, "rpc", properties=props(reply_to=REPLY_QUEUE, **properties))


def test_rpc_round_trip(broker):
    asker = requester(broker)
    ask(asker, b"ping", correlation_id="42")
    responder = broker.connect().channel()
    request = got(responder, "rpc")
    reply_name = request.properties.reply_to
    assert reply_name.startswith(REPLY_QUEUE + ".") and len(reply_name) > len(REPLY_QUEUE) + 8
    responder.publish(b"pong:" + request.body, reply_name, properties=props(correlation_id="42"))
    [reply] = asker.deliveries()
    assert (reply.body, reply.properties.correlation_id) == (b"pong:ping", "42")
    assert (reply.method.exchange, reply.method.routing_key, reply.method.redelivered) == (
        "",
        reply_name,
        False,
    )


def test_reply_name_is_stable_per_channel_and_dies_with_the_consumer(broker):
    asker = requester(broker)
    responder = broker.connect().channel()
    names = []
    for _ in range(2):
        ask(asker)
        names.append(got(responder, "rpc").properties.reply_to)
    assert names[0] == names[1]
    ok = responder.declare(names[0], passive=True)
    assert (ok.message_count, ok.consumer_count) == (0, 1)
    asker.close()
    responder.publish(b"late", names[0])  # a reply to a dead name is dropped without error
    responder.send(make_method(commands.Queue.Declare, queue=names[0], passive=True))
    assert (
        responder.expect_close(404).reply_text == f"NOT_FOUND - no queue '{names[0]}' in vhost '/'"
    )


def test_consuming_replies_requires_no_ack(ch):
    ch.send(commands.Basic.Consume(queue=REPLY_QUEUE, no_ack=False))
    assert ch.expect_close(406).reply_text == (
        "PRECONDITION_FAILED - reply consumer cannot acknowledge"
    )


def test_one_reply_consumer_per_channel(ch):
    ch.consume(REPLY_QUEUE, no_ack=True)
    ch.send(commands.Basic.Consume(queue=REPLY_QUEUE, no_ack=True))
    assert ch.expect_close(406).reply_text == "PRECONDITION_FAILED - reply consumer already set"


def test_request_without_reply_consumer_on_its_channel_is_refused(broker):
    asker = requester(broker)
    other = asker.client.channel()  # a reply consumer on another channel does not count
    other.publish(b"q", "nowhere", properties=props(reply_to=REPLY_QUEUE))
    assert other.expect_close(406).reply_text == (
        "PRECONDITION_FAILED - fast reply consumer does not exist"
    )


def test_pseudo_queue_declares_but_is_not_a_queue(ch):
    for flags in ({"passive": True}, {}, {"durable": True, "exclusive": True}):
        ok = ch.declare(REPLY_QUEUE, **flags)
        assert (ok.queue, ok.message_count, ok.consumer_count) == (REPLY_QUEUE, 0, 1)
    ch.send(commands.Basic.Get(queue=REPLY_QUEUE))
    assert ch.expect_close(404).reply_text == f"NOT_FOUND - no queue '{REPLY_QUEUE}' in vhost '/'"
    made_up = ch.client.channel()
    made_up.send(commands.Queue.Declare(queue=REPLY_QUEUE + ".made-up"))
    assert made_up.expect_close(404).reply_text == (
        f"NOT_FOUND - no queue '{REPLY_QUEUE}.made-up' in vhost '/'"
    )


def test_mandatory_reply_is_delivered_and_returned(broker):
    asker = requester(broker)
    ask(asker)
    responder = broker.connect().channel()
    reply_name = got(responder, "rpc").properties.reply_to
    responder.publish(b"answer", reply_name, mandatory=True)
    [returned] = responder.deliveries()
    assert (returned.body, returned.method.reply_code) == (b"answer", 312)
    assert [d.body for d in asker.deliveries()] == [b"answer"]


def test_reply_uses_next_delivery_tag_without_consuming_it(broker):
    asker = requester(broker)
    ask(asker)
    request = got(asker, "rpc", no_ack=False)  # delivery tag 1 on the asker's channel
    asker.ack(request.method.delivery_tag)
    broker.connect().channel().publish(b"a", request.properties.reply_to)
    [reply] = asker.deliveries()
    asker.publish(b"q2", "rpc")
    assert (reply.method.delivery_tag, got(asker, "rpc").method.delivery_tag) == (2, 2)


@pytest.mark.parametrize("how", ["cancel", "channel-close"])
def test_requests_after_the_consumer_left_are_refused(broker, how):
    client = broker.connect()
    channel = client.channel()
    tag = channel.consume(REPLY_QUEUE, no_ack=True)
    if how == "cancel":
        channel.call(commands.Basic.Cancel(consumer_tag=tag), commands.Basic.CancelOk)
    else:
        channel.close()
        channel = client.channel()
    channel.publish(b"q", "nowhere", properties=props(reply_to=REPLY_QUEUE))
    assert "fast reply consumer does not exist" in channel.expect_close(406).reply_text
