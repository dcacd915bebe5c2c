"""Malformed frames, content out of order and channel misuse in the session layer, with
RabbitMQ's reply codes and texts (tests/server/test_malformed.py and test_channels.py assert
the same over sockets)."""

from __future__ import annotations

import pytest
from pamqp import commands
from pamqp import frame as pframe
from rawframes import (
    BODY,
    EXPECTED_BODY,
    EXPECTED_CHANNEL_OPEN,
    EXPECTED_METHOD,
    HEADER,
    HEARTBEAT,
    METHOD,
    assert_closed_after_frame_error,
    assert_connection_closed,
    frame,
    hp,
    mp,
    publish_method,
)

from amqpbroker.testing.harness import Client


@pytest.fixture
def raw(client: Client) -> Client:
    """A handshaken client with channel 1 open."""
    client.channel()
    return client


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
