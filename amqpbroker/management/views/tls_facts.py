"""A TLS connection's ``ssl_*`` and ``peer_cert_*`` fields, from Python's ``ssl`` object.

RabbitMQ shows Erlang's names: ``ssl_protocol`` "tlsv1.3", and the cipher suite split into
``ssl_key_exchange`` ("ecdhe_rsa"; "any" for TLS 1.3), ``ssl_cipher`` ("aes_256_gcm") and
``ssl_hash`` (the MAC: "aead" for GCM and ChaCha20-Poly1305, else "sha256", "sha"...).
OpenSSL's suite names are translated to those.  ``peer_cert_subject`` and
``peer_cert_issuer`` are written as RabbitMQ writes a distinguished name
(``access.certificates``), ``peer_cert_validity`` as "2026-12-06T05:47:21Z -
2027-12-06T05:47:21Z".  (The reference broker has no TLS listener, so these were checked
against RabbitMQ 3.10.8's source rather than its answers.)
"""

from __future__ import annotations

import functools
import ssl
from datetime import UTC, datetime
from typing import Any

from amqpbroker.access.certificates import distinguished_name

from .context import TLSFacts

_CIPHERS = {
    "AES128-GCM": "aes_128_gcm",
    "AES256-GCM": "aes_256_gcm",
    "AES128": "aes_128_cbc",
    "AES256": "aes_256_cbc",
    "CHACHA20-POLY1305": "chacha20_poly1305",
    "DES-CBC3": "3des_ede_cbc",
}
_TLS13 = {
    "TLS_AES_128_GCM_SHA256": "aes_128_gcm",
    "TLS_AES_256_GCM_SHA384": "aes_256_gcm",
    "TLS_CHACHA20_POLY1305_SHA256": "chacha20_poly1305",
    "TLS_AES_128_CCM_SHA256": "aes_128_ccm",
    "TLS_AES_128_CCM_8_SHA256": "aes_128_ccm_8",
}


def tls_facts(ssl_object: Any) -> TLSFacts | None:
    """The facts of the connection behind ``ssl_object`` (the transport's
    ``get_extra_info("ssl_object")``); None for a plain connection."""
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return None
    suite = ssl_object.cipher()
    name = suite[0] if suite else ""
    key_exchange, cipher, mac = cipher_suite(name)
    certificate: dict[str, Any] = ssl_object.getpeercert() or {}  # {} unless verified
    return TLSFacts(
        protocol=(ssl_object.version() or "").lower(),
        cipher=cipher,
        key_exchange=key_exchange,
        hash=mac,
        peer_cert_subject=_name(certificate.get("subject")),
        peer_cert_issuer=_name(certificate.get("issuer")),
        peer_cert_validity=_validity(certificate),
    )


def cipher_suite(name: str) -> tuple[str, str, str]:
    """(key exchange, cipher, MAC) in Erlang's names for an OpenSSL suite name."""
    if name in _TLS13:
        return "any", _TLS13[name], "aead"
    parts = name.split("-")
    exchange_parts: list[str] = []
    while parts and parts[0] in ("ECDHE", "DHE", "RSA", "ECDSA", "PSK"):
        exchange_parts.append(parts.pop(0))
    key_exchange = "_".join(exchange_parts).lower() or "rsa"
    rest = "-".join(parts)
    for openssl, erlang in sorted(_CIPHERS.items(), key=lambda pair: -len(pair[0])):
        if rest.startswith(openssl):
            mac = rest[len(openssl) :].lstrip("-")
            aead = erlang.endswith(("gcm", "poly1305"))
            return key_exchange, erlang, "aead" if aead else (mac.lower() or "sha")
    return key_exchange, rest.lower(), ""


def _name(rdns: Any) -> str | None:
    """A subject or issuer as ``getpeercert`` gives it (RDNs of (type name, value))."""
    if not rdns:
        return None
    return distinguished_name(
        tuple(tuple((_oid(kind), value) for kind, value in rdn) for rdn in rdns)
    )


@functools.cache
def _oid(name: str) -> str:
    """The dotted OID of an attribute type as OpenSSL names it (``commonName``)."""
    try:
        return ssl._ASN1Object.fromname(name).oid
    except ValueError:
        return name


def _validity(certificate: dict[str, Any]) -> str | None:
    start, end = certificate.get("notBefore"), certificate.get("notAfter")
    if not (isinstance(start, str) and isinstance(end, str)):
        return None
    return f"{_moment(start)} - {_moment(end)}"


def _moment(text: str) -> str:
    moment = datetime.fromtimestamp(ssl.cert_time_to_seconds(text), UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
