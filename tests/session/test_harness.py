"""The session harness itself (amqpbroker/testing/harness.py): what the other session tests
rely on it to do as a transport would."""

from __future__ import annotations

import pytest
from pamqp import commands

from amqpbroker.testing.harness import Client, SessionBroker


def test_a_body_larger_than_frame_max_goes_both_ways_in_frames(broker):
    c = broker.connect(frame_max=4096)
    ch = c.channel()
    ch.declare("q")
    body = bytes(range(256)) * 1000  # 256 kB: 63 body frames each way
    assert c.publish_bytes(1, body, routing_key="q").count(b"\x03\x00\x01") >= 63
    ch.publish(body, "q")
    message = ch.get("q")
    assert (message.body, message.body_size) == (body, len(body))


def test_deliveries_caused_by_another_connection_arrive_at_the_next_tick(broker):
    consumer = broker.connect().channel()
    consumer.declare("q")
    consumer.consume("q", no_ack=True)
    broker.connect().channel().publish(b"from elsewhere", "q")
    [delivery] = consumer.deliveries()
    assert (delivery.body, delivery.method.routing_key) == (b"from elsewhere", "q")


def test_advance_runs_due_timers_and_flushes_what_they_caused(broker):
    ch = broker.connect().channel()
    ch.declare("dead")
    ch.declare(
        "q",
        arguments={
            "x-message-ttl": 1000,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": "dead",
        },
    )
    watcher = broker.connect().channel()
    watcher.consume("dead", no_ack=True)
    ch.publish(b"m", "q")
    broker.advance(0.999)
    assert watcher.deliveries() == []
    broker.advance(0.001)
    assert [d.body for d in watcher.deliveries()] == [b"m"]


def test_a_dropped_client_releases_its_exclusive_queue_for_others(broker):
    owner = broker.connect()
    owner.channel().declare("mine", exclusive=True)
    other = broker.connect().channel()
    other.send(commands.Queue.Declare(queue="mine", passive=True))
    assert other.expect_close(405).reply_code == 405
    owner.drop()
    other = other.client.channel()
    other.send(commands.Queue.Declare(queue="mine", passive=True))
    other.expect_close(404)


def test_clients_share_a_vhost_and_not_another(broker: SessionBroker):
    broker.add_vhost("other")
    here, there = broker.connect().channel(), broker.connect(vhost="other").channel()
    here.declare("q")
    there.send(commands.Queue.Declare(queue="q", passive=True))
    assert there.expect_close(404).reply_text == "NOT_FOUND - no queue 'q' in vhost 'other'"
    assert broker.connect().channel().message_count("q") == 0


def test_config_overrides_reach_the_session():
    small = SessionBroker(channel_max=3, frame_max=8192, heartbeat=7)
    c = small.client()
    c.send_bytes(b"AMQP\x00\x00\x09\x01")
    c.expect(0, commands.Connection.Start)
    c.send(0, commands.Connection.StartOk({}, "PLAIN", "\0guest\0guest"))
    tune = c.expect(0, commands.Connection.Tune)
    assert (tune.channel_max, tune.frame_max, tune.heartbeat) == (3, 8192, 7)


def test_expect_names_what_came_instead(client: Client):
    ch = client.channel()
    ch.send(commands.Basic.Qos(prefetch_count=1))
    with pytest.raises(AssertionError, match=r"expected DeclareOk on 1, got Basic.QosOk\{"):
        ch.expect(commands.Queue.DeclareOk)


def test_publish_in_confirm_mode_reports_the_confirm_and_leaves_returns_unread(client: Client):
    ch = client.channel()
    ch.select_confirms()
    assert ch.publish(b"x", "nowhere", mandatory=True) is True
    [returned] = ch.received()
    assert returned.method.reply_text == "NO_ROUTE"
