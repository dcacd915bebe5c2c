"""The connection layer: protocol header, handshake, authentication, tuning, heartbeats, close.

Driven through pika (BlockingConnection), aio-pika and raw sockets (``rawamqp``). Expected
frames, reply codes and reply texts are those RabbitMQ 3.10.8 sends, including the quirks:
an authentication failure is only reported (403, class/method 0/0) to clients that advertise
the ``authentication_failure_close`` capability, other handshake failures (bad tune-ok values,
unknown mechanism) close the socket without a connection.close, and a client that misses
heartbeats is dropped without a connection.close.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import aio_pika
import aiormq
import pika
import pika.exceptions
import pytest
from clientutil import EXTERNAL_URL
from pamqp import commands, heartbeat
from rawamqp import PROTOCOL_HEADER, BrokerClosed, RawAMQP

from amqpbroker.version import __version__

AUTH_REFUSED = (
    "ACCESS_REFUSED - Login was refused using authentication mechanism {}. "
    "For details see the broker logfile."
)
FORCED = "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"
CAPABILITIES = {  # RabbitMQ 3.10.8 advertises these, in this order
    "publisher_confirms": True,
    "exchange_exchange_bindings": True,
    "basic.nack": True,
    "consumer_cancel_notify": True,
    "connection.blocked": True,
    "consumer_priorities": True,
    "authentication_failure_close": True,
    "per_consumer_qos": True,
    "direct_reply_to": True,
}
PRODUCT, VERSION = ("RabbitMQ", "3.10.8") if EXTERNAL_URL else ("amqpbroker", __version__)
SERVER_PROPERTY_KEYS = {
    "capabilities",
    "cluster_name",
    "copyright",
    "information",
    "platform",
    "product",
    "version",
}


def pika_connect(url: str, **query: Any) -> pika.BlockingConnection:
    params = pika.URLParameters(url)
    for name, value in query.items():
        setattr(params, name, value)
    return pika.BlockingConnection(params)


def frames_until_eof(c: RawAMQP, timeout: float) -> list[Any]:
    """Every frame the broker sends until it closes the socket (fails on timeout)."""
    deadline = time.monotonic() + timeout
    frames = []
    while True:
        try:
            frames.append(c.recv_frame(max(0.0, deadline - time.monotonic()))[1])
        except EOFError:
            return frames


# -- handshake ------------------------------------------------------------------------------------
def test_pika_connects_and_sees_rabbitmq_server_properties(broker_url: str) -> None:
    with pika_connect(broker_url) as conn:
        props = conn._impl.server_properties
        assert set(props) == SERVER_PROPERTY_KEYS
        assert props["product"] == PRODUCT
        assert props["version"] == VERSION
        assert isinstance(props["platform"], str)
        assert props["platform"]
        # same values, in the order RabbitMQ encodes them
        assert list(props["capabilities"].items()) == list(CAPABILITIES.items())
        assert conn.channel().is_open


async def test_aio_pika_connects_and_sees_capabilities(broker_url: str) -> None:
    conn = await aio_pika.connect(broker_url)
    try:
        props = conn.transport.connection.server_properties
        assert props["capabilities"] == CAPABILITIES
        assert props["product"] == PRODUCT
        channel = await conn.channel()
        assert not channel.is_closed
    finally:
        await conn.close()


def test_connection_start_fields(broker: Any) -> None:
    with RawAMQP(broker.host, broker.port) as c:
        c.send(PROTOCOL_HEADER)
        ch, start = c.expect_method(commands.Connection.Start)
        assert ch == 0
        assert (start.version_major, start.version_minor) == (0, 9)
        assert start.mechanisms.split() == ["PLAIN", "AMQPLAIN"]
        assert start.locales == "en_US"
        assert start.server_properties["capabilities"] == CAPABILITIES


def test_server_properties_strings_are_long_strings(broker: Any) -> None:
    """product/version are field-table type 'S' (long string), capabilities type 'F'/'t'."""
    with RawAMQP(broker.host, broker.port) as c:
        c.send(PROTOCOL_HEADER)
        frame_type, channel, payload = c.recv_raw_frame()
        assert (frame_type, channel, payload[:4]) == (1, 0, b"\x00\x0a\x00\x0a")
        assert b"\x07productS" + len(PRODUCT).to_bytes(4, "big") + PRODUCT.encode() in payload
        assert b"\x07versionS" + len(VERSION).to_bytes(4, "big") + VERSION.encode() in payload
        assert b"\x0ccapabilitiesF" in payload
        assert b"\x12publisher_confirmst\x01" in payload


def test_amqplain_login(broker: Any) -> None:
    with RawAMQP.connect(broker.host, broker.port, mechanism="AMQPLAIN") as c:
        assert isinstance(c.open_channel(1), commands.Channel.OpenOk)


# -- authentication and vhost access --------------------------------------------------------------
@pytest.mark.parametrize(
    ("user", "password", "mechanism"),
    [("guest", "wrong", "PLAIN"), ("nobody", "guest", "PLAIN"), ("guest", "wrong", "AMQPLAIN")],
)
def test_bad_credentials_are_refused_with_403(
    broker: Any, user: str, password: str, mechanism: str
) -> None:
    with pytest.raises(BrokerClosed) as err:
        RawAMQP.connect(broker.host, broker.port, user=user, password=password, mechanism=mechanism)
    closed = err.value
    assert closed.reply_code == 403
    assert closed.reply_text == AUTH_REFUSED.format(mechanism)
    assert (closed.class_id, closed.method_id) == (0, 0)


def test_bad_password_without_auth_failure_close_capability_just_drops(broker: Any) -> None:
    """Clients that do not advertise authentication_failure_close get no connection.close."""
    with pytest.raises(EOFError):
        RawAMQP.connect(
            broker.host, broker.port, timeout=8.0, password="wrong", client_properties={}
        )


def test_pika_bad_password_raises_probable_authentication_error(broker_url: str) -> None:
    url = broker_url.replace("guest:guest@", "guest:wrong@")
    with pytest.raises(pika.exceptions.ProbableAuthenticationError) as err:
        pika.BlockingConnection(pika.URLParameters(url))
    assert f"(403) '{AUTH_REFUSED.format('PLAIN')}'" in str(err.value)


async def test_aio_pika_bad_password(broker_url: str) -> None:
    url = broker_url.replace("guest:guest@", "guest:wrong@")
    with pytest.raises(aiormq.exceptions.ProbableAuthenticationError) as err:
        await aio_pika.connect(url)
    assert err.value.args == (AUTH_REFUSED.format("PLAIN"),)


def test_unknown_vhost_is_refused_with_530(broker: Any, unique: Callable[[str], str]) -> None:
    vhost = unique("novhost")
    with pytest.raises(BrokerClosed) as err:
        RawAMQP.connect(broker.host, broker.port, vhost=vhost)
    closed = err.value
    assert (closed.reply_code, closed.reply_text) == (530, f"NOT_ALLOWED - vhost {vhost} not found")
    assert (closed.class_id, closed.method_id) == (10, 40)


def test_pika_unknown_vhost_raises_access_denied(
    broker_url: str, unique: Callable[[str], str]
) -> None:
    vhost = unique("novhost")
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError) as err:
        pika.BlockingConnection(pika.URLParameters(broker_url + vhost))
    assert f"(530) 'NOT_ALLOWED - vhost {vhost} not found'" in str(err.value)


def test_unknown_mechanism_drops_without_close(broker: Any) -> None:
    with pytest.raises(EOFError):
        RawAMQP.connect(broker.host, broker.port, timeout=8.0, mechanism="NOSUCH")


# -- tune negotiation -----------------------------------------------------------------------------
def test_server_proposes_rabbitmq_tune_values(broker: Any) -> None:
    with RawAMQP.connect(broker.host, broker.port) as c:
        assert c.tune is not None
        assert (c.tune.channel_max, c.tune.frame_max, c.tune.heartbeat) == (2047, 131072, 60)


def test_pika_negotiates_server_values_by_default(broker_url: str) -> None:
    with pika_connect(broker_url) as conn:
        params = conn._impl.params
        assert (params.channel_max, params.frame_max, params.heartbeat) == (2047, 131072, 60)


def test_pika_lower_client_values_win(broker_url: str) -> None:
    with pika_connect(broker_url, channel_max=10, frame_max=8192, heartbeat=7) as conn:
        params = conn._impl.params
        assert (params.channel_max, params.frame_max, params.heartbeat) == (10, 8192, 7)
        ch = conn.channel()
        assert ch.exchange_declare("amq.direct", passive=True)


def test_negotiated_frame_max_splits_delivered_bodies(
    broker: Any, unique: Callable[[str], str]
) -> None:
    queue = unique("q")
    with RawAMQP.connect(broker.host, broker.port, frame_max=4096) as c:
        c.open_channel(1)
        c.send_method(1, commands.Queue.Declare(queue=queue, exclusive=True))
        c.expect_method(commands.Queue.DeclareOk)
        body = bytes(range(256)) * 40  # 10240 bytes, sent in frames of at most 4088
        c.send_method(1, commands.Basic.Publish(exchange="", routing_key=queue))
        c.send_frame(2, 1, c.header_payload(len(body)))
        for i in range(0, len(body), 4088):
            c.send_frame(3, 1, body[i : i + 4088])
        c.send_method(1, commands.Basic.Get(queue=queue, no_ack=True))
        c.expect_method(commands.Basic.GetOk)
        header = c.recv_raw_frame()
        assert header[:2] == (2, 1)
        sizes = [len(c.recv_raw_frame()[2]) for _ in range(3)]
        assert sizes == [4088, 4088, 2064]


def test_tune_ok_frame_max_below_4096_drops_connection(broker: Any) -> None:
    """RabbitMQ refuses the negotiation silently: no open-ok, no connection.close."""
    with pytest.raises(EOFError):
        RawAMQP.connect(broker.host, broker.port, timeout=8.0, frame_max=4095)


def test_configured_heartbeat_is_proposed(broker_factory: Callable[..., Any]) -> None:
    b = broker_factory(heartbeat=5)
    with RawAMQP.connect(b.host, b.port) as c:
        assert c.tune is not None
        assert c.tune.heartbeat == 5
    with pika_connect(b.url) as conn:
        assert conn._impl.params.heartbeat == 5


# -- heartbeats -----------------------------------------------------------------------------------
def test_broker_sends_heartbeats_at_negotiated_interval(broker: Any) -> None:
    with RawAMQP.connect(broker.host, broker.port, heartbeat=1) as c:
        start = time.monotonic()
        for _ in range(2):
            ch, _ = c.expect_method(heartbeat.Heartbeat, timeout=2.0)
            assert ch == 0
        assert time.monotonic() - start < 2.5


def test_silent_client_is_dropped_after_missed_heartbeats(broker: Any) -> None:
    with RawAMQP.connect(broker.host, broker.port, heartbeat=1) as c:
        start = time.monotonic()
        frames = frames_until_eof(c, timeout=8.0)
        elapsed = time.monotonic() - start
        assert all(isinstance(f, heartbeat.Heartbeat) for f in frames), frames
        assert 1.0 <= elapsed <= 8.0


def test_pika_client_with_heartbeat_stays_connected(broker_url: str) -> None:
    with pika_connect(broker_url, heartbeat=1) as conn:
        assert conn._impl.params.heartbeat == 1
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            conn.process_data_events(time_limit=0.2)
        assert conn.is_open
        assert conn.channel().exchange_declare("amq.fanout", passive=True)


# -- closing --------------------------------------------------------------------------------------
def test_client_connection_close_gets_close_ok(broker: Any) -> None:
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        c.send_method(
            0, commands.Connection.Close(reply_code=200, reply_text="bye", class_id=0, method_id=0)
        )
        ch, _ = c.expect_method(commands.Connection.CloseOk)
        assert ch == 0


def test_pika_close_is_clean(broker_url: str) -> None:
    conn = pika_connect(broker_url)
    ch = conn.channel()
    conn.close()
    assert conn.is_closed
    assert ch.is_closed


async def test_aio_pika_close_is_clean(broker_url: str) -> None:
    conn = await aio_pika.connect(broker_url)
    channel = await conn.channel()
    await conn.close()
    assert conn.is_closed
    assert channel.is_closed


def test_broker_stop_forces_pika_connections_closed(broker_factory: Callable[..., Any]) -> None:
    broker = broker_factory()
    with pika_connect(broker.url) as conn:
        conn.channel()
        stopper = threading.Thread(target=broker.stop)
        stopper.start()
        with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as err:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                conn.process_data_events(time_limit=0.1)
        stopper.join(10)
        assert (err.value.reply_code, err.value.reply_text) == (320, FORCED)


async def test_broker_stop_forces_aio_pika_connections_closed(
    broker_factory: Callable[..., Any],
) -> None:
    broker = broker_factory()
    conn = await aio_pika.connect(broker.url)
    closed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    conn.close_callbacks.add(lambda _sender, exc: closed.done() or closed.set_result(exc))
    try:
        await asyncio.get_running_loop().run_in_executor(None, broker.stop)
        exc = await asyncio.wait_for(closed, 10)
        assert isinstance(exc, aiormq.exceptions.ConnectionClosed)
        assert exc.args == (320, FORCED)
    finally:
        await conn.close()


def test_broker_stop_sends_connection_forced_frame(broker_factory: Callable[..., Any]) -> None:
    broker = broker_factory()
    with RawAMQP.connect(broker.host, broker.port) as c:
        c.open_channel(1)
        stopper = threading.Thread(target=broker.stop)
        stopper.start()
        close = c.expect_connection_close(timeout=10)
        stopper.join(10)
        assert (close.reply_code, close.reply_text) == (320, FORCED)
        assert (close.class_id, close.method_id) == (0, 0)
        assert c.wait_closed(5)


# -- protocol header ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "header",
    [
        b"AMQP\x00\x00\x09\x00",
        b"AMQP\x00\x00\x08\x00",
        b"AMQP\x00\x01\x00\x00",
        b"AMQX\x00\x00\x09\x01",
        b"GET / HTTP/1.1\r\n\r\n",
    ],
)
def test_bad_protocol_header_is_answered_with_ours_then_closed(broker: Any, header: bytes) -> None:
    with RawAMQP(broker.host, broker.port) as c:
        c.send(header)
        assert c.recv_exact(8) == PROTOCOL_HEADER
        assert c.wait_closed(5)


def test_legacy_0_9_header_is_accepted_as_0_9_1(broker: Any) -> None:
    """RabbitMQ treats 'AMQP 1 1 0 9' (the 0-9 draft's header) as 0-9-1."""
    with RawAMQP(broker.host, broker.port) as c:
        c.send(b"AMQP\x01\x01\x00\x09")
        _, start = c.expect_method(commands.Connection.Start)
        assert (start.version_major, start.version_minor) == (0, 9)
        c.send_method(
            0,
            commands.Connection.StartOk(
                client_properties={}, mechanism="PLAIN", response="\0guest\0guest"
            ),
        )
        _, tune = c.expect_method(commands.Connection.Tune)
        c.send_method(
            0,
            commands.Connection.TuneOk(
                channel_max=tune.channel_max, frame_max=tune.frame_max, heartbeat=0
            ),
        )
        c.send_method(0, commands.Connection.Open(virtual_host="/"))
        c.expect_method(commands.Connection.OpenOk)


@pytest.mark.parametrize("sent", [b"", b"AMQP", PROTOCOL_HEADER])
def test_stalled_handshake_is_dropped_after_handshake_timeout(
    broker_factory: Callable[..., Any], sent: bytes
) -> None:
    b = broker_factory(handshake_timeout=0.5)
    with RawAMQP(b.host, b.port) as c:
        c.send(sent)
        start = time.monotonic()
        assert c.wait_closed(5)
        assert time.monotonic() - start < 4
