"""Malformed and out-of-order input: each gets RabbitMQ's exact answer and a closed connection.

Covers bad protocol headers, garbage and early frames during the handshake, framing errors
(bad frame-end octet, oversized frames, unknown frame types), undecodable methods (unknown
class/method ids, truncated or over-long arguments), content-assembly violations (header
without method, body without header, method mid-content, excess body, wrong header class,
content on channel 0), channel misuse (never opened, opened twice) and a seeded fuzz run.
Every test also checks that a connection opened *before* the bad one keeps working.
"""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

import pika
import pytest
from pamqp import commands
from pamqp import frame as pframe
from pamqp.body import ContentBody
from rawamqp import PROTOCOL_HEADER, RawAMQP

from amqpbroker.testing.polling import DEADLINE, wait_until

METHOD, HEADER, BODY, HEARTBEAT = 1, 2, 3, 8
START_OK_ARGS = (
    b"\x00\x00\x00\x00"  # empty client-properties table
    + b"\x05PLAIN"
    + struct.pack(">I", 12)
    + b"\x00guest\x00guest"
    + b"\x05en_US"
)
mp = RawAMQP.method_payload
hp = RawAMQP.header_payload


def frame(frame_type: int, channel: int, payload: bytes, end: bytes = b"\xce") -> bytes:
    return struct.pack(">BHI", frame_type, channel, len(payload)) + payload + end


def publish_method(channel: int = 1, routing_key: str = "nowhere") -> bytes:
    return pframe.marshal(commands.Basic.Publish(exchange="", routing_key=routing_key), channel)


class Healthy:
    """A pika connection opened before the bad client: it must still work afterwards."""

    def __init__(self, url: str, queue: str) -> None:
        self.conn = pika.BlockingConnection(pika.URLParameters(url))
        self.ch = self.conn.channel()
        self.queue = queue
        self.ch.queue_declare(queue, auto_delete=False)
        self.rounds = 0

    def check(self) -> None:
        self.rounds += 1
        body = f"still alive {self.rounds}".encode()
        self.ch.basic_publish("", self.queue, body)
        got = wait_until(
            lambda: self.ch.basic_get(self.queue, auto_ack=True)[2],
            "the healthy connection's message",
        )
        assert got == body

    def close(self) -> None:
        if self.conn.is_open:
            self.ch.queue_delete(self.queue)
            self.conn.close()


@pytest.fixture
def healthy(broker_url: str, unique: Callable[[str], str]) -> Iterator[Healthy]:
    h = Healthy(broker_url, unique("healthy"))
    yield h
    h.check()
    h.close()


@pytest.fixture
def raw(broker: Any, healthy: Healthy) -> Iterator[RawAMQP]:
    """A handshaken raw connection with channel 1 open (opened after ``healthy``)."""
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        yield c


def assert_connection_closed(
    c: RawAMQP, code: int, text: str, class_id: int = 0, method_id: int = 0
) -> None:
    """The very next frame is connection.close(code, text, class, method); then EOF."""
    channel, close = c.recv_frame(timeout=5)
    assert channel == 0
    assert isinstance(close, commands.Connection.Close), close
    assert (close.reply_code, close.reply_text, close.class_id, close.method_id) == (
        code,
        text,
        class_id,
        method_id,
    )
    c.send_method(0, commands.Connection.CloseOk())
    assert c.wait_closed(DEADLINE)


def assert_dropped_without_reply(c: RawAMQP, timeout: float = DEADLINE) -> None:
    """The broker closes the socket without sending any frame."""
    with pytest.raises(EOFError):
        c.recv_raw_frame(timeout=timeout)


def start_handshake(c: RawAMQP, upto: str) -> None:
    """Run the handshake only up to 'start' (Start received) or 'tune' (Tune received)."""
    c.send(PROTOCOL_HEADER)
    c.expect_method(commands.Connection.Start)
    if upto == "tune":
        c.send_frame(METHOD, 0, mp(10, 11, START_OK_ARGS))
        c.expect_method(commands.Connection.Tune)


# -- protocol header and handshake -------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        b"AMQP\x00\x00\x09\x00",  # 0-9-0
        b"AMQP\x00\x00\x08\x00",  # 0-8 with the 0-9-1 layout
        b"AMQP\x00\x01\x00\x00",  # AMQP 1.0
        b"AMQX\x00\x00\x09\x01",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\x00" * 8,
    ],
    ids=["0-9-0", "0-8-0", "amqp-1.0", "amqx", "http", "zeros"],
)
def test_bad_protocol_header_gets_supported_header_then_close(
    broker: Any, healthy: Healthy, header: bytes
) -> None:
    with RawAMQP(broker.host, broker.port) as c:
        c.send(header)
        assert c.recv_exact(8) == b"AMQP\x00\x00\x09\x01"
        assert c.wait_closed(DEADLINE)


def test_garbage_after_good_header_gets_start_then_silent_close(
    broker: Any, healthy: Healthy
) -> None:
    with RawAMQP(broker.host, broker.port) as c:
        c.send(PROTOCOL_HEADER + b"\xff" * 20)
        _, start = c.recv_frame()
        assert isinstance(start, commands.Connection.Start)
        assert (start.version_major, start.version_minor) == (0, 9)
        assert_dropped_without_reply(c)


def test_frames_before_tune_ok_close_the_socket_without_a_reply(
    broker: Any, healthy: Healthy
) -> None:
    """Before tune-ok RabbitMQ answers nothing: it waits a moment and drops the socket."""
    channel_open = frame(METHOD, 1, mp(20, 10, b"\x00"))
    cases = [
        ("start", channel_open),  # a channel.open instead of start-ok
        ("start", frame(HEADER, 1, hp(0))),  # content instead of start-ok
        ("start", frame(METHOD, 0, mp(10, 11, b"garbage"))),  # undecodable start-ok
        ("tune", channel_open),  # a channel.open instead of tune-ok
    ]
    conns = [RawAMQP(broker.host, broker.port) for _ in cases]
    try:
        for c, (upto, bad) in zip(conns, cases, strict=True):
            start_handshake(c, upto)
            c.send(bad)
        for c in conns:  # all wait concurrently on the broker side
            assert_dropped_without_reply(c)
    finally:
        for c in conns:
            c.close()


def test_method_frame_before_connection_open_is_unexpected_frame(
    broker: Any, healthy: Healthy
) -> None:
    with RawAMQP(broker.host, broker.port) as c:
        start_handshake(c, "tune")
        c.send_method(0, commands.Connection.TuneOk(2047, 131072, 0))
        c.send_frame(METHOD, 1, mp(20, 10, b"\x00"))
        assert_connection_closed(c, 505, "UNEXPECTED_FRAME - type 1, all octets = <<0,20,0,10,0>>")


def test_heartbeats_during_handshake_are_ignored(broker: Any, healthy: Healthy) -> None:
    with RawAMQP(broker.host, broker.port) as c:
        c.send(PROTOCOL_HEADER)
        c.expect_method(commands.Connection.Start)
        c.send_heartbeat()
        c.send_frame(METHOD, 0, mp(10, 11, START_OK_ARGS))
        _, tune = c.expect_method(commands.Connection.Tune)
        c.send_heartbeat()
        c.send_method(0, commands.Connection.TuneOk(tune.channel_max, tune.frame_max, 0))
        c.send_heartbeat()
        c.send_method(0, commands.Connection.Open())
        c.expect_method(commands.Connection.OpenOk)
        c.open_channel(1)


# -- framing ----------------------------------------------------------------------------------


def test_bad_frame_end_octet_is_frame_error(raw: RawAMQP) -> None:
    raw.send(frame(METHOD, 1, mp(20, 10, b"\x00"), end=b"\xcd"))
    assert_connection_closed(
        raw,
        501,
        "FRAME_ERROR - type 1, all octets = <<0,20,0,10,0>>: {invalid_frame_end_marker,205}",
    )


def publish_with_body_frame(c: RawAMQP, queue: str, payload_size: int) -> None:
    c.send(publish_method(1, queue) + frame(HEADER, 1, hp(payload_size)))
    c.send(frame(BODY, 1, b"x" * payload_size))


def test_frame_payload_up_to_frame_max_is_tolerated(
    broker: Any, healthy: Healthy, unique: Callable[[str], str]
) -> None:
    """RabbitMQ accepts a payload of frame_max octets: 8 over the negotiated frame size."""
    with RawAMQP.connect(broker.host, broker.port, frame_max=4096) as c:
        c.open_channel(1)
        c.send_method(1, commands.Queue.Declare(queue=unique("q"), exclusive=True))
        _, ok = c.expect_method(commands.Queue.DeclareOk)
        publish_with_body_frame(c, ok.queue, 4096)
        c.send_method(1, commands.Basic.Get(queue=ok.queue, no_ack=True))
        _, get_ok = c.recv_frame()
        assert isinstance(get_ok, commands.Basic.GetOk)
        _, header = c.recv_frame()
        assert header.body_size == 4096


def test_frame_payload_over_frame_max_is_frame_too_large(broker: Any, healthy: Healthy) -> None:
    with RawAMQP.connect(broker.host, broker.port, frame_max=4096) as c:
        c.open_channel(1)
        publish_with_body_frame(c, "nowhere", 4097)
        assert_connection_closed(
            c, 501, "FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,4097,4088}"
        )


def test_huge_frame_size_is_frame_too_large_before_the_type_is_checked(raw: RawAMQP) -> None:
    raw.send(b"\xff" * 20)
    assert_connection_closed(
        raw, 501, "FRAME_ERROR - type 255, all octets = <<>>: {frame_too_large,4294967295,131064}"
    )


@pytest.mark.parametrize(
    ("frame_type", "channel", "payload", "octets"),
    [
        (4, 0, b"abc", '<<"abc">>'),
        (0, 1, b"\x00\x01", "<<0,1>>"),
        (9, 0, b"", "<<>>"),
        (HEARTBEAT, 0, b"ab", '<<"ab">>'),  # a heartbeat must be empty
        (7, 1, b"abcdefghijklmnopqrst", '<<"abcdefghijklmnop">>'),
    ],
    ids=["type4-printable", "type0-binary", "type9-empty", "heartbeat-with-payload", "long"],
)
def test_unknown_frame_type_is_frame_error(
    raw: RawAMQP, frame_type: int, channel: int, payload: bytes, octets: str
) -> None:
    raw.send_frame(frame_type, channel, payload)
    snippet = "all" if len(payload) <= 16 else "first 16"
    assert_connection_closed(
        raw, 501, f"FRAME_ERROR - type {frame_type}, {snippet} octets = {octets}: unknown_frame"
    )


def test_heartbeat_on_a_nonzero_channel_is_unexpected_frame(raw: RawAMQP) -> None:
    raw.send_frame(HEARTBEAT, 1, b"")
    assert_connection_closed(raw, 505, "UNEXPECTED_FRAME - type 8, all octets = <<>>")


# -- method decoding --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "class_id", "method_id"),
    [(1, 99, 10), (1, 60, 99), (1, 0, 0), (0, 10, 99), (5, 99, 1)],
    ids=[
        "unknown-class",
        "unknown-basic-method",
        "zero-ids",
        "unknown-connection-method",
        "unopened",
    ],
)
def test_unknown_class_or_method_id_drops_the_connection(
    raw: RawAMQP, channel: int, class_id: int, method_id: int
) -> None:
    """RabbitMQ 3.10 sends no connection.close here: the connection is just dropped."""
    raw.send_frame(METHOD, channel, mp(class_id, method_id))
    assert_dropped_without_reply(raw)


@pytest.mark.parametrize(
    ("args", "octets"),
    [
        (b"\x00\x00\x05ab", "<<0,0,5,97,98>>"),  # queue name shortstr cut short
        (b"", "<<>>"),  # no arguments at all
        (b"abc", "<<97,98,99>>"),  # printable octets still print as numbers here
        (b"\x00" * 9, "<<0,0,0,0,0,0,0,0,0>>"),  # one trailing octet too many
    ],
    ids=["truncated", "empty", "printable", "trailing-octet"],
)
def test_undecodable_method_arguments_are_frame_error(
    raw: RawAMQP, args: bytes, octets: str
) -> None:
    raw.send_frame(METHOD, 1, mp(50, 10, args))  # queue.declare
    assert_connection_closed(raw, 501, f"FRAME_ERROR - cannot decode {octets}", 50, 10)


@pytest.mark.parametrize(
    ("payload", "octets"), [(b"\x00\x32", "<<0,50>>"), (b"", "<<>>")], ids=["2-octets", "empty"]
)
def test_method_frame_shorter_than_ids_is_frame_error(
    raw: RawAMQP, payload: bytes, octets: str
) -> None:
    raw.send_frame(METHOD, 1, payload)
    assert_connection_closed(
        raw, 501, f"FRAME_ERROR - type 1, all octets = {octets}: unknown_frame"
    )


# -- content assembly -------------------------------------------------------------------------

EXPECTED_METHOD = "UNEXPECTED_FRAME - expected method frame, got non method frame instead"
EXPECTED_BODY = "UNEXPECTED_FRAME - expected content body, got non content body frame instead"


def test_content_header_without_method_is_unexpected_frame(raw: RawAMQP) -> None:
    raw.send_frame(HEADER, 1, hp(5))
    assert_connection_closed(raw, 505, EXPECTED_METHOD)


def test_body_without_header_or_method_is_unexpected_frame(raw: RawAMQP) -> None:
    raw.send_frame(BODY, 1, b"hello")
    assert_connection_closed(raw, 505, EXPECTED_METHOD)


def test_body_right_after_publish_is_unexpected_frame(raw: RawAMQP) -> None:
    raw.send(publish_method() + frame(BODY, 1, b"abc"))
    assert_connection_closed(
        raw,
        505,
        "UNEXPECTED_FRAME - expected content header for class 60, "
        "got non content header frame instead",
        60,
        40,
    )


def test_body_after_zero_size_content_is_unexpected_frame(raw: RawAMQP) -> None:
    raw.send(publish_method() + frame(HEADER, 1, hp(0)) + frame(BODY, 1, b"abc"))
    assert_connection_closed(raw, 505, EXPECTED_METHOD)


@pytest.mark.parametrize("partial_body", [b"", b"abc"], ids=["before-body", "after-partial-body"])
def test_method_mid_content_is_unexpected_frame(raw: RawAMQP, partial_body: bytes) -> None:
    data = publish_method() + frame(HEADER, 1, hp(10))
    if partial_body:
        data += frame(BODY, 1, partial_body)
    raw.send(data + pframe.marshal(commands.Basic.Qos(prefetch_count=1), 1))
    assert_connection_closed(raw, 505, EXPECTED_BODY, 60, 40)


def test_second_content_header_mid_content_is_unexpected_frame(raw: RawAMQP) -> None:
    raw.send(publish_method() + frame(HEADER, 1, hp(5)) + frame(HEADER, 1, hp(5)))
    assert_connection_closed(raw, 505, EXPECTED_BODY, 60, 40)


def test_heartbeats_and_empty_body_frames_mid_content_are_fine(
    raw: RawAMQP, unique: Callable[[str], str]
) -> None:
    raw.send_method(1, commands.Queue.Declare(queue=unique("q"), exclusive=True))
    _, ok = raw.expect_method(commands.Queue.DeclareOk)
    raw.send(
        publish_method(1, ok.queue)
        + frame(HEADER, 1, hp(5))
        + frame(HEARTBEAT, 0, b"")
        + frame(BODY, 1, b"")
        + frame(BODY, 1, b"he")
        + frame(BODY, 1, b"llo")
    )
    raw.send_method(1, commands.Basic.Get(queue=ok.queue, no_ack=True))
    raw.expect_method(commands.Basic.GetOk)
    _, body = raw.expect_method(ContentBody)
    assert body.value == b"hello"


def test_content_on_other_channels_may_interleave(
    broker: Any, healthy: Healthy, unique: Callable[[str], str]
) -> None:
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        c.open_channel(2)
        c.send_method(1, commands.Queue.Declare(queue=unique("q"), exclusive=True))
        _, ok = c.expect_method(commands.Queue.DeclareOk)
        c.send(publish_method(2, ok.queue) + frame(HEADER, 2, hp(3)))
        c.send_method(1, commands.Basic.Qos(prefetch_count=5))
        channel, _ = c.expect_method(commands.Basic.QosOk)
        assert channel == 1
        c.send_frame(BODY, 2, b"abc")
        c.send_method(2, commands.Basic.Get(queue=ok.queue, no_ack=True))
        channel, _ = c.expect_method(commands.Basic.GetOk)
        assert channel == 2


def test_excess_body_bytes_leave_the_channel_waiting_for_more_body(
    raw: RawAMQP, healthy: Healthy
) -> None:
    """More body than announced is not an error by itself: the publish never completes, and
    the next method on that channel is unexpected. The message is never enqueued."""
    raw.send(publish_method(1, healthy.queue) + frame(HEADER, 1, hp(5)))
    raw.send(frame(BODY, 1, b"0123456789"))
    raw.send_method(1, commands.Basic.Qos(prefetch_count=1))
    assert_connection_closed(raw, 505, EXPECTED_BODY, 60, 40)
    assert healthy.ch.queue_declare(healthy.queue, passive=True).method.message_count == 0


@pytest.mark.parametrize("class_id", [50, 99])
def test_content_header_with_wrong_class_id_is_unexpected_frame(
    raw: RawAMQP, class_id: int
) -> None:
    raw.send(publish_method() + frame(HEADER, 1, hp(5, class_id=class_id)))
    assert_connection_closed(
        raw,
        505,
        f"UNEXPECTED_FRAME - expected content header for class 60, got one for class {class_id} "
        "instead",
        60,
        40,
    )


def test_content_header_shorter_than_its_fixed_fields_is_frame_error(raw: RawAMQP) -> None:
    raw.send(publish_method() + frame(HEADER, 1, b"\x00\x3c\x00\x00"))
    assert_connection_closed(
        raw, 501, "FRAME_ERROR - type 2, all octets = <<0,60,0,0>>: unknown_frame"
    )


@pytest.mark.parametrize(
    ("frame_type", "payload", "octets"),
    [
        (HEADER, hp(5), "all octets = <<0,60,0,0,0,0,0,0,0,0,0,5,0,0>>"),
        (HEADER, hp(5) + b"\x00" * 20, "first 16 octets = <<0,60,0,0,0,0,0,0,0,0,0,5,0,0,0,0>>"),
        (BODY, b"abc", 'all octets = <<"abc">>'),
    ],
    ids=["header", "long-header", "body"],
)
def test_content_frame_on_channel_zero_is_unexpected_frame(
    raw: RawAMQP, frame_type: int, payload: bytes, octets: str
) -> None:
    raw.send_frame(frame_type, 0, payload)
    assert_connection_closed(raw, 505, f"UNEXPECTED_FRAME - type {frame_type}, {octets}")


@pytest.mark.parametrize(
    ("method", "class_id", "method_id"),
    [
        (commands.Basic.Publish(exchange="", routing_key="q"), 60, 40),
        (commands.Channel.Open(), 20, 10),
        (commands.Connection.Open(), 10, 40),
    ],
    ids=["basic.publish", "channel.open", "connection.open-again"],
)
def test_non_connection_method_on_channel_zero_is_channel_error(
    raw: RawAMQP, method: Any, class_id: int, method_id: int
) -> None:
    raw.send_method(0, method)
    assert_connection_closed(
        raw,
        504,
        "CHANNEL_ERROR - unexpected method in connection state running",
        class_id,
        method_id,
    )


# -- channels ---------------------------------------------------------------------------------

EXPECTED_CHANNEL_OPEN = "CHANNEL_ERROR - expected 'channel.open'"


@pytest.mark.parametrize(
    ("channel", "method", "class_id", "method_id"),
    [
        (7, commands.Queue.Declare(queue="q"), 50, 10),
        (65535, commands.Basic.Qos(), 60, 10),
        (9, commands.Channel.CloseOk(), 20, 41),
    ],
    ids=["queue.declare", "basic.qos-max-channel", "channel.close-ok"],
)
def test_method_on_never_opened_channel_is_channel_error(
    raw: RawAMQP, channel: int, method: Any, class_id: int, method_id: int
) -> None:
    raw.send_method(channel, method)
    assert_connection_closed(raw, 504, EXPECTED_CHANNEL_OPEN, class_id, method_id)


def test_publish_on_never_opened_channel_fails_once_its_content_is_complete(
    raw: RawAMQP,
) -> None:
    raw.send(publish_method(3))
    raw.send(frame(HEADER, 3, hp(3)))
    raw.send_frame(BODY, 3, b"abc")
    assert_connection_closed(raw, 504, EXPECTED_CHANNEL_OPEN, 60, 40)


def test_channel_open_twice_is_channel_error(raw: RawAMQP) -> None:
    raw.send_method(1, commands.Channel.Open())
    assert_connection_closed(raw, 504, "CHANNEL_ERROR - second 'channel.open' seen", 20, 10)


# -- fuzz -------------------------------------------------------------------------------------

CONNECTION_ERROR_CODES = {501, 502, 503, 504, 505, 506, 530, 540, 541}


def fuzz_one(host: str, port: int, queue: str, data: bytes) -> str:
    """Send one mutated publish, a probe and a zero pad that must end any half-read frame.

    Returns how the broker answered: "ok" (probe answered) then closed, or "closed"."""
    probe = pframe.marshal(commands.Queue.Declare(queue=queue, passive=True), 1)
    pad = b"\x00" * (4096 + 64)  # completes any pending frame (frame_max 4096) with a bad end
    answered = False
    with RawAMQP.connect(host, port, frame_max=4096) as c:
        c.open_channel(1)
        c.send(data + probe + pad)
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                channel, value = c.recv_frame(timeout=max(0.0, deadline - time.monotonic()))
            except EOFError:
                return "ok" if answered else "dropped"
            if isinstance(value, commands.Queue.DeclareOk):
                answered = True
            elif isinstance(value, commands.Channel.Close):
                assert 300 <= value.reply_code < 600, value
                assert value.reply_text
                c.send_method(channel, commands.Channel.CloseOk())
            elif isinstance(value, commands.Connection.Close):
                assert value.reply_code in CONNECTION_ERROR_CODES, value
                assert value.reply_text
                c.send_method(0, commands.Connection.CloseOk())
                assert c.wait_closed(max(0.0, deadline - time.monotonic())), "not closed"
                return "ok" if answered else "closed"


def mutations(valid: bytes, count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        data = bytearray(valid)
        if rng.random() < 0.7:
            for _ in range(rng.randint(1, 3)):
                pos = rng.randrange(len(data))
                data[pos] ^= 1 << rng.randrange(8)
        else:
            del data[rng.randrange(1, len(data)) :]
        out.append(bytes(data))
    return out


def test_fuzzed_publish_sequences_get_valid_answers_and_closed_connections(
    broker: Any, healthy: Healthy, unique: Callable[[str], str]
) -> None:
    target = unique("fuzz")
    healthy.ch.queue_declare(target, auto_delete=False)
    props = commands.Basic.Properties(
        content_type="text/plain", headers={"k": "v", "n": 7}, delivery_mode=1
    )
    valid = RawAMQP.publish_bytes(1, "", target, b"fuzz-body-0123456789", props)
    cases = mutations(valid, 200, seed=20240501)
    assert len(set(cases)) > 150

    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        futures = [pool.submit(fuzz_one, broker.host, broker.port, target, d) for d in cases]
        pending = set(futures)
        while pending:
            healthy.check()  # keeps working while the broker digests the garbage
            _, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
        results = [f.result() for f in futures]
    healthy.ch.queue_delete(target)
    assert set(results) <= {"ok", "closed", "dropped"}
    assert results.count("ok") > 0
    assert results.count("closed") > 0
