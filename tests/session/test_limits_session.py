"""Per-vhost and per-user limits in the session layer, with RabbitMQ 3.10.8's codes and texts
(interop/differential/scenarios/limits_resources.py compares them with RabbitMQ;
tests/server/test_limits.py drives pika and aio-pika)."""

from __future__ import annotations

from pamqp import commands

from amqpbroker.testing.harness import SessionBroker


def refused_open(broker: SessionBroker, vhost: str = "/", user: str = "guest") -> str:
    """The connection.close text for a connection.open that is refused."""
    client = broker.client()
    client.send_bytes(b"AMQP\x00\x00\x09\x01")
    client.expect(0, commands.Connection.Start)
    client.send(
        0,
        commands.Connection.StartOk(
            client_properties={}, mechanism="PLAIN", response=f"\0{user}\0{user}"
        ),
    )
    tune = client.expect(0, commands.Connection.Tune)
    client.send(
        0, commands.Connection.TuneOk(channel_max=tune.channel_max, frame_max=tune.frame_max)
    )
    client.send(0, commands.Connection.Open(virtual_host=vhost))
    close = client.expect_close(530)
    assert (close.class_id, close.method_id) == (10, 40)
    return close.reply_text


def test_vhost_connection_limit_refuses_the_connection_over_it(broker: SessionBroker) -> None:
    broker.parameters.set_vhost_limit("/", "max-connections", 2)
    first, _second = broker.connect(), broker.connect()
    assert refused_open(broker) == (
        "NOT_ALLOWED - access to vhost '/' refused for user 'guest': "
        "connection limit (2) is reached"
    )
    first.close()
    broker.connect()  # a closed connection frees its place


def test_vhost_connection_limit_zero_refuses_all_and_clearing_lifts_it(
    broker: SessionBroker,
) -> None:
    broker.parameters.set_vhost_limit("/", "max-connections", 0)
    assert "connection limit (0) is reached" in refused_open(broker)
    broker.parameters.clear_vhost_limit("/", "max-connections")
    broker.connect()


def test_negative_limit_is_no_limit(broker: SessionBroker) -> None:
    broker.parameters.set_vhost_limit("/", "max-connections", -1)
    broker.parameters.set_vhost_limit("/", "max-queues", -5)
    ch = broker.connect().channel()
    for n in range(3):
        ch.declare(f"q{n}")
    broker.connect()


def test_queue_limit_refuses_a_new_queue_but_not_a_redeclare(broker: SessionBroker) -> None:
    broker.parameters.set_vhost_limit("/", "max-queues", 1)
    ch = broker.connect().channel()
    ch.declare("q1")
    ch.declare("q1")  # an existing queue is no new one
    ch.send(commands.Queue.Declare(queue="q2"))
    close = ch.expect_close(406)
    assert close.reply_text == (
        "PRECONDITION_FAILED - cannot declare queue 'q2': queue limit in vhost '/' (1) is reached"
    )
    assert (close.class_id, close.method_id) == (50, 10)
    ch = broker.connect().channel()
    ch.send(commands.Queue.Declare(queue="q1", passive=True))
    ch.expect(commands.Queue.DeclareOk)


def test_queue_limit_counts_server_named_queues_and_frees_with_deletion(
    broker: SessionBroker,
) -> None:
    broker.parameters.set_vhost_limit("/", "max-queues", 1)
    ch = broker.connect().channel()
    ch.declare("q1")
    ch.send(commands.Queue.Declare(queue=""))
    text = ch.expect_close(406).reply_text
    assert text.startswith("PRECONDITION_FAILED - cannot declare queue 'amq.gen-")
    assert text.endswith("': queue limit in vhost '/' (1) is reached")
    ch = broker.connect().channel()
    ch.call(commands.Queue.Delete(queue="q1"), commands.Queue.DeleteOk)
    ch.declare("q2")


def test_limits_of_one_vhost_leave_others_alone(broker: SessionBroker) -> None:
    broker.add_vhost("other")
    broker.parameters.set_vhost_limit("other", "max-connections", 0)
    broker.parameters.set_vhost_limit("other", "max-queues", 0)
    broker.connect().channel().declare("q")
    assert "vhost 'other'" in refused_open(broker, "other")


def test_user_connection_limit(broker: SessionBroker) -> None:
    broker.access.set_user_limit("guest", "max-connections", 1)
    first = broker.connect()
    assert refused_open(broker) == (
        "NOT_ALLOWED - connection refused for user 'guest': user connection limit (1) is reached"
    )
    first.close()
    broker.connect()


def test_vhost_limit_is_checked_before_the_user_limit(broker: SessionBroker) -> None:
    broker.access.set_user_limit("guest", "max-connections", 0)
    broker.parameters.set_vhost_limit("/", "max-connections", 0)
    assert "connection limit (0) is reached" in refused_open(broker)
    assert "access to vhost '/'" in refused_open(broker)


def test_user_channel_limit_closes_the_connection(broker: SessionBroker) -> None:
    broker.access.set_user_limit("guest", "max-channels", 2)
    client = broker.connect()
    client.channel()
    other = broker.connect()
    other.channel()  # counted across the user's connections
    client.send(3, commands.Channel.Open())
    close = client.expect_close(530)
    assert close.reply_text == (
        "NOT_ALLOWED - number of channels opened for user 'guest' has reached "
        "the maximum allowed user limit of (2)"
    )
    other.channel().close()  # the closed connection's channel was given back
    assert broker.state.user_channels == {"guest": 1}
