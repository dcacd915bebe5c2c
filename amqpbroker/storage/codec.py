"""Binary layouts of what the store writes: messages, queue-index entries, definitions."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any
from zlib import crc32

from pamqp import decode, encode

from amqpbroker.core.message import Message
from amqpbroker.core.ports import StoreRef

from .records import HEAD, MAGIC, length_crc

_U32 = struct.Struct(">I")
_ENQUEUE = struct.Struct(">cQIQI")  # b"E", seq, segment, offset, size
_EXPIRING = struct.Struct(">cQIQIq")  # b"T", the same, expiry (ms since the epoch)
_SEQ = struct.Struct(">cQ")  # b"D" delivered / b"A" removed, seq
_RUN = struct.Struct(">cQQ")  # b"d" delivered / b"a" removed, first seq, last seq
ENQUEUE, EXPIRING, DELIVERED, REMOVED, MOVED = b"E", b"T", b"D", b"A", b"M"
DELIVERED_RUN, REMOVED_RUN = b"d", b"a"
_RUN_KIND = {DELIVERED: DELIVERED_RUN, REMOVED: REMOVED_RUN}
_EVENT_KIND = {DELIVERED_RUN: DELIVERED, REMOVED_RUN: REMOVED}


# -- messages -------------------------------------------------------------------------------------


def encode_message(message: Message) -> bytes:
    """routing (exchange + routing key short strings) | header length | header | body."""
    return b"".join((message.routing, _U32.pack(len(message.header)), message.header, message.body))


def message_record(message: Message) -> tuple[bytes, bytes]:
    """``encode_record(encode_message(message))`` in one pass, as (head, body): the body
    is not copied here (the writer joins what it appends)."""
    header = message.header
    prefix = message.routing + _U32.pack(len(header)) + header
    body = message.body
    length = len(prefix) + len(body)
    crc = crc32(body, crc32(prefix, crc32(_U32.pack(length))))
    return HEAD.pack(MAGIC, length, crc) + prefix, body


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


def encode_enqueue(seq: int, ref: StoreRef, kind: bytes = ENQUEUE) -> bytes:
    """An enqueue, or (kind MOVED) a message compaction moved to ``ref``."""
    return _ENQUEUE.pack(kind, seq, *ref)


def encode_expiring_enqueue(seq: int, ref: StoreRef, expiry_ms: int) -> bytes:
    """An enqueue of a message that expires at ``expiry_ms`` (wall clock, ms since the
    epoch: like RabbitMQ's queue index, an absolute time, so it holds across restarts).
    Messages without an expiry keep the original, shorter ENQUEUE record."""
    return _EXPIRING.pack(EXPIRING, seq, *ref, expiry_ms)


def encode_seq_event(kind: bytes, seq: int) -> bytes:
    return _SEQ.pack(kind, seq)


# Whole records of the fixed-size entries, for the hot path (the CRC of their length
# field is a constant).
_ENQUEUE_CRC = length_crc(_ENQUEUE.size)
_SEQ_CRC = length_crc(_SEQ.size)
_RUN_CRC = length_crc(_RUN.size)


def enqueue_record(seq: int, ref: StoreRef) -> bytes:
    """``encode_record(encode_enqueue(seq, ref))``."""
    segment, offset, size = ref
    payload = _ENQUEUE.pack(ENQUEUE, seq, segment, offset, size)
    return HEAD.pack(MAGIC, _ENQUEUE.size, crc32(payload, _ENQUEUE_CRC)) + payload


def seq_event_record(kind: bytes, seq: int) -> bytes:
    """``encode_record(encode_seq_event(kind, seq))``."""
    payload = _SEQ.pack(kind, seq)
    return HEAD.pack(MAGIC, _SEQ.size, crc32(payload, _SEQ_CRC)) + payload


def seq_run_record(kind: bytes, first: int, last: int) -> bytes:
    """The DELIVERED or REMOVED event of every seq from ``first`` to ``last``, as one
    record (a single seq gets the short ``seq_event_record``)."""
    if first == last:
        return seq_event_record(kind, first)
    payload = _RUN.pack(_RUN_KIND[kind], first, last)
    return HEAD.pack(MAGIC, _RUN.size, crc32(payload, _RUN_CRC)) + payload


def decode_run(payload: bytes) -> tuple[bytes, range] | None:
    """(DELIVERED or REMOVED, the seqs) when ``payload`` is an event for each seq of a
    run (``seq_run_record``), as if each had its own entry; None for any other entry."""
    kind = _EVENT_KIND.get(payload[:1])
    if kind is None:
        return None
    _, first, last = _RUN.unpack(payload)
    return kind, range(first, last + 1)


def decode_index_entry(
    payload: bytes,
) -> tuple[bytes, int, StoreRef | None, int | None]:
    """(kind, seq, ref or None, expiry in ms since the epoch or None); an expiring enqueue
    comes back as kind ENQUEUE.  (Runs: ``decode_run``.)"""
    kind = payload[:1]
    if kind in (ENQUEUE, MOVED):
        _, seq, segment, offset, size = _ENQUEUE.unpack(payload)
        return kind, seq, StoreRef(segment, offset, size), None
    if kind == EXPIRING:
        _, seq, segment, offset, size, expiry_ms = _EXPIRING.unpack(payload)
        return ENQUEUE, seq, StoreRef(segment, offset, size), expiry_ms
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
