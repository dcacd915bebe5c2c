"""Screenshots of the main pages with some realistic traffic running (a publisher, a
consumer acknowledging, a backlog, a dead-letter queue), into build/screenshots/.

``make screenshots`` (AMQPBROKER_README_SCREENSHOTS=1) lets the rates charts fill for
some minutes first and copies the overview and a queue's page to docs/images/ for the README."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
from webpage import segment

from amqpbroker.embedded.broker import BrokerThread

README = os.environ.get("AMQPBROKER_README_SCREENSHOTS") == "1"
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
CHART_HISTORY = 150.0 if README else 0.0  # seconds of rates for the README's charts
PUBLISH_EVERY = 0.02  # the publisher's pace: ~50 messages/s
# The invoices' consumer: at most ~40 messages/s, so its backlog grows ~10/s (staying under
# the 2,000 ready messages where the broker would hold the publisher back: core/publisher_flow.py).
WORK_TIME = 0.025


def _connect(broker: BrokerThread, name: str) -> pika.BlockingConnection:
    parameters = pika.URLParameters(broker.url)
    parameters.client_properties = {"connection_name": name}
    return pika.BlockingConnection(parameters)


def _declare_queues(broker: BrokerThread) -> None:
    with _connect(broker, "setup") as connection:
        channel = connection.channel()
        channel.exchange_declare("orders", "topic", durable=True)
        channel.exchange_declare("dead-letters", "fanout", durable=True)
        channel.queue_declare("orders.created", durable=True)
        channel.queue_declare("orders.shipped", durable=True, arguments={"x-max-length": 10_000})
        channel.queue_declare(
            "invoices",
            durable=True,
            arguments={"x-message-ttl": 600_000, "x-dead-letter-exchange": "dead-letters"},
        )
        channel.queue_declare("dead-lettered", durable=True)
        channel.queue_bind("orders.created", "orders", "order.created")
        channel.queue_bind("orders.shipped", "orders", "order.shipped")
        channel.queue_bind("invoices", "orders", "order.*")
        channel.queue_bind("dead-lettered", "dead-letters")
        for n in range(1500):  # a backlog, straight to one queue
            channel.basic_publish("", "orders.created", f'{{"order": {n}}}'.encode())


def _publish_steadily(broker: BrokerThread, stop: threading.Event) -> None:
    with _connect(broker, "order-service") as connection:
        channel = connection.channel()
        n = 0
        while not stop.wait(PUBLISH_EVERY):
            key = "order.shipped" if n % 3 else "order.created"
            body = f'{{"order": {n}, "total": {n % 97}.50}}'.encode()
            channel.basic_publish(
                "orders", key, body, pika.BasicProperties(content_type="application/json")
            )
            n += 1


def _consume_invoices(broker: BrokerThread, stop: threading.Event) -> None:
    with _connect(broker, "billing-worker") as connection:
        channel = connection.channel()
        channel.basic_qos(prefetch_count=20)

        def handle(ch: Any, method: Any, _properties: Any, _body: bytes) -> None:
            stop.wait(WORK_TIME)  # a worker a little slower than the orders coming in
            ch.basic_ack(method.delivery_tag)

        channel.basic_consume("invoices", handle, consumer_tag="billing-1")
        while not stop.is_set():
            connection.process_data_events(time_limit=0.1)


@pytest.fixture(scope="module")
def traffic(web_broker: BrokerThread) -> Iterator[None]:
    _declare_queues(web_broker)
    stop = threading.Event()
    workers = [
        threading.Thread(target=work, args=(web_broker, stop), daemon=True)
        for work in (_publish_steadily, _consume_invoices)
    ]
    for worker in workers:
        worker.start()
    yield
    stop.set()
    for worker in workers:
        worker.join(timeout=10)


@pytest.mark.timeout(120 + CHART_HISTORY)
def test_screenshots_of_the_main_pages(page: Any, web_broker: BrokerThread, traffic: None) -> None:
    page.heading("Overview")
    page.wait(lambda: _rates_seen(web_broker), "the broker to sample the traffic's rates")
    overview = page.screenshot("overview")

    page.menu("Queues")
    page.row("invoices")
    page.screenshot("queues")

    page.click_link("invoices")
    page.heading("invoices")
    page.shown(".chart")
    if CHART_HISTORY:
        overview = _fill_the_charts(page)
    queue = page.screenshot("queue")

    for route, title, name in (
        ("/connections", "Connections", "connections"),
        ("/channels", "Channels", "channels"),
        ("/exchanges", "Exchanges", "exchanges"),
        (f"/exchanges/{segment('/')}/orders", "orders", "exchange"),
        ("/admin/users", "Users", "users"),
        ("/admin/vhosts", "Virtual Hosts", "vhosts"),
        ("/admin/policies", "Policies", "policies"),
        ("/trace", "Trace", "trace"),
    ):
        page.go(route)
        page.heading(title)
        page.screenshot(name)

    if README:
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(overview, DOCS_IMAGES / "overview.png")
        shutil.copyfile(queue, DOCS_IMAGES / "queue.png")


def _fill_the_charts(page: Any) -> Path:
    """Keep the queue's page open in this tab and the overview in a second one while the
    traffic runs for CHART_HISTORY seconds (each page charts what it polled while open);
    the overview's screenshot then, and back to the queue's tab."""
    queue_tab = page.driver.current_window_handle
    page.driver.switch_to.new_window("tab")
    page.load("/")
    page.log_in("guest", "guest")
    page.logged_in_as("guest")
    page.driver.switch_to.window(queue_tab)
    started = time.monotonic()
    page.wait(
        lambda: time.monotonic() - started > CHART_HISTORY,
        "the charts' history",
        timeout=CHART_HISTORY + 10,
    )
    overview_tab = next(h for h in page.driver.window_handles if h != queue_tab)
    page.driver.switch_to.window(overview_tab)
    overview = page.screenshot("overview")
    assert not page.console_errors()
    page.driver.close()
    page.driver.switch_to.window(queue_tab)
    return overview


def _rates_seen(broker: BrokerThread) -> bool:
    """The broker has sampled the traffic's rates (what the overview's chart draws)."""
    rates = broker.overview().message_rates
    return rates.get("publish", 0) > 0 and rates.get("ack", 0) > 0
