"""rabbitmq.conf's TLS listener, ssl_options and SASL mechanism keys as ``BrokerConfig`` fields.

``tls_entry(key, value, so_far)`` reads one line's key and value: the fields it sets, or
None when the key is not one of these; ``ValueError`` for a value RabbitMQ would refuse.
Whether the files exist and are usable is told when the broker starts (``server/tls.py``).

    listeners.ssl.default = 5671            (or host:port; "listeners.ssl = none": no TLS)
    listeners.tcp = none                    (no plain AMQP listener)
    ssl_options.cacertfile / certfile / keyfile / password
    ssl_options.verify = verify_peer | verify_none
    ssl_options.fail_if_no_peer_cert = true | false
    ssl_options.depth = 2
    ssl_options.versions.1 = tlsv1.3        (.2 = tlsv1.2 ...)
    ssl_options.ciphers.1 = ECDHE-ECDSA-AES256-GCM-SHA384
    ssl_options.honor_cipher_order = true | false
    ssl_handshake_timeout = 5000            (milliseconds)
    auth_mechanisms.1 = EXTERNAL            (.2 = PLAIN ...; replaces PLAIN, AMQPLAIN)
    ssl_cert_login_from = distinguished_name | common_name | subject_alternative_name
    ssl_cert_login_san_type = dns | email | uri     (with subject_alternative_name)
    ssl_cert_login_san_index = 0
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from amqpbroker.access.certificates import LOGIN_FROM, SAN_TYPES
from amqpbroker.access.sasl import KNOWN_MECHANISMS
from amqpbroker.config import TLSConfig

from .values import boolean, milliseconds, natural, one_of, port

TLS_VERSIONS = ("tlsv1.3", "tlsv1.2")
VERIFY = ("verify_peer", "verify_none")


# ssl_options.KEY (and ssl_handshake_timeout): the TLSConfig field and how a value is read.
_SSL_OPTIONS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "ssl_options.cacertfile": ("cacertfile", str),
    "ssl_options.certfile": ("certfile", str),
    "ssl_options.keyfile": ("keyfile", str),
    "ssl_options.password": ("password", str),
    "ssl_options.verify": ("verify", one_of(VERIFY)),
    "ssl_options.fail_if_no_peer_cert": ("fail_if_no_peer_cert", boolean),
    "ssl_options.depth": ("depth", natural),
    "ssl_options.honor_cipher_order": ("honor_cipher_order", boolean),
    "ssl_handshake_timeout": ("handshake_timeout", milliseconds),
}
# ssl_options.KEY.N: the TLSConfig field each N adds a value to.
_SSL_LISTS: dict[str, tuple[str, Callable[[str], str]]] = {
    "ssl_options.versions": ("versions", one_of(TLS_VERSIONS)),
    "ssl_options.ciphers": ("ciphers", str),
}


def tls_entry(key: str, value: str, so_far: dict[str, Any]) -> dict[str, Any] | None:
    """The ``BrokerConfig`` fields one rabbitmq.conf line sets, or None if ``key`` is not a
    TLS or mechanism key; ``so_far`` holds the fields set by the lines before."""
    if key in _SSL_OPTIONS:
        field, read = _SSL_OPTIONS[key]
        return _tls_option(so_far, field, read(value))
    list_key, _, _ = key.rpartition(".")
    if list_key in _SSL_LISTS:
        field, read = _SSL_LISTS[list_key]
        current = getattr(so_far.get("tls") or TLSConfig(certfile=""), field)
        return _tls_option(so_far, field, (*current, read(value)))
    return _listener_or_login(key, value, so_far)


def _listener_or_login(key: str, value: str, so_far: dict[str, Any]) -> dict[str, Any] | None:
    if key == "listeners.tcp":  # "none" is the one value RabbitMQ takes for the bare key
        return {"tcp_listener": one_of(("none",))(value) != "none"}
    if key == "listeners.ssl":
        one_of(("none",))(value)
        return {"tls_port": None}
    if key == "listeners.ssl.default":
        host, _, number = value.rpartition(":")
        return {"tls_port": port(number), "tls_host": host.strip("[]") or None}
    if key.startswith("auth_mechanisms."):
        mechanism = one_of(KNOWN_MECHANISMS)(value)
        mechanisms = so_far.get("auth_mechanisms", ())  # the first one replaces the default
        return {"auth_mechanisms": (*mechanisms, mechanism)}
    if key == "ssl_cert_login_from":
        return {"ssl_cert_login_from": one_of(LOGIN_FROM)(value)}
    if key == "ssl_cert_login_san_type":
        return {"ssl_cert_login_san_type": one_of(tuple(SAN_TYPES))(value)}
    if key == "ssl_cert_login_san_index":
        return {"ssl_cert_login_san_index": natural(value)}
    return None


def _tls_option(so_far: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    tls = so_far.get("tls") or TLSConfig(certfile="")
    return {"tls": dataclasses.replace(tls, **{field: value})}
