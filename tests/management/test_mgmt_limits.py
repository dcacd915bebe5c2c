"""``/api/vhost-limits`` (and ``/api/user-limits``) over real HTTP, with RabbitMQ 3.10.8's
statuses and bodies (recorded from the reference broker), and the limits taking effect for
pika clients at once."""

from __future__ import annotations

import pika
import pika.exceptions
import pytest
from mgmt_http import Api, q

from amqpbroker.embedded.broker import BrokerThread


@pytest.fixture
def vhost(api: Api, name: str) -> str:
    assert api.put(f"/api/vhosts/{q(name)}", {}).status == 201
    return name


def test_put_get_and_delete_vhost_limits(api: Api, vhost: str) -> None:
    path = f"/api/vhost-limits/{q(vhost)}"
    assert api.put(f"{path}/max-connections", {"value": 2}).status == 204
    assert api.put(f"{path}/max-queues", {"value": 1}).status == 204
    expected = [{"vhost": vhost, "value": {"max-connections": 2, "max-queues": 1}}]
    assert api.get(path).body == expected
    assert [i for i in api.get("/api/vhost-limits").body if i["vhost"] == vhost] == expected
    parameter = api.get(f"/api/parameters/vhost-limits/{q(vhost)}/limits").body
    assert parameter["value"] == {"max-connections": 2, "max-queues": 1}
    assert api.delete(f"{path}/max-queues").status == 204
    assert api.delete(f"{path}/max-queues").status == 204  # (not set: still 204)
    assert api.delete(f"{path}/max-connections").status == 204
    assert api.get(path).body == []
    # RabbitMQ leaves the parameter, empty
    assert api.get(f"/api/parameters/vhost-limits/{q(vhost)}/limits").body["value"] == []


def test_vhost_limit_errors_as_rabbitmq(api: Api, vhost: str) -> None:
    path = f"/api/vhost-limits/{q(vhost)}"
    reply = api.put(f"{path}/max-queues", {"value": "x"})
    assert (reply.status, reply.body["reason"]) == (
        400,
        'Validation failed\n\nmax-queues should be a number, actually was <<"x">>\n',
    )
    reply = api.put(f"{path}/max-queues", {"value": 1.5})
    assert reply.body["reason"] == (
        "Validation failed\n\nmax-queues should be a number, actually was 1.5\n"
    )
    reply = api.put(f"{path}/max-queues", {})
    assert (reply.status, reply.body["reason"]) == (400, "[{key_missing,value}]")
    reply = api.put(f"{path}/foo", {"value": 3})
    assert reply.body["reason"] == (
        'Validation failed\n\nUnrecognised terms [{<<"foo">>,3}] in limits\n'
    )
    reply = api.put("/api/vhost-limits/nosuch/max-queues", {"value": 3})
    assert (reply.status, reply.body) == (404, {"error": "not_found", "reason": "vhost_not_found"})
    reply = api.delete("/api/vhost-limits/nosuch/max-queues")
    assert (reply.status, reply.raw) == (500, b"")
    assert api.get(path).body == []


def test_limits_set_over_http_apply_to_clients(
    api: Api, vhost: str, mgmt_broker: BrokerThread
) -> None:
    assert api.put(f"/api/vhost-limits/{q(vhost)}/max-queues", {"value": 0}).status == 204
    params = pika.ConnectionParameters(mgmt_broker.host, mgmt_broker.port, vhost)
    connection = pika.BlockingConnection(params)
    try:
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as caught:
            connection.channel().queue_declare("q")
        assert caught.value.reply_text == (
            f"PRECONDITION_FAILED - cannot declare queue 'q': "
            f"queue limit in vhost '{vhost}' (0) is reached"
        )
    finally:
        connection.close()


def test_vhost_limits_are_exported_as_their_parameter(api: Api, vhost: str) -> None:
    api.put(f"/api/vhost-limits/{q(vhost)}/max-connections", {"value": 5})
    parameters = api.get("/api/definitions").body["parameters"]
    assert {
        "vhost": vhost,
        "component": "vhost-limits",
        "name": "limits",
        "value": {"max-connections": 5},
    } in parameters


def test_only_administrators_set_limits(api: Api, vhost: str, name: str) -> None:
    api.put(f"/api/users/{q(name)}", {"password": "pw", "tags": "monitoring"})
    monitor = api.as_user(name, "pw")
    reply = monitor.put(f"/api/vhost-limits/{q(vhost)}/max-queues", {"value": 1})
    assert reply.status == 401


def test_put_get_and_delete_user_limits(api: Api, name: str) -> None:
    assert api.put(f"/api/users/{q(name)}", {"password": "pw", "tags": ""}).status == 201
    path = f"/api/user-limits/{q(name)}"
    assert api.put(f"{path}/max-connections", {"value": 1}).status == 204
    assert api.put(f"{path}/max-channels", {"value": 2}).status == 204
    expected = [{"user": name, "value": {"max-channels": 2, "max-connections": 1}}]
    assert api.get(path).body == expected
    assert [i for i in api.get("/api/user-limits").body if i["user"] == name] == expected
    assert api.get(f"/api/users/{q(name)}").body["limits"] == expected[0]["value"]
    api.put(f"/api/users/{q(name)}", {"password": "pw2", "tags": "x"})  # (limits kept)
    assert api.get(path).body == expected
    users = api.get("/api/definitions").body["users"]
    assert [u["limits"] for u in users if u["name"] == name] == [expected[0]["value"]]
    assert api.delete(f"{path}/max-channels").status == 204
    assert api.delete(f"{path}/max-connections").status == 204
    assert api.get(path).body == []


def test_user_limit_errors_as_rabbitmq(api: Api, name: str) -> None:
    assert api.put(f"/api/users/{q(name)}", {"password": "pw", "tags": ""}).status == 201
    path = f"/api/user-limits/{q(name)}"
    reply = api.put(f"{path}/max-channels", {"value": "x"})
    assert (reply.status, reply.body["reason"]) == (
        400,
        'max-channels should be a number, actually was <<"x">>',
    )
    reply = api.put(f"{path}/max-channels", {"value": 1.5})
    assert reply.body["reason"] == "max-channels should be a number, actually was 1.5"
    reply = api.put(f"{path}/max-channels", {})
    assert (reply.status, reply.body["reason"]) == (400, "[{key_missing,value}]")
    reply = api.put(f"{path}/foo", {"value": 3})
    assert reply.body["reason"] == 'Unrecognised terms [{<<"foo">>,3}] in user-limits'
    reply = api.put("/api/user-limits/nosuch/max-channels", {"value": 3})
    assert (reply.status, reply.body["reason"]) == (400, ["no_such_user", "nosuch"])
    assert api.delete("/api/user-limits/nosuch/max-channels").status == 500


def test_definitions_import_brings_user_and_vhost_limits(api: Api, name: str) -> None:
    definitions = {
        "users": [
            {
                "name": name,
                "password_hash": "",
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": [],
                "limits": {"max-connections": 3},
            }
        ],
        "vhosts": [{"name": name}],
        "parameters": [
            {
                "vhost": name,
                "component": "vhost-limits",
                "name": "limits",
                "value": {"max-queues": 7},
            }
        ],
    }
    assert api.post("/api/definitions", definitions).status == 204
    assert api.get(f"/api/user-limits/{q(name)}").body == [
        {"user": name, "value": {"max-connections": 3}}
    ]
    assert api.get(f"/api/vhost-limits/{q(name)}").body == [
        {"vhost": name, "value": {"max-queues": 7}}
    ]
