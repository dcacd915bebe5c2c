"""A client over TLS in the connections list: its row says TLS yes, a plain client's no
(the page's broker here has an AMQPS listener besides the plain one)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pika
import pytest
from selenium.webdriver.common.by import By

from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.testing.tls_fixtures import TestCertificates


@pytest.fixture(scope="module")
def web_broker(amqps_certificates: TestCertificates) -> Iterator[BrokerThread]:
    with BrokerThread(management=True, tls=amqps_certificates.tls_config()) as broker:
        yield broker


def _client(broker: BrokerThread, name: str, tls: TestCertificates | None) -> Any:
    parameters = pika.URLParameters(broker.amqps_url if tls else broker.url)
    if tls:
        parameters.ssl_options = pika.SSLOptions(tls.client_context())
    parameters.client_properties = {"connection_name": name}
    return pika.BlockingConnection(parameters)


def test_the_connections_list_tells_tls_from_plain(
    page: Any, web_broker: BrokerThread, amqps_certificates: TestCertificates
) -> None:
    with (
        _client(web_broker, "secure-client", amqps_certificates),
        _client(web_broker, "plain-client", None),
    ):
        page.menu("Connections")
        page.heading("Connections")
        for name, tls in (("secure-client", "yes"), ("plain-client", "no")):
            row = page.wait(
                lambda name=name: page.driver.find_element(
                    By.XPATH, f"//table[contains(@class, 'list')]//tbody/tr[contains(., '{name}')]"
                ),
                f"{name}'s row",
            )
            assert row.find_element(By.CSS_SELECTOR, ".tls").text.strip() == tls, name
        page.screenshot("connections-tls")
