"""EXTERNAL: logging in with the client certificate, as RabbitMQ 3.10.8 with
rabbitmq_auth_mechanism_ssl (``auth_mechanisms.N = EXTERNAL``, ``ssl_cert_login_from``).

Recorded on 3.10.8: with EXTERNAL and PLAIN configured the TLS port offers ``PLAIN EXTERNAL``
even to a client without a certificate (EXTERNAL then fails with 403), the plain port offers
only ``PLAIN``, AMQPLAIN is gone from both, and the response bytes of EXTERNAL are ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import aiormq.exceptions
import pika
import pika.exceptions
import pytest
from clientutil import EXTERNAL_URL
from pamqp import commands
from rawamqp import BrokerClosed, RawAMQP
from tlsclients import RawTLS, pika_connect, pika_round_trip

from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.testing.tls_fixtures import TestCertificates

pytestmark = pytest.mark.skipif(bool(EXTERNAL_URL), reason="configures the broker's TLS")

REFUSED = (
    "ACCESS_REFUSED - Login was refused using authentication mechanism EXTERNAL. "
    "For details see the broker logfile."
)


def without_credentials(url: str, query: str = "") -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


@pytest.fixture
def external_broker(
    amqp_broker_factory: Callable[..., BrokerThread], amqps_certificates: TestCertificates
) -> Callable[..., BrokerThread]:
    """A broker offering EXTERNAL and PLAIN (``**options``: more BrokerConfig fields)."""

    def start(**options: object) -> BrokerThread:
        options.setdefault("tls", amqps_certificates.tls_config())
        options.setdefault("auth_mechanisms", ("EXTERNAL", "PLAIN"))
        return amqp_broker_factory(**options)

    return start


def test_pika_logs_in_as_the_certificates_common_name(
    external_broker: Callable[..., BrokerThread], amqps_certificates: TestCertificates
):
    broker = external_broker(ssl_cert_login_from="common_name")
    broker.add_user("app-1", None)  # no password: EXTERNAL is its only way in
    broker.set_permissions("app-1", ".*", ".*", ".*")
    url = without_credentials(broker.amqps_url)
    context = amqps_certificates.client_context("app-1")
    with pika_connect(url, context, external=True) as conn:
        pika_round_trip(conn)
        assert [c.user for c in broker.connections] == ["app-1"]


async def test_aio_pika_logs_in_with_auth_external(
    external_broker: Callable[..., BrokerThread], amqps_certificates: TestCertificates
):
    broker = external_broker(ssl_cert_login_from="common_name")
    broker.add_user("aio-app", None)
    broker.set_permissions("aio-app", ".*", ".*", ".*")
    url = without_credentials(broker.amqps_url, "auth=external")
    context = amqps_certificates.client_context("aio-app")
    async with await aio_pika.connect(url, ssl_context=context) as connection:
        assert [c.user for c in broker.connections] == ["aio-app"]
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        await channel.default_exchange.publish(aio_pika.Message(b"m"), routing_key=queue.name)
        assert (await queue.get(timeout=5, no_ack=True)).body == b"m"


def test_the_default_name_is_the_distinguished_name(
    external_broker: Callable[..., BrokerThread], amqps_certificates: TestCertificates
):
    broker = external_broker()
    certificate = amqps_certificates.ca.issue_cert(
        "client.invalid",
        common_name="app",
        organization_name="Acme, Inc",
        organization_unit_name="Payments",
    )
    path = amqps_certificates.directory / "dn-client.pem"
    certificate.private_key_and_cert_chain_pem.write_to_path(str(path))
    context = amqps_certificates.client_context()
    context.load_cert_chain(str(path))
    user = "CN=app,OU=Payments,O=Acme\\, Inc"
    broker.add_user(user, None)
    broker.set_permissions(user, ".*", ".*", ".*")
    with pika_connect(without_credentials(broker.amqps_url), context, external=True) as conn:
        pika_round_trip(conn)
        assert [c.user for c in broker.connections] == [user]


@pytest.mark.parametrize(
    ("san_type", "san_index", "user"),
    [("dns", 0, "app.example"), ("dns", 1, "app2.example"), ("email", 0, "ops@example.com")],
)
def test_a_subject_alternative_name_as_the_user(
    external_broker: Callable[..., BrokerThread],
    amqps_certificates: TestCertificates,
    san_type: str,
    san_index: int,
    user: str,
):
    broker = external_broker(
        ssl_cert_login_from="subject_alternative_name",
        ssl_cert_login_san_type=san_type,
        ssl_cert_login_san_index=san_index,
    )
    broker.add_user(user, None)
    broker.set_permissions(user, ".*", ".*", ".*")
    certificate = amqps_certificates.ca.issue_cert(
        "app.example", "ops@example.com", "app2.example", common_name="app"
    )
    path = amqps_certificates.directory / f"san-{san_type}-{san_index}.pem"
    certificate.private_key_and_cert_chain_pem.write_to_path(str(path))
    context = amqps_certificates.client_context()
    context.load_cert_chain(str(path))
    with pika_connect(without_credentials(broker.amqps_url), context, external=True):
        assert [c.user for c in broker.connections] == [user]


def test_a_certificate_without_a_user_is_refused_and_others_go_on(
    external_broker: Callable[..., BrokerThread], amqps_certificates: TestCertificates
):
    broker = external_broker(ssl_cert_login_from="common_name")
    url = without_credentials(broker.amqps_url)
    with pika_connect(broker.amqps_url, amqps_certificates.client_context()) as guest:
        with pytest.raises(pika.exceptions.ProbableAuthenticationError, match=REFUSED):
            pika_connect(url, amqps_certificates.client_context("nobody"), external=True)
        pika_round_trip(guest)


async def test_aio_pika_without_a_user_is_refused(
    external_broker: Callable[..., BrokerThread], amqps_certificates: TestCertificates
):
    broker = external_broker(ssl_cert_login_from="common_name")
    url = without_credentials(broker.amqps_url, "auth=external")
    with pytest.raises(aiormq.exceptions.ProbableAuthenticationError, match="EXTERNAL"):
        await aio_pika.connect(url, ssl_context=amqps_certificates.client_context("nobody"))


def test_mechanisms_offered_per_listener(
    external_broker: Callable[..., BrokerThread], amqps_certificates: TestCertificates
):
    broker = external_broker()
    with RawTLS(broker.host, broker.tls_port, amqps_certificates.client_context()) as tls:
        assert tls.hello().mechanisms == "PLAIN EXTERNAL"  # no certificate, still offered
    with RawAMQP(broker.host, broker.port) as plain:
        plain.send(b"AMQP\x00\x00\x09\x01")
        assert plain.expect_method(commands.Connection.Start)[1].mechanisms == "PLAIN"


def test_the_plugins_broker_offers_every_mechanism_on_tls(amqps_broker, amqps_certificates):
    with RawTLS(amqps_broker.host, amqps_broker.tls_port, amqps_certificates.client_context()) as c:
        assert c.hello().mechanisms == "PLAIN AMQPLAIN EXTERNAL"


def test_external_without_a_client_certificate_is_refused_with_403(
    external_broker: Callable[..., BrokerThread], amqps_certificates: TestCertificates
):
    broker = external_broker()
    with (
        RawTLS(broker.host, broker.tls_port, amqps_certificates.client_context()) as c,
        pytest.raises(BrokerClosed) as closed,
    ):
        c.handshake(mechanism="EXTERNAL")
    assert (closed.value.reply_code, closed.value.reply_text) == (403, REFUSED)


def test_the_external_response_is_ignored(
    external_broker: Callable[..., BrokerThread], amqps_certificates: TestCertificates
):
    broker = external_broker(ssl_cert_login_from="common_name")
    broker.add_user("raw", None)
    broker.set_permissions("raw", ".*", ".*", ".*")
    context = amqps_certificates.client_context("raw")
    with RawTLS(broker.host, broker.tls_port, context) as c:
        c.handshake(user="someone else", password="anything", mechanism="EXTERNAL")
        assert [conn.user for conn in broker.connections] == ["raw"]


def test_external_is_not_offered_on_the_plain_port(
    external_broker: Callable[..., BrokerThread],
):
    broker = external_broker(silent_close_delay=0)
    with RawAMQP(broker.host, broker.port) as c, pytest.raises(EOFError):
        c.handshake(mechanism="EXTERNAL")  # dropped without a reply, as any unknown one
    assert broker.connections == ()


def test_amqplain_goes_when_not_configured(
    external_broker: Callable[..., BrokerThread], amqps_certificates: TestCertificates
):
    broker = external_broker(silent_close_delay=0)
    with RawAMQP(broker.host, broker.port) as c, pytest.raises(EOFError):
        c.handshake(mechanism="AMQPLAIN")
    with pika.BlockingConnection(pika.URLParameters(broker.url)) as conn:  # PLAIN still in
        pika_round_trip(conn)


def test_verify_none_gives_no_certificate_name(
    external_broker: Callable[..., BrokerThread], amqps_certificates: TestCertificates
):
    # RabbitMQ refuses EXTERNAL unless ssl_options.verify = verify_peer ("unsafe");
    # with verify_none no client certificate is even asked for.
    broker = external_broker(
        tls=amqps_certificates.tls_config(verify="verify_none"), ssl_cert_login_from="common_name"
    )
    broker.add_user("app", None)
    url = without_credentials(broker.amqps_url)
    with pytest.raises(pika.exceptions.ProbableAuthenticationError, match=REFUSED):
        pika_connect(url, amqps_certificates.client_context("app"), external=True)


def test_guest_still_logs_in_with_plain_over_tls(
    external_broker: Callable[..., BrokerThread], amqps_certificates: TestCertificates
):
    broker = external_broker()
    with pika_connect(broker.amqps_url, amqps_certificates.client_context("app")) as conn:
        pika_round_trip(conn)
        assert [c.user for c in broker.connections] == ["guest"]
