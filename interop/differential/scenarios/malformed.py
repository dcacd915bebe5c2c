"""Malformed and out-of-order frames: FRAME_ERROR, SYNTAX_ERROR, COMMAND_INVALID,
CHANNEL_ERROR, UNEXPECTED_FRAME, and connections dropped without a close."""

from __future__ import annotations

import struct
from typing import Any

from ..registry import scenario
from ..runner import Run
from ..wire import M, Wire, frame, shortstr, table

HEARTBEAT = frame(8, 0, b"")


def _outcome(w: Wire) -> Any:
    """The broker's answer; after a connection.close also how the socket ends."""
    got = w.reply()
    if got.get("method") == "Connection.Close" or "eof" in got:
        return {"reply": got, "then": w.closed_silently(6.0)}
    return got


def _raw_scenario(name: str, doc: str, data: bytes, channels: int = 1) -> None:
    """Register a scenario that sends ``data`` after the handshake (channels 1..n open)."""

    def observe(run: Run) -> Any:
        w = run.raw()
        for channel in range(2, channels + 1):
            w.open(channel)
        w.send(data)
        return _outcome(w)

    observe.__doc__ = doc
    scenario(name)(observe)


def _declare_args(name: str = "abc") -> bytes:
    """queue.declare arguments (ticket, name, bits, empty table) for hand-made truncations."""
    return b"\x00\x00" + shortstr(name) + b"\x00" + table({})


def _publish_frames(channel: int = 1, size: int = 3, weight: int = 0, class_id: int = 60) -> bytes:
    publish = frame(1, channel, M.basic_publish("amq.direct", "k"))
    header = M.content_header(size, class_id=class_id, weight=weight)
    return publish + frame(2, channel, header)


DECLARE = M.queue_declare("abc")

for _name, _doc, _data in [
    ("bad_frame_end", "A method frame ending in 0x00: 501 FRAME_ERROR",
     frame(1, 1, DECLARE, end=b"\x00")),
    ("bad_frame_end_long", "A long method frame with a bad end: the text wraps the octets",
     frame(1, 1, M.queue_declare("abcdefghijklmnopqrstuvwxyz"), end=b"\x01")),
    ("heartbeat_bad_frame_end", "A heartbeat with a bad frame end: 501",
     frame(8, 0, b"", end=b"\x01")),
    ("unknown_frame_type", "Frame type 9: 501 unknown_frame", frame(9, 0, b"abc")),
    ("oob_frame_type", "The 0-8 frame type 4 on channel 1: 501 unknown_frame",
     frame(4, 1, b"abc")),
    ("unknown_class", "Class 99: the connection is dropped without a close",
     frame(1, 1, struct.pack(">HH", 99, 1))),
    ("unknown_method", "basic method 255: dropped without a close",
     frame(1, 1, struct.pack(">HH", 60, 255))),
    ("unknown_connection_method", "connection method 99 on channel 0: dropped",
     frame(1, 0, struct.pack(">HH", 10, 99))),
    ("client_sends_server_method", "tx.select-ok from the client: 503 unimplemented method",
     frame(1, 1, struct.pack(">HH", 90, 11))),
    ("client_sends_declare_ok", "queue.declare-ok from the client: 503",
     frame(1, 1, struct.pack(">HH", 50, 11) + shortstr("q") + b"\x00" * 8)),
    ("method_payload_too_short", "A 3-octet method payload: 501 unknown_frame",
     frame(1, 1, b"\x00\x32\x00")),
    ("method_payload_empty", "An empty method payload: 501", frame(1, 1, b"")),
    ("declare_truncated_after_ticket", "queue.declare cut after the ticket: 501 cannot decode",
     frame(1, 1, struct.pack(">HH", 50, 10) + b"\x00\x00")),
    ("declare_truncated_in_name", "queue.declare cut inside its name: 501",
     frame(1, 1, struct.pack(">HH", 50, 10) + b"\x00\x00\x10abc")),
    ("declare_without_table", "queue.declare without its table: 501",
     frame(1, 1, struct.pack(">HH", 50, 10) + _declare_args()[:-4])),
    ("declare_trailing_octets", "queue.declare with 5 trailing octets: 501",
     frame(1, 1, struct.pack(">HH", 50, 10) + _declare_args() + b"trail")),
    ("declare_table_overruns", "A table length beyond the payload: 501",
     frame(1, 1, struct.pack(">HH", 50, 10) + _declare_args()[:-4] + b"\x00\x00\x00\x64")),
    ("declare_unknown_field_type", "A table value of unknown type 'Z': dropped",
     frame(1, 1, struct.pack(">HH", 50, 10) + _declare_args()[:-4]
           + struct.pack(">I", 3) + b"\x01aZ")),
    ("name_invalid_utf8", "A queue name that is not UTF-8: 501 Malformed UTF-8",
     frame(1, 1, struct.pack(">HH", 50, 10) + b"\x00\x00\x02\xff\xfe\x00" + table({}))),
    ("header_without_method", "A content header with no method: 505",
     frame(2, 1, M.content_header(1))),
    ("body_without_header", "A body frame with no method: 505", frame(3, 1, b"x")),
    ("body_right_after_publish", "publish then a body frame: 505 expected content header",
     frame(1, 1, M.basic_publish("amq.direct", "k")) + frame(3, 1, b"x")),
    ("method_before_header", "publish then a method: 505 expected content header",
     frame(1, 1, M.basic_publish("amq.direct", "k")) + frame(1, 1, DECLARE)),
    ("method_before_body", "publish, header (size 3), then a method: 505 expected body",
     _publish_frames() + frame(1, 1, DECLARE)),
    ("body_after_empty_content", "header size 0 then a body frame: 505 expected method",
     _publish_frames(size=0) + frame(3, 1, b"x")),
    ("header_wrong_class", "A content header of class 50: 505",
     _publish_frames(class_id=50)),
    ("header_nonzero_weight", "A content header with weight 5: 505",
     _publish_frames(weight=5)),
    ("header_continuation_flag", "Property flags with the continuation bit: 541",
     frame(1, 1, M.basic_publish("amq.direct", "k"))
     + frame(2, 1, M.content_header(1, flags=0x0001)) + frame(3, 1, b"x")),
    ("header_properties_truncated", "content_type flagged but missing: 541",
     frame(1, 1, M.basic_publish("amq.direct", "k"))
     + frame(2, 1, M.content_header(1, flags=0x8000)) + frame(3, 1, b"x")),
    ("header_too_short", "A 5-octet content header: 501",
     frame(1, 1, M.basic_publish("amq.direct", "k")) + frame(2, 1, b"\x00\x3c\x00\x00\x00")),
    ("header_on_channel_zero", "A content header on channel 0: 505",
     frame(2, 0, M.content_header(1))),
    ("body_on_channel_zero", "A body frame on channel 0: 505", frame(3, 0, b"x")),
    ("heartbeat_on_channel_one", "A heartbeat on channel 1: 505", frame(8, 1, b"")),
    ("heartbeat_with_payload", "A heartbeat with a payload: 501", frame(8, 0, b"ab")),
    ("content_split_across_channels", "publish on channel 1, its header on channel 2: 505",
     frame(1, 1, M.basic_publish("amq.direct", "k")) + frame(2, 2, M.content_header(1))),
    ("publish_on_unopened_channel", "A whole publish on a channel never opened: 504",
     frame(1, 5, M.basic_publish("amq.direct", "k")) + frame(2, 5, M.content_header(1))
     + frame(3, 5, b"x")),
    ("client_deliver_then_method", "basic.deliver from the client waits for content: 505",
     frame(1, 1, struct.pack(">HH", 60, 60) + shortstr("t") + b"\x00" * 9 + shortstr("")
           + shortstr("k")) + frame(1, 1, DECLARE)),
]:  # fmt: skip
    _raw_scenario(_name, _doc, _data, channels=2)


@scenario()
def heartbeat_is_harmless(run: Run) -> Any:
    """A heartbeat on channel 0 is accepted, also in the middle of a content."""
    w = run.raw()
    w.send(HEARTBEAT + _publish_frames(size=2) + HEARTBEAT + frame(3, 1, b"ok"))
    return w.probe(1)


@scenario()
def legal_interleaving(run: Run) -> Any:
    """Contents on two channels may interleave frame by frame."""
    w = run.raw()
    w.open(2)
    data = frame(1, 1, M.basic_publish("amq.direct", "k")) + frame(1, 2, M.basic_publish("", "k"))
    data += frame(2, 1, M.content_header(1)) + frame(2, 2, M.content_header(1))
    data += frame(3, 1, b"a") + frame(3, 2, b"b")
    w.send(data)
    return [w.probe(1), w.probe(2)]


@scenario()
def excess_body_octets(run: Run) -> Any:
    """Body octets beyond body_size: the channel waits for more body; a method then is 505;
    other channels are unaffected."""
    w = run.raw()
    w.open(2)
    w.send(_publish_frames(size=3) + frame(3, 1, b"12345"))
    return [w.probe(2), _outcome_after(w, 1)]


def _outcome_after(w: Wire, channel: int) -> Any:
    w.m(channel, M.exchange_declare("amq.direct", "direct", passive=True))
    return _outcome(w)


@scenario()
def invalid_utf8_routing_key(run: Run) -> Any:
    """A routing key that is not UTF-8 is accepted on publish."""
    w = run.raw()
    publish = struct.pack(">HH", 60, 40) + b"\x00\x00" + shortstr("amq.direct")
    w.send(frame(1, 1, publish + b"\x02\xff\xfe\x00") + frame(2, 1, M.content_header(0)))
    return w.probe(1)


def _frame_size_scenario(name: str, frame_max: int, payload: int) -> None:
    def observe(run: Run) -> Any:
        w = run.raw(frame_max=frame_max)
        w.open(2)
        w.send(_publish_frames(size=payload) + frame(3, 1, b"x" * payload))
        first = w.probe(2) if payload <= frame_max else _outcome(w)
        return [first, _outcome_after(w, 1)] if payload <= frame_max else first

    observe.__doc__ = f"frame_max {frame_max}: a body frame with a {payload}-octet payload"
    scenario(name)(observe)


_frame_size_scenario("frame_payload_at_frame_max", 4096, 4096)
_frame_size_scenario("frame_payload_over_frame_max", 4096, 4097)
_frame_size_scenario("frame_payload_over_default_frame_max", 131072, 131073)


@scenario()
def method_frame_over_frame_max(run: Run) -> Any:
    """frame_max 4096: a queue.declare whose arguments make the frame too large: 501."""
    w = run.raw(frame_max=4096)
    w.m(1, M.queue_declare("abc", args={"x-big": "y" * 5000}))
    return _outcome(w)


@scenario()
def access_request(run: Run) -> Any:
    """The removed access class (access.request): RabbitMQ still answers request-ok."""
    w = run.raw()
    w.m(1, struct.pack(">HH", 30, 10) + shortstr("/data") + b"\x00")
    return _outcome(w)
