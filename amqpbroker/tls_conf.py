"""TLS and SASL mechanism settings as ``BrokerConfig`` fields: from rabbitmq.conf's keys, and
from ``amqpbroker serve``'s --tls-* flags (``tls_options``, ``with_tls_options``).

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
from pathlib import Path
from typing import Any, TypeVar

import click

from amqpbroker.access.certificates import LOGIN_FROM, SAN_TYPES
from amqpbroker.access.sasl import KNOWN_MECHANISMS
from amqpbroker.config import BrokerConfig, TLSConfig

TLS_VERSIONS = ("tlsv1.3", "tlsv1.2")
VERIFY = ("verify_peer", "verify_none")


def _boolean(value: str) -> bool:
    if value not in ("true", "false"):
        raise ValueError(value)
    return value == "true"


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(value)
        return value

    return check


def _natural(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


def _milliseconds(value: str) -> float:
    return _natural(value) / 1000


# ssl_options.KEY (and ssl_handshake_timeout): the TLSConfig field and how a value is read.
_SSL_OPTIONS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "ssl_options.cacertfile": ("cacertfile", str),
    "ssl_options.certfile": ("certfile", str),
    "ssl_options.keyfile": ("keyfile", str),
    "ssl_options.password": ("password", str),
    "ssl_options.verify": ("verify", _one_of(VERIFY)),
    "ssl_options.fail_if_no_peer_cert": ("fail_if_no_peer_cert", _boolean),
    "ssl_options.depth": ("depth", _natural),
    "ssl_options.honor_cipher_order": ("honor_cipher_order", _boolean),
    "ssl_handshake_timeout": ("handshake_timeout", _milliseconds),
}
# ssl_options.KEY.N: the TLSConfig field each N adds a value to.
_SSL_LISTS: dict[str, tuple[str, Callable[[str], str]]] = {
    "ssl_options.versions": ("versions", _one_of(TLS_VERSIONS)),
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
        return {"tcp_listener": _one_of(("none",))(value) != "none"}
    if key == "listeners.ssl":
        _one_of(("none",))(value)
        return {"tls_port": None}
    if key == "listeners.ssl.default":
        host, _, port = value.rpartition(":")
        return {"tls_port": _port(port), "tls_host": host.strip("[]") or None}
    if key.startswith("auth_mechanisms."):
        mechanism = _one_of(KNOWN_MECHANISMS)(value)
        mechanisms = so_far.get("auth_mechanisms", ())  # the first one replaces the default
        return {"auth_mechanisms": (*mechanisms, mechanism)}
    if key == "ssl_cert_login_from":
        return {"ssl_cert_login_from": _one_of(LOGIN_FROM)(value)}
    if key == "ssl_cert_login_san_type":
        return {"ssl_cert_login_san_type": _one_of(tuple(SAN_TYPES))(value)}
    if key == "ssl_cert_login_san_index":
        return {"ssl_cert_login_san_index": _natural(value)}
    return None


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise ValueError(value)
    return port


def _tls_option(so_far: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    tls = so_far.get("tls") or TLSConfig(certfile="")
    return {"tls": dataclasses.replace(tls, **{field: value})}


# -- amqpbroker serve --tls-cert/--tls-key/--tls-ca/--tls-port ----------------------------------

DEFAULT_TLS_PORT = 5671  # IANA's amqps
F = TypeVar("F", bound=Callable[..., Any])
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def tls_options(command: F) -> F:
    """The --tls-* options of ``serve``, a shorthand for the ssl_options keys."""
    options = [
        click.option("--tls-cert", type=_FILE, help="Server certificate (PEM): adds AMQPS."),
        click.option("--tls-key", type=_FILE, help="Its private key (PEM), if not in --tls-cert."),
        click.option(
            "--tls-ca",
            type=_FILE,
            help="CA (PEM) that client certificates are checked against (verify_peer); "
            "clients without one are still let in.",
        ),
        click.option(
            "--tls-port", type=int, help=f"AMQPS port; 0 picks a free one [{DEFAULT_TLS_PORT}]."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def with_tls_options(
    config: BrokerConfig,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    tls_ca: Path | None = None,
    tls_port: int | None = None,
) -> BrokerConfig:
    """``config`` with the --tls-* flags applied over what the config file said."""
    tls = config.tls or TLSConfig(certfile="")
    if tls_cert is not None:
        tls = dataclasses.replace(tls, certfile=str(tls_cert))
    if tls_key is not None:
        tls = dataclasses.replace(tls, keyfile=str(tls_key))
    if tls_ca is not None:
        tls = dataclasses.replace(tls, cacertfile=str(tls_ca), verify="verify_peer")
    if tls_port is None and tls_cert is not None and config.tls_port is None:
        tls_port = DEFAULT_TLS_PORT
    if tls_port is not None:
        config = dataclasses.replace(config, tls_port=tls_port)
    if tls != (config.tls or TLSConfig(certfile="")):
        config = dataclasses.replace(config, tls=tls)
    return config
