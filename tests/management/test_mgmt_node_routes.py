"""overview, whoami, extensions, cluster-name, aliveness-test and the health checks."""

from __future__ import annotations

import pika
from mgmt_http import Api, q

from amqpbroker.embedded.broker import BrokerThread

OVERVIEW_KEYS = {
    "management_version",
    "rates_mode",
    "sample_retention_policies",
    "exchange_types",
    "product_version",
    "product_name",
    "rabbitmq_version",
    "cluster_name",
    "erlang_version",
    "erlang_full_version",
    "release_series_support_status",
    "disable_stats",
    "enable_queue_totals",
    "message_stats",
    "churn_rates",
    "queue_totals",
    "object_totals",
    "statistics_db_event_queue",
}
ADMIN_ONLY = {"node", "listeners", "contexts"}


def test_overview_has_rabbitmqs_keys_and_admins_see_the_node(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    overview = api.get("/api/overview").body
    assert set(overview) == OVERVIEW_KEYS | ADMIN_ONLY
    assert overview["rabbitmq_version"] == "3.10.8"
    assert overview["management_version"] == "3.10.8"
    assert [t["name"] for t in overview["exchange_types"]] == [
        "direct",
        "fanout",
        "headers",
        "topic",
    ]
    protocols = {(x["protocol"], x["port"]) for x in overview["listeners"]}
    management_port = int(mgmt_broker.management_url.rstrip("/").rsplit(":", 1)[1])
    assert protocols == {("amqp", mgmt_broker.port), ("http", management_port)}
    mgmt_broker.add_user(name, "pw", "management")
    assert set(api.as_user(name, "pw").get("/api/overview").body) == OVERVIEW_KEYS


def test_overview_counts_what_the_user_sees(api: Api, mgmt_broker: BrokerThread, name: str) -> None:
    mgmt_broker.add_vhost(name)
    mgmt_broker.add_user(name, "pw", "management")
    mgmt_broker.set_permissions(name, vhost=name)
    connection = pika.BlockingConnection(pika.URLParameters(mgmt_broker.url_for(name)))
    try:
        channel = connection.channel()
        channel.queue_declare("q1")
        for body in (b"1", b"2", b"3"):
            channel.basic_publish("", "q1", body)
        channel.basic_consume("q1", lambda *args: None)
        channel.queue_declare("q2")
        channel.basic_publish("", "q2", b"4")
        connection.process_data_events(time_limit=0.2)
        overview = api.as_user(name, "pw").get("/api/overview").body
        assert overview["object_totals"] == {
            "channels": 1,
            "connections": 1,
            "consumers": 1,
            "exchanges": 7,
            "queues": 2,
        }
        totals = overview["queue_totals"]
        assert {
            key: totals[key] for key in ("messages", "messages_ready", "messages_unacknowledged")
        } == {
            "messages": 4,
            "messages_ready": 1,
            "messages_unacknowledged": 3,
        }
    finally:
        connection.close()


def test_overview_columns_as_rabbitmqadmin_asks(api: Api) -> None:
    columns = "rabbitmq_version,cluster_name,queue_totals.messages,object_totals.queues"
    overview = api.get(f"/api/overview?columns={columns}").body
    assert set(overview) == {"rabbitmq_version", "cluster_name", "queue_totals", "object_totals"}
    assert set(overview["object_totals"]) == {
        "channels",
        "connections",
        "consumers",
        "exchanges",
        "queues",
    }
    assert api.get("/api/overview?columns=nosuch").body == []


def test_whoami_extensions_cluster_name(api: Api, mgmt_broker: BrokerThread) -> None:
    assert api.get("/api/whoami").body == {"name": "guest", "tags": ["administrator"]}
    assert api.get("/api/extensions").body == [{"javascript": "dispatcher.js"}]
    original = api.get("/api/cluster-name").body["name"]
    assert original.startswith("amqpbroker@")
    assert api.put("/api/cluster-name", {"name": "rabbit@test"}).status == 204
    try:
        assert api.get("/api/cluster-name").body == {"name": "rabbit@test"}
        assert api.get("/api/overview").body["cluster_name"] == "rabbit@test"
    finally:
        api.put("/api/cluster-name", {"name": original})
    reply = api.put("/api/cluster-name", {})
    assert reply.body == {"error": "bad_request", "reason": "[{key_missing,name}]"}


def test_aliveness_test_declares_its_queue(api: Api, mgmt_broker: BrokerThread, name: str) -> None:
    mgmt_broker.add_vhost(name)
    assert api.get(f"/api/aliveness-test/{q(name)}").body == {"status": "ok"}
    assert mgmt_broker.queue("aliveness-test", vhost=name).durable is False
    assert api.get(f"/api/aliveness-test/{q(name)}").body == {"status": "ok"}
    reply = api.get("/api/aliveness-test/nosuch")
    assert (reply.status, reply.body["error"]) == (404, "Object Not Found")


def test_health_checks(api: Api, mgmt_broker: BrokerThread) -> None:
    for path in (
        "/api/healthchecks/node",
        "/api/health/checks/alarms",
        "/api/health/checks/local-alarms",
        "/api/health/checks/virtual-hosts",
    ):
        assert api.get(path).body == {"status": "ok"}, path
    assert api.get("/api/health/checks/node-is-quorum-critical").body == {
        "status": "ok",
        "reason": "single node cluster",
    }
    port = mgmt_broker.port
    assert api.get(f"/api/health/checks/port-listener/{port}").body == {
        "status": "ok",
        "port": port,
    }
    reply = api.get("/api/health/checks/port-listener/1")
    assert reply.status == 503
    assert reply.body["missing"] == 1
    assert port in reply.body["ports"]
    assert api.get("/api/health/checks/protocol-listener/amqp").body == {
        "status": "ok",
        "protocol": "amqp",
    }
    reply = api.get("/api/health/checks/protocol-listener/mqtt")
    assert reply.status == 503
    assert set(reply.body) == {"status", "reason", "missing", "protocols"}


def test_a_resource_alarm_fails_the_alarm_checks(api: Api, mgmt_broker: BrokerThread) -> None:
    mgmt_broker.block_publishers()
    try:
        reply = api.get("/api/health/checks/alarms")
        assert (reply.status, reply.body["status"]) == (503, "failed")
    finally:
        mgmt_broker.unblock_publishers()
    assert api.get("/api/health/checks/alarms").status == 200
