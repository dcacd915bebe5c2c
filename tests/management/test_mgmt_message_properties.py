"""A message's properties through ``POST .../publish`` and ``POST .../get`` as RabbitMQ
3.10.8 reads and writes them (rabbitmqadmin's ``publish properties=...`` and ``get``):
AMQP's names, type checks with RabbitMQ's reasons, headers sorted, the reverse order."""

from __future__ import annotations

from typing import Any

import pika
import pytest
from mgmt_http import Api

from amqpbroker.embedded.broker import BrokerThread

EVERY_PROPERTY = {
    "content_type": "text/plain",
    "content_encoding": "utf-8",
    "headers": {"z": 1, "a": {"y": [1, "s", True], "b": 2.5}},
    "delivery_mode": 2,
    "priority": 3,
    "correlation_id": "c",
    "reply_to": "r",
    "expiration": "60000",
    "message_id": "m",
    "timestamp": 1700000000,
    "type": "t",
    "user_id": "guest",
    "app_id": "app",
    "cluster_id": "cl",
}


def _publish(api: Api, queue: str, properties: Any) -> Any:
    body = {"properties": properties, "routing_key": queue, "payload": "x"}
    body["payload_encoding"] = "string"
    return api.post("/api/exchanges/%2F/amq.default/publish", body)


def _got_properties(api: Api, queue: str) -> list[Any]:
    got = api.post(
        f"/api/queues/%2F/{queue}/get",
        {"count": 10, "ackmode": "ack_requeue_false", "encoding": "auto"},
    )
    return [item["properties"] for item in got.body]


def test_every_property_goes_through_with_amqps_names(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    api.put(f"/api/queues/%2F/{name}", {})
    assert _publish(api, name, EVERY_PROPERTY).body == {"routed": True}
    with pika.BlockingConnection(pika.URLParameters(mgmt_broker.url)) as connection:
        _method, properties, _body = connection.channel().basic_get(name, auto_ack=False)
        assert (properties.type, properties.cluster_id, properties.timestamp) == (
            "t",
            "cl",
            1700000000,
        )
        assert properties.headers["a"]["y"] == [1, "s", True]  # (pika misreads a float)
    [shown] = _got_properties(api, name)
    assert list(shown) == list(reversed(EVERY_PROPERTY))  # (RabbitMQ's order)
    assert shown == {**EVERY_PROPERTY, "headers": {"a": {"b": 2.5, "y": [1, "s", True]}, "z": 1}}
    assert list(shown["headers"]) == ["a", "z"] and list(shown["headers"]["a"]) == ["b", "y"]


def test_unknown_property_names_are_ignored(api: Api, name: str) -> None:
    api.put(f"/api/queues/%2F/{name}", {})
    assert _publish(api, name, {"message_type": "t", "nosuch": 1}).body == {"routed": True}
    assert _publish(api, name, {"headers": []}).body == {"routed": True}
    assert _got_properties(api, name) == [[], {"headers": {}}]


@pytest.mark.parametrize(
    ("properties", "status", "reason"),
    [
        ({"content_type": 5}, 400, ["not_string", "content_type"]),
        ({"type": None}, 400, ["not_string", "type"]),
        ({"app_id": ["x"]}, 400, ["not_string", "app_id"]),
        ({"priority": None}, 400, ["not_int", "priority"]),
        ({"delivery_mode": "2"}, 400, ["not_int", "delivery_mode"]),
        ({"timestamp": 1.5}, 400, ["not_int", "timestamp"]),
        ({"headers": {"l": [None]}}, 400, "null_not_allowed"),
        ({"headers": {"x": {"n": None}}}, 400, "null_not_allowed"),
        ({"headers": "x"}, 500, None),
    ],
)
def test_property_types_are_checked_as_rabbitmq_checks_them(
    api: Api, name: str, properties: dict[str, Any], status: int, reason: Any
) -> None:
    reply = _publish(api, name, properties)
    assert reply.status == status
    if reason is not None:
        assert reply.body == {"error": "bad_request", "reason": reason}


def test_a_void_header_from_amqp_is_shown_as_undefined(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    with pika.BlockingConnection(pika.URLParameters(mgmt_broker.url)) as connection:
        channel = connection.channel()
        channel.queue_declare(name)
        channel.basic_publish("", name, b"x", pika.BasicProperties(headers={"n": None, "b": "x"}))
    assert _got_properties(api, name) == [{"headers": {"b": "x", "n": "undefined"}}]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("count", "abc"),
        ("count", True),
        ("count", None),
        ("count", "1.5"),
        ("count", " 2"),
        ("count", []),
        ("count", ""),
        ("truncate", None),
        ("truncate", ""),
        ("truncate", "x"),
    ],
)
def test_get_numbers_that_are_not_integers_are_400(
    api: Api, name: str, field: str, value: Any
) -> None:
    """rabbitmqadmin's ``get count=abc`` shows RabbitMQ's reason (a 500 made it crash)."""
    api.put(f"/api/queues/%2F/{name}", {})
    body = {"count": 1, "ackmode": "ack_requeue_true", "encoding": "auto", field: value}
    reply = api.post(f"/api/queues/%2F/{name}/get", body)
    assert (reply.status, reply.body) == (
        400,
        {"error": "bad_request", "reason": ["not_integer", value]},
    )


def test_get_numbers_as_rabbitmq_reads_them(api: Api, name: str) -> None:
    api.put(f"/api/queues/%2F/{name}", {})
    for _ in range(3):
        _publish(api, name, {})
    path = f"/api/queues/%2F/{name}/get"
    body = {"ackmode": "ack_requeue_true", "encoding": "auto"}
    assert len(api.post(path, {**body, "count": 2.7}).body) == 2  # (cut, as Erlang's trunc)
    assert len(api.post(path, {**body, "count": "+3"}).body) == 3
    assert api.post(path, {**body, "count": "-1"}).body == []
    [got] = api.post(path, {**body, "count": 1, "truncate": 0.5}).body
    assert (got["payload"], got["payload_bytes"]) == ("", 1)
