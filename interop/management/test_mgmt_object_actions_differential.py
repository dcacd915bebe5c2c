"""The mutating object routes (queues, exchanges, bindings, publish, get, connections) on
RabbitMQ 3.10.8 and on amqpbroker: the same statuses and error bodies, inside a fresh vhost
deleted afterwards (``new_name``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import test_mgmt_differential
from mgmt_http import q
from test_mgmt_differential import Both

pytestmark = pytest.mark.differential
both = test_mgmt_differential.both  # (the fixture: both brokers' replies, compared)

MESSAGE = {"properties": {}, "routing_key": "k", "payload": "x", "payload_encoding": "string"}
GET = {"count": 2, "ackmode": "ack_requeue_true", "encoding": "auto"}


def test_queue_routes(both: Both, new_name: Callable[[], str]) -> None:
    v = q(new_name())
    both("PUT", f"/api/queues/{v}/q", {})  # no such vhost yet
    both("PUT", f"/api/vhosts/{v}", {})
    both("PUT", f"/api/queues/{v}/q", {"durable": "true", "arguments": {"x-max-length": 5}})
    both("PUT", f"/api/queues/{v}/q", {"durable": True, "arguments": {"x-max-length": 5}})
    both("PUT", f"/api/queues/{v}/q", {"arguments": {"x-max-length": 5}})
    both("PUT", f"/api/queues/{v}/q", {"durable": True})
    both("PUT", f"/api/queues/{v}/bad", {"arguments": {"x-max-length": "x"}})
    both("PUT", f"/api/queues/{v}/amq.q", {})
    both("POST", f"/api/exchanges/{v}/amq.default/publish", {**MESSAGE, "routing_key": "q"})
    both("DELETE", f"/api/queues/{v}/q?if-empty=true")
    both("POST", f"/api/queues/{v}/q/get", {"count": 1})
    both("POST", f"/api/queues/{v}/q/get", {**GET, "ackmode": "nosuch"})
    both("POST", f"/api/queues/{v}/q/get", GET)
    both("POST", f"/api/queues/{v}/nosuch/get", GET)
    both("DELETE", f"/api/queues/{v}/q/contents")
    both("DELETE", f"/api/queues/{v}/nosuch/contents")
    both("DELETE", f"/api/queues/{v}/q")
    both("DELETE", f"/api/queues/{v}/q")


def test_exchange_and_binding_routes(both: Both, new_name: Callable[[], str]) -> None:
    v = q(new_name())
    both("PUT", f"/api/exchanges/{v}/x", {})
    both("PUT", f"/api/vhosts/{v}", {})
    both("PUT", f"/api/exchanges/{v}/x", {"type": "topic"})
    both("PUT", f"/api/exchanges/{v}/x", {"type": "topic"})
    both("PUT", f"/api/exchanges/{v}/x", {"type": "direct"})
    both("PUT", f"/api/exchanges/{v}/y", {"type": "nosuch"})
    both("PUT", f"/api/exchanges/{v}/amq.y", {"type": "direct"})
    both("DELETE", f"/api/exchanges/{v}/amq.topic")
    both("PUT", f"/api/queues/{v}/q", {})
    reference, ours = both("POST", f"/api/bindings/{v}/e/x/q/q", {"routing_key": "a.#"})
    assert ours.headers["location"] == reference.headers["location"]
    both("POST", f"/api/bindings/{v}/e/x/q/nosuch", {"routing_key": "a"})
    both("POST", f"/api/bindings/{v}/e/nosuch/q/q", {"routing_key": "a"})
    both("POST", f"/api/bindings/{v}/e/x/e/nosuch", {})
    both("PUT", f"/api/exchanges/{v}/d%20x", {"type": "fanout"})
    binding = {"routing_key": "r k", "arguments": {"a": 1}}
    reference, ours = both("POST", f"/api/bindings/{v}/e/x/e/d%20x", binding)
    assert ours.headers["location"] == reference.headers["location"]
    props = reference.headers["location"].split("/", 1)[1]  # (already a path segment)
    both("DELETE", f"/api/bindings/{v}/e/x/e/d%20x/{props}")
    both("DELETE", f"/api/bindings/{v}/e/x/e/d%20x/{props}")
    both("POST", f"/api/exchanges/{v}/x/publish", {**MESSAGE, "routing_key": "a.b"})
    both("POST", f"/api/exchanges/{v}/x/publish", MESSAGE)
    both("POST", f"/api/exchanges/{v}/nosuch/publish", MESSAGE)
    both("POST", f"/api/exchanges/{v}/x/publish", {"routing_key": "a"})
    both("DELETE", f"/api/bindings/{v}/e/x/q/q/a.%2523")
    both("DELETE", f"/api/bindings/{v}/e/x/q/q/a.%2523")
    both("DELETE", f"/api/bindings/{v}/e/nosuch/q/q/a")
    both("DELETE", f"/api/exchanges/{v}/x")
    both("DELETE", f"/api/exchanges/{v}/x")
    both("DELETE", "/api/connections/mgmt-diff-nosuch")


def test_amqp_permissions_apply_over_http(both: Both, new_name: Callable[[], str]) -> None:
    v, user = q(new_name()), new_name()
    both("PUT", f"/api/vhosts/{v}", {})
    both("PUT", f"/api/users/{q(user)}", {"password": "pw", "tags": "management"})
    rights = {"configure": "^allowed", "write": "", "read": ""}
    both("PUT", f"/api/permissions/{v}/{q(user)}", rights)
    as_user = {"user": (user, "pw")}
    both("PUT", f"/api/queues/{v}/denied", {}, **as_user)
    both("PUT", f"/api/queues/{v}/allowed", {}, **as_user)
    both("POST", f"/api/queues/{v}/allowed/get", GET, **as_user)
    both("DELETE", f"/api/queues/{v}/allowed/contents", **as_user)
    both("POST", f"/api/exchanges/{v}/amq.direct/publish", MESSAGE, **as_user)
    both("PUT", f"/api/exchanges/{v}/denied", {}, **as_user)
    both("DELETE", f"/api/queues/{v}/allowed", **as_user)


def test_loose_values_and_in_use(both: Both, new_name: Callable[[], str]) -> None:
    v = q(new_name())
    both("DELETE", f"/api/queues/{v}/q")
    both("DELETE", f"/api/exchanges/{v}/x")
    both("PUT", f"/api/vhosts/{v}", {})
    both("PUT", f"/api/queues/{v}/q", {"durable": "maybe"})
    both("PUT", f"/api/queues/{v}/q", {"auto_delete": "false", "durable": "false"})
    both("PUT", f"/api/exchanges/{v}/x", {"type": "fanout", "internal": "false"})
    both("POST", f"/api/bindings/{v}/e/x/q/q", {})
    both("DELETE", f"/api/exchanges/{v}/x?if-unused=true")
    properties = {"delivery_mode": 2, "headers": {"n": 1, "s": "t"}, "priority": 3}
    both("POST", f"/api/exchanges/{v}/x/publish", {**MESSAGE, "properties": properties})
    both("POST", f"/api/exchanges/{v}/x/publish", {**MESSAGE, "payload_encoding": "base64"})
    reference, ours = both(
        "POST",
        f"/api/queues/{v}/q/get",
        {"count": "3", "ackmode": "reject_requeue_false", "encoding": "auto", "truncate": "1"},
    )
    assert ours.body == reference.body


@pytest.mark.parametrize(
    "properties",
    [
        {"user_id": "someone-else"},
        {"user_id": "guest"},
        {"delivery_mode": "2"},
        {"delivery_mode": 3},
        {"expiration": "bad"},
        {"expiration": "-1"},
        {"priority": 9},
    ],
)
def test_publish_checks_properties_as_basic_publish(
    both: Both, new_name: Callable[[], str], properties: dict[str, object]
) -> None:
    v = q(new_name())
    both("PUT", f"/api/vhosts/{v}", {})
    both("POST", f"/api/exchanges/{v}/amq.direct/publish", {**MESSAGE, "properties": properties})
