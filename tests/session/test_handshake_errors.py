"""Handshake failures in the session layer, with RabbitMQ's reply codes and texts and its
silent drops (tests/server/test_connection.py, test_malformed.py and test_fidelity.py assert
the same over sockets, each silent drop taking the broker's silent-close delay there)."""

from __future__ import annotations

import pytest
from pamqp import commands
from pamqp import header as pheader
from rawframes import (
    AUTH_REFUSED,
    HEADER,
    HEARTBEAT,
    METHOD,
    assert_connection_closed,
    assert_dropped_without_reply,
    frame,
    hp,
    mp,
    start_handshake,
)

from amqpbroker.testing.harness import PROTOCOL_HEADER


# -- protocol header and handshake ---------------------------------------------------------------
@pytest.mark.parametrize(
    "header",
    [b"AMQP\x00\x00\x09\x00", b"AMQP\x00\x01\x00\x00", b"AMQX\x00\x00\x09\x01", b"\x00" * 8],
)
def test_bad_protocol_header_gets_supported_header_then_close(broker, header):
    c = broker.client()
    c.send_bytes(header)
    answer = c.next(0)
    assert isinstance(answer, pheader.ProtocolHeader)
    assert (answer.major_version, answer.minor_version, answer.revision) == (0, 9, 1)
    assert c.closed


def test_legacy_0_9_header_is_accepted_as_0_9_1(broker):
    c = broker.client()
    c.send_bytes(b"AMQP\x01\x01\x00\x09")
    start = c.expect(0, commands.Connection.Start)
    assert (start.version_major, start.version_minor) == (0, 9)


def test_connection_start_fields(broker):
    c = broker.client()
    c.send_bytes(PROTOCOL_HEADER)
    start = c.expect(0, commands.Connection.Start)
    assert (start.version_major, start.version_minor) == (0, 9)
    assert start.mechanisms.split() == ["PLAIN", "AMQPLAIN"]
    assert start.locales == "en_US"
    assert start.server_properties["capabilities"]["publisher_confirms"] is True


def test_server_proposes_rabbitmq_tune_values(broker):
    c = broker.client()
    start_handshake(c, "start")
    c.send(0, commands.Connection.StartOk({}, "PLAIN", "\0guest\0guest"))
    tune = c.expect(0, commands.Connection.Tune)
    assert (tune.channel_max, tune.frame_max, tune.heartbeat) == (2047, 131072, 60)


def test_garbage_after_good_header_gets_start_then_silent_close(broker):
    c = broker.client()
    c.send_bytes(PROTOCOL_HEADER + b"\xff" * 20)
    c.expect(0, commands.Connection.Start)
    assert_dropped_without_reply(c, broker)


@pytest.mark.parametrize(
    ("upto", "bad"),
    [
        ("start", frame(METHOD, 1, mp(20, 10, b"\x00"))),
        ("start", frame(HEADER, 1, hp(0))),
        ("start", frame(METHOD, 0, mp(10, 11, b"garbage"))),
        ("tune", frame(METHOD, 1, mp(20, 10, b"\x00"))),
    ],
    ids=["open-for-start-ok", "content-for-start-ok", "undecodable-start-ok", "open-for-tune-ok"],
)
def test_frames_before_tune_ok_close_the_socket_without_a_reply(broker, upto, bad):
    c = broker.client()
    start_handshake(c, upto)
    c.send_bytes(bad)
    assert_dropped_without_reply(c, broker)


@pytest.mark.parametrize(
    ("user", "password"), [("guest", "wrong"), ("nobody", "guest")], ids=["password", "user"]
)
def test_bad_credentials_are_refused_with_403(broker, user, password):
    c = broker.client()
    start_handshake(c, "start")
    properties = {"capabilities": {"authentication_failure_close": True}}
    c.send(0, commands.Connection.StartOk(properties, "PLAIN", f"\0{user}\0{password}"))
    close = c.expect_close(403)
    assert (close.reply_text, close.class_id, close.method_id) == (
        AUTH_REFUSED.format("PLAIN"),
        0,
        0,
    )


@pytest.mark.parametrize(
    ("properties", "mechanism", "response"),
    [
        ({}, "PLAIN", "\0guest\0wrong"),
        ({"capabilities": {"authentication_failure_close": True}}, "NOSUCH", "x"),
        ({}, "PLAIN", "guest\0guest"),
    ],
    ids=["no-auth-failure-close", "unknown-mechanism", "plain-without-nul"],
)
def test_handshake_failures_that_drop_without_close(broker, properties, mechanism, response):
    c = broker.client()
    start_handshake(c, "start")
    c.send(0, commands.Connection.StartOk(properties, mechanism, response))
    assert_dropped_without_reply(c, broker)


@pytest.mark.parametrize("frame_max", [0, 4095])
def test_tune_ok_frame_max_below_4096_drops_connection(broker, frame_max):
    c = broker.client()
    start_handshake(c, "tune")
    c.send(0, commands.Connection.TuneOk(channel_max=2047, frame_max=frame_max, heartbeat=0))
    assert_dropped_without_reply(c, broker)


def test_unknown_vhost_is_refused_with_530(broker):
    c = broker.client()
    start_handshake(c, "tune")
    c.send(0, commands.Connection.TuneOk(channel_max=2047, frame_max=131072, heartbeat=0))
    c.send(0, commands.Connection.Open(virtual_host="novhost"))
    close = c.expect_close(530)
    assert (close.reply_text, close.class_id, close.method_id) == (
        "NOT_ALLOWED - vhost novhost not found",
        10,
        40,
    )


def test_method_frame_before_connection_open_is_unexpected_frame(broker):
    c = broker.client()
    start_handshake(c, "tune")
    c.send(0, commands.Connection.TuneOk(2047, 131072, 0))
    c.send_bytes(frame(METHOD, 1, mp(20, 10, b"\x00")))
    assert_connection_closed(c, 505, "UNEXPECTED_FRAME - type 1, all octets = <<0,20,0,10,0>>")


def test_heartbeats_during_handshake_are_ignored(broker):
    c = broker.client()
    heartbeat = frame(HEARTBEAT, 0, b"")
    c.send_bytes(PROTOCOL_HEADER)
    c.expect(0, commands.Connection.Start)
    c.send_bytes(heartbeat)
    c.send(0, commands.Connection.StartOk({}, "PLAIN", "\0guest\0guest"))
    tune = c.expect(0, commands.Connection.Tune)
    c.send_bytes(heartbeat)
    c.send(0, commands.Connection.TuneOk(tune.channel_max, tune.frame_max, 0))
    c.send_bytes(heartbeat)
    c.send(0, commands.Connection.Open())
    c.expect(0, commands.Connection.OpenOk)
    c.channel()


def test_client_connection_close_gets_close_ok(client):
    client.close()
    assert client.closed


def test_broker_shutdown_is_connection_forced(client):
    client.session.force_close("shutdown")
    assert_connection_closed(
        client, 320, "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"
    )
