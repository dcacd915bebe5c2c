"""Least-privilege users driven by pika and aio-pika over real sockets: what a refused
method looks like to each client, update-secret, topic permissions.

The users are made with the embedded broker's powers (``add_user``, ``set_permissions``,
``set_topic_permissions``); against an external broker these tests are skipped (the
differential scenarios in interop/ compare the same against RabbitMQ).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aio_pika
import aiormq
import pika
import pika.exceptions
import pytest
from clientutil import EXTERNAL_URL, channel_error

from amqpbroker.embedded.broker import BrokerThread

pytestmark = pytest.mark.skipif(bool(EXTERNAL_URL), reason="makes users with embedded powers")


def refused(kind: str, name: str, user: str) -> str:
    return f"ACCESS_REFUSED - access to {kind} '{name}' in vhost '/' refused for user '{user}'"


@pytest.fixture
def world(broker: BrokerThread) -> Iterator[BrokerThread]:
    """A direct exchange 'orders' bound to queue 'orders.q' (made by the default user), a
    publish-only user 'pub' and a consume-only user 'sub'."""
    with pika.BlockingConnection(pika.URLParameters(broker.url)) as admin:
        ch = admin.channel()
        ch.exchange_declare("orders", "direct")
        ch.queue_declare("orders.q")
        ch.queue_bind("orders.q", "orders", "new")
    broker.add_user("pub", "pw")
    broker.set_permissions("pub", configure="", write="^orders$", read="")
    broker.add_user("sub", "pw")
    broker.set_permissions("sub", configure="", write="", read="^orders\\.q$")
    yield broker


def url_as(broker: BrokerThread, user: str) -> str:
    return f"amqp://{user}:pw@{broker.host}:{broker.port}/%2F"


def connect(broker: BrokerThread, user: str) -> pika.BlockingConnection:
    return pika.BlockingConnection(pika.URLParameters(url_as(broker, user)))


def test_pika_publish_only_user_publishes_and_may_not_consume(world: BrokerThread) -> None:
    with connect(world, "pub") as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        ch.basic_publish("orders", "new", b"order-1")  # confirmed: it raises otherwise
        code, text = channel_error(conn, lambda c: c.basic_consume("orders.q", lambda *a: None))
        assert (code, text) == (403, refused("queue", "orders.q", "pub"))
        code, text = channel_error(conn, lambda c: c.queue_declare("mine"))
        assert (code, text) == (403, refused("queue", "mine", "pub"))
        assert conn.is_open  # only the channels were closed
        assert conn.channel().queue_declare("orders.q", passive=True).method.message_count == 1


def test_pika_consume_only_user_gets_and_may_not_publish(world: BrokerThread) -> None:
    with connect(world, "pub") as pub:
        ch = pub.channel()
        ch.confirm_delivery()
        ch.basic_publish("orders", "new", b"order-2")
    with connect(world, "sub") as conn:
        method, _, body = conn.channel().basic_get("orders.q", auto_ack=True)
        assert method is not None and body == b"order-2"

        def publish(c: Any) -> None:
            c.confirm_delivery()
            c.basic_publish("orders", "new", b"x")

        assert channel_error(conn, publish) == (403, refused("exchange", "orders", "sub"))
        assert conn.is_open


def test_pika_update_secret_keeps_the_connection_working(world: BrokerThread) -> None:
    with connect(world, "sub") as conn:
        conn.update_secret("a-new-token", "token refresh")
        conn.update_secret("not-even-the-password", "as RabbitMQ 3.10.8: still ok")
        ch = conn.channel()
        assert ch.queue_declare("orders.q", passive=True).method.consumer_count == 0


async def test_aio_pika_publish_only_and_consume_only(world: BrokerThread) -> None:
    pub = await aio_pika.connect(url_as(world, "pub"))
    sub = await aio_pika.connect(url_as(world, "sub"))
    try:
        pch = await pub.channel()  # publisher confirms on by default
        orders = await pch.get_exchange("orders", ensure=False)
        await orders.publish(aio_pika.Message(b"order-3"), "new")
        sch = await sub.channel()
        queue = await sch.get_queue("orders.q", ensure=False)
        message = await queue.get(no_ack=True)
        assert message.body == b"order-3"
        other = await sub.channel()
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused) as info:
            await other.declare_queue("mine")
        assert refused("queue", "mine", "sub") in str(info.value)
        assert not sub.is_closed
    finally:
        await pub.close()
        await sub.close()


async def test_aiormq_update_secret(world: BrokerThread) -> None:
    conn = await aiormq.connect(url_as(world, "pub"))
    try:
        reply = await conn.update_secret("new-secret", reason="refresh")
        assert reply.name == "Connection.UpdateSecretOk"
        channel = await conn.channel()
        await channel.exchange_declare("orders", exchange_type="direct", passive=True)
    finally:
        await conn.close()


async def test_aio_pika_topic_permission_refuses_a_routing_key(broker: BrokerThread) -> None:
    broker.add_user("tp", "pw")
    broker.set_permissions("tp")
    broker.set_topic_permissions("tp", "amq.topic", write="^{username}\\.", read=".*")
    conn = await aio_pika.connect(url_as(broker, "tp"))
    try:
        channel = await conn.channel()
        topic = await channel.get_exchange("amq.topic", ensure=False)
        await topic.publish(aio_pika.Message(b"ok"), "tp.events")
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused) as info:
            await topic.publish(aio_pika.Message(b"no"), "other.events")
        assert "access to topic 'other.events' in exchange 'amq.topic'" in str(info.value)
    finally:
        await conn.close()


async def test_aio_pika_robust_connection_update_secret(world: BrokerThread) -> None:
    conn = await aio_pika.connect_robust(url_as(world, "sub"))
    try:
        await conn.update_secret("a-new-token", reason="refresh")
        channel = await conn.channel()
        queue = await channel.get_queue("orders.q", ensure=True)  # a passive declare
        assert queue.name == "orders.q"
    finally:
        await conn.close()
