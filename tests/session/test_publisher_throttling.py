"""Publishers held back in the session layer: the resource alarm (connection.blocked /
unblocked, tests/server/test_blocked.py) and a queue far behind its consumers (core.queue
FLOW_HIGH, tests/server/test_publisher_flow_control.py)."""

from __future__ import annotations

from pamqp import commands
from sessionutil import bodies

from amqpbroker.core.queue import FLOW_HIGH, FLOW_STALL
from amqpbroker.testing.harness import CAPABILITIES, Client, ClientChannel, SessionBroker

WITHOUT_CAPABILITY = {k: v for k, v in CAPABILITIES.items() if k != "connection.blocked"}


def connection_events(client: Client) -> list[str]:
    """The connection.blocked (with its reason) and unblocked received so far."""
    return [
        f"blocked: {m.reason}" if isinstance(m, commands.Connection.Blocked) else "unblocked"
        for m in client.received(0)
    ]


def observer(broker: SessionBroker) -> ClientChannel:
    channel = broker.connect().channel()
    channel.declare("q")
    return channel


# -- the resource alarm --------------------------------------------------------------------------
def test_publisher_is_blocked_at_its_first_publish_and_its_publishes_land_after(broker):
    watch = observer(broker)
    publisher = broker.connect()
    pch = publisher.channel()
    broker.block_publishers()
    assert connection_events(publisher) == [], "nothing is sent when the alarm goes off"
    sent = [b"m%03d" % i for i in range(100)]
    for body in sent:
        pch.publish(body, "q")
    assert connection_events(publisher) == ["blocked: low on memory"]
    assert publisher.session.input_paused
    assert watch.message_count("q") == 0  # not even the first body was taken
    broker.unblock_publishers()
    assert connection_events(publisher) == ["unblocked"]
    assert watch.drain("q") == sent


def test_consumers_keep_receiving_while_publishers_are_blocked(broker):
    feeder = observer(broker)
    backlog = [b"b%02d" % i for i in range(20)]
    for body in backlog:
        feeder.publish(body, "q")
    publisher = broker.connect()
    broker.block_publishers()
    publisher.channel().publish(b"late", "q")
    assert connection_events(publisher) == ["blocked: low on memory"]
    consumer = broker.connect()
    cch = consumer.channel()
    cch.qos(1)
    cch.consume("q")
    received = []
    while delivered := cch.deliveries():
        received += delivered
        cch.ack(delivered[-1].method.delivery_tag)
    assert bodies(received) == backlog
    broker.unblock_publishers()
    assert bodies(cch.deliveries()) == [b"late"]
    assert connection_events(consumer) == [], "a consumer is never blocked"


def test_connections_that_do_not_publish_during_the_alarm_are_not_blocked(broker):
    earlier = observer(broker)
    earlier.publish(b"before the alarm", "q")
    idle = broker.connect().channel()
    publisher = broker.connect()
    broker.block_publishers()
    publisher.channel().publish(b"during", "q")
    assert connection_events(publisher) == ["blocked: low on memory"]
    assert (earlier.message_count("q"), idle.message_count("q")) == (1, 1)
    broker.unblock_publishers()
    assert (earlier.message_count("q"), idle.message_count("q")) == (2, 2)
    assert connection_events(earlier.client) == connection_events(idle.client) == []


def test_a_publisher_is_blocked_again_by_the_next_alarm(broker):
    watch = observer(broker)
    publisher = broker.connect()
    pch = publisher.channel()
    events = []
    for round_ in (1, 2):
        broker.block_publishers()
        pch.publish(b"round %d" % round_, "q")
        broker.unblock_publishers()
        events += connection_events(publisher)
    assert events == ["blocked: low on memory", "unblocked"] * 2
    assert watch.drain("q") == [b"round 1", b"round 2"]


def test_client_without_the_capability_is_held_without_a_frame(broker):
    watch = observer(broker)
    raw = broker.connect(capabilities=WITHOUT_CAPABILITY)
    rch = raw.channel()
    broker.block_publishers()
    # One read: an empty-bodied publish (complete with its header, so routed before the
    # block takes hold), a publish with a body, and a question.
    raw.send_bytes(
        raw.publish_bytes(1, b"", routing_key="q") + raw.publish_bytes(1, b"held", routing_key="q")
    )
    rch.send(commands.Queue.Declare(queue="q", passive=True))
    assert watch.message_count("q") == 1, "the second publish is held"
    assert rch.received() == []
    broker.unblock_publishers()
    assert [type(m) for m in rch.received()] == [commands.Queue.DeclareOk]
    assert raw.received(0) == []  # no connection.blocked, no connection.unblocked
    assert watch.drain("q") == [b"", b"held"]


def test_unblock_without_block_is_a_no_op(broker):
    publisher = broker.connect()
    pch = publisher.channel()
    pch.declare("q")
    broker.unblock_publishers()
    pch.publish(b"m", "q")
    assert pch.message_count("q") == 1
    assert publisher.received(0) == []


def test_a_connection_blocked_at_the_close_is_closed_by_the_broker(broker):
    publisher = broker.connect()
    publisher.channel().publish(b"x", "nowhere")
    broker.block_publishers()
    publisher.channel(2).publish(b"held", "nowhere")
    assert connection_events(publisher) == ["blocked: low on memory"]
    publisher.session.force_close("shutdown")  # as BrokerServer.stop does
    close = publisher.expect_close(320)
    assert (
        close.reply_text
        == "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"
    )
    assert publisher.closed


# -- a queue far behind its consumers (FLOW_HIGH) ------------------------------------------------
def flooded(broker: SessionBroker) -> tuple[Client, Client, ClientChannel]:
    """(publisher, consumer, consumer's channel): the consumer reads nothing and the
    publisher has sent FLOW_HIGH + 100 publishes into 'q' in one read, then 100 more."""
    consumer = broker.connect()
    cch = consumer.channel()
    cch.declare("q")
    cch.consume("q", no_ack=True)
    consumer.stop_reading()
    publisher = broker.connect()
    publisher.channel()
    one = publisher.publish_bytes(1, b"x", routing_key="q")
    publisher.send_bytes(one * (FLOW_HIGH + 100))
    publisher.send_bytes(one * 100)
    return publisher, consumer, cch


def ready(broker: SessionBroker) -> int:
    return broker.connect().channel().message_count("q")


def test_a_publisher_into_a_queue_far_behind_is_not_read_until_it_catches_up(broker):
    publisher, consumer, cch = flooded(broker)
    assert publisher.session.input_paused
    assert ready(broker) == FLOW_HIGH + 100  # the second read waits unhandled
    consumer.resume_reading()
    assert not publisher.session.input_paused
    delivered = len(cch.deliveries())
    delivered += len(cch.deliveries())
    assert delivered + ready(broker) == FLOW_HIGH + 200  # nothing lost


def test_stuck_consumers_stop_holding_publishers_after_flow_stall(broker):
    publisher, _consumer, _ = flooded(broker)
    broker.advance(FLOW_STALL - 0.1)
    assert publisher.session.input_paused
    broker.advance(0.1)
    assert not publisher.session.input_paused
    assert ready(broker) == FLOW_HIGH + 200
