"""Small value formats of RabbitMQ 3.10.8's management JSON.

Timestamps as the management plugin writes them, counters with their ``*_details`` rate
objects, and the Erlang-side values every item repeats (garbage collection, reductions)
that have no meaning in this broker: they are filled with fixed numbers of the right type
so that tools reading them (rabbitmqadmin, exporters) find what they expect.  Constant
nested objects are shared between items: items are built to be serialised, not changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

# Items share these constant nested objects (10,000 queue items allocate less, and the
# garbage collector runs less often): items are for serialising, never to be changed.
_GARBAGE_COLLECTION: dict[str, int] = {
    "fullsweep_after": 65535,
    "max_heap_size": 0,
    "min_bin_vheap_size": 46422,
    "min_heap_size": 233,
    "minor_gcs": 0,
}
_ZERO_RATE: dict[str, float] = {"rate": 0.0}
_ZERO_STATS: dict[tuple[str, ...], dict[str, Any]] = {}


def garbage_collection() -> dict[str, int]:
    """An Erlang process's garbage_collection block (fixed: there is no such process)."""
    return _GARBAGE_COLLECTION


def rate(value: float = 0.0) -> dict[str, float]:
    """A ``*_details`` object: ``{"rate": per second}``."""
    return {"rate": float(value)} if value else _ZERO_RATE


def with_details(
    item: dict[str, Any], counts: Mapping[str, float], rates: Mapping[str, float]
) -> dict[str, Any]:
    """Add each counter of ``counts`` to ``item`` followed by its ``<name>_details`` rate
    (0.0 when ``rates`` has none), as RabbitMQ lays them out."""
    for name, count in counts.items():
        item[name] = count
        item[f"{name}_details"] = rate(rates.get(name, 0.0))
    return item


def message_stats(
    names: tuple[str, ...], counts: Mapping[str, int], rates: Mapping[str, float]
) -> dict[str, Any]:
    """A ``message_stats`` object with ``names`` (in that order), 0 where not counted."""
    if not counts and not rates:
        zeros = _ZERO_STATS.get(names)
        if zeros is None:
            zeros = _ZERO_STATS[names] = _stats(names, {}, {})
        return zeros
    return _stats(names, counts, rates)


def _stats(
    names: tuple[str, ...], counts: Mapping[str, int], rates: Mapping[str, float]
) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    for name in names:
        stats[name] = int(counts.get(name, 0))
        stats[f"{name}_details"] = rate(rates.get(name, 0.0))
    return stats


@lru_cache(maxsize=4096)  # (most items repeat a few moments: the broker's start, mostly)
def rabbit_timestamp(epoch_seconds: float) -> str:
    """RabbitMQ's ``idle_since`` format: ``2026-12-06T05:47:21.850+00:00`` (UTC, ms)."""
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"


def epoch_ms(epoch_seconds: float) -> int:
    """``connected_at``: milliseconds since the epoch."""
    return int(epoch_seconds * 1000)


def json_value(value: Any) -> Any:
    """An AMQP field-table value as JSON: tables with their keys sorted (RabbitMQ's JSON
    writes them as Erlang maps), void as "undefined", bytes as text (undecodable ones as
    RabbitMQ's base64 would be unreadable anyway: replaced), decimals as floats, timestamps
    as epoch seconds, tables and arrays recursively."""
    if isinstance(value, dict):
        return {str(key): json_value(value[key]) for key in sorted(value, key=str)}
    if value is None:
        return "undefined"
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, Decimal):
        return float(value)
    return value
