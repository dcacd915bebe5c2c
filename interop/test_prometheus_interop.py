"""The Prometheus endpoint side by side with the reference's rabbitmq_prometheus 3.10.8
(``AMQPBROKER_REFERENCE_PROMETHEUS_URL``, default http://127.0.0.1:15693): with a
connection, a channel, a consumer and a queue open on each broker, every metric the
"RabbitMQ-Overview" Grafana dashboard queries is on both ``/metrics`` and
``/metrics/per-object``, with the same type and the same label names."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import pika
import pytest
from prometheus_client.parser import text_string_to_metric_families

from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.management.prometheus.families import OVERVIEW_DASHBOARD
from amqpbroker.testing.polling import settle

pytestmark = pytest.mark.differential

REFERENCE = os.environ.get("AMQPBROKER_REFERENCE_PROMETHEUS_URL", "http://127.0.0.1:15693")
AMQP_REFERENCE = os.environ.get("AMQPBROKER_REFERENCE_URL", "amqp://guest:guest@127.0.0.1:5673/")
PATHS = ("/metrics", "/metrics/per-object")
# (a family's name as the parser gives it: a counter's without its _total)
Shape = tuple[str, frozenset[str]]


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as reply:
        return reply.read().decode()


def shapes(text: str) -> dict[str, Shape]:
    """Each family's type and the label names its samples carry, by sample name."""
    found: dict[str, Shape] = {}
    for family in text_string_to_metric_families(text):
        labels = frozenset(name for sample in family.samples for name in sample.labels)
        for sample in family.samples:
            found[sample.name] = (family.type, labels)
        if not family.samples:
            found[family.name] = (family.type, labels)
    return found


@pytest.fixture(scope="module")
def reference() -> str:
    try:
        fetch(REFERENCE + "/metrics")
    except OSError as error:
        message = f"reference Prometheus endpoint unreachable at {REFERENCE} ({error})"
        if os.environ.get("AMQPBROKER_REFERENCE_REQUIRED", "") not in ("", "0"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return REFERENCE


@pytest.fixture(scope="module")
def ours() -> Iterator[BrokerThread]:
    broker = BrokerThread(prometheus=True)
    broker.start()
    yield broker
    broker.stop()


def _busy(url: str) -> Any:
    """A connection with a channel, a queue and a consumer on it."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.basic_publish("", queue, b"m")
    channel.basic_consume(queue, lambda *args: None)
    connection.process_data_events(0.1)
    return connection


def both(
    reference: str, ours: BrokerThread, path: str
) -> tuple[dict[str, Shape], dict[str, Shape]]:
    """Each broker's shapes at ``path`` while each has a busy connection."""
    theirs_connection = _busy(AMQP_REFERENCE)
    ours_connection = _busy(ours.url)
    try:
        # (the reference's per-object figures catch up with a new channel within 5 s)
        theirs = settle(
            lambda: shapes(fetch(reference + path)),
            lambda found: path == "/metrics" or found["rabbitmq_channel_consumers"][1],
            timeout=15,
        )
        mine = shapes(fetch(ours.prometheus_url.removesuffix("/metrics") + path))
    finally:
        theirs_connection.close()
        ours_connection.close()
    return theirs, mine


@pytest.mark.parametrize("path", PATHS)
def test_dashboard_metrics_have_the_reference_type_and_labels(
    reference: str, ours: BrokerThread, path: str
) -> None:
    theirs, mine = both(reference, ours, path)
    differences = {
        name: (theirs.get(name), mine.get(name))
        for name in OVERVIEW_DASHBOARD
        if theirs.get(name) != mine.get(name) or name not in mine
    }
    assert differences == {}


@pytest.mark.parametrize("path", PATHS)
def test_every_metric_exposed_is_the_reference_s(
    reference: str, ours: BrokerThread, path: str
) -> None:
    """Nothing of our own under RabbitMQ's prefix, and no family shaped otherwise."""
    theirs, mine = both(reference, ours, path)
    assert sorted(set(mine) - set(theirs)) == []
    assert {
        name: (theirs[name], shape) for name, shape in mine.items() if theirs[name] != shape
    } == {}
