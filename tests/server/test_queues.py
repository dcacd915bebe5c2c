"""Queues as RabbitMQ 3.x implements them.

Covers queue.declare (declare-ok counts, passive, durable, exclusive, auto-delete, server-named
queues, reserved 'amq.' names, argument equivalence including integer widths, argument
validation), exclusive-queue locking from other connections, queue.bind / queue.unbind,
queue.purge and queue.delete (counts, if_unused, if_empty, missing queues).

Publishes use publisher confirms, so once a publish returns the message is in its queue and
basic.get / declare-ok counts observe it without waiting.
"""

from __future__ import annotations

import asyncio
import re
import struct
from collections.abc import Iterator
from typing import Any

import aio_pika
import aiormq
import pika
import pika.exceptions
import pytest
from clientutil import channel_error
from pamqp import commands
from rawamqp import RawAMQP

from amqpbroker.testing.polling import wait_until

VHOST = "/"

pytestmark = pytest.mark.timeout(30)


# -- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def cleanup(broker_url: str) -> Iterator[list[str]]:
    """Queues appended to this list are deleted after the test."""
    queues: list[str] = []
    yield queues
    if queues:
        with pika.BlockingConnection(pika.URLParameters(broker_url)) as conn:
            ch = conn.channel()
            for name in queues:
                ch.queue_delete(name)


def passive_error(connection: pika.BlockingConnection, queue: str) -> tuple:
    return channel_error(connection, lambda ch: ch.queue_declare(queue, passive=True))


def wait_until_deleted(connection: pika.BlockingConnection, queue: str) -> tuple[int, str]:
    """Poll with passive declares until the queue is gone; return the final 404 error."""

    def refused() -> tuple[int, str] | None:
        ch = connection.channel()
        try:
            ch.queue_declare(queue, passive=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code != 405:  # 405: still there, owned by a closing connection
                return exc.reply_code, exc.reply_text
        else:
            ch.close()
        return None

    return wait_until(refused, f"queue {queue!r} to be deleted", pause=lambda: None)


def drain(ch: Any, queue: str) -> list[bytes]:
    bodies = []
    while True:
        method, _props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            return bodies
        bodies.append(body)


def not_found(name: str) -> tuple:
    return 404, f"NOT_FOUND - no queue '{name}' in vhost '{VHOST}'"


def locked(name: str) -> tuple:
    return (
        405,
        f"RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '{name}' in vhost "
        f"'{VHOST}'. It could be originally declared on another connection or the exclusive "
        "property value does not match that of the original declaration.",
    )


def inequivalent(name: str, detail: str) -> tuple:
    return (
        406,
        f"PRECONDITION_FAILED - inequivalent arg {detail.format(q=name)}",
    )


# -- declare-ok ------------------------------------------------------------------------------


def test_declare_ok_returns_name_and_zero_counts(channel, unique):
    q = unique("q")
    ok = channel.queue_declare(q, exclusive=True).method
    assert (ok.queue, ok.message_count, ok.consumer_count) == (q, 0, 0)


def test_declare_ok_counts_ready_messages(channel, unique):
    q = unique("q")
    channel.queue_declare(q, exclusive=True)
    for i in range(3):
        channel.basic_publish("", q, str(i).encode())
    ok = channel.queue_declare(q, exclusive=True).method
    assert (ok.message_count, ok.consumer_count) == (3, 0)
    ok = channel.queue_declare(q, passive=True).method
    assert (ok.message_count, ok.consumer_count) == (3, 0)


async def test_declare_ok_counts_consumers_and_not_unacked_messages(broker_url, unique):
    async with await aio_pika.connect(broker_url) as conn:
        ch = await conn.channel()
        q = await ch.declare_queue(unique("q"), exclusive=True)
        for i in range(3):
            await ch.default_exchange.publish(aio_pika.Message(str(i).encode()), q.name)
        consumer_ch = await conn.channel()
        await consumer_ch.set_qos(prefetch_count=1)
        consumer_q = await consumer_ch.get_queue(q.name)
        async with consumer_q.iterator() as it:
            first = await asyncio.wait_for(it.__anext__(), timeout=5)
            assert first.body == b"0"
            again = await ch.declare_queue(q.name, passive=True)
            ok = again.declaration_result
            assert (ok.message_count, ok.consumer_count) == (2, 1)


def test_passive_declare_of_missing_queue_is_not_found(connection, unique):
    q = unique("missing")
    assert passive_error(connection, q) == not_found(q)


async def test_passive_declare_of_missing_queue_with_aio_pika(broker_url, unique):
    q = unique("missing")
    async with await aio_pika.connect(broker_url) as conn:
        ch = await conn.channel()
        with pytest.raises(aiormq.exceptions.ChannelNotFoundEntity) as info:
            await ch.declare_queue(q, passive=True)
    assert info.value.args[0] == f"NOT_FOUND - no queue '{q}' in vhost '/'"


def test_passive_declare_ignores_flags_and_arguments(channel, unique):
    q = unique("q")
    channel.queue_declare(q, exclusive=True)
    ok = channel.queue_declare(
        q, passive=True, durable=True, auto_delete=True, arguments={"x-message-ttl": 5}
    ).method
    assert ok.queue == q


# -- server-named and reserved names ---------------------------------------------------------


def test_server_named_queue_has_amq_gen_name(channel):
    names = {channel.queue_declare("", exclusive=True).method.queue for _ in range(5)}
    assert len(names) == 5
    for name in names:
        assert re.fullmatch(r"amq\.gen-[A-Za-z0-9_-]{22}", name), name


async def test_server_named_queue_is_usable_by_its_name(broker_url):
    async with await aio_pika.connect(broker_url) as conn:
        ch = await conn.channel()
        q = await ch.declare_queue(exclusive=True)
        assert q.name.startswith("amq.gen-")
        await ch.default_exchange.publish(aio_pika.Message(b"m"), routing_key=q.name)
        msg = await q.get(no_ack=True)
        assert msg.body == b"m"


@pytest.mark.parametrize("prefix", ["amq.foo", "amq.gen-"])
def test_declare_amq_prefixed_queue_is_access_refused(connection, unique, prefix):
    q = unique(prefix)
    error = channel_error(connection, lambda ch: ch.queue_declare(q))
    assert error == (403, f"ACCESS_REFUSED - queue name '{q}' contains reserved prefix 'amq.*'")


def test_passive_declare_of_missing_amq_prefixed_queue_is_not_found(connection, unique):
    q = unique("amq.foo")
    assert passive_error(connection, q) == not_found(q)


# -- durable, auto-delete, equivalence ------------------------------------------------------


def test_durable_queue_redeclared_durable_is_ok(channel, unique, cleanup):
    q = unique("durable")
    cleanup.append(q)
    channel.queue_declare(q, durable=True)
    channel.basic_publish("", q, b"m", pika.BasicProperties(delivery_mode=2))
    ok = channel.queue_declare(q, durable=True).method
    assert (ok.queue, ok.message_count) == (q, 1)


@pytest.mark.parametrize(
    ("first", "second", "detail"),
    [
        pytest.param(
            {},
            {"durable": True},
            "'durable' for queue '{q}' in vhost '/': received 'true' but current is 'false'",
            id="durable",
        ),
        pytest.param(
            {"durable": True},
            {},
            "'durable' for queue '{q}' in vhost '/': received 'false' but current is 'true'",
            id="not-durable",
        ),
        pytest.param(
            {},
            {"auto_delete": True},
            "'auto_delete' for queue '{q}' in vhost '/': received 'true' but current is 'false'",
            id="auto_delete",
        ),
        pytest.param(
            {},
            {"arguments": {"x-message-ttl": 1000}},
            "'x-message-ttl' for queue '{q}' in vhost '/': "
            "received the value '1000' of type 'signedint' but current is none",
            id="ttl-added",
        ),
        pytest.param(
            {"arguments": {"x-expires": 100000}},
            {},
            "'x-expires' for queue '{q}' in vhost '/': "
            "received none but current is the value '100000' of type 'signedint'",
            id="expires-removed",
        ),
        pytest.param(
            {"arguments": {"x-message-ttl": 1000}},
            {"arguments": {"x-message-ttl": 2000}},
            "'x-message-ttl' for queue '{q}' in vhost '/': received '2000' but current is '1000'",
            id="ttl-changed",
        ),
        pytest.param(
            {"arguments": {"x-message-ttl": 1000}},
            {"arguments": {"x-message-ttl": "1000"}},
            "'x-message-ttl' for queue '{q}' in vhost '/': received '1000' but current is '1000'",
            id="ttl-string-vs-int",
        ),
        pytest.param(
            {"arguments": {"x-max-length": 10}},
            {"arguments": {"x-max-length": 11}},
            "'x-max-length' for queue '{q}' in vhost '/': received '11' but current is '10'",
            id="max-length-changed",
        ),
        pytest.param(
            {"arguments": {"x-dead-letter-exchange": "a"}},
            {"arguments": {"x-dead-letter-exchange": "b"}},
            "'x-dead-letter-exchange' for queue '{q}' in vhost '/': "
            "received 'b' but current is 'a'",
            id="dlx-changed",
        ),
    ],
)
def test_inequivalent_redeclare_is_precondition_failed(
    connection, channel, unique, cleanup, first, second, detail
):
    q = unique("q")
    cleanup.append(q)
    channel.queue_declare(q, **first)
    error = channel_error(connection, lambda ch: ch.queue_declare(q, **second))
    assert error == inequivalent(q, detail)


async def test_integer_argument_width_does_not_matter_across_clients(broker_url, unique, cleanup):
    # pika encodes 1000 as a long-int ('I'); aio-pika (pamqp) as a short-int ('s').
    q = unique("q")
    cleanup.append(q)
    with pika.BlockingConnection(pika.URLParameters(broker_url)) as conn:
        conn.channel().queue_declare(q, arguments={"x-message-ttl": 1000, "x-max-length": 5})
    async with await aio_pika.connect(broker_url) as conn:
        ch = await conn.channel()
        await ch.declare_queue(q, arguments={"x-message-ttl": 1000, "x-max-length": 5})
        with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed) as info:
            await ch.declare_queue(q)
    assert (
        info.value.args[0]
        == inequivalent(
            q,
            "'x-message-ttl' for queue '{q}' in vhost '/': "
            "received none but current is the value '1000' of type 'signedint'",
        )[1]
    )


def _queue_declare_payload(queue: str, table: bytes, flags: int = 0) -> bytes:
    args = struct.pack(">HB", 0, len(queue)) + queue.encode() + bytes([flags])
    return RawAMQP.method_payload(50, 10, args + struct.pack(">I", len(table)) + table)


def _int_entry(key: str, type_char: str, fmt: str, value: int) -> bytes:
    return bytes([len(key)]) + key.encode() + type_char.encode() + struct.pack(fmt, value)


INT_WIDTHS = [
    ("b", ">b", "byte"),
    ("B", ">B", "unsignedbyte"),
    ("s", ">h", "short"),
    ("u", ">H", "unsignedshort"),
    ("I", ">i", "signedint"),
    ("i", ">I", "unsignedint"),
    ("l", ">q", "long"),
]


@pytest.mark.parametrize(("type_char", "fmt", "type_name"), INT_WIDTHS)
def test_raw_integer_widths_are_equivalent(broker, unique, type_char, fmt, type_name):
    q = unique("q")
    exclusive = 0b100
    with RawAMQP.connect(broker.host, broker.port) as raw:
        raw.open_channel(1)
        ttl = _int_entry("x-message-ttl", "I", ">i", 100)
        raw.send_frame(1, 1, _queue_declare_payload(q, ttl, exclusive))
        raw.expect_method(commands.Queue.DeclareOk)
        same = _int_entry("x-message-ttl", type_char, fmt, 100)
        raw.send_frame(1, 1, _queue_declare_payload(q, same, exclusive))
        _, ok = raw.expect_method(commands.Queue.DeclareOk)
        assert ok.queue == q
        different = _int_entry("x-message-ttl", type_char, fmt, 101)
        raw.send_frame(1, 1, _queue_declare_payload(q, different, exclusive))
        _, close = raw.expect_channel_close()
        assert (close.reply_code, close.reply_text) == inequivalent(
            q, "'x-message-ttl' for queue '{q}' in vhost '/': received '101' but current is '100'"
        )
        assert (close.class_id, close.method_id) == (50, 10)


@pytest.mark.parametrize(("type_char", "fmt", "type_name"), INT_WIDTHS)
def test_inequivalent_text_names_the_received_integer_type(
    broker, unique, type_char, fmt, type_name
):
    q = unique("q")
    exclusive = 0b100
    with RawAMQP.connect(broker.host, broker.port) as raw:
        raw.open_channel(1)
        raw.send_frame(1, 1, _queue_declare_payload(q, b"", exclusive))
        raw.expect_method(commands.Queue.DeclareOk)
        ttl = _int_entry("x-message-ttl", type_char, fmt, 100)
        raw.send_frame(1, 1, _queue_declare_payload(q, ttl, exclusive))
        _, close = raw.expect_channel_close()
    assert (
        close.reply_text
        == inequivalent(
            q,
            "'x-message-ttl' for queue '{q}' in vhost '/': "
            f"received the value '100' of type '{type_name}' but current is none",
        )[1]
    )


def test_unknown_arguments_are_accepted_and_not_compared(channel, unique):
    q = unique("q")
    channel.queue_declare(q, exclusive=True, arguments={"x-foo": "bar", "foo": 1})
    channel.queue_declare(q, exclusive=True, arguments={"x-foo": "baz"})
    channel.queue_declare(q, exclusive=True)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (-1, "{value_negative,-1}"),
        ("abc", '"expected integer, got longstr"'),
    ],
)
def test_invalid_argument_value_is_precondition_failed(connection, unique, value, reason):
    q = unique("q")
    error = channel_error(
        connection,
        lambda ch: ch.queue_declare(q, exclusive=True, arguments={"x-message-ttl": value}),
    )
    assert error == (
        406,
        f"PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue '{q}' in vhost '/': "
        + reason,
    )
    assert passive_error(connection, q) == not_found(q)


# -- exclusive queues ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action",
    [
        pytest.param(lambda ch, q: ch.queue_declare(q, exclusive=True), id="declare-exclusive"),
        pytest.param(lambda ch, q: ch.queue_declare(q), id="declare"),
        pytest.param(lambda ch, q: ch.queue_declare(q, passive=True), id="passive-declare"),
        pytest.param(lambda ch, q: ch.basic_consume(q, lambda *a: None), id="consume"),
        pytest.param(lambda ch, q: ch.basic_get(q), id="get"),
        pytest.param(lambda ch, q: ch.queue_bind(q, "amq.fanout", "k"), id="bind"),
        pytest.param(lambda ch, q: ch.queue_unbind(q, "amq.direct", q), id="unbind"),
        pytest.param(lambda ch, q: ch.queue_purge(q), id="purge"),
        pytest.param(lambda ch, q: ch.queue_delete(q), id="delete"),
    ],
)
def test_exclusive_queue_is_locked_to_other_connections(channel, other_connection, unique, action):
    q = unique("excl")
    channel.queue_declare(q, exclusive=True)
    channel.queue_bind(q, "amq.direct", q)
    assert channel_error(other_connection, lambda ch: action(ch, q)) == locked(q)


def test_other_connections_may_publish_to_an_exclusive_queue(channel, other_connection, unique):
    q = unique("excl")
    channel.queue_declare(q, exclusive=True)
    other = other_connection.channel()
    other.confirm_delivery()
    other.basic_publish("", q, b"from-other")
    assert drain(channel, q) == [b"from-other"]


def test_exclusive_queue_is_shared_by_channels_of_its_connection(connection, channel, unique):
    q = unique("excl")
    channel.queue_declare(q, exclusive=True)
    second = connection.channel()
    second.confirm_delivery()
    second.basic_publish("", q, b"m")
    assert second.queue_declare(q, exclusive=True).method.message_count == 1
    assert drain(second, q) == [b"m"]


def test_exclusive_flag_mismatch_is_resource_locked(connection, channel, unique, cleanup):
    excl, shared = unique("excl"), unique("shared")
    cleanup.append(shared)
    channel.queue_declare(excl, exclusive=True)
    channel.queue_declare(shared)
    assert channel_error(connection, lambda ch: ch.queue_declare(excl)) == locked(excl)
    error = channel_error(connection, lambda ch: ch.queue_declare(shared, exclusive=True))
    assert error == locked(shared)


def test_exclusive_queue_is_deleted_when_its_connection_closes(
    broker_url, other_connection, unique
):
    q = unique("excl")
    with pika.BlockingConnection(pika.URLParameters(broker_url)) as owner:
        owner.channel().queue_declare(q, exclusive=True)
        assert passive_error(other_connection, q) == locked(q)
    assert wait_until_deleted(other_connection, q) == not_found(q)


# -- auto-delete queues ----------------------------------------------------------------------


def test_auto_delete_queue_is_deleted_when_last_consumer_cancels(channel, other_connection, unique):
    q = unique("autodel")
    channel.queue_declare(q, auto_delete=True)
    first = channel.basic_consume(q, lambda *a: None)
    second = channel.basic_consume(q, lambda *a: None)
    assert channel.queue_declare(q, passive=True).method.consumer_count == 2
    channel.basic_cancel(first)
    assert channel.queue_declare(q, passive=True).method.consumer_count == 1
    channel.basic_cancel(second)
    assert wait_until_deleted(other_connection, q) == not_found(q)


def test_auto_delete_queue_without_consumers_stays(channel, unique, cleanup):
    q = unique("autodel")
    cleanup.append(q)
    channel.queue_declare(q, auto_delete=True)
    channel.basic_publish("", q, b"m")
    assert channel.queue_declare(q, passive=True).method.message_count == 1


async def test_auto_delete_queue_is_deleted_when_consuming_channel_closes(
    broker_url, other_connection, unique
):
    name = unique("autodel")
    async with await aio_pika.connect(broker_url) as conn:
        ch = await conn.channel()
        q = await ch.declare_queue(name, auto_delete=True)

        async def ignore(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            pass

        await q.consume(ignore)
        await ch.close()
    assert wait_until_deleted(other_connection, name) == not_found(name)


# -- bind / unbind ---------------------------------------------------------------------------


async def test_unbind_stops_routing(broker_url, unique):
    async with await aio_pika.connect(broker_url) as conn:
        ch = await conn.channel()
        x = await ch.declare_exchange(unique("x"), aio_pika.ExchangeType.DIRECT, auto_delete=True)
        q = await ch.declare_queue(exclusive=True)
        await q.bind(x, "k")
        await q.bind(x, "keep")
        await x.publish(aio_pika.Message(b"bound"), routing_key="k")
        await q.unbind(x, "k")
        await x.publish(aio_pika.Message(b"unbound"), routing_key="k")
        await x.publish(aio_pika.Message(b"other-key"), routing_key="keep")
        bodies = []
        while (msg := await q.get(no_ack=True, fail=False)) is not None:
            bodies.append(msg.body)
        assert bodies == [b"bound", b"other-key"]


def test_binding_twice_routes_once(channel, unique):
    q = unique("q")
    channel.queue_declare(q, exclusive=True)
    channel.queue_bind(q, "amq.direct", q)
    channel.queue_bind(q, "amq.direct", q)
    channel.basic_publish("amq.direct", q, b"m")
    assert drain(channel, q) == [b"m"]
    channel.queue_unbind(q, "amq.direct", q)
    channel.basic_publish("amq.direct", q, b"gone")
    assert drain(channel, q) == []


def test_binding_arguments_are_part_of_the_binding(channel, unique):
    q = unique("q")
    channel.queue_declare(q, exclusive=True)
    channel.queue_bind(q, "amq.direct", q, arguments={"tag": "a"})
    channel.queue_unbind(q, "amq.direct", q, arguments={"tag": "b"})  # no such binding
    channel.basic_publish("amq.direct", q, b"still-bound")
    assert drain(channel, q) == [b"still-bound"]
    channel.queue_unbind(q, "amq.direct", q, arguments={"tag": "a"})
    channel.basic_publish("amq.direct", q, b"unbound")
    assert drain(channel, q) == []


def test_unbind_of_missing_binding_queue_or_exchange_is_ok(channel, unique):
    q = unique("q")
    channel.queue_declare(q, exclusive=True)
    channel.queue_unbind(q, "amq.direct", "never-bound")
    channel.queue_unbind(unique("missing"), "amq.direct", "k")
    channel.queue_unbind(q, unique("missing"), "k")


def test_bind_missing_queue_is_not_found(connection, unique):
    q = unique("missing")
    error = channel_error(connection, lambda ch: ch.queue_bind(q, "amq.direct", "k"))
    assert error == not_found(q)


def test_bind_to_missing_exchange_is_not_found(connection, channel, unique):
    q, x = unique("q"), unique("missing")
    channel.queue_declare(q, exclusive=True)
    error = channel_error(connection, lambda ch: ch.queue_bind(q, x, "k"))
    assert error == (404, f"NOT_FOUND - no exchange '{x}' in vhost '/'")


def test_bind_with_queue_and_exchange_missing_reports_the_exchange(connection, unique):
    q, x = unique("missing-q"), unique("missing-x")
    error = channel_error(connection, lambda ch: ch.queue_bind(q, x, "k"))
    assert error == (404, f"NOT_FOUND - no exchange '{x}' in vhost '/'")


def test_bind_error_closes_channel_with_queue_bind_ids(broker, unique):
    q = unique("missing")
    with RawAMQP.connect(broker.host, broker.port) as raw:
        raw.open_channel(1)
        raw.send_method(1, commands.Queue.Bind(queue=q, exchange="amq.direct", routing_key="k"))
        _, close = raw.expect_channel_close()
    assert (close.reply_code, close.reply_text) == not_found(q)
    assert (close.class_id, close.method_id) == (50, 20)


# -- purge -----------------------------------------------------------------------------------


def test_purge_returns_the_number_of_messages_removed(channel, unique):
    q = unique("q")
    channel.queue_declare(q, exclusive=True)
    for i in range(4):
        channel.basic_publish("", q, str(i).encode())
    assert channel.queue_purge(q).method.message_count == 4
    assert channel.queue_declare(q, passive=True).method.message_count == 0
    assert channel.queue_purge(q).method.message_count == 0


async def test_purge_with_aio_pika(broker_url):
    async with await aio_pika.connect(broker_url) as conn:
        ch = await conn.channel()
        q = await ch.declare_queue(exclusive=True)
        for i in range(2):
            await ch.default_exchange.publish(aio_pika.Message(str(i).encode()), q.name)
        purge_ok = await q.purge()
        assert purge_ok.message_count == 2
        assert await q.get(no_ack=True, fail=False) is None


def test_purge_of_missing_queue_is_not_found(connection, unique):
    q = unique("missing")
    assert channel_error(connection, lambda ch: ch.queue_purge(q)) == not_found(q)


def test_purge_error_closes_channel_with_queue_purge_ids(broker, unique):
    q = unique("missing")
    with RawAMQP.connect(broker.host, broker.port) as raw:
        raw.open_channel(1)
        raw.send_method(1, commands.Queue.Purge(queue=q))
        _, close = raw.expect_channel_close()
    assert (close.reply_code, close.reply_text) == not_found(q)
    assert (close.class_id, close.method_id) == (50, 30)


# -- delete ----------------------------------------------------------------------------------


def test_delete_returns_message_count_and_removes_queue(connection, channel, unique, cleanup):
    q = unique("q")
    cleanup.append(q)
    channel.queue_declare(q)
    for i in range(3):
        channel.basic_publish("", q, str(i).encode())
    assert channel.queue_delete(q).method.message_count == 3
    assert passive_error(connection, q) == not_found(q)


def test_delete_removes_bindings(channel, unique):
    q, x = unique("q"), unique("x")
    channel.exchange_declare(x, "fanout", auto_delete=True)
    keeper = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(keeper, x, "")  # keeps the auto-delete exchange alive
    channel.queue_declare(q, exclusive=True)
    channel.queue_bind(q, x, "")
    channel.queue_delete(q)
    channel.queue_declare(q, exclusive=True)
    channel.basic_publish(x, "", b"m")
    assert drain(channel, q) == []
    assert drain(channel, keeper) == [b"m"]


def test_delete_if_unused_with_consumer_is_precondition_failed(connection, channel, unique):
    q = unique("q")
    channel.queue_declare(q, exclusive=True)
    channel.basic_consume(q, lambda *a: None)
    error = channel_error(connection, lambda ch: ch.queue_delete(q, if_unused=True))
    assert error == (406, f"PRECONDITION_FAILED - queue '{q}' in vhost '/' in use")


def test_delete_if_empty_with_messages_is_precondition_failed(connection, channel, unique):
    q = unique("q")
    channel.queue_declare(q, exclusive=True)
    channel.basic_publish("", q, b"m")
    error = channel_error(connection, lambda ch: ch.queue_delete(q, if_empty=True))
    assert error == (406, f"PRECONDITION_FAILED - queue '{q}' in vhost '/' not empty")
    assert channel.queue_declare(q, passive=True).method.message_count == 1


async def test_delete_if_unused_and_if_empty_of_idle_empty_queue_with_aio_pika(broker_url, unique):
    name = unique("q")
    async with await aio_pika.connect(broker_url) as conn:
        ch = await conn.channel()
        q = await ch.declare_queue(name, exclusive=True)
        delete_ok = await q.delete(if_unused=True, if_empty=True)
        assert delete_ok.message_count == 0
        with pytest.raises(aiormq.exceptions.ChannelNotFoundEntity):
            await ch.declare_queue(name, passive=True)


def test_delete_of_missing_queue_is_ok_with_zero_count(channel, unique):
    assert channel.queue_delete(unique("missing")).method.message_count == 0
    ok = channel.queue_delete(unique("missing"), if_unused=True, if_empty=True)
    assert ok.method.message_count == 0


def test_passive_declare_of_empty_name_is_not_the_last_declared_queue(connection):
    ch = connection.channel()
    ch.queue_declare("", exclusive=True)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch.queue_declare("", passive=True)
    assert (info.value.reply_code, info.value.reply_text) == (
        404,
        "NOT_FOUND - no queue '' in vhost '/'",
    )


def test_explicit_classic_queue_type_is_equivalent_to_none(connection, unique):
    q = unique("q")
    ch = connection.channel()
    ch.queue_declare(q, exclusive=True)
    ch.queue_declare(q, exclusive=True, arguments={"x-queue-type": "classic"})
    ch.queue_declare(q, exclusive=True)


def test_deleting_any_amq_exchange_is_refused_even_a_missing_one(connection, unique):
    name = unique("amq.nosuch")
    ch = connection.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch.exchange_delete(name)
    assert (info.value.reply_code, info.value.reply_text) == (
        403,
        f"ACCESS_REFUSED - deletion of system exchange '{name}' in vhost '/' not allowed",
    )
