"""Binary layouts of what the store writes: messages, queue-index entries, definitions."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

from pamqp import decode, encode

from amqpbroker.core.message import Message

_U32 = struct.Struct(">I")
_ENQUEUE = struct.Struct(">cQIQI")  # b"E", seq, segment, offset, size
_EXPIRING = struct.Struct(">cQIQIq")  # b"T", the same, expiry (ms since the epoch)
_SEQ = struct.Struct(">cQ")  # b"D" delivered / b"A" removed, seq
ENQUEUE, EXPIRING, DELIVERED, REMOVED, MOVED = b"E", b"T", b"D", b"A", b"M"


# -- messages -------------------------------------------------------------------------------------


def encode_message(message: Message) -> bytes:
    """routing (exchange + routing key short strings) | header length | header | body."""
    return b"".join((message.routing, _U32.pack(len(message.header)), message.header, message.body))


def decode_message(payload: bytes) -> Message:
    exchange_length = payload[0]
    routing_key_length = payload[1 + exchange_length]
    routing_end = 2 + exchange_length + routing_key_length
    exchange = payload[1 : 1 + exchange_length].decode("utf-8", "surrogateescape")
    routing_key = payload[2 + exchange_length : routing_end].decode("utf-8", "surrogateescape")
    (header_length,) = _U32.unpack_from(payload, routing_end)
    header_start = routing_end + 4
    header = payload[header_start : header_start + header_length]
    body = payload[header_start + header_length :]
    return Message(exchange, routing_key, payload[:routing_end], header, body, persistent=True)


# -- queue indexes --------------------------------------------------------------------------------


def encode_enqueue(seq: int, ref: tuple[int, int, int], kind: bytes = ENQUEUE) -> bytes:
    """An enqueue, or (kind MOVED) a message compaction moved to ``ref``."""
    return _ENQUEUE.pack(kind, seq, *ref)


def encode_expiring_enqueue(seq: int, ref: tuple[int, int, int], expiry_ms: int) -> bytes:
    """An enqueue of a message that expires at ``expiry_ms`` (wall clock, ms since the
    epoch: like RabbitMQ's queue index, an absolute time, so it holds across restarts).
    Messages without an expiry keep the original, shorter ENQUEUE record."""
    return _EXPIRING.pack(EXPIRING, seq, *ref, expiry_ms)


def encode_seq_event(kind: bytes, seq: int) -> bytes:
    return _SEQ.pack(kind, seq)


def decode_index_entry(
    payload: bytes,
) -> tuple[bytes, int, tuple[int, int, int] | None, int | None]:
    """(kind, seq, ref or None, expiry in ms since the epoch or None); an expiring enqueue
    comes back as kind ENQUEUE."""
    kind = payload[:1]
    if kind in (ENQUEUE, MOVED):
        _, seq, segment, offset, size = _ENQUEUE.unpack(payload)
        return kind, seq, (segment, offset, size), None
    if kind == EXPIRING:
        _, seq, segment, offset, size, expiry_ms = _EXPIRING.unpack(payload)
        return ENQUEUE, seq, (segment, offset, size), expiry_ms
    _, seq = _SEQ.unpack(payload)
    return kind, seq, None, None


# -- definitions ----------------------------------------------------------------------------------


class StoredTable(dict[str, Any]):
    """Arguments read back from the store, remembering RabbitMQ's type names."""

    types: dict[str, str]


def encode_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    table = base64.b64encode(encode.field_table(dict(arguments))).decode()
    return {"table": table, "types": dict(getattr(arguments, "types", {}))}


def decode_arguments(stored: dict[str, Any]) -> dict[str, Any]:
    _, values = decode.field_table(base64.b64decode(stored["table"]))
    table = StoredTable(values)
    table.types = dict(stored.get("types", {}))
    return table


def encode_definition(op: str, **fields: Any) -> bytes:
    return json.dumps({"op": op, **fields}, separators=(",", ":")).encode()


def decode_definition(payload: bytes) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(payload)
    return value
