"""rabbitmq.conf's management and prometheus plugin keys as ``BrokerConfig`` fields.

``management_entry(key, value, so_far)`` reads one line: the fields it sets, or None when
the key is not one of these; ``ValueError`` for a value RabbitMQ would refuse.

    management.tcp.port = 15672             (the HTTP API's port)
    management.tcp.ip = 0.0.0.0             (its address; the AMQP host by default)
    management.ssl.port = 15671             (HTTPS instead, with the keys below)
    management.ssl.ip = 0.0.0.0
    management.ssl.cacertfile / certfile / keyfile / password
    management.ssl.verify = verify_peer | verify_none
    management.ssl.fail_if_no_peer_cert = true | false

    prometheus.tcp.port = 15692             (the Prometheus endpoint's port)
    prometheus.tcp.ip = 0.0.0.0             (its address; the AMQP host by default)

RabbitMQ can serve HTTP and HTTPS at once; this broker serves one: HTTPS when
``management.ssl.port`` is set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from amqpbroker.config import TLSConfig

from .tls_keys import VERIFY
from .values import boolean, one_of, port

_SSL_FIELDS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "management.ssl.cacertfile": ("cacertfile", str),
    "management.ssl.certfile": ("certfile", str),
    "management.ssl.keyfile": ("keyfile", str),
    "management.ssl.password": ("password", str),
    "management.ssl.verify": ("verify", one_of(VERIFY)),
    "management.ssl.fail_if_no_peer_cert": ("fail_if_no_peer_cert", boolean),
}


def management_entry(key: str, value: str, so_far: dict[str, Any]) -> dict[str, Any] | None:
    """The ``BrokerConfig`` fields one rabbitmq.conf line sets, or None if ``key`` is not a
    management key; an HTTPS port wins over an HTTP one, whatever their order."""
    if key == "prometheus.tcp.port":
        return {"prometheus_port": port(value)}
    if key == "prometheus.tcp.ip":
        return {"prometheus_host": value.strip("[]")}
    if key == "management.tcp.port":
        return {} if "management_tls" in so_far else {"management_port": port(value)}
    if key in ("management.tcp.ip", "management.ssl.ip"):
        return {"management_host": value.strip("[]")}
    if key == "management.ssl.port":
        tls = so_far.get("management_tls") or TLSConfig(certfile="")
        return {"management_port": port(value), "management_tls": tls}
    if key in _SSL_FIELDS:
        field, read = _SSL_FIELDS[key]
        tls = so_far.get("management_tls") or TLSConfig(certfile="")
        return {"management_tls": dataclasses.replace(tls, **{field: read(value)})}
    return None
