"""The content header of a firehose copy (``amq.rabbitmq.trace``), as RabbitMQ 3.10.8's
``rabbit_trace`` builds it.

The copy has one property, ``headers``, holding in this order: ``exchange_name`` (longstr),
``routing_keys`` (an array of longstr: the routing key, then the CC and BCC keys),
``properties`` (a table of the message's properties present, in the reverse of their wire
order: strings as longstr, delivery-mode, priority and timestamp as signedint, headers as
the table they are), ``node`` (longstr), then what the caller adds: for a publish
``vhost``, ``connection``, ``channel`` (signedint), ``user``, ``routed_queues`` (array);
for a delivery ``redelivered`` (signedint 0 or 1), ``vhost``, ``connection``, ``channel``,
``user``.  The copy is transient (no delivery-mode) and carries the message's body as is.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

from .properties import (
    HEADERS,
    PROPERTY_LAYOUT,
    SHORT_STRING,
    TABLE,
    MalformedProperties,
    property_spans,
)

_NAMES = (
    "content_type",
    "content_encoding",
    "headers",
    "delivery_mode",
    "priority",
    "correlation_id",
    "reply_to",
    "expiration",
    "message_id",
    "timestamp",
    "type",
    "user_id",
    "app_id",
    "cluster_id",
)
# (flag bit, kind, name), last property first: RabbitMQ folds them onto the head of a list.
_REVERSED = tuple(
    (bit, kind, name.encode())
    for (bit, kind), name in reversed(list(zip(PROPERTY_LAYOUT, _NAMES, strict=True)))
)

_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")
_HEADER_START = struct.Struct(">HHQH")  # class id, weight, body size, property flags

Field = tuple[str, object]  # (name, value): str is longstr, int signedint, list an array


def longstr(value: bytes) -> bytes:
    return b"S" + _U32.pack(len(value)) + value


def signedint(value: int) -> bytes:
    """A 32-bit signed value; larger ones keep their low 32 bits, as Erlang's binaries do."""
    value &= 0xFFFFFFFF
    return b"I" + _I32.pack(value - (1 << 32) if value >= 1 << 31 else value)


def array(values: Iterable[str]) -> bytes:
    body = b"".join(longstr(v.encode("utf-8", "surrogateescape")) for v in values)
    return b"A" + _U32.pack(len(body)) + body


def _entry(name: bytes, value: bytes) -> bytes:
    return bytes((len(name),)) + name + value


def properties_table(header: bytes) -> bytes:
    """The ``properties`` field: each property of ``header`` present (none if the header
    does not hold what its flags announce: the copy still goes out)."""
    try:
        spans = property_spans(header)
    except MalformedProperties:
        spans = {}
    parts = []
    for bit, kind, name in _REVERSED:
        found = spans.get(bit)
        if found is None:
            continue
        start, end = found
        if kind == SHORT_STRING:
            value = longstr(header[start + 1 : end])
        elif kind == TABLE:
            value = b"F" + header[start:end]
        else:  # delivery-mode and priority (1 octet), timestamp (8)
            value = signedint(int.from_bytes(header[start:end], "big"))
        parts.append(_entry(name, value))
    body = b"".join(parts)
    return b"F" + _U32.pack(len(body)) + body


def _value(value: object) -> bytes:
    if isinstance(value, str):
        return longstr(value.encode("utf-8", "surrogateescape"))
    if isinstance(value, bool | int):
        return signedint(int(value))
    if isinstance(value, list | tuple):
        return array(value)
    raise TypeError(f"no firehose field type for {value!r}")


def trace_header(
    *,
    exchange: str,
    routing_keys: Sequence[str],
    header: bytes,
    node: str,
    extra: Sequence[Field],
    body_size: int,
) -> bytes:
    """The copy's content header (headers only) for a message of ``header``."""
    fields = [
        _entry(b"exchange_name", _value(exchange)),
        _entry(b"routing_keys", array(routing_keys)),
        _entry(b"properties", properties_table(header)),
        _entry(b"node", _value(node)),
    ]
    fields.extend(_entry(name.encode(), _value(value)) for name, value in extra)
    table = b"".join(fields)
    return _HEADER_START.pack(60, 0, body_size, HEADERS) + _U32.pack(len(table)) + table
