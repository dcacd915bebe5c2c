"""Bytes for the fuzzer, written by hand so that any type tag, length or flag can be set.

Field tables are lists of ``(key, tag, value)`` entries encoded with the tag given (a table
can hold every AMQP field type, and keys or lengths the spec forbids); content headers are
built from a property dict the same way.  ``OutputReader`` splits what the broker sends
back into frames and says what is wrong with them.
"""

from __future__ import annotations

import struct
import warnings
from dataclasses import dataclass
from typing import Any

from pamqp import commands

from amqpbroker.protocol.framing import FRAME_END, FRAME_HEADER_STRUCT, PROTOCOL_HEADER
from amqpbroker.protocol.methods import Method, encode_method, make_method

# A frame before serialisation: (type, channel, payload); raw octets (the protocol header,
# frames a mutator malformed) are kept as bytes.
Frame = tuple[int, int, bytes]
Piece = Frame | bytes

# An entry of a field table: key, type tag (one octet, any value), value.
Entry = tuple[bytes, bytes, Any]

_FIXED = {
    b"b": struct.Struct(">b"),
    b"B": struct.Struct(">B"),
    b"s": struct.Struct(">h"),
    b"u": struct.Struct(">H"),
    b"I": struct.Struct(">i"),
    b"i": struct.Struct(">I"),
    b"l": struct.Struct(">q"),
    b"f": struct.Struct(">f"),
    b"d": struct.Struct(">d"),
    b"T": struct.Struct(">Q"),
}


def shortstr(value: bytes) -> bytes:
    return bytes((len(value) & 0xFF,)) + value[:255]


def longstr(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def field_value(tag: bytes, value: Any) -> bytes:
    """A tagged value; an unknown tag is written with ``value`` (bytes) as its raw octets."""
    fixed = _FIXED.get(tag)
    if fixed is not None:
        return tag + fixed.pack(value)
    if tag == b"t":
        return tag + (b"\x01" if value else b"\x00")
    if tag in (b"S", b"x"):
        return tag + longstr(value)
    if tag == b"D":
        scale, digits = value
        return tag + struct.pack(">Bi", scale, digits)
    if tag == b"F":
        return tag + table(value)
    if tag == b"A":
        return tag + longstr(b"".join(field_value(t, v) for t, v in value))
    if tag == b"V":
        return tag
    return tag + bytes(value)


def table(entries: list[Entry]) -> bytes:
    return longstr(b"".join(shortstr(key) + field_value(tag, value) for key, tag, value in entries))


# Content-header properties in flag order (bit 15 first): name and wire type.
PROPERTIES = (
    ("content_type", "shortstr"),
    ("content_encoding", "shortstr"),
    ("headers", "table"),
    ("delivery_mode", "octet"),
    ("priority", "octet"),
    ("correlation_id", "shortstr"),
    ("reply_to", "shortstr"),
    ("expiration", "shortstr"),
    ("message_id", "shortstr"),
    ("timestamp", "timestamp"),
    ("type", "shortstr"),
    ("user_id", "shortstr"),
    ("app_id", "shortstr"),
    ("cluster_id", "shortstr"),
)


def content_header(body_size: int, properties: dict[str, Any], class_id: int = 60) -> bytes:
    """A content-header frame payload; a headers table is given as ``Entry`` list or raw bytes."""
    flags = 0
    parts = []
    for bit, (name, kind) in zip(range(15, 1, -1), PROPERTIES, strict=True):
        if name not in properties:
            continue
        flags |= 1 << bit
        value = properties[name]
        if kind == "shortstr":
            parts.append(shortstr(value))
        elif kind == "table":
            parts.append(value if isinstance(value, bytes) else table(value))
        elif kind == "octet":
            parts.append(bytes((value & 0xFF,)))
        else:
            parts.append(struct.pack(">Q", value))
    head = struct.pack(">HHQH", class_id, 0, body_size & 0xFFFFFFFFFFFFFFFF, flags)
    return head + b"".join(parts)


def method_payload(method: Method, arguments: list[Entry] | None = None) -> bytes:
    """A method frame's payload; ``arguments`` (its last field) written as a typed table."""
    if arguments is not None:
        setattr(method, "arguments", {})  # noqa: B010 (every method given one has the field)
    payload = encode_method(0, method)[7:-1]
    if arguments is not None:
        payload = payload[:-4] + table(arguments)
    return payload


def method_frame(channel: int, cls: type[Method], **fields: Any) -> Frame:
    """A method frame; ``arguments`` (a list of ``Entry``) written as a typed table."""
    arguments = fields.pop("arguments", None)
    key = (cls, tuple(fields.items())) if arguments is None else None
    try:
        payload = _PAYLOADS.get(key) if key is not None else None
    except TypeError:  # a field value that cannot be a key
        key = payload = None
    if payload is None:
        with warnings.catch_warnings():  # pamqp warns on making deprecated methods
            warnings.simplefilter("ignore", DeprecationWarning)
            method = make_method(cls, **fields)
        payload = method_payload(method, arguments)
        if key is not None and len(_PAYLOADS) < 10_000:
            _PAYLOADS[key] = payload
    return 1, channel, payload


# Sessions repeat the same few methods: their payloads, by class and fields (no arguments).
_PAYLOADS: dict[tuple[type[Method], tuple[tuple[str, Any], ...]], bytes] = {}


def nested_tables(depth: int) -> bytes:
    """A field table holding a table holding a table... ``depth`` deep (built in one join:
    wrapping the octets level by level would copy them ``depth`` times)."""
    sizes = [4]  # the innermost: an empty table
    for _ in range(depth):
        sizes.append(sizes[-1] + 6)  # its length, an empty key, the type tag "F"
    heads = [struct.pack(">I", size - 4) + b"\x00F" for size in reversed(sizes[1:])]
    return b"".join(heads) + b"\x00\x00\x00\x00"


def start_ok_payload(client_properties: list[Entry]) -> bytes:
    method = make_method(
        commands.Connection.StartOk,
        client_properties={},
        mechanism="PLAIN",
        response="\0guest\0guest",
        locale="en_US",
    )
    payload = method_payload(method)
    # client_properties is the first field: swap pamqp's empty table for the typed one
    return payload[:4] + table(client_properties) + payload[8:]


def handshake_frames(
    client_properties: list[Entry] | None = None, channel_max: int = 2047, frame_max: int = 131072
) -> list[Frame]:
    """start-ok (guest, PLAIN), tune-ok and connection.open of vhost "/"."""
    tune_ok = method_frame(
        0, commands.Connection.TuneOk, channel_max=channel_max, frame_max=frame_max, heartbeat=0
    )
    open_ = method_frame(0, commands.Connection.Open, virtual_host="/")
    return [(1, 0, start_ok_payload(client_properties or [])), tune_ok, open_]


def connection_close() -> Frame:
    return method_frame(
        0, commands.Connection.Close, reply_code=200, reply_text="", class_id=0, method_id=0
    )


def frame_bytes(frame_type: int, channel: int, payload: bytes) -> bytes:
    return FRAME_HEADER_STRUCT.pack(frame_type, channel, len(payload)) + payload + b"\xce"


@dataclass(slots=True)
class OutFrame:
    """A frame the broker sent; ``ids`` is (class, method) for method frames, else (0, 0)."""

    frame_type: int
    channel: int
    payload: bytes

    @property
    def ids(self) -> tuple[int, int]:
        if self.frame_type != 1 or len(self.payload) < 4:
            return 0, 0
        class_id, method_id = struct.unpack_from(">HH", self.payload)
        return class_id, method_id

    @property
    def reply_code(self) -> int:
        """The reply code of a connection.close, channel.close or basic.return."""
        return int.from_bytes(self.payload[4:6], "big")

    @property
    def reply_text(self) -> bytes:
        size = self.payload[6] if len(self.payload) > 6 else 0
        return self.payload[7 : 7 + size]


class MalformedOutput(Exception):
    """The broker sent bytes that are not AMQP frames."""


class OutputReader:
    """Splits the broker's output into frames (it may start with the protocol header)."""

    def __init__(self) -> None:
        self._buffer = b""
        self._started = False
        self.sent_protocol_header = False

    def feed(self, data: bytes) -> list[OutFrame]:
        buf = self._buffer + data
        if not self._started and buf:
            self._started = True
            if buf.startswith(b"AMQP"):
                if buf[:8] != PROTOCOL_HEADER:
                    raise MalformedOutput(f"a protocol header {buf[:8]!r}")
                self.sent_protocol_header = True
                buf = buf[8:]
        frames = []
        offset = 0
        while len(buf) - offset >= 8:
            frame_type, channel, size = FRAME_HEADER_STRUCT.unpack_from(buf, offset)
            end = offset + 7 + size
            if end >= len(buf):
                break
            if buf[end] != FRAME_END:
                raise MalformedOutput(f"frame end {buf[end]} after a type {frame_type} frame")
            frames.append(OutFrame(frame_type, channel, buf[offset + 7 : end]))
            offset = end + 1
        self._buffer = buf[offset:]
        return frames

    @property
    def leftover(self) -> int:
        """Octets of an incomplete frame (the broker writes whole frames: should be 0)."""
        return len(self._buffer)


def serialise(pieces: list[Piece]) -> bytes:
    return b"".join(p if isinstance(p, bytes) else frame_bytes(*p) for p in pieces)
