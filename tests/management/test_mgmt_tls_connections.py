"""A connection over TLS as the management API shows it: ``ssl`` true, its protocol and
cipher, and the AMQPS port it came in on."""

from __future__ import annotations

import pika
from mgmt_http import Api, q

from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.testing.tls_fixtures import TestCertificates


def test_a_tls_connection_shows_its_tls_facts(amqps_certificates: TestCertificates) -> None:
    with BrokerThread(management=True, tls=amqps_certificates.tls_config()) as broker:
        parameters = pika.URLParameters(broker.amqps_url)
        parameters.ssl_options = pika.SSLOptions(amqps_certificates.client_context())
        connection = pika.BlockingConnection(parameters)
        try:
            api = Api(broker.management_url)
            (item,) = api.get(f"/api/vhosts/{q('/')}/connections").body
            assert item["ssl"] is True
            assert item["ssl_protocol"].startswith("tlsv1.")
            assert item["ssl_cipher"] and item["ssl_hash"]
            assert item["port"] == broker.tls_port
            assert item["name"].endswith(f":{broker.tls_port}")
        finally:
            connection.close()
