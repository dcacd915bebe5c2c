"""Rewriting a content header for dead-lettering, touching only what RabbitMQ changes.

The message keeps every property and header byte for byte, except: the ``expiration``
property goes (its value is remembered in the x-death entry), and the ``headers`` table gets
``x-death`` (most recent death first, one entry per queue and reason, with a count) and the
``x-first-death-*`` headers when they are not there yet; like RabbitMQ, the changed table is
written back sorted by key.  The table helpers (``table_entries``, ``table_entry``,
``with_sorted_table``) serve the other rewrite of a headers table, x-delivery-count.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pamqp import decode

from .fastcodec import PROPERTY_LAYOUT
from .fieldtable import value_end

HEADERS_FLAG = 0x2000
_EXPIRATION_FLAG = 0x0100
_U32 = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class Death:
    """Why and where a message died."""

    queue: str
    reason: str  # rejected | expired | maxlen | delivery_limit
    exchange: str
    routing_keys: tuple[str, ...]
    time: int  # seconds since the epoch


def property_spans(header: bytes) -> dict[int, tuple[int, int]]:
    """Flag bit -> (start, end) of each property present in a content header."""
    flags = _U32.unpack_from(b"\0\0" + header[12:14])[0] & 0xFFFE
    spans: dict[int, tuple[int, int]] = {}
    offset = 14
    for bit, kind in PROPERTY_LAYOUT:
        if not flags & bit:
            continue
        start = offset
        if kind == "s":
            offset += 1 + header[offset]
        elif kind == "t":
            offset += 4 + _U32.unpack_from(header, offset)[0]
        else:
            offset += int(kind)
        spans[bit] = (start, offset)
    return spans


def dead_letter_header(header: bytes, death: Death, drop_cc: bool = False) -> bytes:
    """The content header of ``header``'s message after ``death`` (without its CC header
    when the dead-letter routing key replaces the message's routing keys)."""
    spans = property_spans(header)
    expiration = None
    if _EXPIRATION_FLAG in spans:
        start, end = spans[_EXPIRATION_FLAG]
        expiration = header[start + 1 : end].decode("utf-8", "replace")
    try:
        entries = table_entries(header, spans.get(HEADERS_FLAG))
    except (ValueError, IndexError):  # a table only the length of which was checked
        entries = {}  # on publish: the death starts a table of its own
    if drop_cc:
        entries.pop("CC", None)
    entries = _with_death(entries, death, expiration)
    return with_sorted_table(header, spans, entries, without=_EXPIRATION_FLAG)


def with_sorted_table(
    header: bytes, spans: dict[int, tuple[int, int]], entries: dict[str, bytes], without: int = 0
) -> bytes:
    """The content header with ``entries`` as its headers table, sorted by key as RabbitMQ
    writes a table it changed (and without the property whose flag bit is ``without``)."""
    table = b"".join(entries[key] for key in sorted(entries, key=lambda k: k.encode()))
    new_spans: list[bytes] = []
    flags = 0
    for bit, _ in PROPERTY_LAYOUT:
        if bit == HEADERS_FLAG:
            new_spans.append(_U32.pack(len(table)) + table)
            flags |= bit
        elif bit in spans and bit != without:
            start, end = spans[bit]
            new_spans.append(header[start:end])
            flags |= bit
    return header[:12] + struct.pack(">H", flags) + b"".join(new_spans)


def without_header(header: bytes, key: str) -> bytes:
    """The content header minus one entry of its headers table (BCC before delivery)."""
    spans = property_spans(header)
    span = spans.get(HEADERS_FLAG)
    if span is None:
        return header
    entries = table_entries(header, span)
    if entries.pop(key, None) is None:
        return header
    table = b"".join(entries.values())
    return header[: span[0]] + _U32.pack(len(table)) + table + header[span[1] :]


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


def table_entries(header: bytes, span: tuple[int, int] | None) -> dict[str, bytes]:
    """Key -> the entry's raw bytes (key, type and value), in table order."""
    entries: dict[str, bytes] = {}
    if span is None:
        return entries
    table = header[span[0] + 4 : span[1]]
    offset = 0
    while offset < len(table):
        key_length = table[offset]
        key = table[offset + 1 : offset + 1 + key_length].decode("utf-8", "replace")
        value_start = offset + 1 + key_length
        value_stop = value_end(table, value_start)
        entries[key] = table[offset:value_stop]
        offset = value_stop
    return entries


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
    updated["x-death"] = table_entry("x-death", b"A" + _array(_table(d) for d in deaths))
    if had_deaths:
        return updated  # x-first-death-* only on a message's first death
    for suffix, value in (
        ("exchange", death.exchange),
        ("queue", death.queue),
        ("reason", death.reason),
    ):
        key = f"x-first-death-{suffix}"
        if key not in updated:
            updated[key] = table_entry(key, b"S" + _long_string(value))
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


def table_entry(key: str, typed_value: bytes) -> bytes:
    raw_key = key.encode()
    return bytes((len(raw_key),)) + raw_key + typed_value


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
            parts.append(table_entry(key, b"l" + struct.pack(">q", int(value))))
        elif key == "time":
            parts.append(table_entry(key, b"T" + struct.pack(">Q", int(value))))
        elif key == "routing-keys":
            parts.append(
                table_entry(key, b"A" + _array(b"S" + _long_string(str(v)) for v in value))
            )
        else:
            parts.append(table_entry(key, b"S" + _long_string(str(value))))
    body = b"".join(parts)
    return b"F" + _U32.pack(len(body)) + body
