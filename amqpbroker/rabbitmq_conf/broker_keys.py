"""rabbitmq.conf's core keys as ``BrokerConfig`` fields: the plain listener, connection limits,
the default user and vhost, loopback_users, handshake_timeout, load_definitions; and the
RABBITMQ_DEFAULT_* environment variables that override some of them."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

from amqpbroker.config import BrokerConfig

# rabbitmq.conf keys understood here, and the BrokerConfig field and type each sets.
_KEYS: dict[str, tuple[str, type]] = {
    "heartbeat": ("heartbeat", int),
    "frame_max": ("frame_max", int),
    "channel_max": ("channel_max", int),
    "max_message_size": ("max_message_size", int),
    "consumer_timeout": ("consumer_timeout", int),
    "default_user": ("default_user", str),
    "default_pass": ("default_pass", str),
    "default_vhost": ("default_vhost", str),
    "load_definitions": ("load_definitions", str),
}

# RabbitMQ 3.9+ lets these environment variables override rabbitmq.conf's keys.
_ENVIRONMENT = {
    "RABBITMQ_DEFAULT_USER": "default_user",
    "RABBITMQ_DEFAULT_PASS": "default_pass",
    "RABBITMQ_DEFAULT_VHOST": "default_vhost",
}


def apply_environment(config: BrokerConfig, environ: Mapping[str, str]) -> BrokerConfig:
    """``RABBITMQ_DEFAULT_USER`` / ``_PASS`` / ``_VHOST``, when set and not empty, take
    precedence over rabbitmq.conf (as in RabbitMQ since 3.9)."""
    values: dict[str, Any] = {
        field: environ[name] for name, field in _ENVIRONMENT.items() if environ.get(name)
    }
    return dataclasses.replace(config, **values) if values else config


def _default_user_tag(tag: str, value: str, so_far: dict[str, Any]) -> dict[str, Any]:
    """default_user_tags.TAG = true | false."""
    if value not in ("true", "false"):
        raise ValueError(value)
    tags = so_far.get("default_user_tags", BrokerConfig().default_user_tags)
    tags = [t for t in tags if t != tag]
    return {"default_user_tags": (*tags, tag) if value == "true" else tuple(tags)}


def _default_permission(right: str, value: str, so_far: dict[str, Any]) -> dict[str, Any]:
    """default_permissions.configure | write | read = REGEX."""
    rights = ("configure", "write", "read")
    if right not in rights:
        raise ValueError(right)
    current = list(so_far.get("default_permissions", BrokerConfig().default_permissions))
    current[rights.index(right)] = value
    return {"default_permissions": tuple(current)}


# Keys ``PREFIX.NAME = value``: the handler gets NAME, the value and the values so far.
_PREFIXED: dict[str, Callable[[str, str, dict[str, Any]], dict[str, Any]]] = {
    "default_user_tags.": _default_user_tag,
    "default_permissions.": _default_permission,
}


def broker_entry(key: str, value: str, so_far: dict[str, Any]) -> dict[str, Any] | None:
    """The ``BrokerConfig`` fields one line sets (listeners.tcp, limits, users and their
    defaults, loopback_users, handshake_timeout, collect_statistics_interval), or None if
    ``key`` is not one of these."""
    if key in _KEYS:
        field, kind = _KEYS[key]
        return {field: kind(value)}
    prefix, _, name = key.partition(".")
    if prefix + "." in _PREFIXED and name:
        return _PREFIXED[prefix + "."](name, value, so_far)
    if key == "loopback_users":  # "none" is the only value RabbitMQ takes for the bare key
        if value != "none":
            raise ValueError(value)
        return {"loopback_users": ()}
    if key.startswith("loopback_users."):  # loopback_users.NAME = true | false
        name = key.split(".", 1)[1]
        if value not in ("true", "false"):
            raise ValueError(value)
        users = so_far.get("loopback_users", BrokerConfig().loopback_users)
        others = tuple(u for u in users if u != name)
        return {"loopback_users": (*others, name) if value == "true" else others}
    if key == "handshake_timeout":  # milliseconds, or infinity
        return {"handshake_timeout": math.inf if value == "infinity" else int(value) / 1000}
    if key == "collect_statistics_interval":  # milliseconds between statistics samplings
        return {"stats_interval": int(value) / 1000}
    if key == "listeners.tcp.default":
        host, _, port = value.rpartition(":")
        return {"port": int(port), **({"host": host.strip("[]")} if host else {})}
    return None
