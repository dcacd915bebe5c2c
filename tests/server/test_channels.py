"""The channel layer: open/close, channel.flow, channel_max, channel-number misuse, error scope.

Driven through pika (BlockingConnection) and raw sockets (``rawamqp``). Expected codes and texts
are those of RabbitMQ 3.10.8. Notable RabbitMQ behaviour checked here: channel_max limits the
*number* of open channels (not channel numbers), channel.flow active=false is a connection-level
540 NOT_IMPLEMENTED, misusing channel numbers is a connection-level 504 CHANNEL_ERROR, and a
channel closed by the broker ignores everything but close/close-ok until the client answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pika
import pika.exceptions
import pytest
from pamqp import commands
from rawamqp import RawAMQP


@pytest.fixture
def raw(broker: Any) -> Iterator[RawAMQP]:
    with RawAMQP.connect(broker.host, broker.port) as c:
        yield c


def channel_close() -> commands.Channel.Close:
    return commands.Channel.Close(reply_code=200, reply_text="", class_id=0, method_id=0)


def frames_until(c: RawAMQP, channel: int, cls: type) -> list[tuple[int, Any]]:
    """Receive until an instance of ``cls`` on ``channel``; return the frames seen before it."""
    seen = []
    while True:
        ch, frame = c.recv_frame()
        if ch == channel and isinstance(frame, cls):
            return seen
        seen.append((ch, frame))


def assert_connection_usable(url: str) -> None:
    with pika.BlockingConnection(pika.URLParameters(url)) as other:
        assert other.channel().exchange_declare("amq.direct", passive=True)


# -- open / close ---------------------------------------------------------------------------------
def test_pika_channel_open_and_close(conn: pika.BlockingConnection) -> None:
    ch = conn.channel()
    assert ch.is_open
    ch.close()
    assert ch.is_closed
    assert conn.is_open


def test_raw_channel_open_ok_and_close_ok(raw: RawAMQP) -> None:
    raw.send_method(1, commands.Channel.Open())
    ch, ok = raw.expect_method(commands.Channel.OpenOk)
    assert (ch, ok.channel_id) == (1, "")
    raw.send_method(1, channel_close())
    ch, _ = raw.expect_method(commands.Channel.CloseOk)
    assert ch == 1


def test_many_channels_on_one_connection(conn: pika.BlockingConnection) -> None:
    channels = [conn.channel() for _ in range(100)]
    assert len({ch.channel_number for ch in channels}) == 100
    for ch in channels:
        assert ch.exchange_declare("amq.topic", passive=True)
    for ch in channels:
        ch.close()
    assert conn.is_open


def test_high_channel_number_can_be_opened(raw: RawAMQP) -> None:
    raw.send_method(2047, commands.Channel.Open())
    ch, _ = raw.expect_method(commands.Channel.OpenOk)
    assert ch == 2047


def test_closed_channel_number_can_be_reopened(raw: RawAMQP) -> None:
    raw.open_channel(1)
    raw.send_method(1, channel_close())
    raw.expect_method(commands.Channel.CloseOk)
    raw.open_channel(1)
    raw.send_method(1, commands.Exchange.Declare(exchange="amq.direct", passive=True))
    ch, _ = raw.expect_method(commands.Exchange.DeclareOk)
    assert ch == 1


def test_pika_reopens_a_channel_number_after_close(conn: pika.BlockingConnection) -> None:
    conn.channel(channel_number=7).close()
    again = conn.channel(channel_number=7)
    assert again.is_open
    assert again.exchange_declare("amq.direct", passive=True)


# -- channel.flow ---------------------------------------------------------------------------------
def test_flow_active_true_gets_flow_ok(raw: RawAMQP) -> None:
    raw.open_channel(1)
    raw.send_method(1, commands.Channel.Flow(active=True))
    ch, ok = raw.expect_method(commands.Channel.FlowOk)
    assert (ch, ok.active) == (1, True)


def test_flow_active_false_is_not_implemented(raw: RawAMQP) -> None:
    raw.open_channel(1)
    raw.send_method(1, commands.Channel.Flow(active=False))
    close = raw.expect_connection_close()
    assert (close.reply_code, close.reply_text) == (540, "NOT_IMPLEMENTED - active=false")
    assert (close.class_id, close.method_id) == (20, 20)


# -- channel_max ----------------------------------------------------------------------------------
def test_channel_max_limits_number_of_open_channels(broker: Any) -> None:
    with RawAMQP.connect(broker.host, broker.port, channel_max=5) as c:
        for n in range(1, 6):
            c.open_channel(n)
        c.send_method(6, commands.Channel.Open())
        close = c.expect_connection_close()
        assert close.reply_code == 530
        assert close.reply_text == (
            "NOT_ALLOWED - number of channels opened (5) has reached the negotiated channel_max (5)"
        )
        assert (close.class_id, close.method_id) == (0, 0)


def test_channel_max_counts_channels_not_channel_numbers(broker: Any) -> None:
    """RabbitMQ 3.10 accepts channel number 6 under channel_max=5 while fewer than 5 are open."""
    with RawAMQP.connect(broker.host, broker.port, channel_max=5) as c:
        c.send_method(6, commands.Channel.Open())
        ch, _ = c.expect_method(commands.Channel.OpenOk)
        assert ch == 6


def test_channel_max_frees_slots_on_close(broker: Any) -> None:
    with RawAMQP.connect(broker.host, broker.port, channel_max=2) as c:
        c.open_channel(1)
        c.open_channel(2)
        c.send_method(2, channel_close())
        c.expect_method(commands.Channel.CloseOk)
        assert isinstance(c.open_channel(3), commands.Channel.OpenOk)


# -- channel-number misuse (connection errors) ----------------------------------------------------
def test_second_open_on_open_channel(raw: RawAMQP) -> None:
    raw.open_channel(1)
    raw.send_method(1, commands.Channel.Open())
    close = raw.expect_connection_close()
    assert (close.reply_code, close.reply_text) == (
        504,
        "CHANNEL_ERROR - second 'channel.open' seen",
    )
    assert (close.class_id, close.method_id) == (20, 10)
    assert raw.wait_closed(5)


@pytest.mark.parametrize(
    ("method", "ids"),
    [
        (commands.Queue.Declare(queue="q-never-declared"), (50, 10)),
        (channel_close(), (20, 40)),
        (commands.Channel.CloseOk(), (20, 41)),
        (commands.Channel.Flow(active=True), (20, 20)),
    ],
)
def test_method_on_unopened_channel(raw: RawAMQP, method: Any, ids: tuple[int, int]) -> None:
    raw.send_method(3, method)
    close = raw.expect_connection_close()
    assert (close.reply_code, close.reply_text) == (504, "CHANNEL_ERROR - expected 'channel.open'")
    assert (close.class_id, close.method_id) == ids


def test_channel_open_on_channel_zero(raw: RawAMQP) -> None:
    raw.send_method(0, commands.Channel.Open())
    close = raw.expect_connection_close()
    assert close.reply_code == 504
    assert close.reply_text == "CHANNEL_ERROR - unexpected method in connection state running"
    assert (close.class_id, close.method_id) == (20, 10)


# -- error scope ----------------------------------------------------------------------------------
def test_channel_error_closes_only_that_channel(
    conn: pika.BlockingConnection, broker_url: str, unique: Callable[[str], str]
) -> None:
    bad, good = conn.channel(), conn.channel()
    missing = unique("missing")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as err:
        bad.queue_declare(missing, passive=True)
    assert (err.value.reply_code, err.value.reply_text) == (
        404,
        f"NOT_FOUND - no queue '{missing}' in vhost '/'",
    )
    assert bad.is_closed
    assert conn.is_open
    assert good.is_open
    queue = good.queue_declare(unique("q"), exclusive=True).method.queue
    assert conn.channel().queue_declare(queue, passive=True).method.queue == queue
    assert_connection_usable(broker_url)


def test_closed_channel_ignores_methods_until_close_ok(
    raw: RawAMQP, unique: Callable[[str], str]
) -> None:
    raw.open_channel(1)
    raw.open_channel(2)
    missing = unique("missing")
    raw.send_method(1, commands.Queue.Declare(queue=missing, passive=True))
    ch, close = raw.expect_method(commands.Channel.Close)
    assert (ch, close.reply_code, close.class_id, close.method_id) == (1, 404, 50, 10)
    # not yet acknowledged: RabbitMQ drops this silently (no reply at all on channel 1)
    raw.send_method(1, commands.Exchange.Declare(exchange="amq.direct", passive=True))
    raw.send_method(2, commands.Exchange.Declare(exchange="amq.fanout", passive=True))
    assert frames_until(raw, 2, commands.Exchange.DeclareOk) == []
    raw.send_method(1, commands.Channel.CloseOk())
    raw.send_method(1, commands.Channel.Open())
    # a reply to the dropped declare would come before this open-ok on the same channel
    assert frames_until(raw, 1, commands.Channel.OpenOk) == []


def test_connection_error_closes_whole_connection(
    conn: pika.BlockingConnection, broker_url: str, unique: Callable[[str], str]
) -> None:
    first, second = conn.channel(), conn.channel()
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as err:
        first.exchange_declare(unique("x"), exchange_type="nosuch")
    assert (err.value.reply_code, err.value.reply_text) == (
        503,
        "COMMAND_INVALID - unknown exchange type 'nosuch'",
    )
    assert conn.is_closed
    assert second.is_closed
    assert_connection_usable(broker_url)


def test_connection_error_frame_then_socket_closed(
    raw: RawAMQP, unique: Callable[[str], str]
) -> None:
    raw.open_channel(1)
    raw.send_method(1, commands.Exchange.Declare(exchange=unique("x"), exchange_type="nosuch"))
    ch, close = raw.expect_method(commands.Connection.Close)
    assert ch == 0
    assert (close.class_id, close.method_id) == (40, 10)
    raw.send_method(0, commands.Connection.CloseOk())
    assert raw.wait_closed(5)
