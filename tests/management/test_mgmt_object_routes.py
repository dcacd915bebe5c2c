"""The read-only routes of queues, exchanges, bindings, connections, channels, consumers and
nodes, over HTTP, with pika creating the objects."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pika
import pytest
from mgmt_http import Api, q

from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.testing.polling import wait_until


@pytest.fixture
def world(mgmt_broker: BrokerThread, name: str) -> Iterator[pika.adapters.BlockingConnection]:
    """A vhost ``name`` with a user ``name`` (management, permitted there), queues q1 and
    q2, an exchange x bound to q1 with key k, a consumer on q1, one message unacked."""
    mgmt_broker.add_vhost(name)
    mgmt_broker.add_user(name, "pw", "management")
    mgmt_broker.set_permissions(name, vhost=name)
    parameters = pika.URLParameters(mgmt_broker.url_for(name))
    parameters.credentials = pika.PlainCredentials(name, "pw")
    connection = pika.BlockingConnection(parameters)
    channel = connection.channel()
    channel.queue_declare("q1")
    channel.queue_declare("q2")
    channel.exchange_declare("x", "direct")
    channel.queue_bind("q1", "x", "k")
    channel.basic_publish("x", "k", b"hello")
    channel.basic_consume("q1", lambda *args: None)
    connection.process_data_events(time_limit=0.1)
    try:
        yield connection
    finally:
        connection.close()


def test_queues_list_and_one(api: Api, world: object, name: str) -> None:
    listed = api.get(f"/api/queues/{q(name)}").body
    assert [item["name"] for item in listed] == ["q1", "q2"]
    assert {"messages", "consumers", "arguments", "durable", "vhost"} <= set(listed[0])
    assert any(item["vhost"] == name for item in api.get("/api/queues").body)
    one = api.get(f"/api/queues/{q(name)}/q1").body
    assert one["name"] == "q1" and one["consumers"] == 1
    assert len(one["consumer_details"]) == 1
    assert api.get(f"/api/queues/{q(name)}/nosuch").body == {
        "error": "Object Not Found",
        "reason": "Not Found",
    }
    assert api.get("/api/queues/nosuch-vhost").status == 404


def test_queue_list_query_parameters(api: Api, world: object, name: str) -> None:
    path = f"/api/queues/{q(name)}"
    assert api.get(f"{path}?columns=name").body == [{"name": "q1"}, {"name": "q2"}]
    reverse = api.get(f"{path}?columns=name&sort=name&sort_reverse=true").body
    assert reverse == [{"name": "q2"}, {"name": "q1"}]
    page = api.get(f"{path}?page=2&page_size=1&columns=name").body
    assert page["items"] == [{"name": "q2"}] and page["total_count"] == 2
    reduced = api.get(f"{path}?disable_stats=true").body[0]
    assert "message_stats" not in reduced and "messages" not in reduced
    assert api.get(f"{path}?page=0").status == 400


def test_queue_and_exchange_bindings(api: Api, world: object, name: str) -> None:
    v = q(name)
    bindings = api.get(f"/api/queues/{v}/q1/bindings").body
    assert [(b["source"], b["routing_key"]) for b in bindings] == [("", "q1"), ("x", "k")]
    assert [b["destination"] for b in api.get(f"/api/exchanges/{v}/x/bindings/source").body] == [
        "q1"
    ]
    assert api.get(f"/api/exchanges/{v}/x/bindings/destination").body == []
    default = api.get(f"/api/exchanges/{v}/amq.default/bindings/source").body
    assert [b["destination"] for b in default] == ["q1", "q2"]
    assert len(api.get(f"/api/bindings/{v}").body) == 3
    pair = api.get(f"/api/bindings/{v}/e/x/q/q1").body
    assert len(pair) == 1
    props = pair[0]["properties_key"]
    assert api.get(f"/api/bindings/{v}/e/x/q/q1/{q(props)}").body == pair[0]
    assert api.get(f"/api/bindings/{v}/e/x/q/q1/nosuch").status == 404
    # 3.10.8 lists nothing (no 404) for a missing end, the implicit binding for a queue
    assert api.get(f"/api/bindings/{v}/e/x/q/nosuch").body == []
    assert api.get(f"/api/bindings/{v}/e/amq.default/q/nosuch").body[0]["destination"] == "nosuch"
    assert api.get(f"/api/queues/{v}/nosuch/bindings").body[0]["routing_key"] == "nosuch"
    assert api.get(f"/api/exchanges/{v}/nosuch/bindings/source").body == []
    assert api.get(f"/api/bindings/{v}/e/amq.direct/e/x").body == []


def test_exchanges_list_and_one(api: Api, world: object, name: str) -> None:
    v = q(name)
    names = [item["name"] for item in api.get(f"/api/exchanges/{v}").body]
    assert names[0] == "" and "x" in names and "amq.topic" in names
    one = api.get(f"/api/exchanges/{v}/x").body
    assert one["type"] == "direct" and one["incoming"] == [] and one["outgoing"] == []
    assert api.get(f"/api/exchanges/{v}/amq.default").body["name"] == ""
    assert api.get(f"/api/exchanges/{v}/nosuch").status == 404


def test_connections_channels_consumers(api: Api, world: object, name: str) -> None:
    v = q(name)
    connections = api.get(f"/api/vhosts/{v}/connections").body
    assert len(connections) == 1 and connections[0]["user"] == name
    connection_name = connections[0]["name"]
    assert api.get(f"/api/connections/{q(connection_name)}").body["name"] == connection_name
    channels = api.get(f"/api/connections/{q(connection_name)}/channels").body
    assert [c["number"] for c in channels] == [1]
    channel_name = channels[0]["name"]
    assert api.get(f"/api/channels/{q(channel_name)}").body["name"] == channel_name
    assert [c["name"] for c in api.get(f"/api/vhosts/{v}/channels").body] == [channel_name]
    assert channel_name in [c["name"] for c in api.get("/api/channels").body]
    consumers = api.get(f"/api/consumers/{v}").body
    assert [c["queue"] for c in consumers] == [{"name": "q1", "vhost": name}]
    assert api.get("/api/connections/nosuch").status == 404
    assert api.get("/api/connections/nosuch/channels").status == 500  # as 3.10.8
    assert api.get("/api/channels/nosuch%20(1)").status == 404


def test_a_management_user_sees_its_own(
    api: Api, mgmt_broker: BrokerThread, world: object, name: str
) -> None:
    other = f"{name}-other"
    mgmt_broker.add_vhost(other)
    mgmt_broker.add_user(other, "pw", "management")
    mgmt_broker.set_permissions(other, vhost=other)
    outsider = api.as_user(other, "pw")
    reply = outsider.get(f"/api/queues/{q(name)}")
    assert reply.status == 401
    assert reply.body == {
        "error": "not_authorised",
        "reason": "User not authorised to access virtual host",
    }
    assert all(item["vhost"] == other for item in outsider.get("/api/queues").body)
    assert outsider.get("/api/connections").body == []
    assert outsider.get("/api/consumers").body == []
    own = api.as_user(name, "pw")
    assert [c["user"] for c in own.get("/api/connections").body] == [name]
    connection_name = own.get("/api/connections").body[0]["name"]
    assert outsider.get(f"/api/connections/{q(connection_name)}").status == 401


def test_monitoring_sees_every_vhosts_exchanges(
    api: Api, mgmt_broker: BrokerThread, world: object, name: str
) -> None:
    watcher = f"{name}-mon"
    mgmt_broker.add_user(watcher, "pw", "monitoring")
    monitor = api.as_user(watcher, "pw")
    assert any(item["vhost"] == name for item in monitor.get("/api/exchanges").body)
    assert any(item["user"] == name for item in monitor.get("/api/connections").body)
    assert all(item["vhost"] != name for item in monitor.get("/api/queues").body)


def test_nodes(api: Api) -> None:
    nodes = api.get("/api/nodes").body
    assert len(nodes) == 1 and nodes[0]["running"] is True
    node = nodes[0]["name"]
    assert api.get(f"/api/nodes/{q(node)}").body["name"] == node
    assert set(api.get("/api/nodes?disable_stats=true").body[0]) == {"name", "type", "running"}
    assert api.get("/api/nodes/rabbit@nowhere").status == 500  # as 3.10.8 answers


def test_a_long_queue_list_is_streamed_whole(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    mgmt_broker.add_vhost(name)
    connection = pika.BlockingConnection(pika.URLParameters(mgmt_broker.url_for(name)))
    try:
        channel = connection.channel()
        for number in range(1200):
            channel.queue_declare(f"q{number:04}")
        wait_until(lambda: len(api.get(f"/api/queues/{q(name)}?columns=name").body) == 1200)
        listed = api.get(f"/api/queues/{q(name)}").body
        assert [item["name"] for item in listed] == [f"q{n:04}" for n in range(1200)]
    finally:
        connection.close()


def test_a_connection_shows_when_and_where_it_came_in(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    mgmt_broker.add_vhost(name)
    before = int(time.time() * 1000)
    connection = pika.BlockingConnection(pika.URLParameters(mgmt_broker.url_for(name)))
    try:
        after = int(time.time() * 1000)
        (item,) = api.get(f"/api/vhosts/{q(name)}/connections").body
        assert before - 1 <= item["connected_at"] <= after + 1
        assert item["port"] == mgmt_broker.port and item["ssl"] is False
        assert item["name"].endswith(f" -> 127.0.0.1:{mgmt_broker.port}")
    finally:
        connection.close()


def test_bindings_are_listed_by_source_destination_then_routing_key(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    """The order 3.10.8 lists them in (``rabbitmqadmin list bindings``): by source, then
    destination name (whatever its type), routing key, properties key."""
    vhost = q(name)
    mgmt_broker.add_vhost(name)
    for queue in ("qb", "qa"):
        api.put(f"/api/queues/{vhost}/{queue}", {})
    for exchange in ("x1", "xa"):
        api.put(f"/api/exchanges/{vhost}/{exchange}", {"type": "topic"})
    made = [("q", "qb", "a", {}), ("q", "qa", "b", {}), ("e", "xa", "a", {})]
    made += [("q", "qa", "a", {"z": 1}), ("q", "qa", "a", {"b": 1}), ("q", "qa", "a", {})]
    for kind, destination, key, arguments in made:
        binding = {"routing_key": key, "arguments": arguments}
        assert api.post(f"/api/bindings/{vhost}/e/x1/{kind}/{destination}", binding).status == 201
    columns = "?columns=destination,properties_key"
    expected = [
        {"destination": "qa", "properties_key": "a"},
        {"destination": "qa", "properties_key": "a~-BGsTw"},  # {"b": 1}
        {"destination": "qa", "properties_key": "a~e_RnAw"},  # {"z": 1}
        {"destination": "qa", "properties_key": "b"},
        {"destination": "qb", "properties_key": "a"},
        {"destination": "xa", "properties_key": "a"},
    ]
    assert api.get(f"/api/bindings/{vhost}{columns}").body[2:] == expected
    assert api.get(f"/api/exchanges/{vhost}/x1/bindings/source{columns}").body == expected


def test_amqp_tables_are_shown_with_their_keys_sorted(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    """RabbitMQ's JSON writes field tables as Erlang maps: keys in order, whatever order a
    client sent them in (queue arguments, a client's properties)."""
    parameters = pika.URLParameters(mgmt_broker.url)
    parameters.client_properties = {"zeta": "z", "alpha": {"y": 1, "b": 2}}
    with pika.BlockingConnection(parameters) as connection:
        arguments = {"x-message-ttl": 60000, "x-max-length": 5, "a-custom": "v"}
        connection.channel().queue_declare(name, arguments=arguments)
        shown = api.get(f"/api/queues/%2F/{q(name)}?columns=arguments").body["arguments"]
        assert list(shown) == ["a-custom", "x-max-length", "x-message-ttl"]
        local = connection._impl._transport._sock.getsockname()[1]
        [item] = [c for c in api.get("/api/connections").body if f":{local} ->" in c["name"]]
        properties = item["client_properties"]
        assert list(properties) == sorted(properties)
        assert list(properties["alpha"]) == ["b", "y"]


@pytest.mark.parametrize("path", ["/api/queues", "/api/exchanges", "/api/connections"])
def test_a_bad_name_regex_on_a_paged_list_is_400(api: Api, path: str) -> None:
    """As 3.10.8 answers (the web page's filter box sends a half-typed one): not a 500."""
    reply = api.get(f"{path}?page=1&page_size=10&name=a%5B&use_regex=true")
    assert (reply.status, reply.body) == (
        400,
        {"error": "bad_request", "reason": "Pagination parameters are invalid"},
    )
