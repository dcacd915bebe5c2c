"""Direct reply-to: RPC through the amq.rabbitmq.reply-to pseudo-queue, as RabbitMQ does it.

The requester consumes amq.rabbitmq.reply-to in no-ack mode and publishes requests with
reply_to = amq.rabbitmq.reply-to; the broker rewrites it to a name unique to that consumer,
and a responder replying to that name through the default exchange reaches the requester.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aio_pika
import pika
import pika.exceptions
import pytest
from clientutil import channel_error

from amqpbroker.testing.polling import wait_until

REPLY_QUEUE = "amq.rabbitmq.reply-to"


def _get(channel: Any, queue: str, auto_ack: bool = True) -> tuple[Any, Any, bytes]:
    """basic.get from ``queue``, polled with a deadline: (method, properties, body)."""

    def get() -> tuple[Any, Any, bytes] | None:
        method, props, body = channel.basic_get(queue, auto_ack=auto_ack)
        return None if method is None else (method, props, body)

    return wait_until(get, f"an arrival in {queue}", pause=lambda: None)


def _take_request(channel: Any, queue: str) -> tuple[Any, bytes]:
    """The next request in ``queue``: (properties, body)."""
    _method, props, body = _get(channel, queue)
    return props, body


def _wait_for(connection: pika.BlockingConnection, done: Callable[[], bool]) -> None:
    wait_until(done, "the broker", pause=lambda: connection.process_data_events(time_limit=0.05))


def _requester(connection: pika.BlockingConnection, unique: Callable[[str], str]) -> tuple:
    """A channel consuming replies into a list, and a request queue: (channel, replies, queue)."""
    channel = connection.channel()
    replies: list[tuple[Any, Any, bytes]] = []
    channel.basic_consume(
        REPLY_QUEUE,
        lambda _ch, method, props, body: replies.append((method, props, body)),
        auto_ack=True,
    )
    queue = unique("rpc")
    # Shared with the responder's connection, so not exclusive; x-expires tidies it away.
    channel.queue_declare(queue, arguments={"x-expires": 60_000})
    return channel, replies, queue


def test_rpc_round_trip_pika(
    connection: pika.BlockingConnection,
    other_connection: pika.BlockingConnection,
    unique: Callable[[str], str],
) -> None:
    requester, replies, queue = _requester(connection, unique)
    requester.basic_publish(
        "", queue, b"ping", pika.BasicProperties(reply_to=REPLY_QUEUE, correlation_id="42")
    )
    responder = other_connection.channel()
    request_props, body = _take_request(responder, queue)
    reply_name = request_props.reply_to
    assert reply_name.startswith(REPLY_QUEUE + ".") and len(reply_name) > len(REPLY_QUEUE) + 8
    responder.basic_publish(
        "", reply_name, b"pong:" + body, pika.BasicProperties(correlation_id="42")
    )
    _wait_for(connection, lambda: bool(replies))
    method, props, reply = replies[0]
    assert (reply, props.correlation_id) == (b"pong:ping", "42")
    assert (method.exchange, method.routing_key, method.redelivered) == ("", reply_name, False)


def test_reply_name_is_stable_per_channel_and_dies_with_the_consumer(
    connection: pika.BlockingConnection,
    other_connection: pika.BlockingConnection,
    unique: Callable[[str], str],
) -> None:
    requester, _replies, queue = _requester(connection, unique)
    responder = other_connection.channel()
    names = []
    for _ in range(2):
        requester.basic_publish("", queue, b"q", pika.BasicProperties(reply_to=REPLY_QUEUE))
        names.append(_take_request(responder, queue)[0].reply_to)
    assert names[0] == names[1]
    ok = responder.queue_declare(names[0], passive=True).method
    assert (ok.message_count, ok.consumer_count) == (0, 1)
    requester.close()
    error = channel_error(other_connection, lambda ch: ch.queue_declare(names[0], passive=True))
    assert error == (404, f"NOT_FOUND - no queue '{names[0]}' in vhost '/'")
    # A reply to a dead name is dropped without error.
    responder.basic_publish("", names[0], b"late")
    assert other_connection.is_open


def test_consuming_replies_requires_no_ack(connection: pika.BlockingConnection) -> None:
    error = channel_error(
        connection, lambda ch: ch.basic_consume(REPLY_QUEUE, lambda *_: None, auto_ack=False)
    )
    assert error == (406, "PRECONDITION_FAILED - reply consumer cannot acknowledge")


def test_one_reply_consumer_per_channel(connection: pika.BlockingConnection) -> None:
    def consume_twice(ch: Any) -> None:
        ch.basic_consume(REPLY_QUEUE, lambda *_: None, auto_ack=True)
        ch.basic_consume(REPLY_QUEUE, lambda *_: None, auto_ack=True)

    error = channel_error(connection, consume_twice)
    assert error == (406, "PRECONDITION_FAILED - reply consumer already set")


def test_request_without_reply_consumer_is_refused(
    connection: pika.BlockingConnection, unique: Callable[[str], str]
) -> None:
    _requester(connection, unique)  # a reply consumer on another channel does not count

    def request(ch: Any) -> None:
        ch.confirm_delivery()
        ch.basic_publish("", "nowhere", b"q", pika.BasicProperties(reply_to=REPLY_QUEUE))

    error = channel_error(connection, request)
    assert error == (406, "PRECONDITION_FAILED - fast reply consumer does not exist")


def test_pseudo_queue_declares_but_is_not_a_queue(connection: pika.BlockingConnection) -> None:
    channel = connection.channel()
    for flags in ({"passive": True}, {}, {"durable": True, "exclusive": True}):
        ok = channel.queue_declare(REPLY_QUEUE, **flags).method
        assert (ok.queue, ok.message_count, ok.consumer_count) == (REPLY_QUEUE, 0, 1)
    not_found = f"NOT_FOUND - no queue '{REPLY_QUEUE}' in vhost '/'"
    assert channel_error(connection, lambda ch: ch.basic_get(REPLY_QUEUE)) == (404, not_found)
    made_up = REPLY_QUEUE + ".made-up"
    assert channel_error(connection, lambda ch: ch.queue_declare(made_up)) == (
        404,
        f"NOT_FOUND - no queue '{made_up}' in vhost '/'",
    )


def test_mandatory_reply_is_delivered_and_returned(
    connection: pika.BlockingConnection,
    other_connection: pika.BlockingConnection,
    unique: Callable[[str], str],
) -> None:
    """RabbitMQ delivers direct replies outside routing, so mandatory ones also come back."""
    requester, replies, queue = _requester(connection, unique)
    requester.basic_publish("", queue, b"q", pika.BasicProperties(reply_to=REPLY_QUEUE))
    responder = other_connection.channel()
    reply_name = _take_request(responder, queue)[0].reply_to
    returned: list[bytes] = []
    responder.add_on_return_callback(lambda _ch, _m, _p, body: returned.append(body))
    responder.basic_publish("", reply_name, b"answer", mandatory=True)
    _wait_for(connection, lambda: bool(replies))
    _wait_for(other_connection, lambda: bool(returned))
    assert [r[2] for r in replies] == returned == [b"answer"]


def test_reply_uses_next_delivery_tag_without_consuming_it(
    connection: pika.BlockingConnection,
    other_connection: pika.BlockingConnection,
    unique: Callable[[str], str],
) -> None:
    requester, replies, queue = _requester(connection, unique)
    requester.basic_publish("", queue, b"q", pika.BasicProperties(reply_to=REPLY_QUEUE))
    method, got, _body = _get(requester, queue, auto_ack=False)  # delivery tag 1 here
    requester.basic_ack(method.delivery_tag)
    responder = other_connection.channel()
    responder.basic_publish("", got.reply_to, b"a")
    _wait_for(connection, lambda: bool(replies))
    requester.basic_publish("", queue, b"q2")
    method = _get(requester, queue)[0]
    assert (replies[0][0].delivery_tag, method.delivery_tag) == (2, 2)


async def test_rpc_round_trip_aio_pika(broker_url: str, unique: Callable[[str], str]) -> None:
    async with (
        await aio_pika.connect(broker_url) as client,
        await aio_pika.connect(broker_url) as server,
    ):
        server_channel = await server.channel()
        requests = await server_channel.declare_queue(unique("rpc"), exclusive=True)

        async def serve(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                assert message.reply_to is not None
                await server_channel.default_exchange.publish(
                    aio_pika.Message(message.body.upper(), correlation_id=message.correlation_id),
                    routing_key=message.reply_to,
                )

        await requests.consume(serve)
        channel = await client.channel()
        reply_queue = await channel.get_queue(REPLY_QUEUE)  # a passive declare
        answers: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
        await reply_queue.consume(answers.put, no_ack=True)
        for n in range(3):
            await channel.default_exchange.publish(
                aio_pika.Message(f"req{n}".encode(), reply_to=REPLY_QUEUE, correlation_id=str(n)),
                routing_key=requests.name,
            )
        got = [await asyncio.wait_for(answers.get(), 5) for _ in range(3)]
        assert [(m.body, m.correlation_id) for m in got] == [
            (b"REQ0", "0"),
            (b"REQ1", "1"),
            (b"REQ2", "2"),
        ]


async def _ignore(_message: aio_pika.abc.AbstractIncomingMessage) -> None:
    return None


@pytest.mark.parametrize("cancel", [True, False], ids=["cancelled", "channel-closed"])
async def test_requests_after_the_consumer_left_are_refused_aio_pika(
    broker_url: str, cancel: bool
) -> None:
    async with await aio_pika.connect(broker_url) as client:
        channel = await client.channel()
        reply_queue = await channel.get_queue(REPLY_QUEUE)
        tag = await reply_queue.consume(_ignore, no_ack=True)
        if cancel:
            await reply_queue.cancel(tag)
        else:
            await channel.close()
            channel = await client.channel()
        with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed) as info:
            await channel.default_exchange.publish(
                aio_pika.Message(b"q", reply_to=REPLY_QUEUE), routing_key="nowhere"
            )
            await channel.declare_queue(exclusive=True)  # a round trip after the publish
        assert "fast reply consumer does not exist" in str(info.value)
