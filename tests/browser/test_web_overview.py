"""The overview and the exchanges as a person looks at them: totals and queued messages that
follow the clients, the rates chart, the page refreshing itself; an exchange's page
publishing a message (routed, and unroutable)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pika
from webpage import segment

from amqpbroker.embedded.broker import BrokerThread


def test_the_overview_shows_totals_and_queued_messages(
    page: Any, pika_client: pika.BlockingConnection, unique: Callable[[str], str]
) -> None:
    channel = pika_client.channel()
    queue = unique("overview")
    channel.queue_declare(queue)
    channel.basic_publish("", queue, b"waiting")

    page.menu("Overview")
    page.heading("Overview")
    totals = page.shown("#totals")
    for label in ("Connections", "Channels", "Exchanges", "Queues", "Consumers"):
        assert label in totals.text, totals.text
    queued = page.shown("#queued")
    for label in ("Ready", "Unacked", "Total"):
        assert label in queued.text, queued.text
    page.shown(".chart")
    page.wait(lambda: page.text_of("#updated"), "#updated to show the last refresh")
    page.screenshot("overview")


def test_the_refresh_interval_can_be_chosen(page: Any) -> None:
    page.heading("Overview")
    values = [
        option.get_attribute("value") for option in page.find_all("select#refresh-interval option")
    ]
    assert len(values) == 4, values  # 5, 10, 30 s and off
    page.choose("select#refresh-interval", values[-1])  # off
    updated = page.text_of("#updated")
    page.choose("select#refresh-interval", values[0])  # every 5 s again
    page.wait(lambda: page.text_of("#updated") != updated, "a refresh after switching it on")


def test_publish_from_an_exchange_page(
    page: Any,
    web_broker: BrokerThread,
    pika_client: pika.BlockingConnection,
    unique: Callable[[str], str],
) -> None:
    channel = pika_client.channel()
    exchange, queue = unique("events"), unique("audit")
    channel.exchange_declare(exchange, "direct")
    channel.queue_declare(queue)
    channel.queue_bind(queue, exchange, "audit")

    page.menu("Exchanges")
    page.heading("Exchanges")
    page.type_into("input.filter", exchange)
    page.click_link(exchange)
    page.heading(exchange)
    page.wait(lambda: queue in page.find("body").text, "the binding to the queue")
    page.screenshot("exchange")

    page.open_section("Publish message")
    page.type_into("input#publish-routing-key", "audit")
    page.type_into("textarea#publish-payload", "via the exchange")
    page.click("button#publish")
    assert "ok" in page.flash("Message published.")
    assert channel.queue_declare(queue, passive=True).method.message_count == 1

    page.type_into("input#publish-routing-key", "nowhere")
    page.click("button#publish")
    page.flash("Message published, but not routed.")
    assert channel.queue_declare(queue, passive=True).method.message_count == 1


def test_an_exchange_with_an_odd_name_opens_by_its_link(
    page: Any, pika_client: pika.BlockingConnection
) -> None:
    name = "odd/name with spaces#1"
    pika_client.channel().exchange_declare(name, "fanout")
    page.go(f"/exchanges/{segment('/')}/{segment(name)}")
    page.heading(name)


def test_the_overview_shows_a_memory_alarm_and_its_clearing(
    page: Any, web_broker: BrokerThread
) -> None:
    mark = web_broker.server.alarms.mem_limit
    page.heading("Overview")
    assert page.text_of("#alarms") == "none"
    web_broker.set_vm_memory_high_watermark(1)  # the figure is now over the mark
    try:
        page.menu("Overview")
        page.wait(lambda: page.text_of("#alarms") == "memory", "the memory alarm shown")
    finally:
        web_broker.set_vm_memory_high_watermark(mark)
    page.menu("Overview")
    page.wait(lambda: page.text_of("#alarms") == "none", "the alarm gone")
