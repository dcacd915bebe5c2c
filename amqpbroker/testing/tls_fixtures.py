"""The pytest plugin's TLS fixtures: a broker with an AMQPS listener, and certificates from a
throw-away CA made for the test session (with ``trustme``: ``pip install amqpbroker[testing]``;
it is imported only when a test asks for one of these fixtures)::

    def test_over_tls(amqps_url, amqps_ssl_context):
        params = pika.URLParameters(amqps_url)
        params.ssl_options = pika.SSLOptions(amqps_ssl_context)
        connection = pika.BlockingConnection(params)

    async def test_over_tls_async(amqps_url, amqps_ssl_context):
        connection = await aio_pika.connect(amqps_url, ssl_context=amqps_ssl_context)

- ``amqps_broker``: one broker for the session listening on plain AMQP and AMQPS (free
  ports), with a server certificate for 127.0.0.1 and localhost; client certificates are
  asked for, checked against the CA when given, and not required.  EXTERNAL is offered on
  TLS and logs in as the certificate's common name (``ssl_cert_login_from = common_name``).
- ``amqps_vhost`` / ``amqps_url``: a fresh vhost on it for each test, and its amqps:// URL.
- ``amqps_ssl_context``: a client ``ssl.SSLContext`` that trusts the CA (new for each test).
- ``amqps_certificates``: the CA's files, and client certificates for mutual TLS:
  ``amqps_certificates.client_context("app")`` is a context presenting a certificate with
  CN=app (log in as user "app" with EXTERNAL: ``pika.credentials.ExternalCredentials()``,
  or aio-pika's ``?auth=external``); ``.ca_file`` is the CA's PEM file.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from amqpbroker.config import TLSConfig
from amqpbroker.embedded.broker import BrokerThread

SERVER_NAMES = ("127.0.0.1", "localhost", "::1")
CLIENT_NAME = "client.amqpbroker.invalid"  # (a certificate needs one name besides its CN)


def _trustme() -> Any:
    try:
        import trustme  # noqa: PLC0415 (only the TLS fixtures need it)
    except ImportError:
        pytest.fail(
            "the amqps_* fixtures make their certificates with trustme: "
            "pip install 'amqpbroker[testing]' (or trustme)",
            pytrace=False,
        )
    return trustme


@dataclass
class TestCertificates:
    """A throw-away CA and the certificates it issued, as PEM files in ``directory``."""

    __test__ = False  # (not a test class, whatever its name)

    directory: Path
    ca: Any = field(repr=False)  # the trustme.CA
    ca_file: Path = field(init=False)
    server_file: Path = field(init=False)  # certificate chain and key of the broker

    def __post_init__(self) -> None:
        self.ca_file = self.directory / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.server_file = self.directory / "server.pem"
        server = self.ca.issue_cert(*SERVER_NAMES)
        server.private_key_and_cert_chain_pem.write_to_path(str(self.server_file))

    @classmethod
    def make(cls, directory: Path) -> TestCertificates:
        return cls(directory, _trustme().CA())

    def tls_config(self, **options: Any) -> TLSConfig:
        """The broker's side: its certificate, and client certificates checked against the CA
        (``fail_if_no_peer_cert=True`` to require one)."""
        defaults: dict[str, Any] = {
            "certfile": str(self.server_file),
            "cacertfile": str(self.ca_file),
            "verify": "verify_peer",
        }
        return TLSConfig(**{**defaults, **options})

    def client_cert(self, common_name: str) -> Path:
        """A PEM file with a client certificate (CN=``common_name``) and its key."""
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", common_name)
        path = self.directory / f"client-{safe}-{len(list(self.directory.iterdir()))}.pem"
        certificate = self.ca.issue_cert(CLIENT_NAME, common_name=common_name)
        certificate.private_key_and_cert_chain_pem.write_to_path(str(path))
        return path

    def client_context(self, common_name: str | None = None) -> ssl.SSLContext:
        """A client context trusting the CA; presenting a certificate for ``common_name``
        if given (mutual TLS, EXTERNAL)."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        if common_name is not None:
            context.load_cert_chain(str(self.client_cert(common_name)))
        return context


@pytest.fixture(scope="session")
def amqps_certificates(tmp_path_factory: pytest.TempPathFactory) -> TestCertificates:
    """The session's throw-away CA, the broker's certificate, and client certificates."""
    return TestCertificates.make(tmp_path_factory.mktemp("amqps-certificates"))


@pytest.fixture(scope="session")
def amqps_broker(amqps_certificates: TestCertificates) -> Iterator[BrokerThread]:
    """The session's TLS broker (plain AMQP too): ``.amqps_url``, ``.tls_port``."""
    with tls_broker(amqps_certificates) as broker:
        yield broker


def tls_broker(certificates: TestCertificates) -> BrokerThread:
    """A broker as ``amqps_broker`` is, not started: ``with tls_broker(certs) as broker:``."""
    return BrokerThread(
        tls=certificates.tls_config(),
        auth_mechanisms=("PLAIN", "AMQPLAIN", "EXTERNAL"),
        ssl_cert_login_from="common_name",
    )


@pytest.fixture
def amqps_vhost(amqps_broker: BrokerThread, request: pytest.FixtureRequest) -> Iterator[str]:
    """A virtual host made for this test on ``amqps_broker``, deleted after it."""
    from .pytest_plugin import vhost_for_test  # noqa: PLC0415 (the plugin imports this module)

    yield from vhost_for_test(amqps_broker, request)


@pytest.fixture
def amqps_url(amqps_broker: BrokerThread, amqps_vhost: str) -> str:
    """``amqps://guest:guest@127.0.0.1:PORT/VHOST``: this test's vhost over TLS; the client
    needs ``amqps_ssl_context`` (or the CA file, ``amqps_certificates.ca_file``)."""
    return amqps_broker.amqps_url_for(amqps_vhost)


@pytest.fixture
def amqps_ssl_context(amqps_certificates: TestCertificates) -> ssl.SSLContext:
    """A client ``ssl.SSLContext`` that trusts the broker's certificate."""
    return amqps_certificates.client_context()
