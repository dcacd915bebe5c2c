"""AMQPS with pika and aio-pika: a broker certificate checked by the client (server-verified),
client certificates required (mutual), TLS only (``listeners.tcp = none``), and both
listeners at once.  Certificates come from the plugin's throw-away CA (``amqps_*``)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import Any

import aio_pika
import pika
import pika.exceptions
import pytest
from clientutil import EXTERNAL_URL
from tlsclients import aio_round_trip, pika_connect, pika_round_trip

from amqpbroker.embedded.broker import Broker, BrokerThread
from amqpbroker.testing.polling import wait_until
from amqpbroker.testing.tls_fixtures import TestCertificates

pytestmark = pytest.mark.skipif(bool(EXTERNAL_URL), reason="configures the broker's listeners")


# -- server-verified: the client checks the broker's certificate -------------------------------


def test_pika_over_tls(amqps_url: str, amqps_ssl_context: ssl.SSLContext):
    with pika_connect(amqps_url, amqps_ssl_context) as conn:
        pika_round_trip(conn)


async def test_aio_pika_over_tls(amqps_url: str, amqps_ssl_context: ssl.SSLContext):
    assert await aio_round_trip(amqps_url, amqps_ssl_context) == "guest"


def test_the_connection_is_tls_with_the_brokers_certificate(
    amqps_broker: BrokerThread, amqps_url: str, amqps_ssl_context: ssl.SSLContext
):
    with pika_connect(amqps_url, amqps_ssl_context) as conn:
        sock: Any = conn._impl._transport._sock
        assert isinstance(sock, ssl.SSLSocket)
        assert sock.version() in ("TLSv1.2", "TLSv1.3")
        names = [value for kind, value in sock.getpeercert()["subjectAltName"]]
        assert "127.0.0.1" in names and "localhost" in names


def test_a_client_that_does_not_trust_the_broker_is_refused_by_its_own_check(
    amqps_url: str, amqps_ssl_context: ssl.SSLContext, tmp_path
):
    (tmp_path / "other").mkdir()
    stranger = TestCertificates.make(tmp_path / "other").client_context()
    with pytest.raises(ssl.SSLCertVerificationError):
        pika_connect(amqps_url, stranger)
    with pika_connect(amqps_url, amqps_ssl_context) as conn:  # the broker goes on
        pika_round_trip(conn)


# -- mutual: a client certificate is required ---------------------------------------------------


@pytest.fixture
def mutual_broker(
    amqp_broker_factory: Callable[..., BrokerThread], amqps_certificates: TestCertificates
) -> BrokerThread:
    return amqp_broker_factory(tls=amqps_certificates.tls_config(fail_if_no_peer_cert=True))


def test_mutual_tls_with_pika(mutual_broker: BrokerThread, amqps_certificates: TestCertificates):
    with pika_connect(mutual_broker.amqps_url, amqps_certificates.client_context("app")) as conn:
        pika_round_trip(conn)


async def test_mutual_tls_with_aio_pika(
    mutual_broker: BrokerThread, amqps_certificates: TestCertificates
):
    context = amqps_certificates.client_context("app")
    assert await aio_round_trip(mutual_broker.amqps_url, context) == "guest"


def test_mutual_tls_refuses_a_client_without_a_certificate_and_others_go_on(
    mutual_broker: BrokerThread, amqps_certificates: TestCertificates
):
    with pika_connect(mutual_broker.amqps_url, amqps_certificates.client_context("app")) as ok:
        with pytest.raises(pika.exceptions.AMQPConnectionError):
            pika_connect(mutual_broker.amqps_url, amqps_certificates.client_context())
        pika_round_trip(ok)


def test_mutual_tls_refuses_a_certificate_from_another_ca(
    mutual_broker: BrokerThread, amqps_certificates: TestCertificates, tmp_path
):
    (tmp_path / "other").mkdir()
    other = TestCertificates.make(tmp_path / "other")
    context = amqps_certificates.client_context()  # trusts the broker...
    context.load_cert_chain(str(other.client_cert("app")))  # ...shows a stranger's cert
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        pika_connect(mutual_broker.amqps_url, context)
    assert mutual_broker.connections == ()


# -- listeners ------------------------------------------------------------------------------


def test_tls_only(
    amqp_broker_factory: Callable[..., BrokerThread], amqps_certificates: TestCertificates
):
    broker = amqp_broker_factory(tls=amqps_certificates.tls_config(), tcp_listener=False)
    with pytest.raises(RuntimeError, match="no amqp listener"):
        broker.port  # noqa: B018
    with pika_connect(broker.amqps_url, amqps_certificates.client_context()) as conn:
        pika_round_trip(conn)


def test_a_broker_without_tls_has_no_tls_port(amqp_broker_factory: Callable[..., BrokerThread]):
    with pytest.raises(RuntimeError, match="no amqps listener"):
        amqp_broker_factory().amqps_url  # noqa: B018


def test_plain_and_tls_clients_share_the_same_queues(
    amqps_broker: BrokerThread, amqps_vhost: str, amqps_ssl_context: ssl.SSLContext
):
    plain_url = amqps_broker.url_for(amqps_vhost)
    tls_url = amqps_broker.amqps_url_for(amqps_vhost)
    assert plain_url.startswith("amqp://") and tls_url.startswith("amqps://")
    assert amqps_broker.port != amqps_broker.tls_port
    with (
        pika.BlockingConnection(pika.URLParameters(plain_url)) as plain,
        pika_connect(tls_url, amqps_ssl_context) as tls,
    ):
        plain_channel, tls_channel = plain.channel(), tls.channel()
        plain_channel.queue_declare("shared")
        plain_channel.basic_publish("", "shared", b"from plain")
        tls_channel.basic_publish("", "shared", b"from tls")
        got = [
            wait_until(lambda: tls_channel.basic_get("shared", auto_ack=True)[2], pause=None),
            wait_until(lambda: plain_channel.basic_get("shared", auto_ack=True)[2], pause=None),
        ]
        assert got == [b"from plain", b"from tls"]
        assert {c.user for c in amqps_broker.connections} == {"guest"}


async def test_embedded_async_broker_with_tls(amqps_certificates: TestCertificates):
    async with Broker(tls=amqps_certificates.tls_config()) as broker:
        assert broker.amqps_url == f"amqps://guest:guest@127.0.0.1:{broker.tls_port}/"
        context = amqps_certificates.client_context()
        assert await aio_round_trip(broker.amqps_url, context) == "guest"


def test_restart_listens_on_the_same_tls_port(
    amqp_broker_factory: Callable[..., BrokerThread], amqps_certificates: TestCertificates
):
    broker = amqp_broker_factory(tls=amqps_certificates.tls_config())
    port, tls_port = broker.port, broker.tls_port
    broker.restart()
    assert (broker.port, broker.tls_port) == (port, tls_port)
    with pika_connect(broker.amqps_url, amqps_certificates.client_context()) as conn:
        pika_round_trip(conn)


async def test_a_burst_of_large_messages_over_tls(
    amqps_url: str, amqps_ssl_context: ssl.SSLContext
):
    """Backpressure through the TLS transport: more than its buffers hold, both ways."""
    body = bytes(range(256)) * 256  # 64 KiB
    count = 200
    connection = await aio_pika.connect(amqps_url, ssl_context=amqps_ssl_context)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(exclusive=True)
        await asyncio.gather(
            *(
                channel.default_exchange.publish(aio_pika.Message(body), routing_key=queue.name)
                for _ in range(count)
            )
        )
        received = 0
        async with queue.iterator() as messages:
            async for message in messages:
                assert message.body == body
                await message.ack()
                received += 1
                if received == count:
                    break


def test_a_certificate_is_checked_even_where_none_is_required(
    amqps_broker: BrokerThread, amqps_certificates: TestCertificates, tmp_path
):
    """verify_peer without fail_if_no_peer_cert: a client may show no certificate, but one
    from an unknown CA is refused (as RabbitMQ 3.10.8 does)."""
    (tmp_path / "other").mkdir()
    context = amqps_certificates.client_context()
    context.load_cert_chain(str(TestCertificates.make(tmp_path / "other").client_cert("app")))
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        pika_connect(amqps_broker.amqps_url, context)
    with pika_connect(amqps_broker.amqps_url, amqps_certificates.client_context()) as conn:
        pika_round_trip(conn)
