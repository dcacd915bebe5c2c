"""The Prometheus endpoint of a broker driven by pika: the text parsed with
``prometheus_client``'s parser, counts and counters moving as clients act, per-object
labels, no authentication, and RabbitMQ's 404s."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import pika
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_scrape import Scrape, get, scrape

from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.management.prometheus.families import OVERVIEW_DASHBOARD

AMQP = {"protocol": "amqp091"}
CLASSIC = {"protocol": "amqp091", "queue_type": "rabbit_classic_queue"}


@pytest.fixture
def broker() -> Iterator[BrokerThread]:
    with BrokerThread(prometheus=True) as broker:
        yield broker


def per_object(broker: BrokerThread) -> Scrape:
    return scrape(broker.prometheus_url + "/per-object")


def test_every_dashboard_metric_is_there_with_rabbitmq_s_identity(broker: BrokerThread) -> None:
    reply = get(broker.prometheus_url)
    assert reply.content_type == "text/plain; version=0.0.4"
    found = Scrape(reply.text)
    names = {sample for sample, _ in found.samples}
    assert [name for name in OVERVIEW_DASHBOARD if name not in names] == []
    [identity] = found.label_sets("rabbitmq_identity_info")
    assert set(identity) == {"rabbitmq_node", "rabbitmq_cluster", "rabbitmq_cluster_permanent_id"}
    assert identity["rabbitmq_node"].startswith("amqpbroker@")
    assert identity["rabbitmq_cluster_permanent_id"].startswith("rabbitmq-cluster-id-")
    [build] = found.label_sets("rabbitmq_build_info")
    assert build["rabbitmq_version"] == "3.10.8"
    assert found.types["rabbitmq_connections_opened"] == "counter"
    assert found.types["rabbitmq_queues"] == "gauge"
    assert found.types["rabbitmq_identity_info"] == "unknown"  # "untyped" in the text
    assert found.value("rabbitmq_process_resident_memory_bytes") > 0
    assert found.value("rabbitmq_process_max_fds") >= found.value("rabbitmq_process_open_fds") > 0


def test_the_cluster_name_parameter_names_the_cluster(broker: BrokerThread) -> None:
    broker.server.parameters.set_global("cluster_name", "metrics-cluster")
    [identity] = scrape(broker.prometheus_url).label_sets("rabbitmq_identity_info")
    assert identity["rabbitmq_cluster"] == "metrics-cluster"


def test_counts_and_counters_move_with_what_clients_do(broker: BrokerThread) -> None:
    before = scrape(broker.prometheus_url)
    connection = pika.BlockingConnection(pika.URLParameters(broker.url))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.queue_declare("metrics-q")
    for body in (b"1", b"22", b"333"):
        channel.basic_publish("", "metrics-q", body)
    channel.basic_publish("amq.direct", "nowhere", b"lost")
    method, _, _ = channel.basic_get("metrics-q")  # manual ack, left unacked
    assert method is not None
    channel.basic_get("metrics-q", auto_ack=True)
    during = scrape(broker.prometheus_url)
    for name, delta in (
        ("rabbitmq_connections_opened_total", 1),
        ("rabbitmq_channels_opened_total", 1),
        ("rabbitmq_queues_created_total", 1),
        ("rabbitmq_queues_declared_total", 1),
    ):
        assert during.value(name) - before.value(name) == delta, name
    assert during.value("rabbitmq_connections") == 1
    assert during.value("rabbitmq_channels") == 1
    assert during.value("rabbitmq_queues") == 1
    assert during.value("rabbitmq_queue_messages_ready") == 1
    assert during.value("rabbitmq_queue_messages_unacked") == 1
    assert during.value("rabbitmq_queue_messages") == 2
    assert during.value("rabbitmq_global_messages_received_total", **AMQP) == 4
    assert during.value("rabbitmq_global_messages_confirmed_total", **AMQP) == 4
    assert during.value("rabbitmq_global_messages_routed_total", **AMQP) == 3
    assert during.value("rabbitmq_global_messages_unroutable_dropped_total", **AMQP) == 1
    assert during.value("rabbitmq_global_messages_delivered_get_manual_ack_total", **CLASSIC) == 1
    assert during.value("rabbitmq_global_messages_delivered_get_auto_ack_total", **CLASSIC) == 1
    assert during.value("rabbitmq_global_messages_delivered_total", **CLASSIC) == 2
    channel.basic_ack(method.delivery_tag)
    channel.basic_get("metrics-q", auto_ack=True)  # the last one
    channel.basic_get("metrics-q")  # empty now
    channel.basic_consume("metrics-q", lambda *args: None)
    after = scrape(broker.prometheus_url)
    assert after.value("rabbitmq_global_messages_acknowledged_total", **CLASSIC) == 1
    assert after.value("rabbitmq_global_messages_get_empty_total", **CLASSIC) == 1
    assert after.value("rabbitmq_global_messages_delivered_get_auto_ack_total", **CLASSIC) == 2
    assert after.value("rabbitmq_queue_messages") == 0
    assert after.value("rabbitmq_consumers") == 1
    assert after.value("rabbitmq_channel_consumers") == 1
    connection.close()
    gone = scrape(broker.prometheus_url)
    assert gone.value("rabbitmq_connections") == 0
    assert (
        gone.value("rabbitmq_connections_closed_total")
        - before.value("rabbitmq_connections_closed_total")
        == 1
    )
    # What closed channels counted stays in the totals: counters never go down.
    assert gone.value("rabbitmq_global_messages_received_total", **AMQP) == 4
    assert gone.value("rabbitmq_global_messages_acknowledged_total", **CLASSIC) == 1


def test_per_object_labels_name_each_queue_channel_and_connection(broker: BrokerThread) -> None:
    broker.add_vhost("metrics-vhost")
    connection = pika.BlockingConnection(pika.URLParameters(broker.url))
    channel = connection.channel()
    channel.queue_declare("metrics-a")
    channel.basic_publish("", "metrics-a", b"x")
    other = pika.BlockingConnection(pika.URLParameters(broker.url.rstrip("/") + "/metrics-vhost"))
    other.channel().queue_declare("metrics-a")
    try:
        found = per_object(broker)
        assert found.value("rabbitmq_queue_messages_ready", vhost="/", queue="metrics-a") == 1
        assert (
            found.value("rabbitmq_queue_messages_ready", vhost="metrics-vhost", queue="metrics-a")
            == 0
        )
        channels = found.label_sets("rabbitmq_channel_consumers")
        assert len(channels) == 2
        assert all(set(labels) == {"channel"} for labels in channels)
        assert all(labels["channel"].endswith(" (1)") for labels in channels)
        connections = found.label_sets("rabbitmq_connection_incoming_bytes_total")
        assert len(connections) == 2
        assert all(" -> " in labels["channel"] for labels in connections)
        assert all(
            found.value("rabbitmq_connection_incoming_bytes_total", **labels) > 0
            for labels in connections
        )
        # The node's families carry no object labels, even per object.
        assert found.value("rabbitmq_queues") == 2
        assert "rabbitmq_alarms_memory_used_watermark" not in found.types
    finally:
        other.close()
        connection.close()


def test_aggregated_metrics_sum_every_queue(broker: BrokerThread) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(broker.url))
    channel = connection.channel()
    for name, count in (("metrics-1", 2), ("metrics-2", 3)):
        channel.queue_declare(name)
        for _ in range(count):
            channel.basic_publish("", name, b"m")
    found = scrape(broker.prometheus_url)
    connection.close()
    assert found.value("rabbitmq_queue_messages_ready") == 5
    assert found.label_sets("rabbitmq_queue_messages_ready") == [{}]


def test_blocked_publishers_raise_the_memory_alarm(broker: BrokerThread) -> None:
    assert scrape(broker.prometheus_url).value("rabbitmq_alarms_memory_used_watermark") == 0
    broker.block_publishers()
    found = scrape(broker.prometheus_url)
    assert found.value("rabbitmq_alarms_memory_used_watermark") == 1
    assert found.value("rabbitmq_alarms_free_disk_space_watermark") == 0
    assert found.value("rabbitmq_alarms_file_descriptor_limit") == 0
    broker.unblock_publishers()
    assert scrape(broker.prometheus_url).value("rabbitmq_alarms_memory_used_watermark") == 0


def test_no_authentication_is_asked_and_credentials_are_ignored(broker: BrokerThread) -> None:
    wrong = {"Authorization": "Basic bm9ib2R5Om5vcGU="}  # nobody:nope
    for path in ("", "/per-object"):
        reply = get(broker.prometheus_url + path, headers=wrong)
        assert reply.status == 200
        assert list(text_string_to_metric_families(reply.text))


def test_unknown_paths_are_rabbitmq_s_404s(broker: BrokerThread) -> None:
    base = broker.prometheus_url.removesuffix("/metrics")
    registry = get(base + "/metrics/nope")
    assert (registry.status, registry.text) == (404, "Unknown Registry")
    for path in ("/", "/api/overview", "/nope"):
        reply = get(base + path)
        assert reply.status == 404, path
        assert reply.text == '{"error":"Object Not Found","reason":"Not Found"}'


def test_head_answers_without_a_body(broker: BrokerThread) -> None:
    reply = get(broker.prometheus_url, method="HEAD")
    assert (reply.status, reply.text) == (200, "")


@pytest.mark.parametrize("path", ["/metrics", "/metrics/per-object", "/metrics/nope"])
def test_other_methods_are_405_and_options_200_with_allow(broker: BrokerThread, path: str) -> None:
    url = broker.prometheus_url.removesuffix("/metrics") + path
    for method, status in (("POST", 405), ("DELETE", 405), ("PUT", 405), ("OPTIONS", 200)):
        request = urllib.request.Request(
            url, data=b"" if method != "OPTIONS" else None, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = (response.status, response.headers["allow"], response.read())
        except urllib.error.HTTPError as error:
            answer = (error.code, error.headers["allow"], error.read())
        assert answer == (status, "HEAD, GET, OPTIONS", b""), method


def test_login_attempts_are_counted_per_protocol(broker: BrokerThread) -> None:
    bad = pika.URLParameters(broker.url.replace("guest:guest", "guest:wrong"))
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(bad)
    pika.BlockingConnection(pika.URLParameters(broker.url)).close()
    found = scrape(broker.prometheus_url)
    assert found.value("rabbitmq_auth_attempts_failed_total", **AMQP) == 1
    assert found.value("rabbitmq_auth_attempts_succeeded_total", **AMQP) == 1
    assert found.value("rabbitmq_auth_attempts_total", **AMQP) == 2
