"""Basic's content-header properties, found and read in the header's raw octets.

A content header payload is class id (2 octets), weight (2), body size (8), the property
flags (2, at ``FLAGS_AT``), then the properties the flags announce, in ``PROPERTY_LAYOUT``'s
order.  The broker forwards a client's header as it came and acts on a few properties only,
so it never decodes the header as a whole: everything here works on those octets.

- ``property_spans`` is the one walk over the properties: flag bit -> (start, end);
- ``well_formed`` checks a header as it arrives (every announced property is there);
- the accessors (``delivery_mode``, ``priority``, ``expiration``, ``reply_to``) read one
  property of a well-formed header; ``with_value`` and ``with_values`` edit properties and
  keep every other octet.

Most headers hold only fixed-size properties (delivery-mode above all), or the property
wanted comes before any of variable size; a layout kept per flags value (``_layout``) sizes
and places those without a walk.  As RabbitMQ does, the continuation bit (bit 0) is ignored:
basic has only 14 properties.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

FLAGS_AT = 12  # offset of the property flags in a content header payload
PROPERTIES_AT = 14  # offset of the first property

# Property flag bits, as the 16-bit flags field carries them.
CONTENT_TYPE = 0x8000
CONTENT_ENCODING = 0x4000
HEADERS = 0x2000
DELIVERY_MODE = 0x1000
PRIORITY = 0x0800
CORRELATION_ID = 0x0400
REPLY_TO = 0x0200
EXPIRATION = 0x0100
MESSAGE_ID = 0x0080
TIMESTAMP = 0x0040
TYPE = 0x0020
USER_ID = 0x0010
APP_ID = 0x0008
CLUSTER_ID = 0x0004
_CONTINUATION = 0x0001

# What a property's value is on the wire: a short string (length octet + octets), a table
# (32-bit length + octets) or a fixed number of octets.
SHORT_STRING = "shortstr"
TABLE = "table"
Kind = str | int

PROPERTY_LAYOUT: tuple[tuple[int, Kind], ...] = (
    (CONTENT_TYPE, SHORT_STRING),
    (CONTENT_ENCODING, SHORT_STRING),
    (HEADERS, TABLE),
    (DELIVERY_MODE, 1),
    (PRIORITY, 1),
    (CORRELATION_ID, SHORT_STRING),
    (REPLY_TO, SHORT_STRING),
    (EXPIRATION, SHORT_STRING),
    (MESSAGE_ID, SHORT_STRING),
    (TIMESTAMP, 8),
    (TYPE, SHORT_STRING),
    (USER_ID, SHORT_STRING),
    (APP_ID, SHORT_STRING),
    (CLUSTER_ID, SHORT_STRING),
)
_KINDS = dict(PROPERTY_LAYOUT)

Spans = dict[int, tuple[int, int]]  # flag bit -> (start, end) of the property's octets

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class MalformedProperties(ValueError):
    """The header does not hold the properties its flags announce."""


class _Layout(NamedTuple):
    """Where the properties of one flags value are, as far as it is known without octets."""

    present: tuple[tuple[int, Kind], ...]  # (bit, kind) of each property present, wire order
    fixed_size: int  # their total size when every one is of fixed size, else -1
    fixed_starts: dict[int, int]  # bit -> start, for those only fixed-size ones precede


_LAYOUTS: dict[int, _Layout] = {}  # per flags value (at most 2**15 of them)
_FIXED_SIZES: dict[int, int] = {}  # flags -> _layout(flags).fixed_size, for the hot path


def _layout(flags: int) -> _Layout:
    layout = _LAYOUTS.get(flags)
    if layout is None:
        layout = _LAYOUTS[flags] = _new_layout(flags)
    return layout


def _new_layout(flags: int) -> _Layout:
    present = tuple((bit, kind) for bit, kind in PROPERTY_LAYOUT if flags & bit)
    fixed_starts: dict[int, int] = {}
    offset = PROPERTIES_AT
    for bit, kind in present:
        fixed_starts[bit] = offset
        if not isinstance(kind, int):
            break
        offset += kind
    else:
        return _Layout(present, offset - PROPERTIES_AT, fixed_starts)
    return _Layout(present, -1, fixed_starts)


def property_flags(header: bytes) -> int:
    """The property flags of a content header, without the continuation bit."""
    return int(_U16.unpack_from(header, FLAGS_AT)[0]) & ~_CONTINUATION


def _skip(header: bytes, offset: int, kind: Kind) -> int:
    """Where the property of ``kind`` that starts at ``offset`` ends."""
    if kind == SHORT_STRING:
        return offset + 1 + header[offset]
    if kind == TABLE:
        return offset + 4 + int(_U32.unpack_from(header, offset)[0])
    return offset + int(kind)


def property_spans(header: bytes) -> Spans:
    """Flag bit -> (start, end) of each property present, in wire order.

    ``MalformedProperties`` when the header ends before the properties its flags announce do.
    """
    spans: Spans = {}
    offset = PROPERTIES_AT
    try:
        for bit, kind in _layout(property_flags(header)).present:
            start, offset = offset, _skip(header, offset, kind)
            spans[bit] = (start, offset)
    except (IndexError, struct.error):
        raise MalformedProperties from None
    if offset > len(header):
        raise MalformedProperties
    return spans


def well_formed(header: bytes) -> bool:
    """True when every property the flags announce is there (the header's first 14 octets
    are, as a content header frame's checks made sure)."""
    flags = _U16.unpack_from(header, FLAGS_AT)[0] & ~_CONTINUATION
    if not flags:
        return True
    size = _FIXED_SIZES.get(flags)
    if size is None:
        size = _FIXED_SIZES[flags] = _layout(flags).fixed_size
    if size >= 0:  # the usual case: no walk
        return PROPERTIES_AT + size <= len(header)
    try:
        property_spans(header)
    except MalformedProperties:
        return False
    return True


def plain_delivery_mode(header: bytes) -> int | None:
    """The delivery mode of the two commonest headers, read at a glance: 0 when there are no
    properties, the mode when it is the only one; None for any other header."""
    # (literals, for speed: octets 12 and 13 are the flags, 0x10 is DELIVERY_MODE >> 8.)
    if len(header) == 15 and header[12] == 0x10 and not header[13]:
        return header[14]
    if header[12] or header[13]:
        return None
    return 0


def span(header: bytes, bit: int) -> tuple[int, int] | None:
    """(start, end) of the property ``bit``, None when absent; placed without a walk when
    only fixed-size properties come before it."""
    flags = property_flags(header)
    if not flags & bit:
        return None
    start = _layout(flags).fixed_starts.get(bit)
    if start is None:
        return property_spans(header)[bit]
    try:
        end = _skip(header, start, _KINDS[bit])
    except (IndexError, struct.error):
        raise MalformedProperties from None
    if end > len(header):
        raise MalformedProperties
    return start, end


# -- accessors: one property of a well-formed header (MalformedProperties on another) ------------


def delivery_mode(header: bytes) -> int:
    """The delivery-mode property (0 when absent)."""
    found = span(header, DELIVERY_MODE)
    return 0 if found is None else header[found[0]]


def priority(header: bytes) -> int | None:
    """The priority property."""
    found = span(header, PRIORITY)
    return None if found is None else header[found[0]]


def _short_string(header: bytes, bit: int) -> bytes | None:
    found = span(header, bit)
    return None if found is None else header[found[0] + 1 : found[1]]


def expiration(header: bytes) -> bytes | None:
    """The expiration property's octets (a decimal number of milliseconds, if valid)."""
    return _short_string(header, EXPIRATION)


def reply_to(header: bytes) -> bytes | None:
    """The reply-to property's octets."""
    return _short_string(header, REPLY_TO)


# -- editing: every property not named keeps its octets ------------------------------------------


def with_value(header: bytes, bit: int, value: bytes, spans: Spans | None = None) -> bytes:
    """``header`` with the present property ``bit`` holding ``value`` (its wire octets)."""
    start, end = (property_spans(header) if spans is None else spans)[bit]
    return header[:start] + value + header[end:]


def with_values(header: bytes, spans: Spans, values: dict[int, bytes], without: int = 0) -> bytes:
    """``header`` with ``values`` (flag bit -> wire octets) set, added where absent, and the
    property ``without`` left out; the flags are written afresh (no continuation bit)."""
    parts: list[bytes] = []
    flags = 0
    for bit, _ in PROPERTY_LAYOUT:
        value = values.get(bit)
        if value is None and bit in spans and bit != without:
            start, end = spans[bit]
            value = header[start:end]
        if value is not None:
            parts.append(value)
            flags |= bit
    return header[:FLAGS_AT] + _U16.pack(flags) + b"".join(parts)
