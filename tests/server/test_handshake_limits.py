"""Before a client has authenticated and tuned, it may send only the handshake.

RabbitMQ 3.10.8, recorded against the reference broker with raw sockets:
- until tune-ok the largest frame payload is 4096 octets (the spec's minimum frame_max); a
  larger frame, of any type, is refused as soon as its 7-octet header arrives: the socket is
  closed 3 s later (``silent_close_delay``) with nothing sent;
- a connection that has not completed connection.open within ``handshake_timeout`` (10 s)
  of its accept is closed with nothing sent, at any step (silent, header only, after
  start-ok, after tune-ok), even while it sends heartbeats; an open connection never is;
- an authentication failure is logged once, with the user and the peer, never the password.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from clientutil import EXTERNAL_URL
from pamqp import commands, encode
from rawamqp import PROTOCOL_HEADER, RawAMQP

from amqpbroker.protocol.framing import FRAME_HEARTBEAT, FRAME_METHOD, FRAME_MIN_SIZE

DROP_TIMEOUT = 8.0  # RabbitMQ drops 3 s after the error; our test brokers after 0.5 s
PASSWORD = "s3cret-never-logged"


def start_ok_payload(
    response: bytes,
    mechanism: str = "PLAIN",
    properties: dict[str, Any] | None = None,
    padding: int = 0,
) -> bytes:
    """A connection.start-ok, its client properties padded by ``padding`` octets."""
    properties = {"product": "raw", **(properties or {})}
    if padding:
        properties["pad"] = "." * padding
    args = (
        encode.field_table(properties)
        + encode.short_string(mechanism)
        + struct.pack(">I", len(response))
        + response
        + encode.short_string("en_US")
    )
    return struct.pack(">HH", 10, 11) + args


def plain(user: str, password: str) -> bytes:
    return b"\x00" + user.encode() + b"\x00" + password.encode()


def started(host: str, port: int) -> RawAMQP:
    """A raw connection that sent the protocol header and got connection.start."""
    c = RawAMQP(host, port, timeout=DROP_TIMEOUT)
    try:
        c.send(PROTOCOL_HEADER)
        c.expect_method(commands.Connection.Start)
    except BaseException:
        c.close()
        raise
    return c


def frames_until_eof(c: RawAMQP, timeout: float) -> list[Any]:
    """Every frame the broker sends until it closes the socket (fails on timeout)."""
    deadline = time.monotonic() + timeout
    frames = []
    while True:
        try:
            frames.append(c.recv_frame(max(0.0, deadline - time.monotonic()))[1])
        except EOFError:
            return frames


def tuned(host: str, port: int) -> RawAMQP:
    """A raw connection that authenticated and got connection.tune (not answered yet)."""
    c = started(host, port)
    try:
        c.send_frame(FRAME_METHOD, 0, start_ok_payload(plain("guest", "guest")))
        c.expect_method(commands.Connection.Tune)
    except BaseException:
        c.close()
        raise
    return c


# -- frames larger than 4096 octets before tune-ok --------------------------------------------


@pytest.mark.parametrize(
    ("step", "frame_type"),
    [
        ("instead of start-ok", FRAME_METHOD),
        ("instead of tune-ok", FRAME_METHOD),
        ("instead of tune-ok", FRAME_HEARTBEAT),
    ],
)
def test_a_frame_over_4096_octets_before_tune_ok_is_dropped_silently(
    broker: Any, step: str, frame_type: int
) -> None:
    opened = started if step == "instead of start-ok" else tuned
    with opened(broker.host, broker.port) as c:
        # the header alone is enough: the size is refused before any payload is read
        c.send(struct.pack(">BHI", frame_type, 0, FRAME_MIN_SIZE + 1))
        assert frames_until_eof(c, DROP_TIMEOUT) == []


def test_a_start_ok_of_exactly_4096_octets_is_accepted(broker: Any) -> None:
    payload = start_ok_payload(plain("guest", "guest"), padding=1)
    payload = start_ok_payload(plain("guest", "guest"), padding=1 + FRAME_MIN_SIZE - len(payload))
    assert len(payload) == FRAME_MIN_SIZE
    with started(broker.host, broker.port) as c:
        c.send_frame(FRAME_METHOD, 0, payload)
        c.expect_method(commands.Connection.Tune)


def test_the_drop_leaves_other_connections_alone(broker: Any) -> None:
    with RawAMQP.connect(broker.host, broker.port) as healthy:
        with started(broker.host, broker.port) as c:
            c.send(struct.pack(">BHI", FRAME_METHOD, 0, 1_000_000))
            assert frames_until_eof(c, DROP_TIMEOUT) == []
        assert isinstance(healthy.open_channel(1), commands.Channel.OpenOk)


# -- handshake_timeout -------------------------------------------------------------------------


@pytest.fixture
def quick_handshake(broker_factory: Callable[..., Any]) -> Any:
    return broker_factory(handshake_timeout=0.5)


@pytest.mark.parametrize("step", ["start-ok", "tune-ok"])
def test_a_handshake_stalled_after_step_is_dropped_without_a_frame(
    quick_handshake: Any, step: str
) -> None:
    b = quick_handshake
    with tuned(b.host, b.port) as c:
        if step == "tune-ok":
            c.send_method(0, commands.Connection.TuneOk(channel_max=2047, frame_max=131072))
        started_at = time.monotonic()
        assert frames_until_eof(c, 5) == []
        assert time.monotonic() - started_at < 4


def test_heartbeats_do_not_extend_the_handshake(quick_handshake: Any) -> None:
    b = quick_handshake
    with started(b.host, b.port) as c:
        deadline = time.monotonic() + 5
        while not c.wait_closed(0.1):
            assert time.monotonic() < deadline, "still open after 5 s of heartbeats"
            c.send_heartbeat()


def test_an_open_connection_outlives_the_handshake_timeout(quick_handshake: Any) -> None:
    b = quick_handshake
    with RawAMQP.connect(b.host, b.port) as opened:
        with RawAMQP(b.host, b.port) as stalled:  # accepted after ``opened``: dropped later
            assert stalled.wait_closed(5)
        assert isinstance(opened.open_channel(1), commands.Channel.OpenOk)


# -- what an authentication failure logs -------------------------------------------------------


@pytest.fixture
def auth_log(
    broker_factory: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> Iterator[tuple[Any, pytest.LogCaptureFixture]]:
    if EXTERNAL_URL:
        pytest.skip("reads this broker's log")
    caplog.set_level(logging.DEBUG, logger="amqpbroker")
    yield broker_factory(silent_close_delay=0.0, close_timeout=0.5), caplog


def amqplain(user: str, password: str) -> bytes:
    return encode.field_table({"LOGIN": user, "PASSWORD": password})[4:]


REFUSED, INVALID = "login refused:", "invalid credentials"
TRUNCATED_AMQPLAIN = amqplain("guest", PASSWORD) + b"\x03KEYS\x00\x00"  # a cut-off length


@pytest.mark.parametrize("capability", [False, True], ids=["silent", "auth-failure-close"])
@pytest.mark.parametrize(
    ("mechanism", "response", "logged"),
    [
        ("PLAIN", plain("guest", PASSWORD), f"PLAIN {REFUSED} user 'guest' - {INVALID}"),
        ("PLAIN", plain("nobody", PASSWORD), f"PLAIN {REFUSED} user 'nobody' - {INVALID}"),
        ("AMQPLAIN", amqplain("guest", PASSWORD), f"AMQPLAIN {REFUSED} user 'guest' - {INVALID}"),
        ("PLAIN", b"no separators " + PASSWORD.encode(), f"PLAIN {REFUSED} malformed response"),
        ("AMQPLAIN", TRUNCATED_AMQPLAIN, f"AMQPLAIN {REFUSED} malformed response"),
        ("NOSUCH", plain("guest", PASSWORD), "unsupported authentication mechanism 'NOSUCH'"),
    ],
    ids=[
        "plain",
        "plain-unknown-user",
        "amqplain",
        "plain-malformed",
        "amqplain-malformed",
        "mech",
    ],
)
def test_an_auth_failure_is_one_log_line_with_user_and_peer_without_password(
    auth_log: tuple[Any, pytest.LogCaptureFixture],
    mechanism: str,
    response: bytes,
    logged: str,
    capability: bool,
) -> None:
    b, caplog = auth_log
    properties = {"capabilities": {"authentication_failure_close": True}} if capability else {}
    with started(b.host, b.port) as c:
        c.send_frame(FRAME_METHOD, 0, start_ok_payload(response, mechanism, properties))
        frames_until_eof(c, DROP_TIMEOUT)
        host, port = c.sock.getsockname()
        peer = f"{host}:{port}"
    lines = [r for r in caplog.records if peer in r.getMessage()]
    assert [r.getMessage() for r in lines] == [f"connection from {peer} refused: {logged}"]
    assert lines[0].levelno == logging.WARNING
    for record in caplog.records:
        assert PASSWORD not in record.getMessage()
        assert record.exc_info is None
