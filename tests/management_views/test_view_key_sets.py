"""Every item the views build has the key set RabbitMQ 3.10.8 answered with (recorded in
``recorded_3_10_8.json``), nested objects included; where RabbitMQ leaves counters out
until there was traffic, the views always have them (noted per test)."""

from __future__ import annotations

from typing import Any

import pytest
from views_scenario import VHOST, Scenario, recorded, recorded_item, scenario

from amqpbroker.core.alarms import Alarms
from amqpbroker.management.views import (
    Listener,
    ObjectCounts,
    channel_items,
    connection_item,
    consumer_items,
    exchange_detail,
    exchange_item,
    node_item,
    overview_item,
    queue_detail,
    queue_item,
    vhost_binding_items,
    vhost_item,
)


@pytest.fixture
def world() -> Scenario:
    return scenario()


def queue(world: Scenario, name: str) -> Any:
    return world.broker.state.vhosts[VHOST].queues[name]


def test_classic_queue_list_item(world: Scenario) -> None:
    item = queue_item(queue(world, "research-c"), world.context, world.unacked())
    expected = recorded_item("queues", "research-c")
    assert item.keys() == expected.keys()
    assert item["message_stats"].keys() == expected["message_stats"].keys()
    assert item["backing_queue_status"].keys() == expected["backing_queue_status"].keys()
    assert item["garbage_collection"].keys() == expected["garbage_collection"].keys()


def test_classic_queue_without_priorities_has_the_plain_backing_queue_status(
    world: Scenario,
) -> None:
    item = queue_item(queue(world, "research-q"), world.context, world.unacked())
    expected = recorded_item("queues", "research-q")
    assert item["backing_queue_status"].keys() == expected["backing_queue_status"].keys()
    # RabbitMQ shows message_stats only once a queue saw traffic: here always.
    assert item.keys() == expected.keys() | {"message_stats"}


def test_classic_queue_single_get(world: Scenario) -> None:
    item = queue_detail(queue(world, "research-c"), world.context, world.unacked())
    expected = recorded("queue_consumed")
    assert item.keys() == expected.keys()
    consumer, expected_consumer = item["consumer_details"][0], expected["consumer_details"][0]
    assert consumer.keys() == expected_consumer.keys()
    assert consumer["channel_details"].keys() == expected_consumer["channel_details"].keys()
    assert consumer == expected_consumer | {
        "channel_details": consumer["channel_details"]  # (the client's port differs)
    }


def test_quorum_queue_single_get(world: Scenario) -> None:
    item = queue_detail(queue(world, "research-qq"), world.context, world.unacked())
    expected = recorded("queue_qq_policy")
    assert item.keys() == expected.keys() | {"message_stats"}  # (always, as above)
    assert item["type"] == "quorum"
    assert item["open_files"] == {"refrabbit@localhost": 0}


def test_exchange_items(world: Scenario) -> None:
    exchanges = world.broker.state.vhosts[VHOST].exchanges
    listed = {name: exchange_item(x, world.context) for name, x in exchanges.items()}
    with_stats = recorded_item("exchanges", "research-x")
    assert listed["research-x"].keys() == with_stats.keys()
    assert listed["research-x"]["message_stats"].keys() == with_stats["message_stats"].keys()
    # every exchange has message_stats here; RabbitMQ's only once one was published to
    assert set(listed) == {item["name"] for item in recorded("exchanges") if item["vhost"] == VHOST}
    detail = exchange_detail(exchanges["research-x"], world.context)
    assert detail.keys() == recorded("exchange_one").keys()


def test_binding_items_are_recorded_list_exactly(world: Scenario) -> None:
    assert vhost_binding_items(world.broker.state.vhosts[VHOST]) == recorded("bindings")


def test_connection_item(world: Scenario) -> None:
    item = connection_item(world.client.session, world.context)
    expected = recorded("connections")[0]
    assert item.keys() == expected.keys()
    assert item["garbage_collection"].keys() == expected["garbage_collection"].keys()
    assert item["name"] == expected["name"]  # same ports in the scenario
    assert item["user_provided_name"] == "research-conn"


def test_connection_without_a_name_has_no_user_provided_name(world: Scenario) -> None:
    other = world.broker.connect(VHOST)
    item = connection_item(other.session, world.context)
    assert item.keys() == recorded("connections")[0].keys() - {"user_provided_name"}


def test_channel_items(world: Scenario) -> None:
    [item] = channel_items([world.client.session], world.context)
    expected = recorded("channels")[0]
    assert item.keys() == expected.keys()
    # every counter a publishing channel has (RabbitMQ's consuming one lacks four)
    assert item["message_stats"].keys() == recorded("channel_publishing_message_stats").keys()
    assert item["message_stats"].keys() > expected["message_stats"].keys()
    assert item["connection_details"] == expected["connection_details"]
    assert item["name"] == expected["name"]


def test_consumer_items(world: Scenario) -> None:
    [item] = consumer_items([queue(world, "research-c")], world.context)
    assert item == recorded("consumers")[0]


def test_vhost_item(world: Scenario) -> None:
    item = vhost_item(world.broker.state.vhosts[VHOST], world.context, world.unacked())
    expected = recorded("vhosts")[0]
    assert expected["name"] == VHOST
    assert item.keys() == expected.keys()
    assert item["message_stats"].keys() == expected["message_stats"].keys()
    assert item["metadata"] == expected["metadata"]
    assert item["cluster_state"] == expected["cluster_state"]


def test_node_item(world: Scenario) -> None:
    item = node_item(world.context, Alarms(mem_limit=1, disk_free_limit=1), connections=1)
    expected = recorded("nodes_live")[0]
    assert item.keys() == expected.keys()
    assert item["exchange_types"][0].keys() == expected["exchange_types"][0].keys()
    assert item["auth_mechanisms"][0].keys() == expected["auth_mechanisms"][0].keys()
    assert item["metrics_gc_queue_length"].keys() == expected["metrics_gc_queue_length"].keys()
    assert item["applications"][0].keys() == expected["applications"][0].keys()


def test_overview(world: Scenario) -> None:
    item = overview_item(
        world.broker.state,
        world.context,
        world.unacked(),
        cluster_name="refrabbit@vm",
        objects=ObjectCounts(connections=1, channels=1, consumers=1),
        listeners=[Listener("amqp", "127.0.0.1", 5673)],
    )
    expected = recorded("overview_full")
    assert item.keys() == expected.keys()
    for key in ("message_stats", "churn_rates", "queue_totals", "object_totals"):
        assert item[key].keys() == expected[key].keys(), key
    assert item["listeners"][0] == expected["listeners"][0]
    assert item["exchange_types"] == expected["exchange_types"]
    assert item["queue_totals"]["messages"] == 5
    assert item["object_totals"]["queues"] == 4


def test_overview_for_a_user_who_is_not_an_administrator(world: Scenario) -> None:
    item = overview_item(
        world.broker.state, world.context, world.unacked(), cluster_name="c",
        vhosts=["/"], administrator=False,
    )  # fmt: skip
    assert item.keys() == recorded("overview_full").keys() - {"node", "listeners", "contexts"}
    assert item["queue_totals"] == {}  # no queue in "/"
    assert item["object_totals"]["exchanges"] == 7
