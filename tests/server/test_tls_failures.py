"""Clients that fail the TLS handshake, or never start it: closed within
``ssl_handshake_timeout`` without a traceback in the log, other clients unaffected.

Recorded on RabbitMQ 3.10.8 (a private node): a plaintext AMQP header on the TLS port gets
a TLS alert and an immediate close, a silent client is dropped after 5 s (the default
``ssl_handshake_timeout``).  Here the close is as immediate, without the alert (OpenSSL
under asyncio sends none for a record it cannot read).
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterator

import pika
import pika.exceptions
import pytest
from clientutil import EXTERNAL_URL
from rawamqp import PROTOCOL_HEADER
from tlsclients import RawTLS, pika_connect, pika_round_trip

from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.testing.tls_fixtures import TestCertificates

pytestmark = pytest.mark.skipif(bool(EXTERNAL_URL), reason="configures the broker's TLS")

TIMEOUT = 0.5  # ssl_handshake_timeout for these brokers


@pytest.fixture
def broker(
    amqp_broker_factory: Callable[..., BrokerThread], amqps_certificates: TestCertificates
) -> BrokerThread:
    tls = amqps_certificates.tls_config(fail_if_no_peer_cert=True, handshake_timeout=TIMEOUT)
    return amqp_broker_factory(tls=tls)


@pytest.fixture
def bystander(broker: BrokerThread, amqps_certificates: TestCertificates) -> Iterator[object]:
    """A TLS client connected before the failures, checked to work after them."""
    with pika_connect(broker.amqps_url, amqps_certificates.client_context("app")) as conn:
        yield conn
        pika_round_trip(conn)


@pytest.fixture
def quiet_log(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No traceback and nothing above INFO logged while the test runs (any thread)."""
    caplog.set_level(logging.DEBUG)
    yield
    noisy = [r for r in caplog.records if r.exc_info or r.levelno > logging.INFO]
    assert not noisy, [r.getMessage() for r in noisy]


def closed_within(sock: socket.socket, seconds: float) -> float:
    """Read until the broker closes; how long that took (fails after ``seconds``)."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def test_a_plaintext_amqp_client_on_the_tls_port_is_closed_at_once(
    broker: BrokerThread, bystander: object, quiet_log: None
):
    with socket.create_connection((broker.host, broker.tls_port)) as sock:
        sock.sendall(PROTOCOL_HEADER)
        assert closed_within(sock, 5) < TIMEOUT  # not the timeout: at once
    assert len(broker.connections) == 1  # the bystander only


def test_a_silent_client_is_dropped_after_ssl_handshake_timeout(
    broker: BrokerThread, bystander: object, quiet_log: None
):
    with socket.create_connection((broker.host, broker.tls_port)) as sock:
        took = closed_within(sock, 10 * TIMEOUT + 5)
    assert took >= TIMEOUT * 0.8


def test_a_client_that_stops_in_the_middle_of_the_handshake_is_dropped_too(
    broker: BrokerThread, amqps_certificates: TestCertificates, quiet_log: None
):
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = amqps_certificates.client_context("app").wrap_bio(incoming, outgoing)
    with pytest.raises(ssl.SSLWantReadError):
        client.do_handshake()
    with socket.create_connection((broker.host, broker.tls_port)) as sock:
        sock.sendall(outgoing.read())  # the ClientHello, then nothing
        took = closed_within(sock, 10 * TIMEOUT + 5)
    assert took >= TIMEOUT * 0.8


def test_no_client_certificate_where_one_is_required(
    broker: BrokerThread, amqps_certificates: TestCertificates, bystander, quiet_log: None
):
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        pika_connect(broker.amqps_url, amqps_certificates.client_context())


def test_a_certificate_from_an_unknown_ca(
    broker: BrokerThread, amqps_certificates: TestCertificates, bystander, quiet_log, tmp_path
):
    (tmp_path / "other").mkdir()
    stranger = TestCertificates.make(tmp_path / "other")
    context = amqps_certificates.client_context()
    context.load_cert_chain(str(stranger.client_cert("app")))
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        pika_connect(broker.amqps_url, context)


def test_the_amqp_handshake_timeout_starts_once_tls_is_up(
    amqp_broker_factory: Callable[..., BrokerThread],
    amqps_certificates: TestCertificates,
    quiet_log: None,
):
    """A client that finishes TLS then says nothing gets RabbitMQ's handshake_timeout (10 s
    by default), counted from the end of the TLS handshake."""
    broker = amqp_broker_factory(
        tls=amqps_certificates.tls_config(handshake_timeout=30), handshake_timeout=TIMEOUT
    )
    with RawTLS(broker.host, broker.tls_port, amqps_certificates.client_context()) as client:
        started = time.monotonic()
        client.sock.settimeout(10 * TIMEOUT + 5)
        assert client.sock.recv(10) == b""  # closed, nothing sent
        assert time.monotonic() - started >= TIMEOUT * 0.8


def test_plain_clients_do_not_notice(
    broker: BrokerThread, amqps_certificates: TestCertificates, quiet_log: None
):
    with pika.BlockingConnection(pika.URLParameters(broker.url)) as plain:
        with socket.create_connection((broker.host, broker.tls_port)) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
            closed_within(sock, 5)
        with pytest.raises(pika.exceptions.AMQPConnectionError):
            pika_connect(broker.amqps_url, amqps_certificates.client_context())
        pika_round_trip(plain)
