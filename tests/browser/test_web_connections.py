"""Connections and channels in the page: a pika client listed with its name, user and TLS;
closed from its page with a reason, which the client receives as RabbitMQ sends it (320
CONNECTION_FORCED with the reason)."""

from __future__ import annotations

from typing import Any

import pika
from selenium.webdriver.common.by import By

from amqpbroker.testing.polling import wait_until

CLIENT_NAME = "browser-test-client"  # the pika_client fixture's connection_name
ROW_OF_CLIENT = f"//table[contains(@class, 'list')]//tbody/tr[contains(., '{CLIENT_NAME}')]"


def test_a_client_is_listed_with_its_name_user_and_tls(
    page: Any, pika_client: pika.BlockingConnection
) -> None:
    pika_client.channel()
    page.menu("Connections")
    page.heading("Connections")

    row = page.wait(lambda: page.driver.find_element(By.XPATH, ROW_OF_CLIENT), "the client's row")
    name = row.get_attribute("data-name") or ""
    assert " -> " in name, name  # RabbitMQ's connection name: "peer -> local"
    assert "guest" in row.text
    assert row.find_element(By.CSS_SELECTOR, ".tls").text.strip() == "no"
    page.screenshot("connections")

    page.menu("Channels")
    page.heading("Channels")
    page.wait(lambda: f"{name} (1)" in page.listed_names(), "the client's channel")
    page.screenshot("channels")


def test_close_a_connection_and_the_client_is_told_why(
    page: Any, pika_client: pika.BlockingConnection
) -> None:
    page.menu("Connections")
    page.heading("Connections")
    row = page.wait(lambda: page.driver.find_element(By.XPATH, ROW_OF_CLIENT), "the client's row")
    name = row.get_attribute("data-name") or ""
    row.find_element(By.TAG_NAME, "a").click()  # its name, the link to its page
    page.heading(name)

    page.type_into("#close-reason", "stuck consumer")
    page.click("button#close-connection")
    page.confirm()

    assert "ok" in page.flash("Connection closed")
    closed = wait_until(lambda: _closed_by_broker(pika_client), "pika to hear of the close")
    assert closed.reply_code == 320
    assert closed.reply_text == "CONNECTION_FORCED - stuck consumer"


def _closed_by_broker(
    connection: pika.BlockingConnection,
) -> pika.exceptions.ConnectionClosedByBroker | None:
    try:
        connection.process_data_events(time_limit=0.05)
    except pika.exceptions.ConnectionClosedByBroker as closed:
        return closed
    return None
