"""Tracing in the session layer: the firehose copies and the message journeys
(``session/tracing.py``, ``core/journeys.py``), on virtual time.  tests/server/
test_firehose.py and tests/management/test_mgmt_journeys.py check the same over sockets;
interop/differential/scenarios/firehose.py compares the copies with RabbitMQ's."""

from __future__ import annotations

from typing import Any

import pytest
from pamqp import commands

from amqpbroker.core.journeys import RING_SIZE
from amqpbroker.session.tracing import switch_tracing
from amqpbroker.testing.harness import ClientChannel, SessionBroker

TRACE = "amq.rabbitmq.trace"


@pytest.fixture
def traced(broker: SessionBroker) -> SessionBroker:
    switch_tracing(broker.state.vhosts["/"], True)
    return broker


def _journeys(broker: SessionBroker, vhost: str = "/") -> list[Any]:
    return list(broker.state.vhosts[vhost].journeys.journeys)


def _events(broker: SessionBroker, index: int = -1) -> list[dict[str, Any]]:
    """The events of a journey (the newest by default), without seq and at."""
    journey = _journeys(broker)[index]
    return [{k: v for k, v in e.items() if k not in ("seq", "at")} for e in journey.events]


def _trace_queue(ch: ClientChannel) -> str:
    ch.declare("firehose")
    ch.bind("firehose", TRACE, "#")
    return "firehose"


# -- the firehose ----------------------------------------------------------------------------------


def test_publish_and_get_are_copied_with_rabbitmqs_headers(traced, ch):
    _trace_queue(ch)
    ch.declare("q1")
    properties = commands.Basic.Properties(content_type="text/plain", headers={"a": 1})
    ch.publish(b"hello", "q1", properties=properties)
    got = ch.get("q1", no_ack=False)
    assert got is not None
    published, delivered = ch.get("firehose"), ch.get("firehose")
    assert published is not None and delivered is not None
    assert published.method.routing_key == "publish."
    assert delivered.method.routing_key == "deliver.q1"
    assert (published.body, delivered.body) == (b"hello", b"hello")
    headers = published.headers
    assert list(headers) == [
        "exchange_name",
        "routing_keys",
        "properties",
        "node",
        "vhost",
        "connection",
        "channel",
        "user",
        "routed_queues",
    ]
    assert headers["exchange_name"] == ""
    assert headers["routing_keys"] == ["q1"]
    assert headers["properties"] == {"headers": {"a": 1}, "content_type": "text/plain"}
    assert (headers["vhost"], headers["channel"], headers["user"]) == ("/", 1, "guest")
    assert headers["routed_queues"] == ["q1"]
    assert headers["connection"].startswith("127.0.0.1:40000 -> ")
    assert list(delivered.headers)[4:] == ["redelivered", "vhost", "connection", "channel", "user"]
    assert delivered.headers["redelivered"] == 0
    # The copy is transient and has no other property.
    assert published.properties.delivery_mode is None
    assert published.properties.content_type is None


def test_nothing_is_copied_while_tracing_is_off(broker, ch):
    _trace_queue(ch)
    ch.declare("q1")
    ch.publish(b"quiet", "q1")
    assert ch.get("q1") is not None
    assert ch.get("firehose") is None
    assert _journeys(broker) == []


def test_a_consumer_of_the_trace_queue_gets_no_copies_of_copies(traced, ch):
    _trace_queue(ch)
    ch.consume("firehose", "watcher", no_ack=True)
    ch.declare("q1")
    ch.publish(b"once", "q1")
    keys = [d.method.routing_key for d in ch.deliveries()]
    assert keys == ["publish."]
    assert ch.message_count("firehose") == 0


def test_a_redelivery_is_copied_with_redelivered_1(traced, ch):
    _trace_queue(ch)
    ch.declare("q1")
    ch.publish(b"again", "q1")
    first = ch.get("q1", no_ack=False)
    assert first is not None
    ch.reject(first.method.delivery_tag, requeue=True)
    assert ch.get("q1") is not None
    copies = [ch.get("firehose") for _ in range(3)]
    assert [c.headers.get("redelivered") for c in copies if c is not None] == [None, 0, 1]


def test_unroutable_publishes_are_copied_with_no_routed_queues(traced, ch):
    _trace_queue(ch)
    ch.exchange("x")
    ch.publish(b"lost", "nowhere", exchange="x", mandatory=True)
    returned = ch.next()  # (the basic.return, before its confirm)
    assert returned is not None and isinstance(returned.method, commands.Basic.Return)
    ch.publish(b"dropped", "nowhere", exchange="x")
    copies = [ch.get("firehose"), ch.get("firehose")]
    assert [(c.method.routing_key, c.headers["routed_queues"]) for c in copies if c] == [
        ("publish.x", []),
        ("publish.x", []),
    ]


def test_cc_and_bcc_keys_are_among_routing_keys_and_bcc_is_not_shown(traced, ch):
    _trace_queue(ch)
    ch.exchange("x")
    for key in ("k1", "k2", "k3"):
        ch.declare(key)
        ch.bind(key, "x", key)
    headers = {"CC": ["k2"], "BCC": ["k3"]}
    ch.publish(b"cc", "k1", exchange="x", properties=commands.Basic.Properties(headers=headers))
    copy = ch.get("firehose")
    assert copy is not None
    assert copy.headers["routing_keys"] == ["k1", "k2", "k3"]
    assert copy.headers["properties"] == {"headers": {"CC": ["k2"]}}
    assert sorted(copy.headers["routed_queues"]) == ["k1", "k2", "k3"]


# -- journeys --------------------------------------------------------------------------------------


def test_expired_message_dead_lettered_delivered_and_acked_is_one_journey(traced, ch):
    ch.exchange("dlx", "fanout")
    ch.declare("dead")
    ch.bind("dead", "dlx")
    ch.declare("q1", arguments={"x-message-ttl": 1000, "x-dead-letter-exchange": "dlx"})
    ch.publish(b"late", "q1")
    traced.advance(1.0)
    tag = ch.consume("dead", "ctag1")
    delivery = ch.deliveries()[0]
    ch.ack(delivery.method.delivery_tag)
    assert _events(traced) == [
        {"type": "routed", "queues": ["q1"]},
        {
            "type": "dead_lettered",
            "queue": "q1",
            "reason": "expired",
            "exchange": "dlx",
            "routing_keys": ["q1"],
        },
        {"type": "routed", "queues": ["dead"]},
        {
            "type": "delivered",
            "queue": "dead",
            "consumer_tag": tag,
            "connection": "127.0.0.1:40000 -> ",
            "channel": 1,
            "redelivered": False,
        },
        {"type": "acked", "queue": "dead"},
    ]
    journey = _journeys(traced)[0]
    seqs = [event["seq"] for event in journey.events]
    assert seqs == sorted(seqs) and journey.last_seq == seqs[-1]
    assert journey.events[1]["at"] - journey.events[0]["at"] == 1000  # virtual time, in ms


def test_expiry_without_a_dead_letter_exchange_ends_the_journey(traced, ch):
    ch.declare("q1", arguments={"x-message-ttl": 10})
    ch.publish(b"gone", "q1")
    traced.advance(0.01)
    assert ch.message_count("q1") == 0
    assert [e["type"] for e in _events(traced)] == ["routed", "expired"]


def test_returned_and_dropped_unroutable(traced, ch):
    ch.publish(b"m", "nowhere", exchange="amq.direct", mandatory=True)
    ch.publish(b"n", "nowhere", exchange="amq.direct")
    assert _events(traced, 0) == [
        {"type": "routed", "queues": []},
        {"type": "returned", "reply_code": 312, "reply_text": "NO_ROUTE"},
    ]
    assert _events(traced, 1) == [
        {"type": "routed", "queues": []},
        {"type": "dropped", "reason": "unroutable"},
    ]


def test_get_reject_nack_and_requeue_on_close(traced, client):
    ch = client.channel()
    ch.declare("q1", durable=False)
    ch.publish(b"m", "q1")
    got = ch.get("q1", no_ack=False)
    ch.reject(got.method.delivery_tag, requeue=True)
    got = ch.get("q1", no_ack=False)
    ch.nack(got.method.delivery_tag, requeue=True)
    ch.get("q1", no_ack=False)
    ch.close()
    types = [(e["type"], e.get("requeue"), e.get("reason")) for e in _events(traced)]
    assert types == [
        ("routed", None, None),
        ("got", None, None),
        ("rejected", True, None),
        ("got", None, None),
        ("rejected", True, None),
        ("got", None, None),
        ("requeued", None, "channel closed"),
    ]
    assert _events(traced)[1]["ack_mode"] == "manual"
    assert _events(traced)[3]["redelivered"] is True


def test_recover_and_reject_without_requeue(traced, ch):
    ch.declare("q1")
    ch.publish(b"m", "q1")
    ch.get("q1", no_ack=False)
    ch.call(commands.Basic.Recover(requeue=True), commands.Basic.RecoverOk)
    got = ch.get("q1", no_ack=False)
    ch.reject(got.method.delivery_tag, requeue=False)
    assert [e["type"] for e in _events(traced)] == [
        "routed",
        "got",
        "requeued",
        "got",
        "rejected",
    ]
    assert _events(traced)[2]["reason"] == "recover"
    assert _events(traced)[4]["requeue"] is False


def test_overflow_drop_head_and_reject_publish(traced, ch):
    ch.declare("head", arguments={"x-max-length": 1})
    ch.declare("refuse", arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    for body in (b"1", b"2"):
        ch.publish(body, "head")
        ch.publish(body, "refuse")
    dropped, refused = _events(traced, 0), _events(traced, 3)
    assert dropped[-1] == {"type": "dropped", "queue": "head", "reason": "maxlen"}
    assert refused[-1] == {"type": "rejected_by_queue", "queue": "refuse", "reason": "maxlen"}


def test_purge_and_queue_deletion(traced, ch):
    ch.declare("p")
    ch.declare("d")
    ch.publish(b"1", "p")
    ch.publish(b"2", "d")
    ch.call(commands.Queue.Purge(queue="p"), commands.Queue.PurgeOk)
    ch.call(commands.Queue.Delete(queue="d"), commands.Queue.DeleteOk)
    assert _events(traced, 0)[-1] == {"type": "purged", "queue": "p"}
    assert _events(traced, 1)[-1] == {"type": "queue_deleted", "queue": "d"}


def test_a_journey_records_where_it_was_published(traced, ch):
    ch.declare("q1")
    properties = commands.Basic.Properties(message_id="m1")
    ch.publish(b"x" * 300, "q1", exchange="", properties=properties)
    journey = _journeys(traced)[0]
    assert (journey.exchange, journey.routing_key, journey.user, journey.channel) == (
        "",
        "q1",
        "guest",
        1,
    )
    assert journey.size == 300 and journey.payload == b"x" * 256
    assert journey.published_at == int(traced.clock.wall() * 1000)


def test_tracing_off_stops_recording_but_keeps_what_was_recorded(traced, ch):
    ch.declare("q1")
    ch.publish(b"m", "q1")
    switch_tracing(traced.state.vhosts["/"], False)
    ch.get("q1")
    ch.publish(b"n", "q1")
    assert len(_journeys(traced)) == 1
    assert [e["type"] for e in _events(traced)] == ["routed"]


def test_the_ring_keeps_the_last_journeys(traced, ch):
    ch.declare("q1", arguments={"x-max-length": 1})
    for _ in range(RING_SIZE + 5):
        ch.publish(b"m", "q1")
    journeys = _journeys(traced)
    assert len(journeys) == RING_SIZE
    assert journeys[0].id == 6 and journeys[-1].id == RING_SIZE + 5


def test_copies_are_routed_by_their_keys_through_the_topic_exchange(traced, ch):
    ch.declare("deliveries")
    ch.bind("deliveries", TRACE, "deliver.#")
    ch.declare("q1")
    ch.publish(b"m", "q1")
    assert ch.get("q1") is not None
    copy = ch.get("deliveries")
    assert copy is not None and copy.method.routing_key == "deliver.q1"
    assert ch.get("deliveries") is None


def test_drop_head_into_a_dead_letter_exchange_continues_the_journey(traced, ch):
    ch.exchange("dlx", "fanout")
    ch.declare("overflow")
    ch.bind("overflow", "dlx")
    ch.declare("q1", arguments={"x-max-length": 1, "x-dead-letter-exchange": "dlx"})
    ch.publish(b"1", "q1")
    ch.publish(b"2", "q1")
    assert _events(traced, 0)[1:] == [
        {
            "type": "dead_lettered",
            "queue": "q1",
            "reason": "maxlen",
            "exchange": "dlx",
            "routing_keys": ["q1"],
        },
        {"type": "routed", "queues": ["overflow"]},
    ]


def test_a_dead_letter_exchange_that_routes_nowhere_drops(traced, ch):
    ch.exchange("dlx", "direct")
    ch.declare("q1", arguments={"x-dead-letter-exchange": "dlx"})
    ch.publish(b"m", "q1")
    got = ch.get("q1", no_ack=False)
    ch.reject(got.method.delivery_tag, requeue=False)
    assert [e["type"] for e in _events(traced)][-3:] == ["dead_lettered", "routed", "dropped"]
    assert _events(traced)[-1] == {"type": "dropped", "reason": "unroutable"}


def test_quorum_delivery_limit_without_a_dead_letter_exchange(traced, ch):
    ch.declare("qq", durable=True, arguments={"x-queue-type": "quorum", "x-delivery-limit": 0})
    ch.publish(b"m", "qq")
    got = ch.get("qq", no_ack=False)
    ch.reject(got.method.delivery_tag, requeue=True)
    assert _events(traced)[-1] == {"type": "dropped", "queue": "qq", "reason": "delivery_limit"}


def test_a_dropped_connection_requeues_its_deliveries(traced, client):
    watcher = traced.connect().channel()
    watcher.declare("q1")
    watcher.publish(b"m", "q1")
    ch = client.channel()
    tag = ch.consume("q1", "ctag")
    assert len(ch.deliveries()) == 1
    client.drop()
    events = _events(traced)
    assert [e["type"] for e in events] == ["routed", "delivered", "requeued"]
    assert events[1]["consumer_tag"] == tag
    assert events[2] == {"type": "requeued", "queue": "q1", "reason": "channel closed"}
