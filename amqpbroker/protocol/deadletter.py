"""Rewriting a content header for dead-lettering, touching only what RabbitMQ changes.

The message keeps every property and header byte for byte, except: the ``expiration``
property goes (its value is remembered in the x-death entry), and the ``headers`` table gets
``x-death`` (most recent death first, one entry per queue and reason, with a count) and the
``x-first-death-*`` headers when they are not there yet; like RabbitMQ, the changed table is
written back sorted by key (``headers_table.with_entries``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pamqp import decode

from . import headers_table
from .properties import EXPIRATION, expiration, property_spans

_U32 = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class Death:
    """Why and where a message died."""

    queue: str
    reason: str  # rejected | expired | maxlen | delivery_limit
    exchange: str
    routing_keys: tuple[str, ...]
    time: int  # seconds since the epoch


def dead_letter_header(header: bytes, death: Death, drop_cc: bool = False) -> bytes:
    """The content header of ``header``'s message after ``death`` (without its CC header
    when the dead-letter routing key replaces the message's routing keys)."""
    spans = property_spans(header)
    raw_expiration = expiration(header)
    original_expiration = None
    if raw_expiration is not None:
        original_expiration = raw_expiration.decode("utf-8", "replace")
    try:
        table = headers_table.entries(header, spans)
    except (ValueError, IndexError):  # a table only the length of which was checked
        table = {}  # on publish: the death starts a table of its own
    if drop_cc:
        table.pop("CC", None)
    table = _with_death(table, death, original_expiration)
    return headers_table.with_entries(header, spans, table, without=EXPIRATION)


def rewrite_dead_letter(
    header: bytes,
    queue: str,
    reason: str,
    exchange: str,
    keys: tuple[str, ...],
    time: int,
    drop_cc: bool,
) -> bytes:
    """``core.ports.HeaderRewriter``: the header after a death in ``queue``."""
    return dead_letter_header(header, Death(queue, reason, exchange, keys, time), drop_cc)


def _with_death(
    entries: dict[str, bytes], death: Death, expiration: str | None
) -> dict[str, bytes]:
    had_deaths = "x-death" in entries
    deaths = _existing_deaths(entries.get("x-death"))
    # RabbitMQ writes a first x-death entry in its own order, and any entry it adds to or
    # updates in an existing x-death with its keys sorted.
    order = sorted if deaths else list
    for index, existing in enumerate(deaths):
        if existing.get("queue") == death.queue and existing.get("reason") == death.reason:
            del deaths[index]
            count = int(existing.get("count", 0)) + 1
            updated_entry = {**existing, "count": count}
            deaths.insert(0, {k: updated_entry[k] for k in sorted(updated_entry)})
            break
    else:
        entry: dict[str, Any] = {
            "count": 1,
            "reason": death.reason,
            "queue": death.queue,
            "time": death.time,
            "exchange": death.exchange,
            "routing-keys": list(death.routing_keys),
        }
        if expiration is not None:
            entry["original-expiration"] = expiration
        deaths.insert(0, {k: entry[k] for k in order(entry)})
    updated = dict(entries)
    updated["x-death"] = headers_table.entry("x-death", b"A" + _array(_table(d) for d in deaths))
    if had_deaths:
        return updated  # x-first-death-* only on a message's first death
    for suffix, value in (
        ("exchange", death.exchange),
        ("queue", death.queue),
        ("reason", death.reason),
    ):
        key = f"x-first-death-{suffix}"
        if key not in updated:
            updated[key] = headers_table.entry(key, b"S" + _long_string(value))
    return updated


def _existing_deaths(raw: bytes | None) -> list[dict[str, Any]]:
    if raw is None:
        return []
    value_start = 1 + raw[0]
    if raw[value_start : value_start + 1] != b"A":
        return []
    try:
        _, values = decode.field_array(raw[value_start + 1 :])
    except (ValueError, TypeError, IndexError, struct.error, RecursionError):
        return []  # an x-death the publisher made up and pamqp cannot read: a new history
    deaths = []
    for value in values:
        if isinstance(value, dict):
            death = dict(value)
            stamp = death.get("time")
            if isinstance(stamp, datetime):
                death["time"] = int(stamp.timestamp())
            deaths.append(death)
    return deaths


# -- encoding, with the types RabbitMQ uses for x-death -------------------------------------------


def _long_string(value: str) -> bytes:
    raw = value.encode("utf-8", "surrogateescape")
    return _U32.pack(len(raw)) + raw


def _array(values: Iterable[bytes]) -> bytes:
    body = b"".join(values)
    return _U32.pack(len(body)) + body


def _table(death: dict[str, Any]) -> bytes:
    parts = []
    for key, value in death.items():
        if key == "count":
            parts.append(headers_table.entry(key, b"l" + struct.pack(">q", int(value))))
        elif key == "time":
            parts.append(headers_table.entry(key, b"T" + struct.pack(">Q", int(value))))
        elif key == "routing-keys":
            parts.append(
                headers_table.entry(key, b"A" + _array(b"S" + _long_string(str(v)) for v in value))
            )
        else:
            parts.append(headers_table.entry(key, b"S" + _long_string(str(value))))
    body = b"".join(parts)
    return b"F" + _U32.pack(len(body)) + body
