"""connection.blocked / connection.unblocked: publishers held while a resource alarm is up.

What RabbitMQ 3.10.8 does under a memory alarm (observed with set_vm_memory_high_watermark):
nothing is sent when the alarm goes off.  A connection is caught at its first content frame
after it: the broker stops reading it (its publishes wait, none lost) and tells it
connection.blocked "low on memory" if it announced the capability; any other client is held
silently.  Consumers, idle connections and connections that published only before the alarm
are not blocked and keep being served.  Heartbeats keep going out, and a blocked client is not
dropped for missing ones.  When the alarm clears, only the connections that were told get
connection.unblocked, and the held publishes land.

The alarm is raised with the in-process API (``block_publishers``), so these tests need a
broker of their own and are skipped against an external one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import aio_pika
import pika
import pika.exceptions
import pytest
from pamqp import commands
from pamqp import frame as pframe
from pamqp import heartbeat as pheartbeat
from rawamqp import DEFAULT_CLIENT_PROPERTIES, RawAMQP

from amqpbroker.testing.polling import DEADLINE, wait_until, wait_until_async

WITHOUT_CAPABILITY = {
    "product": "no-connection-blocked",
    "capabilities": {
        k: v
        for k, v in DEFAULT_CLIENT_PROPERTIES["capabilities"].items()
        if k != "connection.blocked"
    },
}


@pytest.fixture
def broker(broker_factory: Callable[..., Any]) -> Any:
    """An in-process broker whose resource alarm the test raises and clears."""
    return broker_factory()


class Watched:
    """A pika connection that records the connection.blocked / unblocked it is sent."""

    def __init__(self, url: str, **params: Any) -> None:
        parameters = pika.URLParameters(url)
        for name, value in params.items():
            setattr(parameters, name, value)
        self.connection = pika.BlockingConnection(parameters)
        self.events: list[tuple[str, ...]] = []
        self.connection.add_on_connection_blocked_callback(
            lambda _conn, frame: self.events.append(("blocked", frame.method.reason))
        )
        self.connection.add_on_connection_unblocked_callback(
            lambda _conn, _frame: self.events.append(("unblocked",))
        )

    def wait_for_events(self, count: int) -> list[tuple[str, ...]]:
        until(self.connection, lambda: len(self.events) >= count)
        return self.events

    def events_so_far(self) -> list[tuple[str, ...]]:
        """After a round trip: every blocked/unblocked sent before its reply is in."""
        self.connection.process_data_events(time_limit=0)
        return self.events

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()


def until(connection: pika.BlockingConnection, done: Callable[[], bool]) -> None:
    """Service ``connection`` (its callbacks run) until ``done()``."""
    wait_until(done, "the broker", pause=lambda: connection.process_data_events(time_limit=0.05))


def message_count(channel: Any, queue: str) -> int:
    return int(channel.queue_declare(queue, passive=True).method.message_count)


def drain(connection: pika.BlockingConnection, queue: str, count: int) -> list[bytes]:
    """Consume ``count`` messages from ``queue`` (auto-ack) and return their bodies."""
    channel = connection.channel()
    bodies: list[bytes] = []
    channel.basic_consume(queue, lambda _ch, _m, _p, body: bodies.append(body), auto_ack=True)
    until(connection, lambda: len(bodies) >= count)
    return bodies


@pytest.fixture
def watched(broker_url: str) -> Any:
    """``watched(**params)``: Watched connections, closed after the test."""
    opened: list[Watched] = []

    def open_(**params: Any) -> Watched:
        opened.append(Watched(broker_url, **params))
        return opened[-1]

    yield open_
    for w in opened:
        w.close()


# -- pika -------------------------------------------------------------------------------------


def test_publisher_is_blocked_at_its_first_publish_and_its_publishes_land_after(
    broker, watched, connection, unique
):
    queue = unique("held")
    observer = connection.channel()
    observer.queue_declare(queue)
    publisher = watched()
    pch = publisher.connection.channel()
    broker.block_publishers()
    assert publisher.events_so_far() == [], "nothing is sent when the alarm goes off"
    bodies = [b"m%03d" % i for i in range(100)]
    for body in bodies:
        pch.basic_publish("", queue, body)
    assert publisher.wait_for_events(1) == [("blocked", "low on memory")]
    # The broker stopped reading at the first content header: not even its body was taken.
    assert message_count(observer, queue) == 0
    broker.unblock_publishers()
    assert publisher.wait_for_events(2) == [("blocked", "low on memory"), ("unblocked",)]
    assert drain(connection, queue, len(bodies)) == bodies
    observer.queue_delete(queue)


def test_consumers_keep_receiving_while_publishers_are_blocked(broker, watched, connection, unique):
    queue = unique("backlog")
    feeder = connection.channel()
    feeder.confirm_delivery()
    feeder.queue_declare(queue)
    backlog = [b"b%02d" % i for i in range(20)]
    for body in backlog:
        feeder.basic_publish("", queue, body)
    publisher = watched()
    broker.block_publishers()
    publisher.connection.channel().basic_publish("", queue, b"late")
    assert publisher.wait_for_events(1) == [("blocked", "low on memory")]

    consumer = watched()
    cch = consumer.connection.channel()
    cch.basic_qos(prefetch_count=1)  # each delivery after the first needs an ack read
    received: list[bytes] = []

    def on_message(ch: Any, method: Any, _props: Any, body: bytes) -> None:
        received.append(body)
        ch.basic_ack(method.delivery_tag)

    cch.basic_consume(queue, on_message)
    until(consumer.connection, lambda: len(received) == len(backlog))
    assert received == backlog
    broker.unblock_publishers()
    until(consumer.connection, lambda: len(received) == len(backlog) + 1)
    assert received[-1] == b"late"
    assert consumer.events_so_far() == [], "a consumer is never blocked"
    feeder.queue_delete(queue)


def test_connections_that_do_not_publish_during_the_alarm_are_not_blocked(broker, watched, unique):
    """Idle, or publishing only before the alarm: served throughout, never told anything."""
    queue = unique("q")
    earlier = watched()
    ech = earlier.connection.channel()
    ech.queue_declare(queue)
    ech.basic_publish("", queue, b"before the alarm")
    idle = watched()
    ich = idle.connection.channel()
    publisher = watched()
    broker.block_publishers()
    publisher.connection.channel().basic_publish("", queue, b"during")
    assert publisher.wait_for_events(1) == [("blocked", "low on memory")]
    assert message_count(ech, queue) == 1  # answered: its connection is still read
    assert message_count(ich, queue) == 1
    broker.unblock_publishers()
    publisher.wait_for_events(2)
    assert message_count(ich, queue) == 2
    assert message_count(ech, queue) == 2
    assert idle.events_so_far() == []
    assert earlier.events_so_far() == []
    ech.queue_delete(queue)


def test_a_publisher_is_blocked_again_by_the_next_alarm(broker, watched, connection, unique):
    queue = unique("q")
    connection.channel().queue_declare(queue)
    publisher = watched()
    pch = publisher.connection.channel()
    for round_ in (1, 2):
        broker.block_publishers()
        pch.basic_publish("", queue, b"round %d" % round_)
        publisher.wait_for_events(2 * round_ - 1)
        broker.unblock_publishers()
        publisher.wait_for_events(2 * round_)
    assert publisher.events == [("blocked", "low on memory"), ("unblocked",)] * 2
    assert drain(connection, queue, 2) == [b"round 1", b"round 2"]
    connection.channel().queue_delete(queue)


# -- raw clients ------------------------------------------------------------------------------


def next_method(raw: RawAMQP) -> Any:
    """The next frame that is not a heartbeat."""
    while True:
        _, frame = raw.recv_frame()
        if not isinstance(frame, pheartbeat.Heartbeat):
            return frame


def declare_frame(queue: str) -> bytes:
    """queue.declare passive on channel 1, as raw bytes."""
    return pframe.marshal(commands.Queue.Declare(queue=queue, passive=True), 1)


def test_client_without_the_capability_is_held_without_a_frame(broker, connection, unique):
    queue = unique("q")
    observer = connection.channel()
    observer.queue_declare(queue)
    with RawAMQP.connect(broker.host, broker.port, client_properties=WITHOUT_CAPABILITY) as raw:
        raw.open_channel(1)
        broker.block_publishers()
        # One write: an empty-bodied publish (complete with its header, so it is routed before
        # the block takes hold), a publish with a body, and a question.
        raw.send(
            raw.publish_bytes(1, "", queue, b"")
            + raw.publish_bytes(1, "", queue, b"held")
            + declare_frame(queue)
        )
        wait_until(
            lambda: message_count(observer, queue),
            "the empty-bodied publish to be routed",
            pause=lambda: None,
        )
        assert message_count(observer, queue) == 1, "the second publish is held"
        broker.unblock_publishers()
        # No connection.blocked before, no connection.unblocked now: the answer comes first.
        assert isinstance(next_method(raw), commands.Queue.DeclareOk)
    assert drain(connection, queue, 2) == [b"", b"held"]
    observer.queue_delete(queue)


def test_unblock_without_block_is_a_no_op(broker, unique):
    queue = unique("q")
    with RawAMQP.connect(broker.host, broker.port) as raw:
        raw.open_channel(1)
        raw.send_method(1, commands.Queue.Declare(queue=queue, auto_delete=True))
        raw.expect_method(commands.Queue.DeclareOk)
        broker.unblock_publishers()
        raw.publish(1, "", queue, b"m")
        raw.send(declare_frame(queue))
        assert isinstance(next_method(raw), commands.Queue.DeclareOk), "nothing before it"


def test_blocked_publisher_gets_heartbeats_and_is_not_dropped_for_missing_ones(broker, unique):
    """heartbeat=1: a silent client is dropped after two to three seconds, unless blocked."""
    queue = unique("q")
    with RawAMQP.connect(broker.host, broker.port, heartbeat=1) as raw:
        raw.open_channel(1)
        raw.send_method(1, commands.Queue.Declare(queue=queue, auto_delete=True))
        raw.expect_method(commands.Queue.DeclareOk)
        broker.block_publishers("low on disk")
        raw.publish(1, "", queue, b"m")
        _, blocked = raw.expect_method(commands.Connection.Blocked)
        assert blocked.reason == "low on disk"
        started = time.monotonic()
        beats = 0
        while time.monotonic() - started < 4:  # well past two missed intervals
            _, frame = raw.recv_frame()
            assert isinstance(frame, pheartbeat.Heartbeat), frame
            beats += 1
        assert beats >= 3
        broker.unblock_publishers()
        raw.send(declare_frame(queue))
        assert isinstance(next_method(raw), commands.Connection.Unblocked)
        reply = next_method(raw)
        assert isinstance(reply, commands.Queue.DeclareOk)
        assert reply.message_count == 1


def test_shutdown_closes_a_blocked_connection_cleanly(broker_factory, unique):
    """connection.close 320 goes out and the client's close-ok is read: no close timeout."""
    broker = broker_factory(close_timeout=30.0)
    with RawAMQP.connect(broker.host, broker.port) as raw:
        raw.open_channel(1)
        broker.block_publishers()
        raw.publish(1, "", unique("q"), b"m")
        raw.expect_method(commands.Connection.Blocked)
        stopper = threading.Thread(target=broker.stop)
        stopper.start()
        close = raw.expect_connection_close()
        assert close.reply_code == 320
        raw.send_method(0, commands.Connection.CloseOk())
        assert raw.wait_closed(5.0)
        stopper.join(5.0)
        assert not stopper.is_alive()


# -- aio-pika ---------------------------------------------------------------------------------


async def until_logged(caplog: pytest.LogCaptureFixture, text: str) -> None:
    await wait_until_async(
        lambda: any(text in r.getMessage() for r in caplog.records), f"the log line {text!r}"
    )


async def test_aio_pika_publish_confirmed_only_after_unblock(broker, unique, caplog):
    """A connection opened during the alarm is blocked at its first publish, too."""
    caplog.set_level(logging.WARNING, logger="aiormq")
    broker.block_publishers()
    async with await aio_pika.connect(broker.url) as connection:
        channel = await connection.channel()  # publisher confirms are on by default
        queue = await channel.declare_queue(unique("q"), auto_delete=True)
        publish = asyncio.create_task(
            channel.default_exchange.publish(aio_pika.Message(b"m"), routing_key=queue.name)
        )
        await until_logged(caplog, "was blocked by: 'low on memory'")
        assert not publish.done(), "its body is not read, so it cannot be confirmed"
        broker.unblock_publishers()
        await asyncio.wait_for(publish, DEADLINE)
        await until_logged(caplog, "was unblocked")
        message = await queue.get(no_ack=True)
        assert message.body == b"m"
