"""Method frames other than the hot ones: decoded and encoded with pamqp.

pamqp's ``marshal()`` validates names by the spec's regex, which RabbitMQ does not enforce
(``exchange='logs!'`` is fine there), so outgoing methods are encoded here field by field
with pamqp's encoders and no validation.
"""

from __future__ import annotations

import struct
from typing import Any

from pamqp import commands, encode
from pamqp.base import Frame as Method
from pamqp.exceptions import UnmarshalingException

from amqpbroker.errors import CommandInvalid, SyntaxError_

from .framing import FRAME_METHOD, encode_frame

__all__ = ["Method", "decode_method", "encode_method", "make_method", "method_ids"]

_METHOD_ID = struct.Struct(">I")
_INDEX = commands.INDEX_MAPPING


def method_ids(method: Method) -> tuple[int, int]:
    """(class_id, method_id) of a pamqp method."""
    return method.index >> 16, method.index & 0xFFFF


def decode_method(payload: bytes) -> Method:
    """A method frame payload as a pamqp method object.

    Unknown class or method ids are 503 COMMAND_INVALID and undecodable arguments 502
    SYNTAX_ERROR, as in RabbitMQ.
    """
    if len(payload) < 4:
        raise SyntaxError_("method frame too short")
    (index,) = _METHOD_ID.unpack_from(payload)
    cls = _INDEX.get(index)
    if cls is None:
        raise CommandInvalid(f"unknown method {index >> 16}.{index & 0xFFFF}")
    method: Method = cls()
    try:
        method.unmarshal(payload[4:])
    except (UnmarshalingException, struct.error, ValueError, TypeError, IndexError) as exc:
        class_id, method_id = index >> 16, index & 0xFFFF
        raise SyntaxError_(
            f"cannot decode {method.name}: {exc}", class_id=class_id, method_id=method_id
        ) from None
    return method


def _encode_arguments(method: Method) -> bytes:
    parts: list[bytes] = []
    bits = 0
    bit_count = 0
    for name in method.__slots__:
        kind = method.amqp_type(name)
        value: Any = getattr(method, name)
        if kind == "bit":
            if value:
                bits |= 1 << bit_count
            bit_count += 1
            if bit_count == 8:
                parts.append(bytes((bits,)))
                bits = bit_count = 0
            continue
        if bit_count:
            parts.append(bytes((bits,)))
            bits = bit_count = 0
        parts.append(encode.by_type(value, kind))
    if bit_count:
        parts.append(bytes((bits,)))
    return b"".join(parts)


def encode_method(channel: int, method: Method) -> bytes:
    """A complete method frame for ``method`` on ``channel``."""
    payload = _METHOD_ID.pack(method.index) + _encode_arguments(method)
    return encode_frame(FRAME_METHOD, channel, payload)


def make_method(cls: type[Method], **fields: Any) -> Method:
    """``cls(**fields)`` without pamqp's name validation (RabbitMQ accepts any name)."""
    method = cls()
    for name, value in fields.items():
        setattr(method, name, value)
    return method
