"""Connection: protocol header, connection.start, SASL, tune, open, heartbeats."""

from __future__ import annotations

import time
from typing import Any

from ..registry import scenario
from ..runner import Run
from ..wire import (
    DEFAULT_CLIENT_PROPERTIES,
    PROTOCOL_HEADER,
    M,
    Wire,
    describe_frame,
    field_types,
    table,
)


def _start(w: Wire, header: bytes = PROTOCOL_HEADER) -> dict[str, Any]:
    w.send(header)
    return w.reply()


def _to_tune(run: Run, start_ok: bytes) -> tuple[Wire, dict[str, Any]]:
    w = run.wire()
    _start(w)
    return w, w.call(0, start_ok)


def _after_tune(run: Run, tune_ok: bytes, vhost: str | None = None) -> dict[str, Any]:
    """Handshake with the given tune-ok, then connection.open (unless ``vhost`` is None):
    the reply, or how the socket was dropped."""
    w, tune = _to_tune(run, M.start_ok())
    assert tune.get("method") == "Connection.Tune", tune
    w.m(0, tune_ok)
    if vhost is None:
        return w.closed_silently()
    reply = w.call(0, M.connection_open(vhost))
    if reply.get("method") == "Connection.Close":
        return {"reply": reply, "then": w.closed_silently(3.0)}
    return reply


@scenario()
def start_tune_open(run: Run) -> Any:
    """connection.start (properties, key order, field types), tune, open-ok, channel.open-ok."""
    w = run.wire()
    w.send(PROTOCOL_HEADER)
    frame_type, channel, payload = w.recv_raw_frame()
    start = describe_frame(frame_type, channel, payload)
    start["server_properties_types"] = field_types(payload[6:])
    # RabbitMQ lists its mechanisms in registry order, which differs from node to node.
    start["mechanisms"] = sorted(start["mechanisms"].split())
    tune = w.call(0, M.start_ok())
    w.m(0, M.tune_ok())
    open_ok = w.call(0, M.connection_open())
    w.m(1, M.channel_open())
    return {"start": start, "tune": tune, "open_ok": open_ok, "channel_open_ok": w.next()}


def _header_scenario(label: str, header: bytes) -> None:
    def observe(run: Run) -> Any:
        w = run.wire()
        w.send(header)
        seen = w.closed_silently(3.0)
        octets = bytes.fromhex(seen.pop("bytes"))
        if octets.startswith(b"AMQP") or not octets:
            return {**seen, "answer": octets.hex()}
        # A connection.start: frame type and channel, class/method ids and version octets.
        return {**seen, "frame": octets[:3].hex(), "method_and_version": octets[7:13].hex()}

    observe.__doc__ = f"protocol header {header!r}: what comes back, and is the socket closed"
    scenario(f"protocol_header_{label}")(observe)


for _label, _header in [
    ("wrong_revision", b"AMQP\x00\x00\x09\x02"),
    ("amqp_0_8", b"AMQP\x00\x00\x08\x00"),
    ("amqp_1_0", b"AMQP\x03\x01\x00\x00"),
    ("http", b"GET / HTTP/1.1\r\n\r\n"),
    ("legacy_0_9", b"AMQP\x01\x01\x00\x09"),
    ("partial", b"AMQP"),
]:
    _header_scenario(_label, _header)


def _login(run: Run, start_ok: bytes) -> Any:
    w, reply = _to_tune(run, start_ok)
    return {"reply": reply, "then": w.closed_silently(3.0)}


def _dropped_after_start_ok(run: Run, start_ok: bytes) -> Any:
    """Send start-ok; report how the broker drops the socket (and anything it sent first)."""
    w = run.wire()
    _start(w)
    w.m(0, start_ok)
    return w.closed_silently()


@scenario()
def wrong_password_plain(run: Run) -> Any:
    """Wrong password (client has authentication_failure_close): 403 then close."""
    return _login(run, M.start_ok(b"\x00guest\x00wrong"))


@scenario()
def wrong_password_amqplain(run: Run) -> Any:
    """Wrong password with AMQPLAIN: 403 naming the mechanism."""
    credentials = table({"LOGIN": "guest", "PASSWORD": "nope"})[4:]  # no length prefix
    return _login(run, M.start_ok(credentials, mechanism="AMQPLAIN"))


@scenario()
def unknown_user(run: Run) -> Any:
    """An unknown user gets the same 403 as a wrong password."""
    return _login(run, M.start_ok(b"\x00nobody\x00guest"))


@scenario()
def wrong_password_without_failure_close_capability(run: Run) -> Any:
    """Without authentication_failure_close the socket is just dropped (after a delay)."""
    return _dropped_after_start_ok(run, M.start_ok(b"\x00guest\x00wrong", client_properties={}))


@scenario()
def amqplain_login(run: Run) -> Any:
    """AMQPLAIN with correct credentials reaches open-ok."""
    w = run.wire()
    _start(w)
    credentials = table({"LOGIN": "guest", "PASSWORD": "guest"})[4:]
    tune = w.call(0, M.start_ok(credentials, mechanism="AMQPLAIN"))
    w.m(0, M.tune_ok())
    return {"tune": tune, "open": w.call(0, M.connection_open())}


@scenario()
def unknown_mechanism(run: Run) -> Any:
    """An unknown SASL mechanism: no AMQP close, the socket is dropped after a delay."""
    return _dropped_after_start_ok(run, M.start_ok(mechanism="FOO"))


@scenario()
def plain_response_without_nuls(run: Run) -> Any:
    """A malformed PLAIN response: dropped like an unknown mechanism."""
    return _dropped_after_start_ok(run, M.start_ok(b"guestguest"))


@scenario()
def unknown_vhost(run: Run) -> Any:
    """connection.open of a vhost that does not exist: 530 NOT_ALLOWED."""
    vhost = run.name("vhost")
    return _after_tune(run, M.tune_ok(), vhost)


@scenario()
def tune_ok_frame_max_below_minimum(run: Run) -> Any:
    """tune-ok frame_max 4095 (< 4096): the socket is dropped without a close."""
    return _after_tune(run, M.tune_ok(frame_max=4095))


@scenario()
def tune_ok_frame_max_above_server(run: Run) -> Any:
    """tune-ok frame_max above the server's proposal: dropped."""
    return _after_tune(run, M.tune_ok(frame_max=131073))


@scenario()
def tune_ok_channel_max_above_server(run: Run) -> Any:
    """tune-ok channel_max 2048 > 2047: dropped."""
    return _after_tune(run, M.tune_ok(channel_max=2048))


@scenario()
def tune_ok_lower_values_accepted(run: Run) -> Any:
    """tune-ok with frame_max 4096, channel_max 10 and a heartbeat above the proposal."""
    return _after_tune(run, M.tune_ok(channel_max=10, frame_max=4096, heartbeat=600), "/")


@scenario()
def channel_open_before_connection_open(run: Run) -> Any:
    """channel.open after tune-ok but before connection.open: 505 UNEXPECTED_FRAME."""
    w, _ = _to_tune(run, M.start_ok())
    w.m(0, M.tune_ok())
    w.m(1, M.channel_open())
    return w.reply()


@scenario()
def connection_open_twice(run: Run) -> Any:
    """A second connection.open after open-ok: 504 CHANNEL_ERROR."""
    w = run.raw(channel=None)
    return w.call(0, M.connection_open())


@scenario()
def start_ok_twice(run: Run) -> Any:
    """start-ok sent twice: tune arrives, then the socket is dropped."""
    w = run.wire()
    _start(w)
    w.m(0, M.start_ok())
    w.m(0, M.start_ok())
    return {"first": w.reply(), "then": w.closed_silently()}


def _padded_start_ok(size: int) -> bytes:
    """A valid start-ok whose method payload is exactly ``size`` octets."""

    def padded(pad: int) -> bytes:
        return M.start_ok(client_properties={**DEFAULT_CLIENT_PROPERTIES, "pad": "." * pad})

    return padded(1 + size - len(padded(1)))


@scenario()
def start_ok_of_4096_octets_is_accepted(run: Run) -> Any:
    """Before tune-ok frames may carry 4096 octets (the spec's minimum frame_max)."""
    w = run.wire()
    _start(w)
    start_ok = _padded_start_ok(4096)
    assert len(start_ok) == 4096
    return w.call(0, start_ok)


@scenario()
def start_ok_of_4097_octets_is_dropped(run: Run) -> Any:
    """One octet more and the socket is dropped, after a delay, without a close."""
    return _dropped_after_start_ok(run, _padded_start_ok(4097))


@scenario()
def oversize_frame_header_before_start_ok(run: Run) -> Any:
    """A frame header announcing more than 4096 octets is refused before its payload."""
    w = run.wire()
    _start(w)
    w.send(b"\x01\x00\x00\x00\x01\x00\x00")  # method frame, channel 0, 65536 octets
    return w.closed_silently()


@scenario()
def oversize_heartbeat_before_tune_ok(run: Run) -> Any:
    """After start-ok, before tune-ok, the 4096 limit holds for any frame type."""
    w, tune = _to_tune(run, M.start_ok())
    assert tune.get("method") == "Connection.Tune", tune
    w.send(b"\x08\x00\x00\x00\x00\x10\x01")  # heartbeat frame, 4097 octets
    return w.closed_silently()


@scenario()
def heartbeat_during_handshake_is_ignored(run: Run) -> Any:
    """A heartbeat frame before start-ok is ignored; the handshake continues."""
    w = run.wire()
    _start(w)
    w.send(b"\x08\x00\x00\x00\x00\x00\x00\xce")
    return w.call(0, M.start_ok())


@scenario()
def client_close(run: Run) -> Any:
    """Client connection.close: close-ok on channel 0."""
    w = run.raw()
    return w.call(0, M.connection_close(200, "done"))


@scenario()
def heartbeats_sent_and_enforced(run: Run) -> Any:
    """heartbeat=1 and a silent client: heartbeats arrive, then the socket is dropped."""
    w = run.raw(channel=None, heartbeat=1)
    seen, deadline = [], time.monotonic() + 10
    while time.monotonic() < deadline:
        got = w.next(max(0.0, deadline - time.monotonic()))
        kind = got.get("frame") or got.get("method") or next(iter(got))
        if kind not in seen:
            seen.append(kind)
        if kind in ("eof", "timeout"):
            break
    return seen
