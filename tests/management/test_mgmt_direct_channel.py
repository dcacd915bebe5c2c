"""What ``POST .../publish`` and ``POST .../get`` count, as RabbitMQ counts what its
management plugin does on a direct connection's channel: the queue's and the vhost's and
overview's message_stats, the churn; and the publish's checks of its JSON properties (the
reference's answers: interop/management/test_mgmt_statistics_differential.py)."""

from __future__ import annotations

from typing import Any

import pytest
from mgmt_http import Api, q

from amqpbroker.embedded.broker import BrokerThread


def counts(item: dict[str, Any]) -> dict[str, int]:
    stats = item["message_stats"]
    return {key: value for key, value in stats.items() if not key.endswith("_details")}


def message(routing_key: str, **properties: Any) -> dict[str, Any]:
    return {
        "properties": properties,
        "routing_key": routing_key,
        "payload": "x",
        "payload_encoding": "string",
    }


def test_publish_and_get_show_in_the_vhost_and_the_overview(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    v = q(name)
    api.put(f"/api/vhosts/{v}", {})
    api.put(f"/api/queues/{v}/q", {})
    mgmt_broker.sample_stats()
    before = counts(api.get("/api/overview").body)
    churn_before = api.get("/api/overview").body["churn_rates"]
    for _ in range(3):
        assert api.post(f"/api/exchanges/{v}/amq.default/publish", message("q")).body == {
            "routed": True
        }
    assert api.post(f"/api/exchanges/{v}/amq.direct/publish", message("none")).body == {
        "routed": False
    }
    gets = [(2, "ack_requeue_false"), (1, "ack_requeue_true"), (1, "reject_requeue_false")]
    for count, ackmode in [*gets, (2, "ack_requeue_false")]:
        api.post(f"/api/queues/{v}/q/get", {"count": count, "ackmode": ackmode, "encoding": "auto"})
    mgmt_broker.sample_stats()
    expected = {
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
    assert counts(api.get(f"/api/vhosts/{v}").body) == expected
    overview = api.get("/api/overview").body
    assert {key: counts(overview)[key] - before[key] for key in expected} == expected
    churn = overview["churn_rates"]
    for key in ("connection_created", "connection_closed", "channel_created", "channel_closed"):
        assert churn[key] - churn_before[key] == 8, key  # a direct channel per request
    queue = api.get(f"/api/queues/{v}/q").body
    assert counts(queue) == {
        "publish": 3,
        "deliver": 0,
        "deliver_get": 4,
        "deliver_no_ack": 0,
        "get": 2,
        "get_empty": 1,
        "get_no_ack": 2,
        "ack": 0,
        "redeliver": 1,
    }
    assert (queue["messages"], queue["messages_unacknowledged"]) == (0, 0)
    assert api.get("/api/connections").body == []  # (the direct channels are never listed)
    api.delete(f"/api/vhosts/{v}")


@pytest.mark.parametrize(
    ("properties", "status", "reason"),
    [
        (
            {"reply_to": "amq.rabbitmq.reply-to"},
            400,
            "406 PRECONDITION_FAILED - fast reply consumer does not exist",
        ),
        ({"priority": None}, 400, ["not_int", "priority"]),
        ({"expiration": 5, "priority": "x"}, 400, ["not_int", "priority"]),
        ({"app_id": 6, "content_type": 5}, 400, ["not_string", "content_type"]),
        ({"correlation_id": None}, 400, ["not_string", "correlation_id"]),
        ({"headers": {"a": [1, {"b": None}]}}, 400, "null_not_allowed"),
        ({"headers": "text"}, 500, None),
        ({"headers": []}, 200, None),
        ({"unknown": 1}, 200, None),
        ({"priority": 300}, 200, None),
    ],
)
def test_publish_reads_properties_as_rabbitmq(
    api: Api, name: str, properties: dict[str, Any], status: int, reason: Any
) -> None:
    api.put(f"/api/queues/%2F/{name}", {})
    reply = api.post("/api/exchanges/%2F/amq.default/publish", message(name, **properties))
    assert reply.status == status
    if reason is not None:
        assert reply.body == {"error": "bad_request", "reason": reason}
    api.delete(f"/api/queues/%2F/{name}")


def test_a_priority_beyond_an_octet_goes_out_as_erlang_writes_it(api: Api, name: str) -> None:
    api.put(f"/api/queues/%2F/{name}", {})
    api.post("/api/exchanges/%2F/amq.default/publish", message(name, priority=300))
    [got] = api.post(
        f"/api/queues/%2F/{name}/get",
        {"count": 1, "ackmode": "ack_requeue_false", "encoding": "auto"},
    ).body
    assert got["properties"] == {"priority": 300 & 0xFF}  # (RabbitMQ's own get shows 300)
    api.delete(f"/api/queues/%2F/{name}")
