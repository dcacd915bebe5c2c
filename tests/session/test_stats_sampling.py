"""Broker-wide totals that outlive channels, connections and queues, and the sampler's
rates and idle times (core.sampler), on the harness's ManualClock."""

from __future__ import annotations

from pamqp import commands

from amqpbroker.core.stats import OVERVIEW_FIELDS, QUEUE_SAMPLED_FIELDS
from amqpbroker.server.stats_timer import totals_now
from amqpbroker.testing.harness import SessionBroker


def overview(broker: SessionBroker) -> dict[str, int]:
    sessions = [client.session for client in broker.clients if not client.lost]
    counts, _, _ = totals_now(broker.state, sessions)
    return {name: value for name, value in zip(OVERVIEW_FIELDS, counts, strict=True) if value}


def test_totals_survive_channel_and_connection_close_and_queue_delete() -> None:
    """RabbitMQ's overview message_stats are cumulative: they keep what closed channels and
    deleted queues counted."""
    broker = SessionBroker()
    publisher = broker.connect()
    pub = publisher.channel()
    pub.declare("q")
    for _ in range(3):
        pub.publish(b"m", routing_key="q")
    consumer = broker.connect()
    sub = consumer.channel()
    sub.consume("q", "c", no_ack=True)
    assert len(sub.deliveries()) == 3
    expected = {"publish": 3, "deliver_no_ack": 3, "deliver_get": 3}
    assert overview(broker) == expected
    pub.close()
    assert overview(broker) == expected
    sub.call(commands.Queue.Delete(queue="q"), commands.Queue.DeleteOk)
    assert overview(broker) == expected
    consumer.close()
    publisher.drop()
    assert overview(broker) == expected
    vhost = broker.state.vhosts["/"]
    assert vhost.retired[:2] == [3, 0]  # (its own totals: publish, confirm)


def test_rates_over_the_last_interval() -> None:
    """Each rate is the change per second since the previous sampling, for queues,
    channels, connections, vhosts and the overview."""
    broker = SessionBroker()
    client = broker.connect()
    ch = client.channel()
    ch.declare("q")
    broker.sample_stats()
    for _ in range(10):
        ch.publish(b"m", routing_key="q")
    broker.advance(5)
    broker.sample_stats()
    queue = broker.state.vhosts["/"].queues["q"]
    rates = queue.sample.rates_by_name(QUEUE_SAMPLED_FIELDS)
    assert rates["publish"] == 2.0 and rates["messages"] == 2.0 and rates["deliver"] == 0.0
    channel = client.session.channels[1]
    assert channel.sample.rates[0] == 2.0  # publish
    assert broker.state.stats.message_sample.rates[0] == 2.0
    assert broker.state.vhosts["/"].sample.rates[0] == 2.0
    assert client.session.sample.rates[0] > 0  # recv_oct
    assert broker.state.stats.totals_sample.rates == (2.0, 2.0, 0.0)
    broker.advance(5)
    broker.sample_stats()
    assert queue.sample.rates_by_name(QUEUE_SAMPLED_FIELDS)["publish"] == 0.0


def test_idle_since() -> None:
    """A queue or channel is idle from its creation until its counters move; while they
    move idle_since is None (RabbitMQ omits it); once they stand still it is the wall time
    of the last sampling that saw them move."""
    broker = SessionBroker()
    created = broker.clock.wall()
    ch = broker.connect().channel()
    ch.declare("q")
    queue = broker.state.vhosts["/"].queues["q"]
    channel = ch.client.session.channels[1]
    assert queue.sample.idle_since == created == channel.sample.idle_since
    broker.advance(5)
    broker.sample_stats()
    assert queue.sample.idle_since == created
    ch.publish(b"m", routing_key="q")
    broker.advance(5)
    moved = broker.clock.wall()
    broker.sample_stats()
    assert queue.sample.idle_since is None and channel.sample.idle_since is None
    broker.advance(5)
    broker.sample_stats()
    assert queue.sample.idle_since == moved == channel.sample.idle_since


def test_vhost_totals_and_a_deleted_vhosts_channels() -> None:
    """A vhost's totals keep its closed connections' octets and channels' counts (as
    RabbitMQ's /api/vhosts does); channels left open on a deleted vhost still count in
    the overview."""
    broker = SessionBroker()
    broker.add_vhost("v")
    client = broker.connect("v")
    ch = client.channel()
    ch.declare("q")
    ch.publish(b"m", routing_key="q")
    client.close()
    vhost = broker.state.vhosts["v"]
    assert vhost.retired[0] == 1  # publish
    assert (vhost.recv_oct, vhost.send_oct) == (client.session.recv_oct, client.session.send_oct)
    assert vhost.recv_oct > 0
    other = broker.connect("v").channel()
    other.publish(b"m", routing_key="q")
    broker.state.delete_vhost("v")
    assert overview(broker)["publish"] == 2
    broker.sample_stats()
    assert broker.state.stats.message_sample.counts[0] == 2
