"""What ``POST .../publish`` and ``POST .../get`` count, as RabbitMQ 3.10.8's plugin counts
it (recorded on the reference): it gets with no-ack for ``ack_requeue_false`` and rejects
what it got otherwise, so a queue never counts an ack from HTTP; it asks until the count
or an empty answer (one ``get_empty``); its channel's counts (publishes in confirm mode
and mandatory) go to the vhost's and the overview's message_stats."""

from __future__ import annotations

from typing import Any

import pika
from mgmt_http import Api, q

from amqpbroker.embedded.broker import BrokerThread


def _stats(item: dict[str, Any]) -> dict[str, int]:
    stats = item["message_stats"]
    return {key: value for key, value in stats.items() if not key.endswith("_details")}


def _publish(api: Api, vhost: str, routing_key: str) -> bool:
    body = {"properties": {}, "routing_key": routing_key, "payload": "x"}
    body["payload_encoding"] = "string"
    reply = api.post(f"/api/exchanges/{q(vhost)}/amq.default/publish", body)
    return bool(reply.body["routed"])


def _get(api: Api, vhost: str, queue: str, count: int, ackmode: str) -> int:
    body = {"count": count, "ackmode": ackmode, "encoding": "auto"}
    return len(api.post(f"/api/queues/{q(vhost)}/{queue}/get", body).body)


def test_what_http_publish_and_get_count(api: Api, mgmt_broker: BrokerThread, name: str) -> None:
    mgmt_broker.add_vhost(name)
    api.put(f"/api/queues/{q(name)}/q", {})
    assert not _publish(api, name, "nowhere")
    assert _publish(api, name, "q")
    assert _get(api, name, "q", 1, "ack_requeue_true") == 1
    assert _get(api, name, "q", 1, "reject_requeue_true") == 1
    assert _get(api, name, "q", 2, "ack_requeue_false") == 1
    queue = _stats(api.get(f"/api/queues/{q(name)}/q").body)
    assert queue == {
        "publish": 1,
        "deliver": 0,
        "deliver_get": 3,
        "deliver_no_ack": 0,
        "get": 2,
        "get_empty": 1,
        "get_no_ack": 1,
        "ack": 0,
        "redeliver": 2,
    }
    mgmt_broker.sample_stats()  # (a vhost's message_stats are its last sampling's)
    vhost = _stats(api.get(f"/api/vhosts/{q(name)}").body)
    assert {key: value for key, value in vhost.items() if value} == {
        "publish": 2,
        "confirm": 2,
        "return_unroutable": 1,
        "get": 2,
        "get_no_ack": 1,
        "get_empty": 1,
        "redeliver": 2,
        "deliver_get": 3,
    }
    overview = mgmt_broker.overview().message_stats
    assert (overview["confirm"], overview["get_empty"]) >= (2, 1)
    item = api.get(f"/api/queues/{q(name)}/q?columns=messages,messages_unacknowledged").body
    assert item == {"messages": 0, "messages_unacknowledged": 0}


def test_rejected_without_requeue_is_dead_lettered_and_not_acked(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    mgmt_broker.add_vhost(name)
    api.put(f"/api/queues/{q(name)}/dlq", {})
    api.put(
        f"/api/queues/{q(name)}/q",
        {"arguments": {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dlq"}},
    )
    for _ in range(2):
        _publish(api, name, "q")
    assert _get(api, name, "q", 1, "reject_requeue_false") == 1
    assert _get(api, name, "q", 1, "ack_requeue_false") == 1
    counts = api.get(f"/api/queues/{q(name)}?columns=name,messages").body
    assert counts == [{"name": "dlq", "messages": 1}, {"name": "q", "messages": 0}]
    queue = _stats(api.get(f"/api/queues/{q(name)}/q").body)
    assert (queue["ack"], queue["get"], queue["get_no_ack"]) == (0, 1, 1)


def test_the_default_exchange_counts_unroutable_publishes_out(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    """RabbitMQ routes a default-exchange publish to the queue its key names, there or not,
    and counts it in publish_out (recorded over AMQP and HTTP); other exchanges do not."""
    mgmt_broker.add_vhost(name)
    api.put(f"/api/exchanges/{q(name)}/x", {"type": "direct"})
    with pika.BlockingConnection(pika.URLParameters(mgmt_broker.url_for(name))) as connection:
        channel = connection.channel()
        channel.basic_publish("", "nowhere", b"x")
        channel.basic_publish("", "nowhere", b"x", mandatory=True)
        channel.basic_publish("x", "nowhere", b"x")
    assert not _publish(api, name, "nowhere")
    api.post(
        f"/api/exchanges/{q(name)}/x/publish",
        {"properties": {}, "routing_key": "k", "payload": "", "payload_encoding": "string"},
    )
    default = _stats(api.get(f"/api/exchanges/{q(name)}/amq.default").body)
    assert default == {"publish_in": 3, "publish_out": 3}
    other = _stats(api.get(f"/api/exchanges/{q(name)}/x").body)
    assert other == {"publish_in": 2, "publish_out": 0}
