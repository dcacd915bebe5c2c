"""The values the views put in RabbitMQ's keys: counts, names, formats, activity, TLS,
who declared, counters read through ``views.counters``, and building in chunks."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from typing import Any

import pytest
from pamqp import commands
from views_scenario import VHOST, Scenario, scenario

from amqpbroker.core.alarms import Alarms
from amqpbroker.management.views import (
    TLSFacts,
    UnackedIndex,
    ViewContext,
    channel_item,
    channel_named,
    connection_item,
    consumer_items,
    exchange_destination_items,
    exchange_detail,
    exchange_item,
    exchange_source_items,
    exchanges_of,
    find_binding,
    in_chunks,
    iter_binding_items,
    json_array_pieces,
    node_item,
    open_sessions,
    pair_binding_items,
    queue_binding_items,
    queue_detail,
    queue_item,
    queue_items,
    queues_of,
    session_named,
    vhost_binding_items,
    vhost_item,
)
from amqpbroker.management.views.formats import rabbit_timestamp
from amqpbroker.testing.harness import SessionBroker


@pytest.fixture
def world() -> Scenario:
    return scenario()


def test_idle_since_is_rabbitmqs_format() -> None:
    assert rabbit_timestamp(1796536041.85) == "2026-12-06T05:47:21.850+00:00"


def test_idle_since_is_omitted_while_busy() -> None:
    """RabbitMQ's queues and channels show ``idle_since`` only once they stand still."""
    broker = SessionBroker()
    ch = broker.connect().channel()
    ch.declare("q")
    queue = broker.state.vhosts["/"].queues["q"]
    channel = ch.client.session.channels[1]
    context = ViewContext()

    def shown() -> tuple[bool, bool]:
        return (
            "idle_since" in queue_item(queue, context, UnackedIndex()),
            "idle_since" in channel_item(channel, context),
        )

    assert shown() == (True, True)
    ch.publish(b"m", routing_key="q")
    broker.advance(5)
    broker.sample_stats()
    assert shown() == (False, False)
    broker.advance(5)
    broker.sample_stats()
    assert shown() == (True, True)


def test_message_counts(world: Scenario) -> None:
    queues = world.broker.state.vhosts[VHOST].queues
    consumed = queue_item(queues["research-c"], world.context, world.unacked())
    assert (consumed["messages"], consumed["messages_ready"]) == (1, 0)
    assert consumed["messages_unacknowledged"] == 1
    assert consumed["message_bytes_unacknowledged"] == 1
    assert consumed["consumers"] == 1
    assert consumed["consumer_capacity"] == consumed["consumer_utilisation"] == 1.0
    ready = queue_item(queues["research-q"], world.context, world.unacked())
    assert (ready["messages"], ready["messages_ready"], ready["message_bytes"]) == (4, 4, 15)
    assert ready["consumer_capacity"] == 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", ready["idle_since"])
    vhost = vhost_item(world.broker.state.vhosts[VHOST], world.context, world.unacked())
    assert (vhost["messages"], vhost["messages_ready"]) == (5, 4)
    assert vhost["messages_unacknowledged"] == 1


def test_settlements_held_by_a_transaction_are_still_unacked() -> None:
    broker = SessionBroker()
    ch = broker.connect().channel()
    ch.declare("q")
    ch.publish(b"m", routing_key="q")
    delivery = ch.get("q", no_ack=False)
    assert delivery is not None
    ch.call(commands.Tx.Select(), commands.Tx.SelectOk)
    ch.ack(delivery.method.delivery_tag)
    ch.publish(b"n", routing_key="q")
    queue = broker.state.vhosts["/"].queues["q"]
    sessions = [client.session for client in broker.clients]
    assert queue_item(queue, ViewContext(), UnackedIndex(sessions))["messages_unacknowledged"] == 1
    channel = broker.clients[0].session.channels[1]
    item = channel_item(channel, ViewContext())
    assert item["transactional"] is True
    assert (item["acks_uncommitted"], item["messages_uncommitted"]) == (1, 1)
    assert item["messages_unacknowledged"] == 1


def test_unconfirmed_publishes() -> None:
    broker = SessionBroker()
    ch = broker.connect().channel()
    ch.select_confirms()
    item = channel_item(broker.clients[0].session.channels[1], ViewContext())
    assert item["confirm"] is True and item["messages_unconfirmed"] == 0


def test_single_active_and_exclusive_consumers() -> None:
    broker = SessionBroker()
    ch = broker.connect().channel()
    ch.declare("sac", arguments={"x-single-active-consumer": True})
    ch.consume("sac", "first")
    ch.consume("sac", "second")
    ch.declare("ex")
    ch.consume("ex", "only", exclusive=True)
    queues = broker.state.vhosts["/"].queues
    statuses = [
        (item["consumer_tag"], item["active"], item["activity_status"])
        for item in consumer_items([queues["sac"], queues["ex"]], ViewContext())
    ]
    assert statuses == [
        ("first", True, "single_active"),
        ("second", False, "waiting"),
        ("only", True, "up"),
    ]
    sac = queue_item(queues["sac"], ViewContext(), UnackedIndex())
    assert (sac["single_active_consumer_tag"], sac["exclusive_consumer_tag"]) == ("first", None)
    exclusive = queue_item(queues["ex"], ViewContext(), UnackedIndex())
    assert exclusive["exclusive_consumer_tag"] == "only"


def test_a_tls_connection(world: Scenario) -> None:
    peer = world.client.session.peer
    facts = TLSFacts("tlsv1.3", "aes_256_gcm", "any", "aead", "CN=client", "CN=ca", "x")
    context = ViewContext(
        local_address="127.0.0.1:5672",
        local_addresses={peer: "127.0.0.1:5671"},
        tls={peer: facts},
        connected_at={peer: 1796536040.876},
    )
    item = connection_item(world.client.session, context)
    assert item["ssl"] is True and item["ssl_protocol"] == "tlsv1.3"
    assert (item["peer_cert_subject"], item["peer_cert_issuer"]) == ("CN=client", "CN=ca")
    assert item["name"] == f"{peer} -> 127.0.0.1:5671" and item["port"] == 5671
    assert item["connected_at"] == 1796536040876
    plain = connection_item(world.client.session, ViewContext())
    assert plain["ssl"] is False and plain["ssl_cipher"] is None


def test_who_declared_exchanges(world: Scenario) -> None:
    state = world.broker.state
    actors = {
        (x.vhost, x.name): exchange_item(x, world.context)["user_who_performed_action"]
        for x in exchanges_of(state)
    }
    assert actors[("/", "")] == actors[("/", "amq.topic")] == "rmq-internal"
    assert actors[(VHOST, "amq.topic")] == actors[(VHOST, "research-x")] == "guest"
    detail = exchange_detail(state.vhosts[VHOST].exchanges["research-x"], world.context)
    assert (detail["incoming"], detail["outgoing"]) == ([], [])


def test_binding_lists(world: Scenario) -> None:
    vhost = world.broker.state.vhosts[VHOST]
    source, queue = vhost.exchanges["research-x"], vhost.queues["research-q"]
    keys = [item["properties_key"] for item in queue_binding_items(vhost, queue)]
    assert keys == ["research-q", "a.%23", "b.%2A~EDqv5Q"]
    assert [b["properties_key"] for b in pair_binding_items(vhost, source, queue)] == keys[1:]
    from_x = exchange_source_items(vhost, source)
    assert [(b["destination"], b["routing_key"]) for b in from_x] == [
        ("research-q", "a.#"),
        ("research-q", "b.*"),
        ("research-t", "c"),
    ]
    to_t = exchange_destination_items(vhost, vhost.exchanges["research-t"])
    assert [b["source"] for b in to_t] == ["research-x"]
    implicit = exchange_source_items(vhost, vhost.exchanges[""])
    assert [b["destination"] for b in implicit] == sorted(vhost.queues)
    assert pair_binding_items(vhost, vhost.exchanges[""], queue) == [implicit[1]]
    found = find_binding(source, queue, "b.%2A~EDqv5Q")
    assert found is not None and found.routing_key == "b.*"
    assert find_binding(source, queue, "b.%2A") is None


class Stats(SimpleNamespace):
    pass


def test_counters_and_rates_come_from_the_queues_stats_and_sample(world: Scenario) -> None:
    queue: Any = world.broker.state.vhosts[VHOST].queues["research-q"]
    before = queue_item(queue, world.context, world.unacked())["message_stats"]
    queue.counters.ack += 2
    queue.sample.record((8,) + (0,) * 11, now=10.0, wall=1796536041.85)
    queue.sample.record((12,) + (0,) * 11, now=15.0, wall=1796536046.85)
    item = queue_item(queue, world.context, world.unacked())
    assert item["message_stats"]["ack"] == before["ack"] + 2
    assert item["message_stats"]["publish"] == before["publish"]  # counted live
    assert item["message_stats"]["publish_details"] == {"rate": 0.8}  # (12 - 8) / 5 s
    assert item["message_stats"]["get"] == before["get"]


def test_items_in_chunks_skip_queues_deleted_meanwhile(world: Scenario) -> None:
    state = world.broker.state
    queues = queues_of(state, VHOST)
    chunks = in_chunks(queue_items(queues, world.context, world.unacked()), 2)
    first = next(chunks)
    vhost = state.vhosts[VHOST]
    vhost.remove_queue(vhost.queues["research-qq"])
    rest = [item for chunk in chunks for item in chunk]
    assert [item["name"] for item in first + rest] == ["research-c", "research-q", "research-q2"]


def test_json_pieces_make_one_array() -> None:
    items = [{"name": str(n)} for n in range(5)]
    ticks = iter(range(1000))  # a clock that moves one second each time it is read
    pieces = list(json_array_pieces(items, seconds=2, clock=lambda: next(ticks)))
    assert len(pieces) == 5  # "[", three slices of 2, 2 and 1 items, "]"
    assert json.loads("".join(pieces)) == items
    assert json.loads("".join(json_array_pieces([]))) == []


def test_connections_listed_once_open(world: Scenario) -> None:
    halfway = world.broker.client("127.0.0.1:1")
    listed = open_sessions([world.client.session, halfway.session, None])
    assert listed == [world.client.session]


def test_the_node_from_this_process() -> None:
    alarms = Alarms(mem_limit=1000, disk_free_limit=50)
    alarms.update_memory(1001)
    alarms.update_disk(70)
    item = node_item(ViewContext(node="amqpbroker@host"), alarms, connections=3)
    assert item["name"] == "amqpbroker@host" and item["running"] is True
    assert item["sockets_used"] == 3 and item["fd_used"] > 0 and item["uptime"] >= 0
    assert item["os_pid"].isdigit()
    figures = {key: item[key] for key in ("mem_used", "mem_limit", "mem_alarm")}
    assert figures == {"mem_used": 1001, "mem_limit": 1000, "mem_alarm": True}
    figures = {key: item[key] for key in ("disk_free", "disk_free_limit", "disk_free_alarm")}
    assert figures == {"disk_free": 70, "disk_free_limit": 50, "disk_free_alarm": False}
    assert [t["name"] for t in item["exchange_types"]] == ["direct", "fanout", "headers", "topic"]


def test_priority_lengths() -> None:
    broker = SessionBroker()
    ch = broker.connect().channel()
    ch.declare("p", arguments={"x-max-priority": 2})
    for priority in (0, 2, 2, 9):
        ch.publish(b"m", routing_key="p", properties=commands.Basic.Properties(priority=priority))
    queue = broker.state.vhosts["/"].queues["p"]
    status = queue_item(queue, ViewContext(), UnackedIndex())["backing_queue_status"]
    assert status["priority_lengths"] == {"0": 1, "1": 0, "2": 3}


def test_an_exclusive_queue_names_its_connection_in_the_single_get() -> None:
    """Keys as the reference 3.10.8 answered for an exclusive queue (list item: none)."""
    broker = SessionBroker()
    ch = broker.connect().channel()
    ch.declare("exq", exclusive=True)
    queue = broker.state.vhosts["/"].queues["exq"]
    context = ViewContext(local_address="127.0.0.1:5673")
    detail = queue_detail(queue, context, UnackedIndex())
    peer = broker.clients[0].session.peer
    assert detail["owner_pid_details"] == {
        "name": f"{peer} -> 127.0.0.1:5673",
        "peer_host": peer.rpartition(":")[0],
        "peer_port": int(peer.rpartition(":")[2]),
    }
    assert detail["exclusive"] is True
    assert "owner_pid_details" not in queue_item(queue, context, UnackedIndex())


def test_persistent_counts_as_rabbitmq_counts_them() -> None:
    """Checked against the reference 3.10.8: persistent messages of a durable classic
    queue, every message of a quorum queue, none in a transient queue."""
    broker = SessionBroker()
    ch = broker.connect().channel()
    persistent = commands.Basic.Properties(delivery_mode=2)
    for name, arguments in (("dq", {}), ("qq", {"x-queue-type": "quorum"})):
        ch.declare(name, arguments=arguments, durable=True)
        ch.publish(b"kept", routing_key=name, properties=persistent)
        ch.publish(b"lost!", routing_key=name)
    ch.declare("tq")
    ch.publish(b"kept", routing_key="tq", properties=persistent)
    delivery = ch.get("dq", no_ack=False)  # the persistent one, now unacked
    assert delivery is not None
    queues = broker.state.vhosts["/"].queues
    index = UnackedIndex(client.session for client in broker.clients)
    counts = {
        name: (item["messages_persistent"], item["message_bytes_persistent"])
        for name in ("dq", "qq", "tq")
        for item in [queue_item(queues[name], ViewContext(), index)]
    }
    assert counts == {"dq": (1, 4), "qq": (2, 9), "tq": (0, 0)}


def test_binding_items_in_chunks_skip_queues_deleted_meanwhile(world: Scenario) -> None:
    vhost = world.broker.state.vhosts[VHOST]
    whole = vhost_binding_items(vhost)
    chunks = in_chunks(iter_binding_items(vhost), 1)
    first = next(chunks)
    vhost.remove_queue(vhost.queues["research-q2"])
    rest = [item for chunk in chunks for item in chunk]
    assert first + rest == [item for item in whole if item["destination"] != "research-q2"]


def test_connections_and_channels_by_rabbitmqs_names(world: Scenario) -> None:
    sessions = [world.client.session]
    name = "127.0.0.1:48970 -> 127.0.0.1:5673"
    assert session_named(sessions, name, world.context) is world.client.session
    assert session_named(sessions, "127.0.0.1:1 -> 127.0.0.1:5673", world.context) is None
    channel = channel_named(sessions, f"{name} (1)", world.context)
    assert channel is world.client.session.channels[1]
    for missing in (f"{name} (2)", f"{name} (x)", name):
        assert channel_named(sessions, missing, world.context) is None
