"""A TLS connection's fields from a real handshake (in memory, no sockets), and the suite
names translated to Erlang's."""

from __future__ import annotations

import re
import ssl

import pytest
import trustme

from amqpbroker.management.views.tls_facts import cipher_suite, tls_facts


def handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> ssl.SSLObject:
    """Both sides of a TLS handshake over memory buffers; the server's end."""
    pipes = [ssl.MemoryBIO() for _ in range(4)]
    server_end = server.wrap_bio(pipes[0], pipes[1], server_side=True)
    client_end = client.wrap_bio(pipes[2], pipes[3], server_hostname="localhost")
    done = [False, False]
    for _ in range(10):
        for index, (end, outgoing, incoming) in enumerate(
            ((client_end, pipes[3], pipes[0]), (server_end, pipes[1], pipes[2]))
        ):
            try:
                end.do_handshake()
                done[index] = True
            except ssl.SSLWantReadError:
                pass
            incoming.write(outgoing.read())
        if all(done):
            return server_end
    raise AssertionError("the handshake did not finish")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def contexts(ca: trustme.CA, client_cert: bool) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(server)
    ca.configure_trust(server)
    server.verify_mode = ssl.CERT_OPTIONAL
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(client)
    if client_cert:
        ca.issue_cert("client.invalid", common_name="app").configure_cert(client)
    return server, client


def test_a_tls13_connection_with_a_client_certificate(ca: trustme.CA) -> None:
    facts = tls_facts(handshake(*contexts(ca, client_cert=True)))
    assert facts is not None
    assert facts.protocol == "tlsv1.3"
    assert (facts.key_exchange, facts.hash) == ("any", "aead")
    assert facts.cipher in ("aes_256_gcm", "aes_128_gcm", "chacha20_poly1305")
    assert facts.peer_cert_subject is not None and "CN=app" in facts.peer_cert_subject
    assert facts.peer_cert_subject.startswith("CN=app,OU=")  # RDNs last first
    issuer = facts.peer_cert_issuer or ""
    assert re.fullmatch(r"OU=Testing CA #[\w-]+,O=trustme v[\d.]+", issuer)
    assert facts.peer_cert_validity == "2000-01-01T00:00:00Z - 3000-01-01T00:00:00Z"


def test_without_a_client_certificate(ca: trustme.CA) -> None:
    facts = tls_facts(handshake(*contexts(ca, client_cert=False)))
    assert facts is not None
    assert (facts.peer_cert_subject, facts.peer_cert_issuer) == (None, None)
    assert facts.peer_cert_validity is None


def test_a_plain_connection_has_none() -> None:
    assert tls_facts(None) is None


@pytest.mark.parametrize(
    ("suite", "expected"),
    [
        ("TLS_AES_256_GCM_SHA384", ("any", "aes_256_gcm", "aead")),
        ("TLS_CHACHA20_POLY1305_SHA256", ("any", "chacha20_poly1305", "aead")),
        ("ECDHE-RSA-AES256-GCM-SHA384", ("ecdhe_rsa", "aes_256_gcm", "aead")),
        ("ECDHE-ECDSA-CHACHA20-POLY1305", ("ecdhe_ecdsa", "chacha20_poly1305", "aead")),
        ("ECDHE-RSA-AES128-SHA256", ("ecdhe_rsa", "aes_128_cbc", "sha256")),
        ("DHE-RSA-AES256-SHA", ("dhe_rsa", "aes_256_cbc", "sha")),
        ("AES128-GCM-SHA256", ("rsa", "aes_128_gcm", "aead")),
    ],
)
def test_suite_names(suite: str, expected: tuple[str, str, str]) -> None:
    assert cipher_suite(suite) == expected
