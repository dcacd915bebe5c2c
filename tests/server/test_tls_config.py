"""TLS settings: rabbitmq.conf's keys and serve's --tls-* flags as ``BrokerConfig``, and the
one-line errors for options that cannot work (``server/tls.py``).  No sockets here."""

from __future__ import annotations

import dataclasses
import ssl
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from amqpbroker.cli import with_tls_options
from amqpbroker.config import BrokerConfig, TLSConfig
from amqpbroker.rabbitmq_conf import ConfigFileError, load_config
from amqpbroker.server.listeners import Listeners
from amqpbroker.server.tls import TLSConfigError, server_context
from amqpbroker.testing.tls_fixtures import TestCertificates


def conf(tmp_path: Path, text: str) -> BrokerConfig:
    path = tmp_path / "rabbitmq.conf"
    path.write_text(text)
    return load_config(path)


def test_rabbitmq_tls_keys(tmp_path: Path):
    config = conf(
        tmp_path,
        """
listeners.tcp = none
listeners.ssl.default = 0.0.0.0:5671
ssl_options.cacertfile = /etc/ca.pem
ssl_options.certfile   = /etc/server.pem
ssl_options.keyfile    = /etc/server.key
ssl_options.password   = secret
ssl_options.verify     = verify_peer
ssl_options.fail_if_no_peer_cert = true
ssl_options.depth = 2
ssl_options.versions.1 = tlsv1.3
ssl_options.versions.2 = tlsv1.2
ssl_options.ciphers.1 = ECDHE-ECDSA-AES256-GCM-SHA384
ssl_options.ciphers.2 = ECDHE-RSA-AES256-GCM-SHA384
ssl_options.honor_cipher_order = true
ssl_handshake_timeout = 2500
auth_mechanisms.1 = EXTERNAL
auth_mechanisms.2 = PLAIN
ssl_cert_login_from = subject_alternative_name
ssl_cert_login_san_type = email
ssl_cert_login_san_index = 1
""",
    )
    assert config.tls == TLSConfig(
        certfile="/etc/server.pem",
        keyfile="/etc/server.key",
        cacertfile="/etc/ca.pem",
        password="secret",
        verify="verify_peer",
        fail_if_no_peer_cert=True,
        depth=2,
        versions=("tlsv1.3", "tlsv1.2"),
        ciphers=("ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384"),
        honor_cipher_order=True,
        handshake_timeout=2.5,
    )
    assert (config.tls_host, config.tls_port, config.tcp_listener) == ("0.0.0.0", 5671, False)
    assert config.auth_mechanisms == ("EXTERNAL", "PLAIN")
    assert config.ssl_cert_login_from == "subject_alternative_name"
    assert (config.ssl_cert_login_san_type, config.ssl_cert_login_san_index) == ("email", 1)
    assert config.tls_listener


def test_defaults_are_rabbitmqs(tmp_path: Path):
    config = conf(tmp_path, "listeners.ssl.default = 5671\nssl_options.certfile = s.pem\n")
    assert config.tls == TLSConfig(certfile="s.pem")
    assert config.tls.verify == "verify_none" and config.tls.handshake_timeout == 5.0
    assert (config.tls_port, config.tls_host, config.tcp_listener) == (5671, None, True)
    assert config.auth_mechanisms == ("PLAIN", "AMQPLAIN")
    assert config.ssl_cert_login_from == "distinguished_name"


def test_ssl_options_without_a_listener_listen_on_no_tls_port(tmp_path: Path):
    config = conf(tmp_path, "ssl_options.certfile = s.pem\n")
    assert config.tls is not None and not config.tls_listener
    config = conf(tmp_path, "listeners.ssl.default = 5671\nlisteners.ssl = none\n")
    assert not config.tls_listener


@pytest.mark.parametrize(
    "line",
    [
        "ssl_options.verify = verify_always",
        "ssl_options.fail_if_no_peer_cert = yes",
        "ssl_options.depth = -1",
        "ssl_options.versions.1 = tlsv1.1",
        "ssl_options.honor_cipher_order = 1",
        "ssl_handshake_timeout = 5s",
        "listeners.ssl.default = 70000",
        "listeners.ssl.default = localhost:amqps",
        "listeners.tcp = off",
        "auth_mechanisms.1 = CRAM-MD5",
        "ssl_cert_login_from = subject",
        "ssl_cert_login_san_type = ip",
        "ssl_cert_login_san_index = -1",
    ],
)
def test_an_invalid_value_names_file_line_and_key(tmp_path: Path, line: str):
    with pytest.raises(ConfigFileError) as error:
        conf(tmp_path, f"# TLS\n{line}\n")
    key = line.partition(" =")[0]
    assert f"rabbitmq.conf:2: invalid value for {key}" in str(error.value)


def test_serve_flags_are_a_shorthand_for_ssl_options():
    base = BrokerConfig()
    assert with_tls_options(base) == base
    config = with_tls_options(base, Path("c.pem"), Path("k.pem"), Path("ca.pem"))
    assert config.tls == TLSConfig(
        certfile="c.pem", keyfile="k.pem", cacertfile="ca.pem", verify="verify_peer"
    )
    assert config.tls_port == 5671
    assert with_tls_options(base, Path("c.pem"), tls_port=0).tls_port == 0
    # over a config file's settings: the file's port and options stay unless overridden
    from_file = dataclasses.replace(
        base, tls=TLSConfig(certfile="f.pem", honor_cipher_order=True), tls_port=6671
    )
    config = with_tls_options(from_file, tls_key=Path("k.pem"))
    assert config.tls == TLSConfig(certfile="f.pem", keyfile="k.pem", honor_cipher_order=True)
    assert config.tls_port == 6671


# -- the context, and the one-line errors ------------------------------------------------------


def test_verify_modes(amqps_certificates: TestCertificates):
    certs = amqps_certificates
    assert server_context(certs.tls_config(verify="verify_none")).verify_mode == ssl.CERT_NONE
    assert server_context(certs.tls_config()).verify_mode == ssl.CERT_OPTIONAL
    required = certs.tls_config(fail_if_no_peer_cert=True)
    assert server_context(required).verify_mode == ssl.CERT_REQUIRED


def test_versions_ciphers_and_order(amqps_certificates: TestCertificates):
    context = server_context(
        amqps_certificates.tls_config(
            versions=("tlsv1.2",),
            ciphers=("ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_AES_256_GCM_SHA384"),
            honor_cipher_order=True,
        )
    )
    assert context.minimum_version == context.maximum_version == ssl.TLSVersion.TLSv1_2
    tls12 = [c["name"] for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"]
    assert tls12 == ["ECDHE-ECDSA-AES256-GCM-SHA384"]
    assert context.options & ssl.OP_CIPHER_SERVER_PREFERENCE


def _encrypted_key_files(tmp_path: Path, certs: TestCertificates) -> tuple[str, str]:
    issued = certs.ca.issue_cert("127.0.0.1")
    key = serialization.load_pem_private_key(issued.private_key_pem.bytes(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret"),
    )
    (tmp_path / "enc.key").write_bytes(encrypted)
    issued.cert_chain_pems[0].write_to_path(str(tmp_path / "enc.pem"))
    return str(tmp_path / "enc.pem"), str(tmp_path / "enc.key")


def test_an_encrypted_key_takes_its_password(tmp_path: Path, amqps_certificates):
    certfile, keyfile = _encrypted_key_files(tmp_path, amqps_certificates)
    server_context(TLSConfig(certfile=certfile, keyfile=keyfile, password="s3cret"))
    for password in ("", "wrong"):  # and never asks on the terminal
        with pytest.raises(TLSConfigError, match=r"ssl_options\.password"):
            server_context(TLSConfig(certfile=certfile, keyfile=keyfile, password=password))


def _errors(tmp_path: Path, certs: TestCertificates) -> list[tuple[TLSConfig, str]]:
    (tmp_path / "other").mkdir()
    other = TestCertificates.make(tmp_path / "other")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    server = str(certs.server_file)
    return [
        (TLSConfig(certfile=""), "needs ssl_options.certfile"),
        (TLSConfig(certfile=str(tmp_path / "missing.pem")), "ssl_options.certfile = "),
        (TLSConfig(certfile=str(garbage)), "cannot load ssl_options.certfile/keyfile"),
        (
            TLSConfig(certfile=server, keyfile=str(other.server_file)),
            "ssl_options.keyfile is not the key of ssl_options.certfile",
        ),
        (TLSConfig(certfile=server, keyfile=str(tmp_path / "nokey")), "ssl_options.keyfile = "),
        (TLSConfig(certfile=server, verify="verify_peer"), "needs ssl_options.cacertfile"),
        (
            TLSConfig(certfile=server, fail_if_no_peer_cert=True),
            "fail_if_no_peer_cert = true needs ssl_options.verify = verify_peer",
        ),
        (TLSConfig(certfile=server, cacertfile=str(garbage)), "ssl_options.cacertfile = "),
        (TLSConfig(certfile=server, verify="verify_all"), "ssl_options.verify = verify_all"),
        (TLSConfig(certfile=server, versions=("sslv3",)), "ssl_options.versions: sslv3"),
        (TLSConfig(certfile=server, ciphers=("NO-SUCH-CIPHER",)), "ssl_options.ciphers"),
        (TLSConfig(certfile=server, depth=-2), "ssl_options.depth"),
    ]


def test_unusable_options_are_one_line_errors(tmp_path: Path, amqps_certificates):
    for tls, message in _errors(tmp_path, amqps_certificates):
        with pytest.raises(TLSConfigError) as error:
            server_context(tls)
        assert message in str(error.value), tls
        assert "\n" not in str(error.value)


def test_the_broker_refuses_to_start_with_them():
    config = BrokerConfig(port=0, tls=TLSConfig(certfile="/nonexistent.pem"), tls_port=0)
    with pytest.raises(TLSConfigError, match="No such file"):
        Listeners(config)
    # without a TLS port the options are not used (as RabbitMQ's without listeners.ssl)
    Listeners(dataclasses.replace(config, tls_port=None))


def test_a_tls_port_without_ssl_options_is_an_error(tmp_path: Path):
    config = conf(tmp_path, "listeners.ssl.default = 5671\n")
    with pytest.raises(TLSConfigError, match=r"needs ssl_options\.certfile"):
        Listeners(config)
