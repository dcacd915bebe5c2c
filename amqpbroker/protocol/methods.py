"""Method frames other than the hot ones: decoded and encoded with pamqp.

pamqp's ``marshal()`` validates names by the spec's regex, which RabbitMQ does not enforce
(``exchange='logs!'`` is fine there), so outgoing methods are encoded here field by field
with pamqp's encoders and no validation.
"""

from __future__ import annotations

import struct
import typing
import warnings
from typing import Any

from pamqp import commands, decode, encode
from pamqp.base import Frame as Method

from amqpbroker.errors import FrameError

from .erlang import binary
from .fastcodec import SETTLEMENT
from .fieldtable import TypedTable, encode_table, table_terms, table_types
from .framing import FRAME_METHOD, encode_frame
from .ids import ACK_INDEX, NACK_INDEX, REJECT_INDEX, class_and_method

__all__ = ["Method", "UnknownMethod", "decode_method", "encode_method", "make_method", "method_ids"]

_METHOD_ID = struct.Struct(">I")


def method_ids(method: Method) -> tuple[int, int]:
    """(class_id, method_id) of a pamqp method."""
    return class_and_method(method.index)


class AccessRequest(Method):
    """access.request (class 30), dropped from 0-9-1; RabbitMQ still grants it to old clients."""

    __slots__: typing.ClassVar[list[str]] = [  # noqa: RUF023 (wire order)
        "realm",
        "exclusive",
        "passive",
        "active",
        "write",
        "read",
    ]
    index = 0x001E000A
    name = "Access.Request"
    _realm = "shortstr"
    _exclusive = _passive = _active = _write = _read = "bit"


class AccessRequestOk(Method):
    """The grant: a ticket number that 0-9-1 ignores everywhere."""

    __slots__: typing.ClassVar[list[str]] = ["ticket"]
    index = 0x001E000B
    name = "Access.RequestOk"
    _ticket = "short"

    def __init__(self, ticket: int = 1) -> None:
        self.ticket = ticket


_INDEX = {**commands.INDEX_MAPPING, AccessRequest.index: AccessRequest}


class UnknownMethod(Exception):
    """A method this broker cannot even parse: an unknown class or method id, or a field table
    with an unknown value type (RabbitMQ's reader crashes on these: the socket just drops)."""


def decode_method(payload: bytes) -> Method:
    """A method frame payload (at least 4 octets) as a pamqp method object.

    Arguments that do not decode exactly, with nothing left over, are 501 FRAME_ERROR
    "cannot decode <<...>>", as in RabbitMQ.
    """
    if len(payload) == 13:  # the size of basic.ack, nack and reject: the hot ones
        settlement = _decode_settlement(payload)
        if settlement is not None:
            return settlement
    (index,) = _METHOD_ID.unpack_from(payload)
    cls = _INDEX.get(index)
    if cls is None:
        raise UnknownMethod(f"unknown method {index >> 16}.{index & 0xFFFF}")
    with warnings.catch_warnings():  # pamqp warns on constructing deprecated methods
        warnings.simplefilter("ignore", DeprecationWarning)
        method: Method = cls()
    arguments = payload[4:]
    try:
        table_offset = _unmarshal(method, arguments)
    except UnicodeDecodeError:
        raise FrameError("Malformed UTF-8 in shortstr") from None
    except ValueError as error:
        if str(error).startswith("Unknown type"):  # a field type no table may hold
            raise UnknownMethod(f"unknown field type in {method.name}") from None
        table_offset = -1
    except (struct.error, TypeError, IndexError, KeyError, RecursionError):
        # (RecursionError: tables nested deeper than pamqp's recursion can follow)
        table_offset = -1
    if table_offset == -1:
        raise FrameError(
            f"cannot decode {binary(arguments, as_numbers=True)}",
            class_id=index >> 16,
            method_id=index & 0xFFFF,
        )
    if table_offset is not None:
        with_table: Any = method  # methods that have an ``arguments`` field
        if with_table.arguments:
            types = table_types(arguments, table_offset)
            terms = table_terms(arguments, table_offset, types)
            with_table.arguments = TypedTable(with_table.arguments, types, terms)
    return method


def _decode_settlement(payload: bytes) -> Method | None:
    """basic.ack, nack or reject without the general decoder (None: another method)."""
    index, tag, bits = SETTLEMENT.unpack(payload)
    if index == ACK_INDEX:
        return commands.Basic.Ack(tag, bool(bits & 1))
    if index == NACK_INDEX:
        return commands.Basic.Nack(tag, bool(bits & 1), bool(bits & 2))
    if index == REJECT_INDEX:
        return commands.Basic.Reject(tag, bool(bits & 1))
    return None


def _unmarshal(method: Method, data: bytes) -> int | None:
    """Decode ``data`` into ``method``'s fields.

    Returns the offset of the ``arguments`` table when the method has one, None when not,
    and -1 when octets are left over.
    """
    offset = 0
    bit_index = 0
    bits = 0
    table_offset: int | None = None
    for name in method.__slots__:
        kind = method.amqp_type(name)
        if kind == "bit":
            if bit_index == 0:
                bits = data[offset]  # IndexError when truncated
                offset += 1
            setattr(method, name, bool(bits & (1 << bit_index)))
            bit_index = (bit_index + 1) % 8
            continue
        bit_index = 0
        if name == "arguments":
            table_offset = offset
        consumed, value = decode.by_type(data[offset:], kind)
        setattr(method, name, value)
        offset += consumed
    if offset != len(data):
        return -1
    return table_offset


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
        if kind == "table":
            parts.append(encode_table(value or {}))
        elif kind == "shortstr" and isinstance(value, str):
            # surrogateescape: reply texts may echo a client's octets that are not UTF-8
            raw = value.encode("utf-8", "surrogateescape")[:255]
            parts.append(bytes((len(raw),)) + raw)
        else:
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
