"""``cert_expiry.expiries``: when each certificate of a PEM file expires, read off its DER."""

from __future__ import annotations

import base64
import datetime
from pathlib import Path

import pytest

from amqpbroker.management.cert_expiry import expiries
from amqpbroker.testing.tls_fixtures import TestCertificates


def test_a_certificate_kept_with_its_key(amqps_certificates: TestCertificates) -> None:
    (leaf,) = expiries(str(amqps_certificates.server_file))  # the key is passed over
    (ca,) = expiries(str(amqps_certificates.ca_file))
    assert leaf > datetime.datetime.now(datetime.UTC) and ca > datetime.datetime.now(datetime.UTC)


def test_what_is_not_a_certificate(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("no PEM here\n")
    assert expiries(str(empty)) == "The certificate file provided does not contain any PEM entry."
    assert isinstance(expiries(str(tmp_path / "missing.pem")), str)


@pytest.mark.parametrize("tag", [b"\x17", b"\x18"])
def test_utc_and_generalized_times(tmp_path: Path, tag: bytes) -> None:
    """A minimal DER certificate: tbs = [0]version, serial, signature, issuer, validity."""
    when = b"300101000000Z" if tag == b"\x17" else b"20300101000000Z"

    def element(kind: bytes, content: bytes) -> bytes:
        return kind + bytes([len(content)]) + content

    validity = element(b"\x30", element(tag, when) + element(tag, when))
    tbs = element(
        b"\x30", element(b"\xa0", b"\x02\x01\x02") + b"\x02\x01\x01" + b"\x30\x00" * 2 + validity
    )

    pem = tmp_path / "c.pem"
    body = base64.b64encode(element(b"\x30", tbs)).decode()
    pem.write_text(f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n")
    assert expiries(str(pem)) == [datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)]
