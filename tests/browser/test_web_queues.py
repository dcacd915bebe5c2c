"""The queues as a person sees and handles them in the page: a queue a pika client declared,
listed with its counts; its page opened by the link that is its name; a message got (text,
and base64 for binary), one published from the page and received by pika, the queue purged
and deleted; and the counts following what clients do without a reload."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel
from webpage import segment

from amqpbroker.testing.polling import wait_until

LIST_HEADINGS = ("Name", "Type", "Features", "State", "Ready", "Unacked", "Total", "Consumers")


@pytest.fixture
def channel(pika_client: pika.BlockingConnection) -> BlockingChannel:
    return pika_client.channel()


def publish(channel: BlockingChannel, queue: str, body: bytes, **properties: Any) -> None:
    channel.basic_publish("", queue, body, pika.BasicProperties(**properties))


def message_count(channel: BlockingChannel, queue: str) -> int:
    return int(channel.queue_declare(queue, passive=True).method.message_count)


def open_queue(page: Any, name: str) -> None:
    """From the queues list, filtered to ``name``, follow the link that is its name."""
    page.menu("Queues")
    page.heading("Queues")
    page.type_into("input.filter", name)
    page.row(name)
    page.click_link(name)
    page.heading(name)


def test_a_queue_declared_by_pika_is_listed_with_its_counts(
    page: Any, channel: BlockingChannel, unique: Callable[[str], str]
) -> None:
    queue = unique("orders")
    channel.queue_declare(queue, durable=True)
    for n in range(3):
        publish(channel, queue, f"order {n}".encode())
    channel.basic_get(queue, auto_ack=False)  # one unacked, held by this channel

    page.menu("Queues")
    page.heading("Queues")
    page.row(queue)

    headings = [th.text.strip() for th in page.find_all("table.list thead th")]
    for label in LIST_HEADINGS:
        assert label in headings, headings
    page.wait_cell(queue, ".ready", "2")
    page.wait_cell(queue, ".unacked", "1")
    page.wait_cell(queue, ".total", "3")
    assert "D" in page.column(queue, "Features").split()
    page.screenshot("queues")


def test_open_a_queue_by_its_name_and_get_a_message(
    page: Any, channel: BlockingChannel, unique: Callable[[str], str]
) -> None:
    queue = unique("greetings")
    channel.queue_declare(queue)
    publish(channel, queue, b"hello, page", content_type="text/plain", headers={"origin": "pika"})

    open_queue(page, queue)
    page.wait_exact("#queue-ready", "1")
    page.wait_exact("#queue-total", "1")
    assert page.text_of("#queue-policy") == ""
    sections = page.section_titles()
    for section in ("Consumers", "Bindings", "Get messages", "Publish message"):
        assert section in sections, sections
    page.shown(".chart")

    page.open_section("Get messages")
    page.choose("select#get-ackmode", "ack_requeue_true")
    page.type_into("input#get-count", "1")
    page.click("button#get-messages")

    page.wait_exact(".message .payload", "hello, page")
    assert "origin" in page.text_of(".message .headers")
    assert "pika" in page.text_of(".message .headers")
    assert "text/plain" in page.text_of(".message .properties")
    page.screenshot("queue")
    assert message_count(channel, queue) == 1  # requeued


def test_a_binary_message_is_shown_in_base64(
    page: Any, channel: BlockingChannel, unique: Callable[[str], str]
) -> None:
    queue = unique("binary")
    channel.queue_declare(queue)
    publish(channel, queue, b"\x00\xff\x10binary")

    open_queue(page, queue)
    page.wait_exact("#queue-ready", "1")
    page.open_section("Get messages")
    page.choose("select#get-ackmode", "ack_requeue_false")
    page.choose("select#get-encoding", "auto")
    page.click("button#get-messages")

    page.wait_exact(".message .payload", "AP8QYmluYXJ5")
    assert message_count(channel, queue) == 0  # got and acked: gone


def test_publish_from_the_page_and_receive_it_with_pika(
    page: Any, channel: BlockingChannel, unique: Callable[[str], str]
) -> None:
    queue = unique("inbox")
    channel.queue_declare(queue)

    open_queue(page, queue)
    page.open_section("Publish message")
    page.type_into("textarea#publish-payload", "typed in the page")
    page.type_into("textarea#publish-headers", "source=browser")
    page.type_into("textarea#publish-properties", "content_type=text/plain")
    page.click("button#publish")
    assert "ok" in page.flash("Message published.")

    _method, properties, body = wait_until(
        lambda: _get(channel, queue), "the page's message in the queue"
    )
    assert body == b"typed in the page"
    assert properties.headers == {"source": "browser"}
    assert properties.content_type == "text/plain"


def _get(channel: BlockingChannel, queue: str) -> tuple[Any, Any, bytes] | None:
    method, properties, body = channel.basic_get(queue, auto_ack=True)
    return (method, properties, body) if method is not None else None


def test_purge_a_queue(page: Any, channel: BlockingChannel, unique: Callable[[str], str]) -> None:
    queue = unique("backlog")
    channel.queue_declare(queue)
    for n in range(5):
        publish(channel, queue, f"old {n}".encode())

    open_queue(page, queue)
    page.wait_exact("#queue-total", "5")
    page.click("button#purge")
    page.confirm()

    assert "ok" in page.flash("Queue purged")
    assert message_count(channel, queue) == 0
    page.wait_exact("#queue-total", "0")


def test_delete_a_queue(page: Any, channel: BlockingChannel, unique: Callable[[str], str]) -> None:
    queue = unique("doomed")
    channel.queue_declare(queue)

    open_queue(page, queue)
    page.click("button#delete-queue")
    page.confirm()

    assert "ok" in page.flash()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as closed:
        channel.queue_declare(queue, passive=True)
    assert closed.value.reply_code == 404


def test_the_list_follows_the_clients_without_a_reload(
    page: Any, channel: BlockingChannel, unique: Callable[[str], str]
) -> None:
    queue = unique("live")
    channel.queue_declare(queue)
    page.go(f"/queues/{segment('/')}/{segment(queue)}")
    page.heading(queue)
    page.wait_exact("#queue-ready", "0")
    page.driver.execute_script("window.__not_reloaded = true")

    for n in range(4):
        publish(channel, queue, f"new {n}".encode())

    page.wait_exact("#queue-ready", "4")
    page.wait_exact("#queue-total", "4")
    assert page.driver.execute_script("return window.__not_reloaded === true")
    updated = page.text_of("#updated")
    page.wait(lambda: page.text_of("#updated") != updated, "#updated to move on")


def test_a_form_being_typed_in_survives_the_refresh(
    page: Any, channel: BlockingChannel, unique: Callable[[str], str]
) -> None:
    queue = unique("typing")
    channel.queue_declare(queue)
    open_queue(page, queue)
    page.open_section("Publish message")
    page.type_into("textarea#publish-payload", "half-written")
    updated = page.text_of("#updated")

    page.wait(lambda: page.text_of("#updated") != updated, "a refresh")
    publish(channel, queue, b"meanwhile")
    page.wait_exact("#queue-ready", "1")  # re-rendered the counts...

    # ...but not the form being typed in
    assert page.find("textarea#publish-payload").get_attribute("value") == "half-written"


def test_a_requeued_message_shows_as_redelivered(
    page: Any, channel: BlockingChannel, unique: Callable[[str], str]
) -> None:
    queue = unique("again")
    channel.queue_declare(queue)
    publish(channel, queue, b"twice")

    open_queue(page, queue)
    page.wait_exact("#queue-ready", "1")
    page.open_section("Get messages")
    page.choose("select#get-ackmode", "reject_requeue_true")
    page.click("button#get-messages")
    page.wait_exact(".message .payload", "twice")
    assert page.text_of(".message .redelivered").endswith("no")
    page.click("button#get-messages")

    page.wait(lambda: page.text_of(".message .redelivered").endswith("yes"), "redelivered: yes")
    assert message_count(channel, queue) == 1


def test_bind_and_unbind_a_queue_from_its_page(
    page: Any, channel: BlockingChannel, unique: Callable[[str], str]
) -> None:
    queue, exchange = unique("bound"), unique("news")
    channel.queue_declare(queue)
    channel.exchange_declare(exchange, "topic")

    open_queue(page, queue)
    page.type_into("input#bind-exchange", exchange)
    page.type_into("input#bind-routing-key", "sport.#")
    page.click("button#bind")
    assert "ok" in page.flash(f"Bound to {exchange}")
    page.wait_text("body", "sport.#")

    channel.basic_publish(exchange, "sport.tennis", b"match point")
    assert message_count(channel, queue) == 1  # (the publish and this declare: one channel)

    page.click(".unbind")
    assert "ok" in page.flash("Binding removed")
    channel.basic_publish(exchange, "sport.golf", b"unheard")
    assert message_count(channel, queue) == 1
