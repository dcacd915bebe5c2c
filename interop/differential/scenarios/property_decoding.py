"""Content-header properties RabbitMQ 3.10 cannot decode, and odd ones it can.

RabbitMQ decodes a publish's properties after its exchange and permission checks and, when
they do not decode, closes the connection with a bare ``541 INTERNAL_ERROR`` naming no method
(class 0, method 0), whatever the exchange, the default one included.  It cannot decode: an
announced property missing or cut short, octets after the last property, and a headers table
(nested tables and arrays alike) with an unknown field type, a key or value running past its
table, or a float or double that is a NaN or an infinity.  Probed on 3.10.8, the types it
parses are exactly ``t b B s u I i l L f d D T S x F A V``; keys and strings need not be
UTF-8, and tables may nest deep.
"""

from __future__ import annotations

import struct
import time
from typing import Any

from ..registry import scenario
from ..runner import Run
from ..wire import M, Wire, frame, shortstr
from .common import DEADLINE, passive
from .malformed import _outcome

HEADERS, DELIVERY_MODE, TIMESTAMP = 0x2000, 0x1000, 0x0040
CONTENT_TYPE, MESSAGE_ID, CONTINUATION = 0x8000, 0x0080, 0x0001


def _table(contents: bytes) -> bytes:
    return struct.pack(">I", len(contents)) + contents


def _nested(kind: bytes, contents: bytes, declared: int | None = None) -> bytes:
    """A table (F) or array (A) value: its length (``declared``, else the real one) first."""
    size = len(contents) if declared is None else declared
    return kind + struct.pack(">I", size) + contents


INT_ONE = b"I\x00\x00\x00\x01"

# name -> (why, property flags, the properties' octets)
REFUSED: dict[str, tuple[str, int, bytes]] = {
    "unknown_field_type": ("a value of type 'Z'", HEADERS, _table(b"\x01aZ")),
    "nul_field_type": ("a value of type 0 (pamqp reads it)", HEADERS, _table(b"\x01a\x00")),
    "table_overruns_header": (
        "a table length beyond the header",
        HEADERS,
        struct.pack(">I", 100) + b"\x01a" + INT_ONE,
    ),
    "string_overruns_table": (
        "a longstr longer than its table",
        HEADERS,
        _table(b"\x01aS\x00\x00\x00\x64abc"),
    ),
    "int_cut_short": ("a signedint of two octets", HEADERS, _table(b"\x01aI\x00\x00")),
    "key_overruns_table": ("a key longer than its table", HEADERS, _table(b"\x09ab")),
    "key_without_value": ("a key and nothing after it", HEADERS, _table(b"\x01a")),
    "nested_table_cut_short": (
        "a nested table whose last value is cut",
        HEADERS,
        _table(b"\x01a" + _nested(b"F", b"\x01b" + INT_ONE[:3])),
    ),
    "nested_table_overruns": (
        "a nested table longer than the table holding it",
        HEADERS,
        _table(b"\x01a" + _nested(b"F", b"\x01b" + INT_ONE, declared=50)),
    ),
    "nested_unknown_type": (
        "a nested table holding a 'Z'",
        HEADERS,
        _table(b"\x01a" + _nested(b"F", b"\x01bZ")),
    ),
    "array_cut_short": (
        "an array whose int is cut",
        HEADERS,
        _table(b"\x01a" + _nested(b"A", INT_ONE[:3])),
    ),
    "array_overruns": (
        "an array longer than its table",
        HEADERS,
        _table(b"\x01a" + _nested(b"A", INT_ONE, declared=40)),
    ),
    "array_unknown_type": (
        "an array holding a 'Z'",
        HEADERS,
        _table(b"\x01a" + _nested(b"A", b"Z")),
    ),
    "double_nan": ("a double NaN", HEADERS, _table(b"\x01ad" + struct.pack(">d", float("nan")))),
    "double_infinity": (
        "a double infinity",
        HEADERS,
        _table(b"\x01ad" + struct.pack(">d", float("-inf"))),
    ),
    "float_nan_in_array": (
        "a float NaN in an array in a table",
        HEADERS,
        _table(b"\x01a" + _nested(b"F", b"\x01b" + _nested(b"A", b"f\x7f\xc0\x00\x00"))),
    ),
    "octets_after_headers": ("4 octets after the table", HEADERS, _table(b"") + b"junk"),
    "octets_after_delivery_mode": ("octets after delivery-mode", DELIVERY_MODE, b"\x02junk"),
    "octets_after_no_properties": ("octets after no properties at all", 0, b"junk"),
    "continuation_flags_word": (
        "the continuation bit and a second flags word",
        CONTINUATION,
        b"\x00\x00",
    ),
    "short_string_overruns": ("content-type longer than the header", CONTENT_TYPE, b"\x09ab"),
    "message_id_overruns": ("message-id longer than the header", MESSAGE_ID, b"\x09ab"),
    "timestamp_cut_short": ("a timestamp of 3 octets", TIMESTAMP, b"\x00\x00\x00"),
    "headers_then_missing_delivery_mode": (
        "delivery-mode announced after the table, missing",
        HEADERS | DELIVERY_MODE,
        _table(b""),
    ),
}


def _send(
    w: Wire, exchange: str, key: str, flags: int, props: bytes, body: bytes = b"x", **publish: Any
) -> None:
    method = M.basic_publish(exchange, key, **publish)
    header = M.content_header(len(body), flags=flags, props=props)
    data = frame(1, 1, method) + frame(2, 1, header)
    w.send(data + frame(3, 1, body) if body else data)


def _refused_scenario(name: str, why: str, flags: int, props: bytes) -> None:
    def observe(run: Run) -> Any:
        w = run.raw()
        q = run.queue()
        w.ok(1, M.queue_declare(q), "Queue.DeclareOk")
        _send(w, "", q, flags, props)
        outcome = _outcome(w)
        return {"outcome": outcome, "queue": passive(run.raw(), q)}

    observe.__doc__ = f"Published to a queue by the default exchange, {why}: 541"
    scenario(name)(observe)


for _name, (_why, _flags, _props) in REFUSED.items():
    _refused_scenario(_name, _why, _flags, _props)


@scenario()
def refused_by_every_exchange_type(run: Run) -> Any:
    """A 'Z' in the headers, published to amq.direct, amq.fanout, amq.topic, amq.headers
    (where it used to be dropped silently): 541 each time."""
    out = []
    for exchange in ("amq.direct", "amq.fanout", "amq.topic", "amq.headers"):
        w = run.raw()
        _send(w, exchange, "k", *REFUSED["unknown_field_type"][1:])
        out.append(_outcome(w))
    return out


@scenario()
def exchange_checks_come_first(run: Run) -> Any:
    """Undecodable properties to a missing exchange: 404; to an internal one: 403; with
    immediate: 540 (each checked before the properties are decoded)."""
    flags, props = REFUSED["table_overruns_header"][1:]
    internal = run.exchange()
    w = run.raw()
    w.ok(1, M.exchange_declare(internal, "fanout", internal=True), "Exchange.DeclareOk")
    out = []
    for exchange, immediate in ((run.exchange(), False), (internal, False), ("", True)):
        _send(w, exchange, "k", flags, props, immediate=immediate)
        out.append(_outcome(w))
        if out[-1].get("method") == "Channel.Close":
            w.open(1)
        else:
            w = run.raw()
    return out


@scenario()
def refused_in_a_transaction(run: Run) -> Any:
    """In a transaction the properties are decoded on publish, not at commit: 541 at once."""
    w = run.raw()
    w.ok(1, M.tx_select(), "Tx.SelectOk")
    _send(w, "amq.direct", "k", *REFUSED["double_nan"][1:])
    return _outcome(w)


def _deep(levels: int) -> bytes:
    table = b"\x01z" + INT_ONE
    for _ in range(levels):
        table = b"\x01n" + _nested(b"F", table)
    return table


# Entries RabbitMQ decodes although odd; the first is what a binding below matches.
ODD_ENTRIES = [
    b"\x01x" + b"S" + struct.pack(">I", 1) + b"1",
    b"\x01L" + b"L" + struct.pack(">Q", 2**64 - 1),
    b"\x01u" + b"u" + struct.pack(">H", 65535),
    b"\x01D" + b"D" + struct.pack(">BI", 255, 2**32 - 1),
    b"\x00" + b"t\x07",  # an empty key; a bool octet of 7
    b"\x01s" + b"S" + struct.pack(">I", 2) + b"\xff\xfe",  # a string that is not UTF-8
    b"\x01d" + b"d" + struct.pack(">d", 5e-324),  # a subnormal double
    b"\x01f" + b"f" + struct.pack(">f", -0.0),
    b"\x01e" + _nested(b"F", b"") + b"\x01a" + _nested(b"A", b""),  # empty table and array
    _deep(100),
]
# ... and some that amqpbroker keeps but cannot yet route a headers exchange by (pamqp
# does not decode them)
ODD_UNROUTABLE = [
    b"\x01T" + b"T" + struct.pack(">Q", 2**64 - 1),  # beyond any calendar
    b"\x02\xff\xfe" + INT_ONE,  # a key that is not UTF-8
    b"\x01x" + INT_ONE,  # the same key twice
]


def _odd_roundtrip(run: Run, exchange: str, entries: list[bytes]) -> Any:
    w = run.raw()
    w.raw_headers = True
    q = run.queue()
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    if exchange:
        bind = M.queue_bind(q, exchange, args={"x-match": "all", "x": "1"})
        w.ok(1, bind, "Queue.BindOk")
    props = _table(b"".join(entries)) + b"\x01"  # and delivery-mode 1
    _send(w, exchange, q, HEADERS | DELIVERY_MODE, props, body=b"")
    got = w.call(1, M.basic_get(q, no_ack=True))
    return {"get": got.get("method"), "octets": got.get("header_octets"), "then": w.probe(1)}


@scenario()
def odd_headers_are_decoded_and_kept(run: Run) -> Any:
    """A headers table RabbitMQ decodes although odd (types L and u, an extreme decimal and
    timestamp, an empty key, keys and strings that are not UTF-8, a subnormal double, a
    repeated key, tables 100 deep): kept octet for octet."""
    return _odd_roundtrip(run, "", ODD_ENTRIES + ODD_UNROUTABLE)


@scenario()
def odd_headers_route_by_their_good_keys(run: Run) -> Any:
    """amq.headers routes such a table by its good key (x = "1")."""
    return _odd_roundtrip(run, "amq.headers", ODD_ENTRIES)


@scenario()
def continuation_bit_alone_is_ignored(run: Run) -> Any:
    """The continuation bit with nothing after the flags: decoded (no properties)."""
    w = run.raw()
    q = run.queue()
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    _send(w, "", q, CONTINUATION, b"")
    # RabbitMQ's count can lag the unconfirmed publish: poll it (deadline) for the message.
    deadline = time.monotonic() + DEADLINE
    counted = passive(w, q)
    while counted != [1, 0] and time.monotonic() < deadline:
        counted = passive(w, q)
    return [w.probe(1), counted]


@scenario()
def short_strings_need_not_be_utf8(run: Run) -> Any:
    """content-type and message-id octets that are not UTF-8: decoded, kept."""
    w = run.raw()
    w.raw_headers = True
    q = run.queue()
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    _send(w, "", q, CONTENT_TYPE | MESSAGE_ID, shortstr(b"\xff\xfe") + shortstr(b"\xc3("))
    got = w.call(1, M.basic_get(q, no_ack=True))
    return {"get": got.get("method"), "octets": got.get("header_octets")}
