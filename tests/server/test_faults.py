"""Fault injection on embedded brokers: forced closes, a simulated restart, silent heartbeats.

What RabbitMQ 3.10.8 sends, observed on the reference: a connection closed through the
management API (``DELETE /api/connections/NAME``) gets 320 ``CONNECTION_FORCED - <the
X-Reason header>``, ``CONNECTION_FORCED - Closed via management plugin`` without one and
``CONNECTION_FORCED - `` with an empty one; a stopping broker sends 320 ``CONNECTION_FORCED -
broker forced connection closure with reason 'shutdown'``.  What a restart keeps is what
``tests/durability/test_restart.py`` checks on a real stop and start.

The faults are injected with the in-process API, so these tests need brokers of their own
and are skipped against an external one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aio_pika
import pika
import pika.exceptions
import pytest
from clientutil import EXTERNAL_URL, channel_error
from pamqp import commands
from pamqp import heartbeat as pheartbeat
from rawamqp import RawAMQP

from amqpbroker.core.broker import BrokerState
from amqpbroker.core.ports import ManualClock
from amqpbroker.embedded.broker import Broker
from amqpbroker.testing.polling import DEADLINE, wait_until_async

PERSISTENT = pika.BasicProperties(delivery_mode=2)
SHUTDOWN = (320, "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'")


@pytest.fixture
async def async_broker() -> AsyncIterator[Broker]:
    """A ``Broker`` on the test's own event loop."""
    if EXTERNAL_URL:
        pytest.skip("needs a broker the test can configure")
    async with Broker() as broker:
        yield broker


def connect(url: str, **client_properties: Any) -> pika.BlockingConnection:
    parameters = pika.URLParameters(url)
    if client_properties:
        parameters.client_properties = client_properties
    return pika.BlockingConnection(parameters)


def closed_by_broker(connection: pika.BlockingConnection) -> tuple[int, str]:
    """Read until the broker's connection.close arrives; its (code, text)."""
    deadline = time.monotonic() + DEADLINE
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as info:
        while time.monotonic() < deadline:
            connection.process_data_events(time_limit=0.1)
    return info.value.reply_code, info.value.reply_text


# -- closing connections ---------------------------------------------------------------------------


def test_close_connections_reads_as_a_management_force_close(
    broker_factory: Callable[..., Any],
) -> None:
    broker = broker_factory()
    first, second = connect(broker.url), connect(broker.url)
    assert broker.close_connections() == 2
    for connection in (first, second):
        assert closed_by_broker(connection) == (
            320,
            "CONNECTION_FORCED - Closed via management plugin",
        )
    assert broker.close_connections() == 0  # every one of them is gone or going


def test_close_connection_by_client_name_leaves_the_others(
    broker_factory: Callable[..., Any],
) -> None:
    broker = broker_factory()
    doomed = connect(broker.url, connection_name="faults-doomed")
    spared = connect(broker.url, connection_name="faults-spared")
    doomed_channel = doomed.channel()
    doomed_channel.queue_declare("faults-mine", exclusive=True)
    assert broker.close_connection("faults-doomed", reason="test reason") == 1
    assert closed_by_broker(doomed) == (320, "CONNECTION_FORCED - test reason")
    channel = spared.channel()  # still served; the exclusive queue went with its owner
    assert channel_error(spared, lambda ch: ch.queue_declare("faults-mine", passive=True)) == (
        404,
        "NOT_FOUND - no queue 'faults-mine' in vhost '/'",
    )
    assert channel.is_open
    spared.close()


def test_close_connection_by_address_with_another_code(
    broker_factory: Callable[..., Any],
) -> None:
    broker = broker_factory()
    with RawAMQP.connect(broker.host, broker.port) as raw:
        host, port = raw.sock.getsockname()[:2]
        rabbit_name = f"{host}:{port} -> {broker.host}:{broker.port}"  # as the management API
        assert broker.close_connection(rabbit_name, code=541, reason="") == 1
        close = raw.expect_connection_close()
        assert (close.reply_code, close.reply_text) == (541, "INTERNAL_ERROR - ")
        assert (close.class_id, close.method_id) == (0, 0)
        assert raw.wait_closed(timeout=DEADLINE)


def test_close_connection_refuses_unknown_names_and_codes(
    broker_factory: Callable[..., Any],
) -> None:
    broker = broker_factory()
    connection = connect(broker.url, connection_name="faults-kept")
    with pytest.raises(LookupError, match="no connection named 'nobody'"):
        broker.close_connection("nobody")
    with pytest.raises(ValueError, match="not a connection-level reply code"):
        broker.close_connections(code=404)
    assert connection.channel().is_open
    connection.close()


# -- restart ---------------------------------------------------------------------------------------


def test_pika_sees_the_shutdown_and_reconnects_to_the_same_port(
    broker_factory: Callable[..., Any],
) -> None:
    broker = broker_factory()
    port = broker.port
    connection = connect(broker.url)
    broker.restart()
    assert closed_by_broker(connection) == SHUTDOWN
    assert broker.port == port
    again = connect(broker.url)
    assert again.channel().is_open
    again.close()


async def test_restart_refuses_connections_for_its_downtime(async_broker: Broker) -> None:
    restarting = asyncio.create_task(async_broker.restart(downtime=1.0))

    async def refused() -> bool:
        try:
            _, writer = await asyncio.open_connection(async_broker.host, async_broker.port)
        except ConnectionError:  # refused (or reset, caught in the listener's closing)
            return True
        writer.close()
        return False

    # well inside the downtime
    await wait_until_async(refused, "the port to refuse connections", timeout=0.5)
    assert not restarting.done()
    await restarting
    connection = await aio_pika.connect(async_broker.url)
    await connection.close()


def build_state(url: str) -> pika.BlockingConnection:
    """Durable and transient things, bound every way, with messages ready and unacked."""
    connection = connect(url)
    ch = connection.channel()
    ch.confirm_delivery()
    ch.exchange_declare("d.x", "topic", durable=True)
    ch.exchange_declare("d.auto.x", "fanout", durable=True, auto_delete=True)
    ch.exchange_declare("t.x", "direct", durable=False)
    ch.queue_declare("d.q", durable=True)
    ch.queue_declare("d.auto.q", durable=True, auto_delete=True)  # never consumed: kept
    ch.queue_declare("t.q", durable=False)
    ch.queue_declare("x.q", durable=True, exclusive=True)
    ch.queue_bind("d.q", "d.x", "d.#")
    ch.queue_bind("t.q", "d.x", "t.#")
    ch.queue_bind("d.q", "t.x", "t")
    ch.exchange_bind("t.x", "d.x", "e.#")
    ch.queue_bind("t.q", "d.auto.x")  # its only binding goes; the exchange stays
    for body, properties in (
        (b"p1", PERSISTENT),
        (b"t1", None),
        (b"p2", PERSISTENT),
        (b"t2", None),
    ):
        ch.basic_publish("", "d.q", body, properties)
        ch.basic_publish("", "t.q", body, properties)
    for _ in range(2):  # p1 and t1 stay unacked
        assert ch.basic_get("d.q")[0] is not None
    return connection


def snapshot(state: BrokerState) -> dict[str, Any]:
    vhost = state.vhosts["/"]
    return {
        "vhosts": sorted(state.vhosts),
        "exchanges": {
            name: (
                exchange.type_name,
                exchange.auto_delete,
                sorted((b.destination.name, b.routing_key) for b in exchange.bindings.values()),
            )
            for name, exchange in sorted(vhost.exchanges.items())
            if not name.startswith("amq.") and name
        },
        "queues": {name: queue.message_count for name, queue in sorted(vhost.queues.items())},
    }


def drain(url: str, queue: str) -> list[tuple[bytes, bool]]:
    with connect(url) as connection:
        ch = connection.channel()
        got = []
        while (message := ch.basic_get(queue, auto_ack=True))[0] is not None:
            got.append((message[2], message[0].redelivered))
        return got


def test_in_memory_restart_ends_where_a_real_restart_does(
    broker_factory: Callable[..., Any], tmp_path: Path
) -> None:
    """The same state, restarted in memory and for real on a data directory."""
    ends = {}
    for kind, options in (("memory", {}), ("disk", {"data_dir": str(tmp_path), "fsync": False})):
        broker = broker_factory(**options)
        connection = build_state(broker.url)
        broker.restart()
        assert closed_by_broker(connection) == SHUTDOWN
        ends[kind] = snapshot(broker.server.state), drain(broker.url, "d.q")
    assert ends["memory"] == ends["disk"]
    state, messages = ends["memory"]
    assert state == {
        "vhosts": ["/"],
        "exchanges": {"d.auto.x": ("fanout", True, []), "d.x": ("topic", False, [("d.q", "d.#")])},
        "queues": {"d.auto.q": 0, "d.q": 2},
    }
    assert messages == [(b"p1", True), (b"p2", False)]


@pytest.mark.parametrize("on_disk", [False, True], ids=["in-memory", "data-dir"])
def test_quorum_queues_keep_transient_messages_across_a_restart(
    broker_factory: Callable[..., Any], tmp_path: Path, on_disk: bool
) -> None:
    """RabbitMQ logs every message of a quorum queue, persistent or not, and the unacked
    one comes back redelivered, counted once."""
    broker = broker_factory(data_dir=str(tmp_path) if on_disk else None)
    connection = connect(broker.url)
    ch = connection.channel()
    ch.confirm_delivery()
    ch.queue_declare("qq", durable=True, arguments={"x-queue-type": "quorum"})
    ch.basic_publish("", "qq", b"transient")
    ch.basic_publish("", "qq", b"persistent", PERSISTENT)
    assert ch.basic_get("qq")[2] == b"transient"  # unacked: returned once by the restart
    broker.restart()
    assert closed_by_broker(connection) == SHUTDOWN
    with connect(broker.url) as connection:
        ch = connection.channel()
        method, properties, body = ch.basic_get("qq", auto_ack=True)
        assert (body, method.redelivered, properties.headers) == (
            b"transient",
            True,
            {"x-delivery-count": 1},
        )
        assert ch.basic_get("qq", auto_ack=True)[2] == b"persistent"


async def test_connect_robust_comes_back_after_a_restart(async_broker: Broker) -> None:
    """aio-pika's robust connection reconnects and restores its channel, queue and consumer;
    the unacked persistent message comes back redelivered, the transient one does not."""
    url = f"{async_broker.url}?reconnect_interval=0.1"
    connection = await aio_pika.connect_robust(url)
    received: asyncio.Queue[tuple[bytes, bool]] = asyncio.Queue()

    async def keep_unacked(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        await received.put((message.body, message.redelivered))

    channel = await connection.channel()
    queue = await channel.declare_queue("faults-robust", durable=True)
    await queue.consume(keep_unacked)
    persistent = aio_pika.DeliveryMode.PERSISTENT
    for body, mode in ((b"p", persistent), (b"t", aio_pika.DeliveryMode.NOT_PERSISTENT)):
        await channel.default_exchange.publish(
            aio_pika.Message(body, delivery_mode=mode), routing_key=queue.name
        )
    assert [await next_of(received) for _ in range(2)] == [(b"p", False), (b"t", False)]

    await async_broker.restart()
    assert await next_of(received) == (b"p", True)
    await channel.default_exchange.publish(
        aio_pika.Message(b"after", delivery_mode=persistent), routing_key=queue.name
    )
    assert await next_of(received) == (b"after", False)  # "t" would have come before it
    await connection.close()


async def next_of(received: asyncio.Queue[tuple[bytes, bool]]) -> tuple[bytes, bool]:
    return await asyncio.wait_for(received.get(), DEADLINE)


# -- heartbeats ------------------------------------------------------------------------------------


async def test_a_client_notices_dropped_heartbeats_and_reconnects(async_broker: Broker) -> None:
    """heartbeat=1: aio-pika gives up on a silent broker after about six seconds, and its
    robust connection comes back once heartbeats resume."""
    url = f"{async_broker.url}?heartbeat=1&reconnect_interval=0.1"
    connection = await aio_pika.connect_robust(url)
    lost, back = asyncio.Event(), asyncio.Event()
    connection.close_callbacks.add(lambda *_: lost.set())
    connection.reconnect_callbacks.add(lambda *_: back.set())
    channel = await connection.channel()
    await channel.declare_queue("faults-heartbeat", auto_delete=True)

    async_broker.drop_heartbeats()
    await asyncio.wait_for(lost.wait(), 15.0)
    async_broker.resume_heartbeats()
    await asyncio.wait_for(back.wait(), DEADLINE)
    await channel.declare_queue("faults-heartbeat", passive=True)  # restored by the client
    await connection.close()


def test_dropped_heartbeats_are_neither_sent_nor_expected(
    broker_factory: Callable[..., Any],
) -> None:
    """On a manual clock: while dropped, ten silent seconds pass without a heartbeat either
    way and the client is kept; resumed, heartbeats flow and silence counts again."""
    clock = ManualClock()
    broker = broker_factory(wire_clock=clock)  # heartbeats on a clock the test moves

    def advance(seconds: float) -> None:
        broker._on_loop(clock.advance, seconds)  # on the loop, which owns the clock

    with RawAMQP.connect(broker.host, broker.port, heartbeat=1) as raw:
        broker.drop_heartbeats()
        advance(10)
        raw.send_method(1, commands.Channel.Open())
        assert isinstance(raw.recv_frame()[1], commands.Channel.OpenOk)  # no heartbeat first
        broker.resume_heartbeats()
        advance(0.5)
        assert isinstance(raw.recv_frame()[1], pheartbeat.Heartbeat)
        advance(3)  # two checks without a byte from the client
        assert raw.wait_closed(timeout=DEADLINE)
