"""Malformed input, channel misuse and handshake failures in the session layer, with
RabbitMQ's reply codes and texts (tests/server/test_malformed.py, test_channels.py and
test_connection.py assert the same over sockets, waiting seconds for each silent drop)."""

from __future__ import annotations

import struct

import pytest
from pamqp import commands
from pamqp import frame as pframe
from pamqp import header as pheader

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


@pytest.fixture
def raw(client: Client) -> Client:
    """A handshaken client with channel 1 open."""
    client.channel()
    return client


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


# -- framing -------------------------------------------------------------------------------------
def test_bad_frame_end_octet_is_frame_error(raw):
    raw.send_bytes(frame(METHOD, 1, mp(20, 10, b"\x00"), end=b"\xcd"))
    assert_closed_after_frame_error(
        raw,
        "FRAME_ERROR - type 1, all octets = <<0,20,0,10,0>>: {invalid_frame_end_marker,205}",
    )


def test_frame_payload_up_to_frame_max_is_tolerated_and_over_is_frame_too_large(broker):
    c = broker.connect(frame_max=4096)
    ch = c.channel()
    q = str(ch.declare("", exclusive=True).queue)
    c.send_bytes(publish_method(1, q) + frame(HEADER, 1, hp(4096)) + frame(BODY, 1, b"x" * 4096))
    assert ch.get(q).body_size == 4096
    c.send_bytes(publish_method(1, q) + frame(HEADER, 1, hp(4097)) + frame(BODY, 1, b"x" * 4097))
    assert_closed_after_frame_error(
        c, "FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,4097,4088}"
    )


def test_huge_frame_size_is_frame_too_large_before_the_type_is_checked(raw):
    raw.send_bytes(b"\xff" * 20)
    assert_closed_after_frame_error(
        raw, "FRAME_ERROR - type 255, all octets = <<>>: {frame_too_large,4294967295,131064}"
    )


@pytest.mark.parametrize(
    ("frame_type", "channel", "payload", "octets"),
    [
        (4, 0, b"abc", '<<"abc">>'),
        (0, 1, b"\x00\x01", "<<0,1>>"),
        (HEARTBEAT, 0, b"ab", '<<"ab">>'),
        (7, 1, b"abcdefghijklmnopqrst", '<<"abcdefghijklmnop">>'),
    ],
    ids=["type4-printable", "type0-binary", "heartbeat-with-payload", "long"],
)
def test_unknown_frame_type_is_frame_error(raw, frame_type, channel, payload, octets):
    raw.send_bytes(frame(frame_type, channel, payload))
    snippet = "all" if len(payload) <= 16 else "first 16"
    assert_connection_closed(
        raw, 501, f"FRAME_ERROR - type {frame_type}, {snippet} octets = {octets}: unknown_frame"
    )


def test_heartbeat_on_a_nonzero_channel_is_unexpected_frame(raw):
    raw.send_bytes(frame(HEARTBEAT, 1, b""))
    assert_connection_closed(raw, 505, "UNEXPECTED_FRAME - type 8, all octets = <<>>")


@pytest.mark.parametrize(
    ("channel", "class_id", "method_id"), [(1, 99, 10), (1, 60, 99), (0, 10, 99), (5, 99, 1)]
)
def test_unknown_class_or_method_id_drops_the_connection(raw, channel, class_id, method_id):
    raw.send_bytes(frame(METHOD, channel, mp(class_id, method_id)))
    assert raw.closed
    assert raw.received(0) == []


@pytest.mark.parametrize(
    ("args", "octets"),
    [(b"\x00\x00\x05ab", "<<0,0,5,97,98>>"), (b"", "<<>>"), (b"\x00" * 9, "<<0,0,0,0,0,0,0,0,0>>")],
    ids=["truncated", "empty", "trailing-octet"],
)
def test_undecodable_method_arguments_are_frame_error(raw, args, octets):
    raw.send_bytes(frame(METHOD, 1, mp(50, 10, args)))
    assert_connection_closed(raw, 501, f"FRAME_ERROR - cannot decode {octets}", 50, 10)


def test_method_frame_shorter_than_ids_is_frame_error(raw):
    raw.send_bytes(frame(METHOD, 1, b"\x00\x32"))
    assert_connection_closed(raw, 501, "FRAME_ERROR - type 1, all octets = <<0,50>>: unknown_frame")


# -- content assembly ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [
        frame(HEADER, 1, hp(5)),
        frame(BODY, 1, b"hello"),
        publish_method() + frame(HEADER, 1, hp(0)) + frame(BODY, 1, b"abc"),
    ],
    ids=["header-alone", "body-alone", "body-after-empty-content"],
)
def test_content_without_its_method_is_unexpected_frame(raw, data):
    raw.send_bytes(data)
    assert_connection_closed(raw, 505, EXPECTED_METHOD)


def test_body_right_after_publish_is_unexpected_frame(raw):
    raw.send_bytes(publish_method() + frame(BODY, 1, b"abc"))
    assert_connection_closed(
        raw,
        505,
        "UNEXPECTED_FRAME - expected content header for class 60, "
        "got non content header frame instead",
        60,
        40,
    )


@pytest.mark.parametrize(
    "rest",
    [
        pframe.marshal(commands.Basic.Qos(prefetch_count=1), 1),
        frame(BODY, 1, b"abc") + pframe.marshal(commands.Basic.Qos(prefetch_count=1), 1),
        frame(HEADER, 1, hp(5)),
    ],
    ids=["method-before-body", "method-after-partial-body", "second-header"],
)
def test_interrupted_content_is_unexpected_frame(raw, rest):
    raw.send_bytes(publish_method() + frame(HEADER, 1, hp(10)) + rest)
    assert_connection_closed(raw, 505, EXPECTED_BODY, 60, 40)


def test_heartbeats_and_empty_body_frames_mid_content_are_fine(raw):
    ch = raw.channel()
    q = str(ch.declare("", exclusive=True).queue)
    raw.send_bytes(
        publish_method(ch.number, q)
        + frame(HEADER, ch.number, hp(5))
        + frame(HEARTBEAT, 0, b"")
        + frame(BODY, ch.number, b"")
        + frame(BODY, ch.number, b"he")
        + frame(BODY, ch.number, b"llo")
    )
    assert ch.get(q).body == b"hello"


def test_content_on_other_channels_may_interleave(raw):
    one, two = raw.channel(), raw.channel()
    q = str(one.declare("", exclusive=True).queue)
    raw.send_bytes(publish_method(two.number, q) + frame(HEADER, two.number, hp(3)))
    one.qos(5)
    raw.send_bytes(frame(BODY, two.number, b"abc"))
    assert two.get(q).body == b"abc"


def test_excess_body_bytes_leave_the_channel_waiting_for_more_body(broker, raw):
    watch = broker.connect().channel()
    watch.declare("healthy")
    raw.send_bytes(publish_method(1, "healthy") + frame(HEADER, 1, hp(5)))
    raw.send_bytes(frame(BODY, 1, b"0123456789"))
    raw.send(1, commands.Basic.Qos(prefetch_count=1))
    assert_connection_closed(raw, 505, EXPECTED_BODY, 60, 40)
    assert watch.message_count("healthy") == 0


@pytest.mark.parametrize("class_id", [50, 99])
def test_content_header_with_wrong_class_id_is_unexpected_frame(raw, class_id):
    raw.send_bytes(publish_method() + frame(HEADER, 1, hp(5, class_id=class_id)))
    assert_connection_closed(
        raw,
        505,
        f"UNEXPECTED_FRAME - expected content header for class 60, got one for class {class_id} "
        "instead",
        60,
        40,
    )


def test_content_header_shorter_than_its_fixed_fields_is_frame_error(raw):
    raw.send_bytes(publish_method() + frame(HEADER, 1, b"\x00\x3c\x00\x00"))
    assert_connection_closed(
        raw, 501, "FRAME_ERROR - type 2, all octets = <<0,60,0,0>>: unknown_frame"
    )


def test_content_frame_on_channel_zero_is_unexpected_frame(raw):
    raw.send_bytes(frame(BODY, 0, b"abc"))
    assert_connection_closed(raw, 505, 'UNEXPECTED_FRAME - type 3, all octets = <<"abc">>')


# -- channels ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "class_id", "method_id"),
    [
        (commands.Basic.Publish(exchange="", routing_key="q"), 60, 40),
        (commands.Channel.Open(), 20, 10),
        (commands.Connection.Open(), 10, 40),
    ],
    ids=["basic.publish", "channel.open", "connection.open-again"],
)
def test_non_connection_method_on_channel_zero_is_channel_error(raw, method, class_id, method_id):
    raw.send(0, method)
    assert_connection_closed(
        raw,
        504,
        "CHANNEL_ERROR - unexpected method in connection state running",
        class_id,
        method_id,
    )


@pytest.mark.parametrize(
    ("channel", "method", "class_id", "method_id"),
    [
        (7, commands.Queue.Declare(queue="q"), 50, 10),
        (65535, commands.Basic.Qos(), 60, 10),
        (9, commands.Channel.CloseOk(), 20, 41),
        (3, commands.Channel.Flow(active=True), 20, 20),
    ],
    ids=["queue.declare", "basic.qos-max-channel", "channel.close-ok", "channel.flow"],
)
def test_method_on_never_opened_channel_is_channel_error(raw, channel, method, class_id, method_id):
    raw.send(channel, method)
    assert_connection_closed(raw, 504, EXPECTED_CHANNEL_OPEN, class_id, method_id)


def test_publish_on_never_opened_channel_fails_once_its_content_is_complete(raw):
    raw.send_bytes(publish_method(3))
    raw.send_bytes(frame(HEADER, 3, hp(3)))
    assert not raw.closed
    raw.send_bytes(frame(BODY, 3, b"abc"))
    assert_connection_closed(raw, 504, EXPECTED_CHANNEL_OPEN, 60, 40)


def test_channel_open_twice_is_channel_error(raw):
    raw.send(1, commands.Channel.Open())
    assert_connection_closed(raw, 504, "CHANNEL_ERROR - second 'channel.open' seen", 20, 10)


def test_flow_active_true_gets_flow_ok_and_false_is_not_implemented(raw):
    ch = raw.channel()
    assert ch.call(commands.Channel.Flow(active=True), commands.Channel.FlowOk).active is True
    ch.send(commands.Channel.Flow(active=False))
    assert_connection_closed(raw, 540, "NOT_IMPLEMENTED - active=false", 20, 20)


def test_channel_max_limits_the_number_of_open_channels(broker):
    c = broker.connect(channel_max=5)
    for _ in range(5):
        c.channel()
    c.send(6, commands.Channel.Open())
    assert_connection_closed(
        c,
        530,
        "NOT_ALLOWED - number of channels opened (5) has reached the negotiated channel_max (5)",
    )


def test_channel_max_counts_channels_not_numbers_and_frees_slots_on_close(broker):
    c = broker.connect(channel_max=2)
    c.channel(6)
    c.channel(1).close()
    c.channel(2)


def test_channel_error_closes_only_that_channel(raw):
    bad, good = raw.channel(), raw.channel()
    bad.send(commands.Queue.Declare(queue="missing", passive=True))
    close = bad.expect_close(404)
    assert (close.reply_text, close.class_id, close.method_id) == (
        "NOT_FOUND - no queue 'missing' in vhost '/'",
        50,
        10,
    )
    assert not raw.closed
    good.declare("q", exclusive=True)


def test_closed_channel_ignores_methods_until_close_ok(raw):
    one, two = raw.channel(), raw.channel()
    one.send(commands.Queue.Declare(queue="missing", passive=True))
    assert one.expect(commands.Channel.Close).reply_code == 404
    one.send(commands.Exchange.Declare(exchange="amq.direct", passive=True))
    two.call(
        commands.Exchange.Declare(exchange="amq.fanout", passive=True), commands.Exchange.DeclareOk
    )
    assert one.received() == []  # dropped silently
    one.send(commands.Channel.CloseOk())
    raw.channel(one.number)  # a reply to the dropped declare would come before open-ok


def test_connection_error_closes_the_whole_connection(raw):
    raw.channel()
    raw.send(1, commands.Exchange.Declare(exchange="x", exchange_type="nosuch"))
    assert_connection_closed(raw, 503, "COMMAND_INVALID - unknown exchange type 'nosuch'", 40, 10)
