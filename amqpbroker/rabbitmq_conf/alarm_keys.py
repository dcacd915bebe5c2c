"""rabbitmq.conf's resource alarm keys: ``vm_memory_high_watermark.relative`` /
``.absolute``, ``disk_free_limit.absolute`` / ``.relative``, ``memory_monitor_interval``.

Sizes take RabbitMQ 3.10's information units (``rabbit_resource_monitor_misc``): a plain
number of bytes, or a number with one of k/K/kiB/KiB/KIB/kib (2^10), m/M/MiB/MIB/mib (2^20),
g/G/GiB/GIB/gib (2^30), kB/KB/kb/Kb (10^3), MB/mb/Mb (10^6), GB/gb/Gb (10^9).  As in
RabbitMQ's schema, a relative memory watermark wins over an absolute one in the same file.
"""

from __future__ import annotations

import re
from typing import Any

_UNITS = {
    **dict.fromkeys(("k", "K", "kiB", "KiB", "KIB", "kib"), 1024),
    **dict.fromkeys(("m", "M", "MiB", "MIB", "mib"), 1024**2),
    **dict.fromkeys(("g", "G", "GiB", "GIB", "gib"), 1024**3),
    **dict.fromkeys(("kB", "KB", "kb", "Kb"), 1000),
    **dict.fromkeys(("MB", "mb", "Mb"), 1000**2),
    **dict.fromkeys(("GB", "gb", "Gb"), 1000**3),
}
_SIZE = re.compile(r"([0-9]+)([a-zA-Z]*)")


def information_unit(value: str) -> int:
    """``200MB`` → 200000000, ``200MiB`` → 209715200, ``1024`` → 1024; ValueError otherwise."""
    match = _SIZE.fullmatch(value)
    if match is None:
        raise ValueError(value)
    number, unit = match.groups()
    if unit and unit not in _UNITS:
        raise ValueError(value)
    return int(number) * _UNITS.get(unit, 1)


def _fraction(value: str) -> float:
    number = float(value)
    if not number >= 0:  # (also refuses nan)
        raise ValueError(value)
    return number


def alarm_entry(key: str, value: str, so_far: dict[str, Any]) -> dict[str, Any] | None:
    """The ``BrokerConfig`` fields one alarm line sets, or None if ``key`` is not one."""
    if key == "vm_memory_high_watermark.relative":
        return {
            "vm_memory_high_watermark": _fraction(value),
            "vm_memory_high_watermark_absolute": None,
        }
    if key == "vm_memory_high_watermark.absolute":
        if "vm_memory_high_watermark" in so_far:  # a relative one was given: it wins
            information_unit(value)
            return {}
        return {"vm_memory_high_watermark_absolute": information_unit(value)}
    if key == "disk_free_limit.absolute":
        return {"disk_free_limit": information_unit(value), "disk_free_limit_relative": None}
    if key == "disk_free_limit.relative":
        return {"disk_free_limit_relative": _fraction(value)}
    if key == "memory_monitor_interval":  # milliseconds
        number = int(value)
        if number <= 0:
            raise ValueError(value)
        return {"memory_monitor_interval": number / 1000}
    return None
