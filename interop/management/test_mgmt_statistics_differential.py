"""Statistics on RabbitMQ 3.10.8 and on amqpbroker, compared where both settle on values:

- what ``POST .../publish`` and ``POST .../get`` count: RabbitMQ runs them on a direct
  connection's channel, so they show in the vhost's (and the overview's) message_stats,
  ``ack_requeue_false`` gets without an ack and the other ackmodes get then reject;
- the JSON properties a publish refuses, in RabbitMQ's order, and
  ``reply_to: amq.rabbitmq.reply-to`` (no consumer can exist on that channel);
- ``idle_since``: once activity stops, queues and channels show it (connections never),
  next to their rates.

Both brokers sample every 5 s: the tests poll until each shows what it settles on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pika
import pytest
import test_mgmt_differential
from mgmt_http import Api, q
from test_mgmt_differential import Both

from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.testing.polling import settle, wait_until

pytestmark = pytest.mark.differential
both = test_mgmt_differential.both

SAMPLED = 30.0  # seconds: a few sampling rounds of either broker, on a loaded machine
REFERENCE_LAG = 30.0
MESSAGE = {"properties": {}, "routing_key": "q", "payload": "x", "payload_encoding": "string"}
# What RabbitMQ 3.10.8 shows after test_http_publish_and_get_count_as_a_direct_channel's
# requests (recorded from it): 3 publishes routed and 1 returned, 6 messages asked for.
VHOST_COUNTS = {
    "ack": 0,
    "confirm": 4,
    "deliver": 0,
    "deliver_get": 4,
    "deliver_no_ack": 0,
    "drop_unroutable": 0,
    "get": 2,
    "get_empty": 1,
    "get_no_ack": 2,
    "publish": 4,
    "redeliver": 1,
    "return_unroutable": 1,
}
QUEUE_COUNTS = {
    "ack": 0,
    "deliver": 0,
    "deliver_get": 4,
    "deliver_no_ack": 0,
    "get": 2,
    "get_empty": 1,
    "get_no_ack": 2,
    "publish": 3,
    "redeliver": 1,
}


def counts(item: dict[str, Any]) -> dict[str, int]:
    """message_stats without the rates."""
    stats = item.get("message_stats", {})
    return {key: value for key, value in stats.items() if not key.endswith("_details")}


def settled(api: Api, path: str, ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        body = api.get(path).body
        return body if ready(body) else None

    return wait_until(check, lambda: f"GET {path} to settle: {api.get(path).body}", timeout=SAMPLED)


def test_http_publish_and_get_count_as_a_direct_channel(
    both: Both, new_name: Callable[[], str], reference_api: Api, our_api: Api
) -> None:
    v = q(new_name())
    both("PUT", f"/api/vhosts/{v}", {})
    both("PUT", f"/api/queues/{v}/q", {"durable": False})
    for _ in range(3):
        both("POST", f"/api/exchanges/{v}/amq.default/publish", MESSAGE)
    both("POST", f"/api/exchanges/{v}/amq.direct/publish", {**MESSAGE, "routing_key": "none"})
    for count, ackmode in [
        (2, "ack_requeue_false"),
        (1, "ack_requeue_true"),
        (1, "reject_requeue_false"),
        (2, "ack_requeue_false"),
    ]:
        both(
            "POST",
            f"/api/queues/{v}/q/get",
            {"count": count, "ackmode": ackmode, "encoding": "auto"},
        )
    expected = {f"/api/vhosts/{v}": VHOST_COUNTS, f"/api/queues/{v}/q": QUEUE_COUNTS}
    for path, our_expected in expected.items():
        ours = settled(our_api, path, lambda i: counts(i).get("get_empty") == 1 and "messages" in i)
        assert counts(ours) == our_expected, path
        assert ours["messages"] == 0
        # (the reference emits a vhost's and a queue's figures at different moments: its
        # counts are awaited until they agree, and compared as they are at the deadline)
        reference = settle(
            lambda: reference_api.get(path).body,  # noqa: B023 (called within the iteration)
            lambda i: counts(i) == counts(ours) and i.get("messages") == 0,  # noqa: B023
            timeout=REFERENCE_LAG,
        )
        assert counts(ours) == counts(reference), path
        assert reference["messages"] == 0


@pytest.mark.parametrize(
    "properties",
    [
        {"reply_to": "amq.rabbitmq.reply-to"},
        {"reply_to": "amq.rabbitmq.reply-to", "expiration": "abc"},
        {"reply_to": "amq.rabbitmq.reply-to", "user_id": "other"},
        {"reply_to": "amq.rabbitmq.reply-to", "priority": "x"},
        {"priority": None},
        {"timestamp": "now"},
        {"expiration": 5},
        {"expiration": 5, "priority": "x"},
        {"app_id": 6, "content_type": 5},
        {"correlation_id": None},
        {"headers": "text"},
        {"headers": None},
        {"headers": 5},
        {"headers": []},
        {"headers": {"a": [1, {"b": None}]}},
        {"headers": {"a": 1.5, "b": True, "c": "s", "d": {"e": 1}, "f": []}},
        {"unknown": 1},
        {"priority": 300},
    ],
)
def test_publish_refuses_properties_as_rabbitmq(
    both: Both, new_name: Callable[[], str], properties: dict[str, object]
) -> None:
    v = q(new_name())
    both("PUT", f"/api/vhosts/{v}", {})
    both("PUT", f"/api/queues/{v}/q", {"durable": False})
    both("POST", f"/api/exchanges/{v}/amq.default/publish", {**MESSAGE, "properties": properties})


CLIENT = "mgmt-diff-idle"  # the connection's name, to find it in either broker's lists


def _busy_then_still(url: str) -> pika.BlockingConnection:
    parameters = pika.URLParameters(url)
    parameters.client_properties = {"connection_name": CLIENT}
    connection = pika.BlockingConnection(parameters)
    channel = connection.channel()
    channel.queue_declare(CLIENT, auto_delete=True)
    for _ in range(20):
        channel.basic_publish("", CLIENT, b"x")
    connection.process_data_events(0)
    return connection


def _ours(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in items if i.get("client_properties", {}).get("connection_name") == CLIENT]


def test_idle_since_and_rates_once_activity_stops(
    reference_api: Api, reference_broker_url: str, our_broker: BrokerThread, our_api: Api
) -> None:
    """Queues and channels show idle_since once still (and their rates); connections show
    their rates and never idle_since.  (RabbitMQ leaves idle_since out while an object is
    busy: checked by hand, not here, as when it samples is its own.)"""
    sides = [(reference_api, reference_broker_url), (our_api, our_broker.url)]
    connections = [_busy_then_still(url) for _, url in sides]
    try:
        for api, url in sides:
            queue = settled(api, f"/api/queues/%2F/{CLIENT}", lambda i: "idle_since" in i)
            assert "publish_details" in queue["message_stats"], url
            listed = settled(
                api,
                "/api/connections",
                lambda items: any("recv_oct_details" in i for i in _ours(items)),
            )
            connection = _ours(listed)[0]
            assert "idle_since" not in connection, url

            def still(items: list[dict[str, Any]], name: str = connection["name"]) -> bool:
                mine = [c for c in items if c["connection_details"]["name"] == name]
                return bool(mine) and "idle_since" in mine[0]

            channels = settled(api, "/api/channels", still)
            channel = next(
                c for c in channels if c["connection_details"]["name"] == connection["name"]
            )
            assert "publish_details" in channel["message_stats"], url
    finally:
        for connection in connections:
            connection.channel().queue_delete(CLIENT)
            connection.close()
