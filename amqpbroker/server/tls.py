"""AMQPS: the ``ssl.SSLContext`` a TLS listener serves with, built from RabbitMQ's
``ssl_options`` (``config.TLSConfig``), and the user name a client certificate logs in as.

The TLS handshake itself is asyncio's (``create_server(ssl=..., ssl_handshake_timeout=...)``,
``server/listeners.py``): a client that fails it (unknown CA, no certificate where one is
required, plaintext AMQP) or says nothing is dropped, at the latest when the timeout
expires, before it reaches the AMQP side, and the loop reports nothing for it (a failed
handshake is an ``OSError``, which asyncio and uvloop log in debug mode only).

Python's ``ssl`` cannot express every Erlang option: ``depth`` is accepted and not
enforced (OpenSSL's limit of 100 applies), and TLS 1.3 cipher suites cannot be narrowed
(``ciphers`` restricts TLS 1.2's).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from typing import cast

from amqpbroker.access.certificates import Subject, login_name
from amqpbroker.config import TLSConfig

VERSIONS = {"tlsv1.2": ssl.TLSVersion.TLSv1_2, "tlsv1.3": ssl.TLSVersion.TLSv1_3}
VERIFY_MODES = ("verify_none", "verify_peer")


class TLSConfigError(Exception):
    """The TLS options cannot be used; the message says which one and why, in one line."""


def server_context(tls: TLSConfig) -> ssl.SSLContext:
    """The context an AMQPS listener serves with; ``TLSConfigError`` if the options or the
    files they name are not usable."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _load_certificate(context, tls)
    _set_verification(context, tls)
    _set_versions(context, tls.versions)
    _set_ciphers(context, tls)
    return context


def _readable(key: str, path: str) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as error:
        raise TLSConfigError(f"{key} = {path}: {error.strerror or error}") from None


def _load_certificate(context: ssl.SSLContext, tls: TLSConfig) -> None:
    if not tls.certfile:
        raise TLSConfigError("a TLS listener needs ssl_options.certfile (and keyfile)")
    _readable("ssl_options.certfile", tls.certfile)
    if tls.keyfile:
        _readable("ssl_options.keyfile", tls.keyfile)
    try:
        # A callable, so that an encrypted key without a password fails instead of
        # OpenSSL asking for one on the terminal.
        context.load_cert_chain(tls.certfile, tls.keyfile or None, password=lambda: tls.password)
    except ssl.SSLError as error:
        if error.reason == "KEY_VALUES_MISMATCH":
            raise TLSConfigError(
                "ssl_options.keyfile is not the key of ssl_options.certfile"
            ) from None
        raise TLSConfigError(
            f"cannot load ssl_options.certfile/keyfile (wrong file, or wrong or missing "
            f"ssl_options.password): {error.reason or error}"
        ) from None


def _set_verification(context: ssl.SSLContext, tls: TLSConfig) -> None:
    if tls.verify not in VERIFY_MODES:
        raise TLSConfigError(f"ssl_options.verify = {tls.verify}: not verify_peer or verify_none")
    if tls.depth is not None and tls.depth < 0:
        raise TLSConfigError(f"ssl_options.depth = {tls.depth}: not a depth")
    if tls.cacertfile:
        _readable("ssl_options.cacertfile", tls.cacertfile)
        try:
            context.load_verify_locations(cafile=tls.cacertfile)
        except ssl.SSLError as error:
            raise TLSConfigError(
                f"ssl_options.cacertfile = {tls.cacertfile}: no CA certificate read from it "
                f"({error.reason or error})"
            ) from None
    if tls.verify == "verify_none":
        if tls.fail_if_no_peer_cert:
            raise TLSConfigError(
                "ssl_options.fail_if_no_peer_cert = true needs ssl_options.verify = verify_peer"
            )
        context.verify_mode = ssl.CERT_NONE
        return
    if not tls.cacertfile:
        raise TLSConfigError(
            "ssl_options.verify = verify_peer needs ssl_options.cacertfile "
            "(the CA client certificates are checked against)"
        )
    # verify_peer without fail_if_no_peer_cert: a certificate is asked for, checked when
    # given, and a client without one is let in (as Erlang's ssl does).
    context.verify_mode = ssl.CERT_REQUIRED if tls.fail_if_no_peer_cert else ssl.CERT_OPTIONAL


def _set_versions(context: ssl.SSLContext, versions: tuple[str, ...]) -> None:
    unknown = [v for v in versions if v not in VERSIONS]
    if unknown:
        raise TLSConfigError(
            f"ssl_options.versions: {unknown[0]} is not one of {', '.join(sorted(VERSIONS))}"
        )
    if versions:
        chosen = [VERSIONS[v] for v in versions]
        context.minimum_version = min(chosen)
        context.maximum_version = max(chosen)


def _set_ciphers(context: ssl.SSLContext, tls: TLSConfig) -> None:
    if tls.honor_cipher_order:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    tls12 = [name for name in tls.ciphers if not name.startswith("TLS_")]  # TLS_*: TLS 1.3's
    if not tls12:
        return
    try:
        context.set_ciphers(":".join(tls12))
    except ssl.SSLError:
        raise TLSConfigError(
            f"ssl_options.ciphers: OpenSSL knows none of {', '.join(tls12)}"
        ) from None


def certificate_login_name(
    transport: asyncio.BaseTransport, login_from: str, san_type: str = "dns", san_index: int = 0
) -> str | None:
    """The user name the client certificate of a TLS connection gives
    (``ssl_cert_login_from``); None without a verified certificate."""
    ssl_object = transport.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return None
    certificate = ssl_object.getpeercert()  # {} unless verified against cacertfile
    if not certificate or "subject" not in certificate:
        return None
    rdns = cast(Subject, certificate["subject"])  # ((("commonName", "app"),), ...)
    subject = tuple(tuple((_oid(name), value) for name, value in rdn) for rdn in rdns)
    alternative_names = cast(tuple[tuple[str, str], ...], certificate.get("subjectAltName", ()))
    return login_name(subject, login_from, alternative_names, san_type, san_index)


@functools.cache
def _oid(name: str) -> str:
    """The dotted OID of an attribute type as OpenSSL names it (``commonName``)."""
    try:
        return ssl._ASN1Object.fromname(name).oid
    except ValueError:
        return name  # already dotted, or unknown to OpenSSL
