"""Message statistics (core.stats): what increments what, as RabbitMQ 3.10.8 counts it.

Each test replays a sequence run against the reference RabbitMQ 3.10.8 (pika, then
``GET /api/queues|exchanges|channels`` after its 5-second statistics interval); the
docstrings say what the reference showed.
"""

from __future__ import annotations

from typing import Any

import pytest
from pamqp import commands

from amqpbroker.core.stats import (
    CHANNEL_FIELDS,
    exchange_counts,
    queue_message_stats,
    queue_unacknowledged,
)
from amqpbroker.testing.harness import PROTOCOL_HEADER, Client, SessionBroker


def queue_stats(broker: SessionBroker, name: str, vhost: str = "/") -> dict[str, int]:
    stats = queue_message_stats(broker.state.vhosts[vhost].queues[name])
    return {key: value for key, value in stats.items() if value}


def exchange_stats(broker: SessionBroker, name: str) -> tuple[int, int]:
    return exchange_counts(broker.state.vhosts["/"].exchanges[name])


def channel_stats(client: Client, number: int) -> dict[str, int]:
    counts = client.session.channels[number].message_counts()
    return {key: value for key, value in zip(CHANNEL_FIELDS, counts, strict=True) if value}


def test_publishes_count_per_queue_exchange_and_channel() -> None:
    """Reference: q1 publish 5 (3 plain + 2 confirmed); qa, qb 2 each from a fanout (fx
    publish_in 2, publish_out 4); an unroutable publish counts publish_in only; x1 -> x2 ->
    q2 counts on x1 (in 1, out 1), nothing on x2; a reject-publish queue counts both
    publishes, the refused one too; a dead-lettered message is no publish of its target
    (dlq: none), but counts on the TTL-0 queue (1); the default exchange: in 8, out 8.
    Channels: (1) publish 6, drop_unroutable 1; (2) publish 1, return_unroutable 1;
    (3) confirm 4, publish 4, drop 1, return 1."""
    broker = SessionBroker()
    client = broker.connect()
    ch1 = client.channel()
    ch1.declare("q1")
    for _ in range(3):
        ch1.publish(b"m", routing_key="q1")
    ch1.exchange("fx", "fanout")
    for name in ("qa", "qb"):
        ch1.declare(name)
        ch1.bind(name, "fx")
    for _ in range(2):
        ch1.publish(b"f", exchange="fx")
    ch1.exchange("empty", "fanout")
    ch1.publish(b"drop", exchange="empty")
    ch2 = client.channel()
    ch2.publish(b"ret", exchange="empty", mandatory=True)
    ch3 = client.channel()
    ch3.select_confirms()
    assert ch3.publish(b"c1", routing_key="q1") and ch3.publish(b"c2", routing_key="q1")
    assert ch3.publish(b"c3", exchange="empty")
    assert ch3.publish(b"c4", exchange="empty", mandatory=True)
    ch4 = client.channel()
    ch4.exchange("x1", "direct")
    ch4.exchange("x2", "fanout")
    ch4.declare("q2")
    ch4.call(
        commands.Exchange.Bind(destination="x2", source="x1", routing_key="k"),
        commands.Exchange.BindOk,
    )
    ch4.bind("q2", "x2")
    ch4.publish(b"e2e", exchange="x1", routing_key="k")
    ch5 = client.channel()
    ch5.declare("full", arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    ch5.publish(b"1", routing_key="full")
    ch5.publish(b"2", routing_key="full")
    ch6 = client.channel()
    ch6.declare("dlq")
    ttl0 = {"x-message-ttl": 0, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dlq"}
    ch6.declare("ttl0", arguments=ttl0)
    ch6.publish(b"dl", routing_key="ttl0")

    assert broker.state.vhosts["/"].queues["dlq"].message_count == 1
    published = {
        name: queue_stats(broker, name).get("publish", 0)
        for name in ("q1", "qa", "qb", "q2", "full", "ttl0", "dlq")
    }
    assert published == {"q1": 5, "qa": 2, "qb": 2, "q2": 1, "full": 2, "ttl0": 1, "dlq": 0}
    assert exchange_stats(broker, "") == (8, 8)
    assert exchange_stats(broker, "fx") == (2, 4)
    assert exchange_stats(broker, "empty") == (4, 0)
    assert exchange_stats(broker, "x1") == (1, 1)
    assert exchange_stats(broker, "x2") == (0, 0)
    assert channel_stats(client, 1) == {"publish": 6, "drop_unroutable": 1}
    assert channel_stats(client, 2) == {"publish": 1, "return_unroutable": 1}
    assert channel_stats(client, 3) == {
        "publish": 4,
        "confirm": 4,
        "drop_unroutable": 1,
        "return_unroutable": 1,
    }
    assert channel_stats(client, 4) == {"publish": 1}
    assert channel_stats(client, 5) == {"publish": 2}


def test_nacked_publishes_are_not_confirms() -> None:
    """Reference: in confirm mode, a reject-publish queue's nack is not counted: 4
    publishes (1 acked, 1 nacked into the full queue, 2 to another) gave confirm 3."""
    broker = SessionBroker()
    ch = broker.connect().channel()
    ch.select_confirms()
    ch.declare("full", arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    ch.declare("other")
    assert ch.publish(b"1", routing_key="full") is True
    assert ch.publish(b"2", routing_key="full") is False
    assert ch.publish(b"3", routing_key="other") and ch.publish(b"4", routing_key="other")
    assert channel_stats(ch.client, 1) == {"publish": 4, "confirm": 3}


def _tag(delivery: Any) -> int:
    return int(delivery.method.delivery_tag)


def test_gets_acks_and_redeliveries() -> None:
    """Reference, queue g (4 published): get + ack, get no-ack, get + nack requeue, get
    (redelivered) + reject, get + ack, get on the empty queue: ack 2, get 4, get_no_ack 1,
    get_empty 1, redeliver 1, deliver_get 5 (get_empty not in it), publish 4; the channel
    the same (and publish 4).  Nacks and rejects are not acks."""
    broker = SessionBroker()
    client = broker.connect()
    ch = client.channel()
    ch.declare("g")
    for index in range(4):
        ch.publish(b"m%d" % index, routing_key="g")
    got = ch.get("g", no_ack=False)
    assert got is not None
    ch.ack(_tag(got))
    assert ch.get("g", no_ack=True) is not None
    got = ch.get("g", no_ack=False)
    assert got is not None
    ch.nack(_tag(got), requeue=True)
    got = ch.get("g", no_ack=False)
    assert got is not None and got.method.redelivered
    ch.reject(_tag(got), requeue=False)
    got = ch.get("g", no_ack=False)
    assert got is not None
    ch.ack(_tag(got))
    assert ch.get("g", no_ack=False) is None
    expected = {
        "publish": 4,
        "get": 4,
        "get_no_ack": 1,
        "get_empty": 1,
        "ack": 2,
        "redeliver": 1,
        "deliver_get": 5,
    }
    assert queue_stats(broker, "g") == expected
    assert channel_stats(client, 1) == expected


def test_consumer_deliveries() -> None:
    """Reference: a consumer (prefetch 10) gets 3, nacks the first with requeue, gets it
    again (redelivered), acks all with multiple: queue and channel deliver 4, redeliver 1,
    ack 3, deliver_get 4.  A no-ack consumer of 2: deliver_no_ack 2, deliver_get 2."""
    broker = SessionBroker()
    client = broker.connect()
    ch = client.channel()
    ch.declare("d")
    ch.qos(10)
    for index in range(3):
        ch.publish(b"d%d" % index, routing_key="d")
    ch.consume("d", "c")
    first = ch.deliveries()
    assert len(first) == 3
    ch.nack(_tag(first[0]), requeue=True)
    again = ch.deliveries()
    assert len(again) == 1 and again[0].method.redelivered
    ch.ack(_tag(again[0]), multiple=True)
    expected = {"publish": 3, "deliver": 4, "redeliver": 1, "ack": 3, "deliver_get": 4}
    assert queue_stats(broker, "d") == expected
    assert channel_stats(client, 1) == expected
    ch2 = client.channel()
    ch2.declare("n")
    ch2.publish(b"n0", routing_key="n")
    ch2.publish(b"n1", routing_key="n")
    ch2.consume("n", "nc", no_ack=True)
    assert len(ch2.deliveries()) == 2
    expected = {"publish": 2, "deliver_no_ack": 2, "deliver_get": 2}
    assert queue_stats(broker, "n") == expected
    assert channel_stats(client, 2) == expected


def test_counts_stay_when_consumers_go() -> None:
    """A cancelled consumer's deliveries stay in its queue's and its channel's counts
    (RabbitMQ keeps them per queue and channel, not per consumer); a basic.cancel, and the
    queue deleted under another consumer."""
    broker = SessionBroker()
    client = broker.connect()
    ch = client.channel()
    ch.declare("a")
    ch.declare("b")
    ch.consume("a", "ca", no_ack=True)
    ch.consume("b", "cb")
    ch.publish(b"1", routing_key="a")
    ch.publish(b"2", routing_key="b")
    assert len(ch.deliveries()) == 2
    ch.call(commands.Basic.Cancel(consumer_tag="ca"), commands.Basic.CancelOk)
    ch.call(commands.Queue.Delete(queue="b"), commands.Queue.DeleteOk)
    assert queue_stats(broker, "a") == {"publish": 1, "deliver_no_ack": 1, "deliver_get": 1}
    assert channel_stats(client, 1) == {
        "publish": 2,
        "deliver": 1,
        "deliver_no_ack": 1,
        "deliver_get": 2,
    }


def test_unacknowledged_per_queue_follows_settlements() -> None:
    """``messages_unacknowledged`` of a queue is derived (deliver + get - ack - returned):
    it agrees with the deliveries the channels hold, through acks, rejects, a cancelled
    consumer whose deliveries stay unacked, and a closed channel."""
    broker = SessionBroker()
    client = broker.connect()
    ch = client.channel()
    ch.declare("u")
    for index in range(6):
        ch.publish(b"%d" % index, routing_key="u")
    ch.qos(3)
    ch.consume("u", "c")
    tags = [_tag(d) for d in ch.deliveries()]
    got = ch.get("u", no_ack=False)
    queue = broker.state.vhosts["/"].queues["u"]

    def unacked() -> int:
        return queue_unacknowledged(queue)

    assert len(tags) == 3 and got is not None
    assert unacked() == 4 == len(client.session.channels[1].unacked)
    ch.ack(tags[0])
    ch.reject(tags[1], requeue=False)
    ch.call(commands.Basic.Cancel(consumer_tag="c"), commands.Basic.CancelOk)
    assert unacked() == 4 == len(client.session.channels[1].unacked)  # (2 more delivered)
    ch.close()
    assert unacked() == 0
    assert queue.message_count == 4  # (6, one acked, one rejected)


def test_churn() -> None:
    """Reference: a new queue counts created and declared, a redeclare declared only, a
    passive declare nothing; queue_deleted counts queue.delete, an exclusive queue closing
    with its connection and an auto-delete queue losing its consumer; channel_closed counts
    channels closed by the client and with their connection; connection_created counts
    connections that opened, connection_closed every one that went, a failed login and a
    socket that sent only the protocol header included."""
    broker = SessionBroker()
    stats = broker.state.stats
    client = broker.connect()
    ch = client.channel()
    ch.declare("c1")
    ch.declare("c1")
    ch.declare("c1", passive=True)
    ch.declare("", exclusive=True)
    ch.declare("ad", auto_delete=True)
    ch.consume("ad", "c")
    client.channel().close()
    client.channel()
    ch.call(commands.Queue.Delete(queue="c1"), commands.Queue.DeleteOk)
    ch.close()
    client.close()
    silent = broker.client()
    silent.send_bytes(PROTOCOL_HEADER)
    silent.drop()
    refused = broker.client()
    with pytest.raises(AssertionError):
        refused.handshake(password="wrong")
    refused.drop()
    assert stats.churn_counts() == (1, 3, 3, 3, 3, 4, 3)


def test_connection_octets() -> None:
    """recv_oct/send_oct are the bytes in and out, recv_cnt the reads handed to the
    session (the socket's reads) and send_cnt the writes."""
    broker = SessionBroker()
    client = broker.connect()
    session = client.session
    recv_oct, recv_cnt, send_oct, send_cnt = session.message_counts()
    assert recv_cnt == 4  # header, start-ok, tune-ok, open: one read each here
    assert send_cnt == 3  # start, tune, open-ok
    assert send_oct > 0 and recv_oct > len(PROTOCOL_HEADER)
    client.channel()
    recv_oct, recv_cnt, send_oct, send_cnt = session.message_counts()
    data = client.publish_bytes(1, b"x" * 100, routing_key="nowhere")
    client.send_bytes(data)
    assert session.message_counts() == (recv_oct + len(data), recv_cnt + 1, send_oct, send_cnt)
    client.send_bytes(data + data)
    assert session.recv_cnt == recv_cnt + 2


def test_direct_replies_and_transactions() -> None:
    """Reference: a direct reply (published to the default exchange with the reply-to
    name) counts as the replier's publish and drop_unroutable, publish_in of the default
    exchange and no publish_out, and no delivery on the requester's channel; a committed
    transactional publish counts, a rolled-back one does not."""
    broker = SessionBroker()
    client = broker.connect()
    requester = client.channel()
    requester.consume("amq.rabbitmq.reply-to", "r", no_ack=True)
    requester.declare("rpcq")
    reply_to = commands.Basic.Properties(reply_to="amq.rabbitmq.reply-to")
    requester.publish(b"req", routing_key="rpcq", properties=reply_to)
    replier = client.channel()
    request = replier.get("rpcq", no_ack=True)
    assert request is not None and request.properties.reply_to
    replier.publish(b"reply", routing_key=request.properties.reply_to)
    assert [d.body for d in requester.deliveries()] == [b"reply"]
    tx = client.channel()
    tx.call(commands.Tx.Select(), commands.Tx.SelectOk)
    tx.publish(b"t1", routing_key="rpcq")
    tx.call(commands.Tx.Commit(), commands.Tx.CommitOk)
    tx.publish(b"t2", routing_key="rpcq")
    tx.call(commands.Tx.Rollback(), commands.Tx.RollbackOk)
    assert queue_stats(broker, "rpcq") == {"publish": 2, "get_no_ack": 1, "deliver_get": 1}
    assert exchange_stats(broker, "") == (3, 2)
    assert channel_stats(client, 1) == {"publish": 1}
    assert channel_stats(client, 2) == {
        "publish": 1,
        "drop_unroutable": 1,
        "get_no_ack": 1,
        "deliver_get": 1,
    }
    assert channel_stats(client, 3) == {"publish": 1}
