"""Basic's content-header properties, found and read in the header's raw octets.

A content header payload is class id (2 octets), weight (2), body size (8), the property
flags (2, at ``FLAGS_AT``), then the properties the flags announce, in ``PROPERTY_LAYOUT``'s
order.  The broker forwards a client's header as it came and acts on a few properties only,
so it never decodes the header as a whole: everything here works on those octets.

- ``well_formed`` checks a publish's header as RabbitMQ decodes it (every announced property
  is there, nothing after them, a headers table RabbitMQ parses);
- the accessors (``delivery_mode``, ``priority``, ``expiration``, ``reply_to``; ``span`` for
  any property) read one property of a well-formed header;
- ``property_spans`` (flag bit -> (start, end)), ``with_value`` and ``with_values`` serve
  the rewrites, which keep every octet they do not change.

Theory of operation: the flags alone say which properties are present, so a layout per flags
value (``_layout``, kept) lists their kinds, and places those that only fixed-size
properties precede.  A header holding only fixed-size properties (delivery-mode above all)
is checked by its length; any other is walked once, by ``_ends``, the one walk.  The last
walk is kept (``_LAST_WALKED``): ``well_formed`` walks a publish's header and the session's
reads of that header then come from that walk.  As RabbitMQ does, the
continuation bit (bit 0) is ignored: basic has only 14 properties (so is bit 1, unused).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import NamedTuple

from .fieldtable import table_well_formed

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
# The 14 bits above; bit 0 (continuation: more flags follow) and bit 1 are not properties.
_PROPERTY_BITS = 0xFFFC

# A property's kind says how long its value is on the wire: a positive number is a fixed
# size in octets; SHORT_STRING is a length octet + octets, TABLE a 32-bit length + octets.
# (Integers, so the walk tells them apart with one comparison.)
SHORT_STRING = 0
TABLE = -1

PROPERTY_LAYOUT: tuple[tuple[int, int], ...] = (
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

Spans = Mapping[int, tuple[int, int]]  # flag bit -> (start, end) of the property's octets

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class MalformedProperties(ValueError):
    """The header does not hold the properties its flags announce."""


class _Layout(NamedTuple):
    """What the flags alone say about where the properties are."""

    kinds: tuple[int, ...]  # the kind of each property present, in wire order
    places: dict[int, int]  # bit -> its place among them (wire order)
    fixed_size: int  # their total size when every one is of fixed size, else -1
    fixed_spans: dict[int, tuple[int, int]]  # bit -> span, of those no variable size precedes


_LAYOUTS: dict[int, _Layout] = {}  # per flags value (at most 2**14 of them: ~13 MB)
_FIXED_SIZES: dict[int, int] = {}  # flags -> _layout(flags).fixed_size, for the hot path


def _layout(flags: int) -> _Layout:
    layout = _LAYOUTS.get(flags)
    if layout is None:
        layout = _LAYOUTS[flags] = _new_layout(flags)
    return layout


def _new_layout(flags: int) -> _Layout:
    present = [(bit, kind) for bit, kind in PROPERTY_LAYOUT if flags & bit]
    kinds = tuple(kind for _, kind in present)
    places = {bit: place for place, (bit, _) in enumerate(present)}
    fixed_spans: dict[int, tuple[int, int]] = {}
    offset = PROPERTIES_AT
    for bit, kind in present:
        if kind <= 0:
            return _Layout(kinds, places, -1, fixed_spans)
        fixed_spans[bit] = (offset, offset + kind)
        offset += kind
    return _Layout(kinds, places, offset - PROPERTIES_AT, fixed_spans)


def _layout_of(header: bytes) -> _Layout:
    try:
        flags = _U16.unpack_from(header, FLAGS_AT)[0] & _PROPERTY_BITS
    except struct.error:
        raise MalformedProperties from None
    return _LAYOUTS.get(flags) or _layout(flags)


def property_flags(header: bytes) -> int:
    """The flag bits of the properties a content header holds (no continuation bit)."""
    flags: int = _U16.unpack_from(header, FLAGS_AT)[0]
    return flags & _PROPERTY_BITS


# The last header walked, its layout and where its properties end.  (Bytes do not change, and
# holding the header keeps its identity from being reused; the entry is replaced at once, so
# brokers in several threads of one process are safe.)
_LAST_WALKED: list[tuple[bytes, _Layout, list[int]]] = [
    (bytes(PROPERTIES_AT), _layout(0), [])  # (a header no caller has)
]


def _ends(header: bytes, layout: _Layout) -> list[int]:
    """The one walk over the properties: where each one present ends, in wire order."""
    last = _LAST_WALKED[0]
    if last[0] is header:
        return last[2]
    ends: list[int] = []
    offset = PROPERTIES_AT
    try:
        for kind in layout.kinds:
            if kind > 0:
                offset += kind
            elif kind == SHORT_STRING:
                offset += 1 + header[offset]
            else:
                offset += 4 + _U32.unpack_from(header, offset)[0]
            ends.append(offset)
    except (IndexError, struct.error):
        raise MalformedProperties from None
    if offset > len(header):
        raise MalformedProperties
    _LAST_WALKED[0] = (header, layout, ends)
    return ends


def property_spans(header: bytes) -> Spans:
    """Flag bit -> (start, end) of each property present, in wire order.

    ``MalformedProperties`` when the header ends before the properties its flags announce do.
    """
    layout = _layout_of(header)
    ends = _ends(header, layout)
    starts = (PROPERTIES_AT, *ends)
    return {bit: (starts[place], ends[place]) for bit, place in layout.places.items()}


def well_formed(header: bytes) -> bool:
    """True when RabbitMQ 3.10 would decode the properties (it does on publish, and answers
    541 INTERNAL_ERROR when it cannot): every property the flags announce is there, nothing
    follows the last one, and the headers table is one RabbitMQ parses
    (``fieldtable.table_well_formed``).  The header's first 14 octets are there, as a
    content header frame's checks made sure."""
    if not (header[12] or header[13]):  # no flags at all (literal offsets, for speed)
        return len(header) == PROPERTIES_AT
    flags = _U16.unpack_from(header, FLAGS_AT)[0] & _PROPERTY_BITS
    size = _FIXED_SIZES.get(flags)
    if size is None:
        size = _FIXED_SIZES[flags] = _layout(flags).fixed_size
    if size >= 0:  # no walk: delivery-mode, priority, timestamp only (or none at all)
        return PROPERTIES_AT + size == len(header)
    layout = _LAYOUTS[flags]
    try:
        ends = _ends(header, layout)
    except MalformedProperties:
        return False
    if ends[-1] != len(header):
        return False
    place = layout.places.get(HEADERS)
    if place is None:
        return True
    start = ends[place - 1] if place else PROPERTIES_AT
    return table_well_formed(header, start + 4, ends[place])


def plain_delivery_mode(header: bytes) -> int | None:
    """The delivery mode of the two commonest well-formed headers, read at a glance: 0 when
    there are no properties, the mode when it is the only one; None for any other header."""
    # (literals, for speed: octets 12 and 13 are the flags, 0x10 is DELIVERY_MODE >> 8.)
    size = len(header)
    if size == 15 and header[12] == 0x10 and not header[13]:
        return header[14]
    if size == 14 and not (header[12] or header[13]):
        return 0
    return None


def span(header: bytes, bit: int) -> tuple[int, int] | None:
    """(start, end) of the property ``bit``, None when absent."""
    last = _LAST_WALKED[0]
    if last[0] is header:  # the session's case: ``well_formed`` just walked it
        layout, ends = last[1], last[2]
        place = layout.places.get(bit)
        if place is None:
            return None
    else:
        flags = _U16.unpack_from(header, FLAGS_AT)[0] & _PROPERTY_BITS
        layout = _LAYOUTS.get(flags) or _layout(flags)
        place = layout.places.get(bit)
        if place is None:
            return None
        found = layout.fixed_spans.get(bit)
        if found is not None:  # no walk needed
            if found[1] > len(header):
                raise MalformedProperties
            return found
        ends = _ends(header, layout)
    return (ends[place - 1] if place else PROPERTIES_AT), ends[place]


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
