"""Raw frames and connection-level assertions for the session tests of malformed input
(tests/session/test_handshake_errors.py, test_frame_errors.py)."""

from __future__ import annotations

import struct

from pamqp import commands
from pamqp import frame as pframe

from amqpbroker.testing.harness import PROTOCOL_HEADER, Client, SessionBroker

METHOD, HEADER, BODY, HEARTBEAT = 1, 2, 3, 8
EXPECTED_METHOD = "UNEXPECTED_FRAME - expected method frame, got non method frame instead"
EXPECTED_BODY = "UNEXPECTED_FRAME - expected content body, got non content body frame instead"
EXPECTED_CHANNEL_OPEN = "CHANNEL_ERROR - expected 'channel.open'"
AUTH_REFUSED = (
    "ACCESS_REFUSED - Login was refused using authentication mechanism {}. "
    "For details see the broker logfile."
)


def frame(frame_type: int, channel: int, payload: bytes, end: bytes = b"\xce") -> bytes:
    return struct.pack(">BHI", frame_type, channel, len(payload)) + payload + end


def mp(class_id: int, method_id: int, args: bytes = b"") -> bytes:
    return struct.pack(">HH", class_id, method_id) + args


def hp(body_size: int, class_id: int = 60) -> bytes:
    return struct.pack(">HHQH", class_id, 0, body_size, 0)


def publish_method(channel: int = 1, routing_key: str = "nowhere") -> bytes:
    return pframe.marshal(commands.Basic.Publish(exchange="", routing_key=routing_key), channel)


def assert_connection_closed(
    c: Client, code: int, text: str, class_id: int = 0, method_id: int = 0
) -> None:
    """The very next frame is connection.close(code, text, class, method); after close-ok
    the connection is gone."""
    close = c.expect_close(code)
    assert (close.reply_text, close.class_id, close.method_id) == (text, class_id, method_id)
    assert c.closed


def assert_closed_after_frame_error(c: Client, text: str) -> None:
    """connection.close 501 with ``text``; the stream is no longer read, so the close-ok is
    not seen either: the transport drops the socket after the close timeout."""
    close = c.expect_close(501)
    assert (close.reply_text, close.class_id, close.method_id) == (text, 0, 0)
    assert c.session.closing


def assert_dropped_without_reply(c: Client, broker: SessionBroker) -> None:
    """No frame; the transport drops the socket after the silent-close pause."""
    assert c.closed
    assert [c.received(n) for n in (0, 1)] == [[], []]
    assert c.session.close_delay == broker.config.silent_close_delay


def start_handshake(c: Client, upto: str) -> None:
    c.send_bytes(PROTOCOL_HEADER)
    c.expect(0, commands.Connection.Start)
    if upto == "tune":
        c.send(0, commands.Connection.StartOk({}, "PLAIN", "\0guest\0guest"))
        c.expect(0, commands.Connection.Tune)
