"""The Trace page: tracing switched on for a vhost from the page, a message published and
consumed by pika, and its journey shown (routed, delivered, acked) without a reload."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pika
import pytest

from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.testing.polling import wait_until


def api_get(broker: BrokerThread, path: str) -> tuple[int, Any]:
    request = urllib.request.Request(broker.management_url.rstrip("/") + path)
    token = base64.b64encode(b"guest:guest").decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


@pytest.fixture
def tracing_off_after(web_broker: BrokerThread) -> Iterator[None]:
    status, _ = api_get(web_broker, "/api/journeys/%2F")
    if status == 404:
        pytest.skip("no /api/journeys route yet (the trace branch's API)")
    yield
    web_broker.trace_off(vhost="/")


def test_switch_tracing_on_and_follow_a_message(
    page: Any,
    web_broker: BrokerThread,
    pika_client: pika.BlockingConnection,
    tracing_off_after: None,
    unique: Callable[[str], str],
) -> None:
    channel = pika_client.channel()
    queue = unique("traced")
    channel.queue_declare(queue)

    page.menu("Trace")
    page.heading("Trace")
    page.choose("select#trace-vhost", "/")
    toggle = page.shown("input#trace-toggle")
    assert not toggle.is_selected()
    toggle.click()
    wait_until(lambda: api_get(web_broker, "/api/vhosts/%2F")[1]["tracing"], "tracing on")

    channel.basic_publish("", queue, b"follow me", pika.BasicProperties(headers={"step": 1}))
    delivered = []
    channel.basic_consume(
        queue, lambda *message: delivered.append(message), consumer_tag="tracked-consumer"
    )
    wait_until(
        lambda: delivered, "the delivery", pause=lambda: pika_client.process_data_events(0.05)
    )
    _channel, method, _properties, body = delivered[0]
    assert body == b"follow me"
    channel.basic_ack(method.delivery_tag)

    journey = page.wait(lambda: _journey_of(page, queue), f"a journey to {queue}")
    page.wait(lambda: _event_types(page, journey) == ["routed", "delivered", "acked"], "its events")
    text = page.find(f'.journey[data-id="{journey}"]').text
    assert f"routed to {queue}" in text
    assert f"delivered to tracked-consumer on {queue}" in text
    assert "follow me" in text
    assert "guest" in text
    page.screenshot("trace")

    page.shown("input#trace-toggle").click()
    wait_until(lambda: not api_get(web_broker, "/api/vhosts/%2F")[1]["tracing"], "tracing off")


def _journey_of(page: Any, queue: str) -> str | None:
    for journey in page.find_all(".journey"):
        if f"routed to {queue}" in journey.text:
            return journey.get_attribute("data-id")
    return None


def _event_types(page: Any, journey: str) -> list[str]:
    types = []
    for event in page.find_all(f'.journey[data-id="{journey}"] .event'):
        classes = (event.get_attribute("class") or "").split()
        types += [c.removeprefix("event-") for c in classes if c.startswith("event-")]
    return types


def test_a_rejected_message_is_dead_lettered_on_the_trace_page(
    page: Any,
    web_broker: BrokerThread,
    pika_client: pika.BlockingConnection,
    tracing_off_after: None,
    unique: Callable[[str], str],
) -> None:
    channel = pika_client.channel()
    queue, parked, dlx = unique("work"), unique("parked"), unique("dlx")
    channel.exchange_declare(dlx, "fanout")
    channel.queue_declare(parked)
    channel.queue_bind(parked, dlx)
    channel.queue_declare(queue, arguments={"x-dead-letter-exchange": dlx})
    web_broker.trace_on(vhost="/")

    page.menu("Trace")
    page.heading("Trace")
    page.choose("select#trace-vhost", "/")
    page.wait(lambda: page.find("input#trace-toggle").is_selected(), "the switch to show on")
    channel.basic_publish("", queue, b"poison")
    method = wait_until(lambda: channel.basic_get(queue)[0], "the message")
    channel.basic_reject(method.delivery_tag, requeue=False)

    journey = page.wait(lambda: _journey_of(page, queue), f"a journey to {queue}")
    expected = ["routed", "got", "rejected", "dead_lettered", "routed"]
    page.wait(lambda: _event_types(page, journey) == expected, f"events {expected}")
    text = page.find(f'.journey[data-id="{journey}"]').text
    assert f"dead-lettered to {dlx} (rejected)" in text
    assert f"routed to {parked}" in text


def test_an_unroutable_mandatory_message_is_returned_on_the_trace_page(
    page: Any,
    web_broker: BrokerThread,
    pika_client: pika.BlockingConnection,
    tracing_off_after: None,
    unique: Callable[[str], str],
) -> None:
    channel = pika_client.channel()
    exchange = unique("nowhere")
    channel.exchange_declare(exchange, "direct")
    web_broker.trace_on(vhost="/")

    page.menu("Trace")
    page.choose("select#trace-vhost", "/")
    channel.basic_publish(exchange, "no-such-key", b"lost", mandatory=True)
    pika_client.process_data_events(time_limit=0)

    def journey_of_exchange() -> str | None:
        for journey in page.find_all(".journey"):
            if exchange in journey.text:
                return journey.get_attribute("data-id")
        return None

    journey = page.wait(journey_of_exchange, f"a journey from {exchange}")
    page.wait(lambda: _event_types(page, journey) == ["routed", "returned"], "returned")
    assert "returned 312 NO_ROUTE" in page.find(f'.journey[data-id="{journey}"]').text
