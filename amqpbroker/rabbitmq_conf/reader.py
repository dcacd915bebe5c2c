"""Reading RabbitMQ's ``rabbitmq.conf`` (sysctl-style ``key = value`` lines) into a
``BrokerConfig``: each family of keys has its own module, tried in turn; keys this broker does
not use are accepted and ignored, as a RabbitMQ file holds many."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from amqpbroker.config import BrokerConfig

from .alarm_keys import alarm_entry
from .broker_keys import broker_entry
from .management_keys import management_entry
from .tls_keys import tls_entry

ENTRY_READERS = (tls_entry, management_entry, alarm_entry, broker_entry)


class ConfigFileError(ValueError):
    """A line of the file holds a value RabbitMQ would refuse (the message names it)."""


def load_config(path: Path) -> BrokerConfig:
    """Read the common keys of RabbitMQ's ``rabbitmq.conf`` (sysctl-style ``key = value``)."""
    values: dict[str, Any] = {}
    for number, raw_line in enumerate(path.read_text().splitlines(), start=1):
        line = raw_line.split("#", 1)[0].strip()
        if not line or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        try:
            values.update(_entry(key, value, values))
        except ValueError:
            message = f"{path}:{number}: invalid value for {key}: {value!r}"
            raise ConfigFileError(message) from None
    return dataclasses.replace(BrokerConfig(), **values)


def _entry(key: str, value: str, so_far: dict[str, Any]) -> dict[str, Any]:
    for read in ENTRY_READERS:
        fields = read(key, value, so_far)
        if fields is not None:
            return fields
    return {}  # other keys of rabbitmq.conf are not used by this broker
