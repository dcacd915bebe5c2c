"""Inspection: what an embedded broker lets a test read without HTTP.

``broker.published`` records each publish when it is routed (a transaction's at commit), with
the queues it reached; ``broker.queue(name)`` is a snapshot of a queue's ready messages,
consumers and unacked deliveries; ``broker.connections``, ``exchanges()`` and ``bindings()``
list the rest.  Clients are pika (through a ``BrokerThread``) and aio-pika (through an async
``Broker`` on the test's own loop).  Publishes go through confirm-mode channels, so once
basic_publish returns the broker has routed the message.

These tests need the embedded broker: they are skipped with AMQPBROKER_TEST_URL.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import pika
import pika.exceptions
import pytest
from clientutil import EXTERNAL_URL
from pamqp import commands
from rawamqp import RawAMQP

from amqpbroker import Broker
from amqpbroker.core.queue import WINDOW
from amqpbroker.testing.polling import wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def broker(broker_factory: Callable[..., Any]) -> Any:
    """An in-process broker (publishes are recorded: embedded brokers do by default)."""
    return broker_factory()


@pytest.fixture
def named(broker: Any) -> Iterator[Callable[[str], pika.BlockingConnection]]:
    """named("x") -> a pika connection whose connection_name is "x"."""
    opened: list[pika.BlockingConnection] = []

    def connect(name: str) -> pika.BlockingConnection:
        params = pika.URLParameters(broker.url)
        params.client_properties = {"connection_name": name}
        opened.append(pika.BlockingConnection(params))
        return opened[-1]

    yield connect
    for conn in opened:
        if conn.is_open:
            conn.close()


def connection_id(broker: Any, name: str) -> str:
    (view,) = [c for c in broker.connections if c.connection_name == name]
    return str(view.id)


# -- broker.published ---------------------------------------------------------------------------


def test_published_records_each_publish_in_order_with_its_properties(broker, named):
    ch = named("publisher").channel()
    ch.confirm_delivery()
    queue = ch.queue_declare("", exclusive=True).method.queue
    ch.exchange_declare("logs", "fanout", auto_delete=True)
    ch.queue_bind(queue, "logs")
    stamp = 1_700_000_123
    props = pika.BasicProperties(
        content_type="application/json",
        content_encoding="utf-8",
        headers={"attempt": 2, "tags": ["a", "b"], "nested": {"k": "v"}},
        delivery_mode=2,
        priority=3,
        correlation_id="corr-1",
        reply_to="replies",
        expiration="60000",
        message_id="m-1",
        timestamp=stamp,
        type="order.created",
        user_id="guest",
        app_id="shop",
    )
    ch.basic_publish("", queue, b'{"id": 1}', props)
    ch.basic_publish("logs", "ignored", b"second")

    first, second = broker.published
    assert (first.vhost, first.exchange, first.routing_key, first.body) == (
        "/",
        "",
        queue,
        b'{"id": 1}',
    )
    assert first.queues == (queue,) and first.routed and not first.unroutable
    assert first.properties.as_dict() == {
        "content_type": "application/json",
        "content_encoding": "utf-8",
        "headers": {"attempt": 2, "tags": ["a", "b"], "nested": {"k": "v"}},
        "delivery_mode": 2,
        "priority": 3,
        "correlation_id": "corr-1",
        "reply_to": "replies",
        "expiration": "60000",
        "message_id": "m-1",
        "timestamp": stamp,
        "type": "order.created",
        "user_id": "guest",
        "app_id": "shop",
    }
    assert first.headers["attempt"] == 2
    assert (first.connection, first.channel) == (connection_id(broker, "publisher"), 1)
    assert (second.exchange, second.routing_key, second.queues) == ("logs", "ignored", (queue,))
    assert second.properties.as_dict() == {} and second.headers == {}


def test_unroutable_publishes_are_recorded_and_mandatory_ones_returned(broker, channel):
    channel.exchange_declare("nowhere", "direct", auto_delete=True)
    channel.basic_publish("nowhere", "k", b"dropped")
    with pytest.raises(pika.exceptions.UnroutableError):
        channel.basic_publish("nowhere", "k", b"sent back", mandatory=True)

    dropped, sent_back = broker.published
    assert dropped.queues == () and dropped.unroutable and not dropped.returned
    assert sent_back.unroutable and sent_back.mandatory and sent_back.returned


def test_cc_and_bcc_keys_are_routed_and_bcc_is_not_recorded(broker, channel):
    channel.exchange_declare("cc-x", "direct", auto_delete=True)
    queues = {}
    for key in ("main", "copy", "blind"):
        queues[key] = channel.queue_declare("", exclusive=True).method.queue
        channel.queue_bind(queues[key], "cc-x", key)
    headers = {"CC": ["copy"], "BCC": ["blind"]}
    channel.basic_publish("cc-x", "main", b"m", pika.BasicProperties(headers=headers))

    (record,) = broker.published
    assert sorted(record.queues) == sorted(queues.values())
    assert record.headers == {"CC": ["copy"]}, "as routed: RabbitMQ removes BCC"


def test_alternate_exchange_routes_are_recorded(broker, channel):
    channel.exchange_declare("ae", "fanout", auto_delete=True)
    channel.exchange_declare(
        "main-x", "direct", auto_delete=True, arguments={"alternate-exchange": "ae"}
    )
    caught = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(caught, "ae")
    channel.basic_publish("main-x", "unbound", b"m")

    (record,) = broker.published
    assert (record.exchange, record.queues) == ("main-x", (caught,))


def test_transactional_publishes_are_recorded_at_commit_and_never_if_rolled_back(
    broker, connection
):
    ch = connection.channel()
    queue = ch.queue_declare("", exclusive=True).method.queue
    ch.tx_select()
    ch.basic_publish("", queue, b"rolled back")
    ch.tx_rollback()
    ch.basic_publish("", queue, b"committed")
    ch.queue_declare(queue, passive=True)  # a round trip: the publish has arrived
    assert broker.published == ()
    ch.tx_commit()

    (record,) = broker.published
    assert (record.body, record.queues) == (b"committed", (queue,))


def test_a_publish_a_full_queue_refuses_is_recorded_as_not_accepted(broker, channel):
    arguments = {"x-max-length": 1, "x-overflow": "reject-publish"}
    queue = channel.queue_declare("", exclusive=True, arguments=arguments).method.queue
    channel.basic_publish("", queue, b"fits")
    with pytest.raises(pika.exceptions.NackError):
        channel.basic_publish("", queue, b"refused")

    fits, refused = broker.published
    assert fits.accepted and not refused.accepted
    assert refused.queues == (queue,), "it was routed there, and refused"


def test_refused_publishes_are_not_recorded(broker, connection):
    ch = connection.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker):
        ch.basic_publish("no-such-exchange", "k", b"m")
        ch.queue_declare("", exclusive=True)  # the channel error arrives here
    assert broker.published == ()


def test_direct_reply_to_requests_and_replies(broker, connection):
    requester = connection.channel()
    replies: list[bytes] = []
    requester.basic_consume(
        "amq.rabbitmq.reply-to", lambda _c, _m, _p, body: replies.append(body), auto_ack=True
    )
    server = connection.channel()
    server.confirm_delivery()
    queue = server.queue_declare("", exclusive=True).method.queue
    props = pika.BasicProperties(reply_to="amq.rabbitmq.reply-to")
    requester.basic_publish("", queue, b"request", props)
    _, request_props, _ = server.basic_get(queue, auto_ack=True)
    server.basic_publish("", request_props.reply_to, b"reply")
    connection.process_data_events(0)

    request, reply = broker.published
    assert request.properties.reply_to == request_props.reply_to != "amq.rabbitmq.reply-to"
    assert reply.routing_key == request_props.reply_to
    assert reply.unroutable, "a direct reply reaches no queue (and RabbitMQ says unroutable)"
    assert replies == [b"reply"]


def test_the_record_is_bounded_and_clearable(broker_factory):
    broker = broker_factory(published_limit=3)
    with pika.BlockingConnection(pika.URLParameters(broker.url)) as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        for n in range(5):
            ch.basic_publish("", "nowhere", str(n).encode())
        assert [p.body for p in broker.published] == [b"2", b"3", b"4"]
        broker.clear_published()
        assert broker.published == ()
        ch.basic_publish("", "nowhere", b"5")
        assert [p.body for p in broker.published] == [b"5"]


def test_recording_can_be_turned_off(broker_factory):
    broker = broker_factory(record_published=False)
    with pytest.raises(RuntimeError, match="record_published=True"):
        _ = broker.published


@pytest.fixture
async def aio_broker() -> Any:
    if EXTERNAL_URL:
        pytest.skip("needs the embedded broker")
    async with Broker() as broker:
        yield broker


async def test_aio_pika_publishes_on_the_async_broker(aio_broker):
    async with await aio_pika.connect(aio_broker.url) as connection:
        channel = await connection.channel()  # publisher confirms are on by default
        queue = await channel.declare_queue("", exclusive=True)
        message = aio_pika.Message(
            b"hello",
            content_type="text/plain",
            headers={"k": "v"},
            correlation_id="c-1",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            timestamp=datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC),
        )
        await channel.default_exchange.publish(message, routing_key=queue.name)

        (record,) = aio_broker.published
        assert (record.routing_key, record.queues, record.body) == (
            queue.name,
            (queue.name,),
            b"hello",
        )
        props = record.properties
        assert (props.content_type, props.headers, props.correlation_id) == (
            "text/plain",
            {"k": "v"},
            "c-1",
        )
        assert props.delivery_mode == 2
        assert props.timestamp == int(
            datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC).timestamp()
        )

        snapshot = aio_broker.queue(queue.name)
        assert [m.body for m in snapshot.messages] == [b"hello"]
        assert snapshot.messages[0].properties.correlation_id == "c-1"


# -- broker.queue(...) --------------------------------------------------------------------------


def test_queue_snapshot_ready_unacked_and_consumers(broker, named):
    conn = named("consumer")
    ch = conn.channel()
    ch.confirm_delivery()
    queue = ch.queue_declare("work", arguments={"x-message-ttl": 60_000}).method.queue
    for n in range(5):
        ch.basic_publish("", queue, f"m{n}".encode(), pika.BasicProperties(message_id=str(n)))
    ch.basic_qos(prefetch_count=2)
    delivered: list[Any] = []
    tag = ch.basic_consume(
        queue,
        lambda _c, method, _p, _b: delivered.append(method),
        arguments={"x-priority": 5},
    )
    while len(delivered) < 2:
        conn.process_data_events(0.05)
    getter = conn.channel()
    method, _, body = getter.basic_get(queue)  # a third one, unacked, by basic.get
    assert body == b"m2"

    snapshot = broker.queue("work")
    me = connection_id(broker, "consumer")
    assert (snapshot.name, snapshot.vhost, snapshot.type) == ("work", "/", "classic")
    assert (snapshot.durable, snapshot.exclusive, snapshot.auto_delete) == (False, False, False)
    assert snapshot.arguments == {"x-message-ttl": 60_000}
    assert [(m.body, m.routing_key, m.exchange) for m in snapshot.messages] == [
        (b"m3", "work", ""),
        (b"m4", "work", ""),
    ]
    assert snapshot.messages[0].properties.message_id == "3"
    assert (snapshot.messages_ready, snapshot.message_count) == (2, 2)
    assert snapshot.messages_unacknowledged == 3 and snapshot.messages_paged_out == 0
    (consumer,) = snapshot.consumers
    assert snapshot.consumer_count == 1
    assert (consumer.consumer_tag, consumer.queue, consumer.channel, consumer.connection) == (
        tag,
        "work",
        ch.channel_number,
        me,
    )
    assert (consumer.ack_required, consumer.exclusive, consumer.prefetch_count) == (True, False, 2)
    assert (consumer.priority, consumer.arguments, consumer.unacked) == (5, {"x-priority": 5}, 2)
    unacked = [
        (u.delivery_tag, u.consumer_tag, u.channel, u.message.body) for u in snapshot.unacked
    ]
    assert unacked == [
        (1, tag, ch.channel_number, b"m0"),
        (2, tag, ch.channel_number, b"m1"),
        (method.delivery_tag, None, getter.channel_number, b"m2"),
    ]
    assert {u.connection for u in snapshot.unacked} == {me}

    ch.basic_ack(delivered[0].delivery_tag)
    getter.basic_reject(method.delivery_tag, requeue=True)
    getter.queue_declare(queue, passive=True)  # a round trip on each channel: both handled
    ch.queue_declare(queue, passive=True)
    after = broker.queue("work")
    assert [u.message.body for u in after.unacked] == [b"m1", b"m3"], "m3 was delivered next"
    assert [(m.body, m.redelivered) for m in after.messages] == [(b"m2", True), (b"m4", False)]
    assert [u.message.body for u in snapshot.unacked] == [b"m0", b"m1", b"m2"], "detached"
    ch.queue_delete(queue)


def test_settlements_in_an_uncommitted_transaction_are_still_unacked(broker, channel):
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.basic_publish("", queue, b"m")
    tx = channel.connection.channel()
    tx.tx_select()
    method, _, _ = tx.basic_get(queue)
    tx.basic_ack(method.delivery_tag)
    tx.queue_declare(queue, passive=True)
    assert [u.delivery_tag for u in broker.queue(queue).unacked] == [method.delivery_tag]
    tx.tx_commit()
    assert broker.queue(queue).unacked == ()


def test_max_messages_bounds_the_listing_not_the_counts(broker, channel):
    queue = channel.queue_declare("", exclusive=True).method.queue
    for n in range(5):
        channel.basic_publish("", queue, str(n).encode())
    snapshot = broker.queue(queue, max_messages=2)
    assert [m.body for m in snapshot.messages] == [b"0", b"1"]
    assert snapshot.messages_ready == 5
    assert broker.queue(queue, max_messages=0).messages == ()


def test_a_missing_queue_or_vhost_is_a_key_error(broker):
    with pytest.raises(KeyError, match="no queue 'nope' in vhost '/'"):
        broker.queue("nope")
    with pytest.raises(KeyError, match="no vhost 'elsewhere'"):
        broker.queue("nope", vhost="elsewhere")


def test_durable_queue_lists_its_window_and_counts_what_is_paged_out(
    broker_factory, tmp_path: Path
):
    """A durable queue keeps WINDOW messages in memory; a snapshot lists those and counts
    the rest (read from disk only when the queue needs them)."""
    broker = broker_factory(data_dir=str(tmp_path), fsync=False)
    total = WINDOW + 100
    persistent = commands.Basic.Properties(delivery_mode=2)
    with RawAMQP.connect(broker.host, broker.port) as raw:
        raw.open_channel(1)
        raw.send_method(1, commands.Queue.Declare(queue="deep", durable=True))
        raw.expect_method(commands.Queue.DeclareOk)
        raw.send(
            b"".join(
                RawAMQP.publish_bytes(1, "", "deep", n.to_bytes(4, "big"), persistent)
                for n in range(total)
            )
        )
        raw.send_method(1, commands.Queue.Declare(queue="deep", passive=True))
        _, ok = raw.expect_method(commands.Queue.DeclareOk, timeout=30)
        assert ok.message_count == total

        snapshot = broker.queue("deep", max_messages=total)
        assert snapshot.durable and snapshot.messages_ready == total
        assert snapshot.messages_paged_out == total - WINDOW
        assert len(snapshot.messages) == WINDOW
        assert [int.from_bytes(m.body, "big") for m in snapshot.messages[:3]] == [0, 1, 2]
        assert snapshot.messages[-1].body == (WINDOW - 1).to_bytes(4, "big")
        assert snapshot.messages[0].properties.delivery_mode == 2


def test_queues_exchanges_and_bindings(broker, channel):
    channel.exchange_declare("events", "topic", durable=True, arguments={"x": 1})
    channel.queue_declare("a-queue", arguments={"x-max-length": 10})
    channel.queue_declare("b-queue", auto_delete=True)
    channel.queue_bind("a-queue", "events", "order.*", arguments={"k": "v"})
    channel.exchange_bind("amq.fanout", "events", "#")

    assert [(q.name, q.auto_delete) for q in broker.queues()] == [
        ("a-queue", False),
        ("b-queue", True),
    ]
    assert [q.name for q in broker.queues(vhost="/")] == ["a-queue", "b-queue"]
    (events,) = [x for x in broker.exchanges() if x.name == "events"]
    assert (events.type, events.durable, events.internal, events.arguments) == (
        "topic",
        True,
        False,
        {"x": 1},
    )
    assert {x.name for x in broker.exchanges()} >= {"", "amq.direct", "amq.topic", "events"}
    assert sorted(
        (b.source, b.destination, b.destination_type, b.routing_key, b.arguments)
        for b in broker.bindings()
    ) == [
        ("events", "a-queue", "queue", "order.*", {"k": "v"}),
        ("events", "amq.fanout", "exchange", "#", {}),
    ]
    channel.queue_delete("a-queue")
    channel.queue_delete("b-queue")
    channel.exchange_delete("events")


# -- broker.connections -------------------------------------------------------------------------


def test_connections_have_ids_names_and_channels(broker, named):
    first = named("first")
    second = named("second")
    ch = first.channel()
    ch.basic_qos(prefetch_count=7)
    ch.confirm_delivery()
    tx = first.channel()
    tx.tx_select()

    views = {c.connection_name: c for c in broker.connections}
    assert set(views) == {"first", "second"}
    one = views["first"]
    assert one.id == f"{one.peer_host}:{one.peer_port}"
    assert one.id != views["second"].id
    assert one.name == f"{one.id} -> {broker.host}:{broker.port}"
    assert (one.user, one.vhost, one.state) == ("guest", "/", "running")
    assert one.client_properties["product"] == "Pika Python Client Library"
    assert (one.timeout, one.frame_max, one.channel_max) == (60, 131072, 2047)
    assert [(c.number, c.prefetch_count, c.confirm, c.transactional) for c in one.channels] == [
        (ch.channel_number, 7, True, False),
        (tx.channel_number, 0, False, True),
    ]
    assert views["second"].channels == ()
    second.close()
    assert [c.connection_name for c in broker.connections] == ["first"]


def test_a_blocked_publisher_shows_as_blocked(broker, named):
    conn = named("publisher")
    ch = conn.channel()
    broker.block_publishers()
    try:
        ch.basic_publish("", "nowhere", b"m")  # its content header gets it blocked
        wait_until(
            lambda: [c.state for c in broker.connections] == ["blocked"],
            lambda: f"the publisher to show as blocked: {broker.connections}",
            pause=lambda: conn.process_data_events(0.01),
        )
    finally:
        broker.unblock_publishers()
    assert [c.state for c in broker.connections] == ["running"]
