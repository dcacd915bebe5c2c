"""Exchanges and bindings as RabbitMQ 3.x implements them.

Covers exchange.declare (types direct/fanout/topic/headers, passive, durable, auto_delete,
internal, arguments, equivalence checks, reserved 'amq.' names, unknown types), exchange.delete
(if_unused, missing, system exchanges), the default exchange, internal exchanges, auto-delete
exchanges, exchange-to-exchange bindings (flow, unbind, duplicate paths, cycles), topic routing
(a table verified against RabbitMQ) and headers routing (x-match all/any, value types, 'x-' keys).

Routing checks publish with publisher confirms, so once the publish returns the message is
either in the queue or dropped; basic.get then observes the result without waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import aio_pika
import aiormq
import pika
import pika.exceptions
import pytest
from clientutil import channel_error, connection_error
from pamqp import commands
from rawamqp import RawAMQP

VHOST = "/"

pytestmark = pytest.mark.timeout(30)


# -- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def cleanup(broker_url: str) -> Iterator[list[str]]:
    """Exchanges appended to this list are deleted after the test (they may be durable)."""
    exchanges: list[str] = []
    yield exchanges
    if exchanges:
        with pika.BlockingConnection(pika.URLParameters(broker_url)) as conn:
            ch = conn.channel()
            for name in exchanges:
                ch.exchange_delete(name)


def passive_error(connection: pika.BlockingConnection, exchange: str) -> tuple:
    return channel_error(connection, lambda ch: ch.exchange_declare(exchange, passive=True))


def drain(ch: Any, queue: str) -> list[bytes]:
    """All bodies currently in ``queue`` (basic.get until empty)."""
    bodies = []
    while True:
        method, _props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            return bodies
        bodies.append(body)


def temp_queue(ch: Any) -> str:
    return ch.queue_declare("", exclusive=True).method.queue


def not_found(name: str) -> tuple:
    return 404, f"NOT_FOUND - no exchange '{name}' in vhost '{VHOST}'"


DEFAULT_EXCHANGE_REFUSED = (403, "ACCESS_REFUSED - operation not permitted on the default exchange")


# -- declaring and routing through each type -------------------------------------------------


def test_direct_exchange_routes_on_exact_routing_key(channel, unique):
    x = unique("direct")
    channel.exchange_declare(x, "direct", auto_delete=True)
    q = temp_queue(channel)
    channel.queue_bind(q, x, "red")
    for key in ("red", "blue", "red.x", "RED", ""):
        channel.basic_publish(x, key, key.encode())
    assert drain(channel, q) == [b"red"]


async def test_fanout_exchange_ignores_routing_key(broker_url, unique):
    async with await aio_pika.connect(broker_url) as conn:
        ch = await conn.channel()
        x = await ch.declare_exchange(
            unique("fanout"), aio_pika.ExchangeType.FANOUT, auto_delete=True
        )
        q1 = await ch.declare_queue(exclusive=True)
        q2 = await ch.declare_queue(exclusive=True)
        await q1.bind(x, routing_key="one")
        await q2.bind(x, routing_key="")
        await x.publish(aio_pika.Message(b"hello"), routing_key="anything")
        for q in (q1, q2):
            async with q.iterator() as it:
                msg = await asyncio.wait_for(it.__anext__(), timeout=5)
                await msg.ack()
            assert msg.body == b"hello"
            assert msg.routing_key == "anything"


async def test_topic_exchange_routes_by_pattern(broker_url, unique):
    async with await aio_pika.connect(broker_url) as conn:
        ch = await conn.channel()
        x = await ch.declare_exchange(
            unique("topic"), aio_pika.ExchangeType.TOPIC, auto_delete=True
        )
        q = await ch.declare_queue(exclusive=True)
        await q.bind(x, routing_key="stock.*.nyse")
        for key in ("stock.ibm.nyse", "stock.nyse", "stock.ibm.nasdaq", "stock.a.b.nyse"):
            await x.publish(aio_pika.Message(key.encode()), routing_key=key)
        msg = await q.get(no_ack=True, fail=False)
        assert msg is not None
        assert msg.body == b"stock.ibm.nyse"
        assert await q.get(no_ack=True, fail=False) is None


def test_headers_exchange_routes_by_headers_not_routing_key(channel, unique):
    x = unique("headers")
    channel.exchange_declare(x, "headers", auto_delete=True)
    q = temp_queue(channel)
    channel.queue_bind(q, x, "unused", arguments={"x-match": "all", "format": "pdf"})
    channel.basic_publish(x, "other", b"pdf", pika.BasicProperties(headers={"format": "pdf"}))
    channel.basic_publish(x, "unused", b"zip", pika.BasicProperties(headers={"format": "zip"}))
    channel.basic_publish(x, "unused", b"none")
    assert drain(channel, q) == [b"pdf"]


async def test_default_exchange_routes_by_queue_name(broker_url, unique):
    async with await aio_pika.connect(broker_url) as conn:
        ch = await conn.channel()
        q = await ch.declare_queue(unique("q"), exclusive=True)
        await ch.default_exchange.publish(aio_pika.Message(b"direct-to-queue"), routing_key=q.name)
        await ch.default_exchange.publish(aio_pika.Message(b"lost"), routing_key=q.name + "-other")
        msg = await q.get(no_ack=True)
        assert msg.body == b"direct-to-queue"
        assert msg.exchange == ""
        assert await q.get(no_ack=True, fail=False) is None


# -- declare: passive, pre-declared, equivalence --------------------------------------------


@pytest.mark.parametrize(
    "name", ["amq.direct", "amq.fanout", "amq.topic", "amq.headers", "amq.match"]
)
def test_standard_exchanges_exist(channel, name):
    channel.exchange_declare(name, passive=True)


def test_amq_match_is_a_headers_exchange(channel):
    q = temp_queue(channel)
    channel.queue_bind(q, "amq.match", "", arguments={"x-match": "any", "tag": q})
    channel.basic_publish("amq.match", "", b"m", pika.BasicProperties(headers={"tag": q}))
    assert drain(channel, q) == [b"m"]


def test_passive_declare_of_missing_exchange_is_not_found(connection, unique):
    x = unique("missing")
    assert passive_error(connection, x) == not_found(x)


async def test_passive_declare_of_missing_exchange_with_aio_pika(broker_url, unique):
    x = unique("missing")
    async with await aio_pika.connect(broker_url) as conn:
        ch = await conn.channel()
        with pytest.raises(aiormq.exceptions.ChannelNotFoundEntity) as info:
            await ch.declare_exchange(x, passive=True)
    assert info.value.args[0] == f"NOT_FOUND - no exchange '{x}' in vhost '/'"


def test_passive_declare_ignores_type_and_flags(channel, unique, cleanup):
    x = unique("x")
    cleanup.append(x)
    channel.exchange_declare(x, "direct", auto_delete=True)
    channel.exchange_declare(x, "fanout", passive=True, durable=True, internal=True)


def test_redeclare_with_same_properties_is_ok(channel, unique, cleanup):
    x = unique("durable")
    cleanup.append(x)
    args = {"alternate-exchange": "ae"}
    channel.exchange_declare(x, "topic", durable=True, arguments=args)
    channel.exchange_declare(x, "topic", durable=True, arguments=args)
    channel.exchange_declare(x, passive=True)


@pytest.mark.parametrize(
    ("first", "second", "detail"),
    [
        pytest.param(
            {"exchange_type": "direct"},
            {"exchange_type": "fanout"},
            "inequivalent arg 'type' for exchange '{x}' in vhost '/': "
            "received 'fanout' but current is 'direct'",
            id="type",
        ),
        pytest.param(
            {},
            {"durable": True},
            "inequivalent arg 'durable' for exchange '{x}' in vhost '/': "
            "received 'true' but current is 'false'",
            id="durable",
        ),
        pytest.param(
            {"durable": True},
            {},
            "inequivalent arg 'durable' for exchange '{x}' in vhost '/': "
            "received 'false' but current is 'true'",
            id="not-durable",
        ),
        pytest.param(
            {},
            {"auto_delete": True},
            "inequivalent arg 'auto_delete' for exchange '{x}' in vhost '/': "
            "received 'true' but current is 'false'",
            id="auto_delete",
        ),
        pytest.param(
            {},
            {"internal": True},
            "inequivalent arg 'internal' for exchange '{x}' in vhost '/': "
            "received 'true' but current is 'false'",
            id="internal",
        ),
        pytest.param(
            {},
            {"arguments": {"alternate-exchange": "foo"}},
            "inequivalent arg 'alternate-exchange' for exchange '{x}' in vhost '/': "
            "received the value 'foo' of type 'longstr' but current is none",
            id="ae-added",
        ),
        pytest.param(
            {"arguments": {"alternate-exchange": "one"}},
            {},
            "inequivalent arg 'alternate-exchange' for exchange '{x}' in vhost '/': "
            "received none but current is the value 'one' of type 'longstr'",
            id="ae-removed",
        ),
        pytest.param(
            {"arguments": {"alternate-exchange": "one"}},
            {"arguments": {"alternate-exchange": "two"}},
            "inequivalent arg 'alternate-exchange' for exchange '{x}' in vhost '/': "
            "received 'two' but current is 'one'",
            id="ae-changed",
        ),
        pytest.param(
            {"exchange_type": "direct"},
            {"exchange_type": "topic", "durable": True, "internal": True},
            "inequivalent arg 'type' for exchange '{x}' in vhost '/': "
            "received 'topic' but current is 'direct'",
            id="type-checked-first",
        ),
    ],
)
def test_inequivalent_redeclare_is_precondition_failed(
    connection, channel, unique, cleanup, first, second, detail
):
    x = unique("x")
    cleanup.append(x)
    channel.exchange_declare(x, **first)
    error = channel_error(connection, lambda ch: ch.exchange_declare(x, **second))
    assert error == (406, "PRECONDITION_FAILED - " + detail.format(x=x))


def test_exchange_arguments_other_than_alternate_exchange_are_not_compared(
    channel, unique, cleanup
):
    x = unique("x")
    cleanup.append(x)
    channel.exchange_declare(x, "direct", auto_delete=True, arguments={"x-foo": "a", "bar": 1})
    channel.exchange_declare(x, "direct", auto_delete=True, arguments={"x-foo": "b"})
    channel.exchange_declare(x, "direct", auto_delete=True)


def test_declare_amq_prefixed_exchange_is_access_refused(connection, unique):
    x = unique("amq.foo")
    error = channel_error(connection, lambda ch: ch.exchange_declare(x, "direct"))
    assert error == (403, f"ACCESS_REFUSED - exchange name '{x}' contains reserved prefix 'amq.*'")


def test_passive_declare_of_missing_amq_exchange_is_not_found(connection, unique):
    x = unique("amq.foo")
    assert passive_error(connection, x) == not_found(x)


def test_equivalent_redeclare_of_amq_direct_is_ok(channel):
    channel.exchange_declare("amq.direct", "direct", durable=True)


def test_inequivalent_redeclare_of_amq_direct_is_precondition_failed(connection):
    error = channel_error(connection, lambda ch: ch.exchange_declare("amq.direct", "direct"))
    assert error == (
        406,
        "PRECONDITION_FAILED - inequivalent arg 'durable' for exchange 'amq.direct' in vhost '/': "
        "received 'false' but current is 'true'",
    )


# RabbitMQ says "invalid exchange type" when the name happens to be an atom its VM already
# knows (such as 'foo') and "unknown" otherwise; names that are surely not atoms keep the
# test deterministic.
@pytest.mark.parametrize("exchange_type", ["x-foo", "nosuch-type"])
def test_unknown_exchange_type_closes_connection(broker_url, unique, exchange_type):
    x = unique("x")
    error = connection_error(broker_url, lambda ch: ch.exchange_declare(x, exchange_type))
    assert error == (503, f"COMMAND_INVALID - unknown exchange type '{exchange_type}'")


def test_unknown_exchange_type_connection_close_frame(broker, unique):
    x = unique("x")
    with RawAMQP.connect(broker.host, broker.port) as raw:
        raw.open_channel(1)
        raw.send_method(1, commands.Exchange.Declare(exchange=x, exchange_type="x-nosuch"))
        close = raw.expect_connection_close()
        assert (close.reply_code, close.reply_text, close.class_id, close.method_id) == (
            503,
            "COMMAND_INVALID - unknown exchange type 'x-nosuch'",
            40,
            10,
        )
        assert raw.wait_closed(5)


# -- the default exchange, system and internal exchanges -------------------------------------


@pytest.mark.parametrize(
    "action",
    [
        pytest.param(lambda ch, q: ch.exchange_declare("", "direct"), id="declare"),
        pytest.param(lambda ch, q: ch.exchange_declare("", passive=True), id="passive-declare"),
        pytest.param(lambda ch, q: ch.exchange_delete(""), id="delete"),
        pytest.param(lambda ch, q: ch.queue_bind(q, "", "k"), id="queue-bind"),
        pytest.param(lambda ch, q: ch.queue_unbind(q, "", q), id="queue-unbind"),
        pytest.param(lambda ch, q: ch.exchange_bind("amq.direct", "", "k"), id="bind-as-source"),
        pytest.param(lambda ch, q: ch.exchange_bind("", "amq.direct", "k"), id="bind-as-dest"),
        pytest.param(lambda ch, q: ch.exchange_unbind("amq.direct", "", "k"), id="unbind"),
    ],
)
def test_operations_on_default_exchange_are_access_refused(connection, channel, action):
    q = temp_queue(channel)
    assert channel_error(connection, lambda ch: action(ch, q)) == DEFAULT_EXCHANGE_REFUSED


def test_delete_system_exchange_is_access_refused(connection, channel):
    error = channel_error(connection, lambda ch: ch.exchange_delete("amq.topic"))
    assert error == (
        403,
        "ACCESS_REFUSED - deletion of system exchange 'amq.topic' in vhost '/' not allowed",
    )
    channel.exchange_declare("amq.topic", passive=True)


def test_publish_to_internal_exchange_is_access_refused(connection, channel, unique, cleanup):
    x = unique("internal")
    cleanup.append(x)
    channel.exchange_declare(x, "fanout", auto_delete=True, internal=True)

    def publish(ch):
        ch.confirm_delivery()
        ch.basic_publish(x, "", b"m")

    error = channel_error(connection, publish)
    assert error == (
        403,
        f"ACCESS_REFUSED - cannot publish to internal exchange '{x}' in vhost '/'",
    )


def test_internal_exchange_routes_messages_from_bound_exchanges(channel, unique):
    front, inner = unique("front"), unique("inner")
    channel.exchange_declare(front, "fanout", auto_delete=True)
    channel.exchange_declare(inner, "fanout", auto_delete=True, internal=True)
    channel.exchange_bind(inner, front, "")
    q = temp_queue(channel)
    channel.queue_bind(q, inner, "")
    channel.basic_publish(front, "k", b"via-internal")
    assert drain(channel, q) == [b"via-internal"]


def test_publish_to_missing_exchange_is_not_found(connection, unique):
    x = unique("missing")

    def publish(ch):
        ch.confirm_delivery()
        ch.basic_publish(x, "", b"m")

    assert channel_error(connection, publish) == not_found(x)


@pytest.mark.parametrize(
    ("send", "code", "text", "class_method"),
    [
        pytest.param(
            lambda raw, m: raw.send_method(1, commands.Exchange.Declare(exchange=m, passive=True)),
            404,
            "NOT_FOUND - no exchange '{missing}' in vhost '/'",
            (40, 10),
            id="declare",
        ),
        pytest.param(
            lambda raw, m: raw.send_method(1, commands.Exchange.Delete(exchange="amq.topic")),
            403,
            "ACCESS_REFUSED - deletion of system exchange 'amq.topic' in vhost '/' not allowed",
            (40, 20),
            id="delete",
        ),
        pytest.param(
            lambda raw, m: raw.send_method(
                1, commands.Exchange.Bind(destination="amq.direct", source=m)
            ),
            404,
            "NOT_FOUND - no exchange '{missing}' in vhost '/'",
            (40, 30),
            id="bind",
        ),
        pytest.param(
            lambda raw, m: raw.send_method(
                1, commands.Exchange.Unbind(destination="amq.direct", source="")
            ),
            403,
            "ACCESS_REFUSED - operation not permitted on the default exchange",
            (40, 40),
            id="unbind",
        ),
        pytest.param(
            lambda raw, m: raw.publish(1, m, "", b"body"),
            404,
            "NOT_FOUND - no exchange '{missing}' in vhost '/'",
            (60, 40),
            id="publish",
        ),
    ],
)
def test_channel_close_names_the_failing_method(broker, unique, send, code, text, class_method):
    missing = unique("missing")
    with RawAMQP.connect(broker.host, broker.port) as raw:
        raw.open_channel(1)
        send(raw, missing)
        channel_id, close = raw.expect_channel_close()
    assert channel_id == 1
    assert (close.reply_code, close.reply_text) == (code, text.format(missing=missing))
    assert (close.class_id, close.method_id) == class_method


# -- delete ----------------------------------------------------------------------------------


def test_delete_removes_exchange(connection, channel, unique, cleanup):
    x = unique("x")
    cleanup.append(x)
    channel.exchange_declare(x, "direct")
    channel.exchange_delete(x)
    assert passive_error(connection, x) == not_found(x)


def test_delete_removes_its_bindings(channel, unique, cleanup):
    x = unique("x")
    cleanup.append(x)
    channel.exchange_declare(x, "direct")
    q = temp_queue(channel)
    channel.queue_bind(q, x, "k")
    channel.exchange_delete(x)
    channel.exchange_declare(x, "direct", auto_delete=True)
    channel.basic_publish(x, "k", b"m")
    assert drain(channel, q) == []


def test_delete_of_missing_exchange_is_ok(channel, unique):
    channel.exchange_delete(unique("missing"))
    channel.exchange_delete(unique("missing"), if_unused=True)


def test_delete_if_unused_of_exchange_with_queue_binding_is_precondition_failed(
    connection, channel, unique
):
    x = unique("x")
    channel.exchange_declare(x, "direct", auto_delete=True)
    q = temp_queue(channel)
    channel.queue_bind(q, x, "k")
    error = channel_error(connection, lambda ch: ch.exchange_delete(x, if_unused=True))
    assert error == (406, f"PRECONDITION_FAILED - exchange '{x}' in vhost '/' in use")
    channel.exchange_declare(x, passive=True)


def test_delete_if_unused_counts_only_bindings_from_the_exchange(
    connection, channel, unique, cleanup
):
    source, dest = unique("source"), unique("dest")
    cleanup.extend([source, dest])
    channel.exchange_declare(source, "fanout")
    channel.exchange_declare(dest, "fanout")
    channel.exchange_bind(dest, source, "")
    error = channel_error(connection, lambda ch: ch.exchange_delete(source, if_unused=True))
    assert error == (406, f"PRECONDITION_FAILED - exchange '{source}' in vhost '/' in use")
    channel.exchange_delete(dest, if_unused=True)  # only a destination: unused
    channel.exchange_delete(source, if_unused=True)  # its binding went with dest


def test_delete_if_unused_of_unbound_exchange_is_ok(connection, channel, unique, cleanup):
    x = unique("x")
    cleanup.append(x)
    channel.exchange_declare(x, "topic")
    channel.exchange_delete(x, if_unused=True)
    assert passive_error(connection, x) == not_found(x)


async def test_delete_exchange_with_aio_pika(broker_url, unique):
    name = unique("x")
    async with await aio_pika.connect(broker_url) as conn:
        ch = await conn.channel()
        x = await ch.declare_exchange(name, aio_pika.ExchangeType.DIRECT, auto_delete=True)
        q = await ch.declare_queue(exclusive=True)
        await q.bind(x, "k")
        with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed) as info:
            await x.delete(if_unused=True)
        assert info.value.args[0] == f"PRECONDITION_FAILED - exchange '{name}' in vhost '/' in use"
        ch = await conn.channel()
        await ch.exchange_delete(name)
        with pytest.raises(aiormq.exceptions.ChannelNotFoundEntity):
            await ch.declare_exchange(name, passive=True)


# -- auto-delete -----------------------------------------------------------------------------


def test_auto_delete_exchange_is_deleted_when_last_binding_is_removed(connection, channel, unique):
    x = unique("autodel")
    channel.exchange_declare(x, "direct", auto_delete=True)
    q = temp_queue(channel)
    channel.queue_bind(q, x, "a")
    channel.queue_bind(q, x, "b")
    channel.queue_unbind(q, x, "a")
    channel.exchange_declare(x, passive=True)
    channel.queue_unbind(q, x, "b")
    assert passive_error(connection, x) == not_found(x)


def test_auto_delete_exchange_without_bindings_stays(channel, unique):
    x = unique("autodel")
    channel.exchange_declare(x, "fanout", auto_delete=True)
    channel.exchange_declare(x, passive=True)
    channel.exchange_delete(x)


def test_auto_delete_exchange_is_deleted_when_its_bound_queue_is_deleted(
    connection, channel, unique
):
    x, q = unique("autodel"), unique("q")
    channel.exchange_declare(x, "fanout", auto_delete=True)
    channel.queue_declare(q, exclusive=True)
    channel.queue_bind(q, x, "")
    channel.queue_delete(q)
    assert passive_error(connection, x) == not_found(x)


def test_auto_delete_applies_to_the_source_of_an_exchange_binding(connection, channel, unique):
    source, dest = unique("source"), unique("dest")
    channel.exchange_declare(source, "fanout", auto_delete=True)
    channel.exchange_declare(dest, "fanout", auto_delete=True)
    channel.exchange_bind(dest, source, "")
    channel.exchange_unbind(dest, source, "")
    assert passive_error(connection, source) == not_found(source)
    channel.exchange_declare(dest, passive=True)  # never a source: stays
    channel.exchange_delete(dest)


# -- exchange-to-exchange bindings -----------------------------------------------------------


def test_exchange_binding_routes_source_to_destination_to_queue(channel, unique):
    source, dest = unique("source"), unique("dest")
    channel.exchange_declare(source, "topic", auto_delete=True)
    channel.exchange_declare(dest, "direct", auto_delete=True)
    channel.exchange_bind(dest, source, "k.#")
    q = temp_queue(channel)
    channel.queue_bind(q, dest, "k.1")
    for key in ("k.1", "k.2", "z"):
        channel.basic_publish(source, key, key.encode())
    assert drain(channel, q) == [b"k.1"]


async def test_exchange_bind_and_unbind_with_aio_pika(broker_url, unique):
    async with await aio_pika.connect(broker_url) as conn:
        ch = await conn.channel()
        source = await ch.declare_exchange(unique("src"), aio_pika.ExchangeType.FANOUT)
        dest = await ch.declare_exchange(unique("dst"), aio_pika.ExchangeType.FANOUT)
        try:
            q = await ch.declare_queue(exclusive=True)
            await q.bind(dest)
            await dest.bind(source)
            await source.publish(aio_pika.Message(b"bound"), routing_key="")
            await dest.unbind(source)
            await source.publish(aio_pika.Message(b"unbound"), routing_key="")
            msg = await q.get(no_ack=True)
            assert msg.body == b"bound"
            assert msg.exchange == source.name
            assert await q.get(no_ack=True, fail=False) is None
        finally:
            await source.delete()
            await dest.delete()


def test_queue_reached_by_two_paths_receives_one_copy(channel, unique):
    source, dest = unique("source"), unique("dest")
    channel.exchange_declare(source, "fanout", auto_delete=True)
    channel.exchange_declare(dest, "fanout", auto_delete=True)
    channel.exchange_bind(dest, source, "")
    q = temp_queue(channel)
    channel.queue_bind(q, source, "")
    channel.queue_bind(q, dest, "")
    channel.basic_publish(source, "", b"once")
    assert drain(channel, q) == [b"once"]


def test_cycle_of_exchange_bindings_delivers_once(channel, unique, cleanup):
    a, b = unique("a"), unique("b")
    cleanup.extend([a, b])  # bound to each other, so auto-delete never removes them
    channel.exchange_declare(a, "fanout", auto_delete=True)
    channel.exchange_declare(b, "fanout", auto_delete=True)
    channel.exchange_bind(b, a, "")
    channel.exchange_bind(a, b, "")
    channel.exchange_bind(a, a, "")
    q = temp_queue(channel)
    channel.queue_bind(q, b, "")
    channel.basic_publish(a, "", b"from-a")
    channel.basic_publish(b, "", b"from-b")
    assert drain(channel, q) == [b"from-a", b"from-b"]


def test_exchange_bind_to_missing_exchange_is_not_found(connection, unique):
    missing = unique("missing")
    error = channel_error(connection, lambda ch: ch.exchange_bind("amq.fanout", missing, ""))
    assert error == not_found(missing)
    error = channel_error(connection, lambda ch: ch.exchange_bind(missing, "amq.fanout", ""))
    assert error == not_found(missing)


def test_exchange_bind_with_both_missing_reports_the_source(connection, unique):
    source, dest = unique("source"), unique("dest")
    error = channel_error(connection, lambda ch: ch.exchange_bind(dest, source, ""))
    assert error == not_found(source)


def test_exchange_unbind_of_missing_binding_is_ok(channel, unique):
    channel.exchange_unbind("amq.direct", "amq.fanout", unique("k"))
    channel.exchange_unbind(unique("dest"), unique("source"), "k")


# -- topic routing ---------------------------------------------------------------------------

TOPIC_PATTERNS = [
    # RabbitMQ's own topic exchange test bindings
    "a.b.c", "a.*.c", "a.#.b", "a.b.b.c", "#", "#.#", "#.b", "*.*", "a.*", "*.b.c", "a.#",
    "a.#.#", "b.b.c", "a.b.b", "a.b", "b.c", "", "*.*.*", "vodka.martini", "*.#", "#.*.#",
    "*.#.#", "#.#.#", "*", "#.b.#",
    # empty words, '#' in the middle, more '*'s, case
    "a..b", "*.a", "#.a", ".a", "a.", "a.#.c", "#.c", "#.*", "*.*.#", "a.*.#.*", "a.*.*.b",
    "*.*.*.*.*", "A.B.C", ".",
]  # fmt: skip

# routing key -> every pattern (above) that must route it; all other patterns must not.
TOPIC_MATCHES = {
    "a.b.c": {"a.b.c", "a.*.c", "#", "#.#", "*.b.c", "a.#", "a.#.#", "*.*.*", "*.#", "#.*.#",
              "*.#.#", "#.#.#", "#.b.#", "a.#.c", "#.c", "#.*", "*.*.#", "a.*.#.*"},
    "a.b": {"a.#.b", "#", "#.#", "#.b", "*.*", "a.*", "a.#", "a.#.#", "a.b", "*.#", "#.*.#",
            "*.#.#", "#.#.#", "#.b.#", "#.*", "*.*.#"},
    "a.b.b": {"a.#.b", "#", "#.#", "#.b", "a.#", "a.#.#", "a.b.b", "*.*.*", "*.#", "#.*.#",
              "*.#.#", "#.#.#", "#.b.#", "#.*", "*.*.#", "a.*.#.*"},
    "": {"#", "#.#", "", "#.#.#"},
    "b.c.c": {"#", "#.#", "*.*.*", "*.#", "#.*.#", "*.#.#", "#.#.#", "#.b.#", "#.c", "#.*",
              "*.*.#"},
    "a.a.a.a.a": {"#", "#.#", "a.#", "a.#.#", "*.#", "#.*.#", "*.#.#", "#.#.#", "#.a", "#.*",
                  "*.*.#", "a.*.#.*", "*.*.*.*.*"},
    "vodka.gin": {"#", "#.#", "*.*", "*.#", "#.*.#", "*.#.#", "#.#.#", "#.*", "*.*.#"},
    "vodka.martini": {"#", "#.#", "*.*", "vodka.martini", "*.#", "#.*.#", "*.#.#", "#.#.#",
                      "#.*", "*.*.#"},
    "b.b.c": {"#", "#.#", "*.b.c", "b.b.c", "*.*.*", "*.#", "#.*.#", "*.#.#", "#.#.#", "#.b.#",
              "#.c", "#.*", "*.*.#"},
    "nothing.here.at.all": {"#", "#.#", "*.#", "#.*.#", "*.#.#", "#.#.#", "#.*", "*.*.#"},
    "oneword": {"#", "#.#", "*.#", "#.*.#", "*.#.#", "#.#.#", "*", "#.*"},
    "a..b": {"a.#.b", "#", "#.#", "#.b", "a.#", "a.#.#", "*.*.*", "*.#", "#.*.#", "*.#.#",
             "#.#.#", "#.b.#", "a..b", "#.*", "*.*.#", "a.*.#.*"},
    "a.x.b": {"a.#.b", "#", "#.#", "#.b", "a.#", "a.#.#", "*.*.*", "*.#", "#.*.#", "*.#.#",
              "#.#.#", "#.b.#", "#.*", "*.*.#", "a.*.#.*"},
    ".a": {"#", "#.#", "*.*", "*.#", "#.*.#", "*.#.#", "#.#.#", "*.a", "#.a", ".a", "#.*",
           "*.*.#"},
    "a.": {"#", "#.#", "*.*", "a.*", "a.#", "a.#.#", "*.#", "#.*.#", "*.#.#", "#.#.#", "a.",
           "#.*", "*.*.#"},
    "a": {"#", "#.#", "a.#", "a.#.#", "*.#", "#.*.#", "*.#.#", "#.#.#", "*", "#.a", "#.*"},
    ".": {"#", "#.#", "*.*", "*.#", "#.*.#", "*.#.#", "#.#.#", "#.*", "*.*.#", "."},
    "..": {"#", "#.#", "*.*.*", "*.#", "#.*.#", "*.#.#", "#.#.#", "#.*", "*.*.#"},
    "a.c": {"#", "#.#", "*.*", "a.*", "a.#", "a.#.#", "*.#", "#.*.#", "*.#.#", "#.#.#", "a.#.c",
            "#.c", "#.*", "*.*.#"},
    "a.x.y.z.c": {"#", "#.#", "a.#", "a.#.#", "*.#", "#.*.#", "*.#.#", "#.#.#", "a.#.c", "#.c",
                  "#.*", "*.*.#", "a.*.#.*", "*.*.*.*.*"},
    "x.a": {"#", "#.#", "*.*", "*.#", "#.*.#", "*.#.#", "#.#.#", "*.a", "#.a", "#.*", "*.*.#"},
    "a.b.c.d.e.f.g.h.i.j": {"#", "#.#", "a.#", "a.#.#", "*.#", "#.*.#", "*.#.#", "#.#.#",
                            "#.b.#", "#.*", "*.*.#", "a.*.#.*"},
    "#": {"#", "#.#", "*.#", "#.*.#", "*.#.#", "#.#.#", "*", "#.*"},
    "*": {"#", "#.#", "*.#", "#.*.#", "*.#.#", "#.#.#", "*", "#.*"},
    "A.B.C": {"#", "#.#", "*.*.*", "*.#", "#.*.#", "*.#.#", "#.#.#", "#.*", "*.*.#", "A.B.C"},
    "a.x.y.b": {"a.#.b", "#", "#.#", "#.b", "a.#", "a.#.#", "*.#", "#.*.#", "*.#.#", "#.#.#",
                "#.b.#", "#.*", "*.*.#", "a.*.#.*", "a.*.*.b"},
    "a.b.b.c": {"a.b.b.c", "#", "#.#", "a.#", "a.#.#", "*.#", "#.*.#", "*.#.#", "#.#.#",
                "#.b.#", "a.#.c", "#.c", "#.*", "*.*.#", "a.*.#.*"},
    "x.y.z.w.v": {"#", "#.#", "*.#", "#.*.#", "*.#.#", "#.#.#", "#.*", "*.*.#", "*.*.*.*.*"},
}  # fmt: skip


def test_topic_routing_table(channel, unique):
    x = unique("topic")
    channel.exchange_declare(x, "topic", auto_delete=True)
    queue_of = {}
    for pattern in TOPIC_PATTERNS:
        queue_of[pattern] = temp_queue(channel)
        channel.queue_bind(queue_of[pattern], x, pattern)
    for key in TOPIC_MATCHES:
        channel.basic_publish(x, key, key.encode())
    routed: dict[str, set[str]] = {key: set() for key in TOPIC_MATCHES}
    for pattern, q in queue_of.items():
        for body in drain(channel, q):
            routed[body.decode()].add(pattern)
    wrong = {
        key: {"missing": expected - routed[key], "unexpected": routed[key] - expected}
        for key, expected in TOPIC_MATCHES.items()
        if routed[key] != expected
    }
    assert not wrong


def test_topic_binding_with_same_pattern_twice_routes_once(channel, unique):
    x = unique("topic")
    channel.exchange_declare(x, "topic", auto_delete=True)
    q = temp_queue(channel)
    channel.queue_bind(q, x, "a.*")
    channel.queue_bind(q, x, "a.*")
    channel.queue_bind(q, x, "#")
    channel.basic_publish(x, "a.b", b"m")
    assert drain(channel, q) == [b"m"]


# -- headers routing -------------------------------------------------------------------------

HEADER_BINDINGS: dict[str, dict[str, Any]] = {
    "no-args": {},
    "all-by-default": {"a": "1", "b": 2},
    "all": {"x-match": "all", "a": "1", "b": 2},
    "any": {"x-match": "any", "a": "1", "b": 2},
    "all-ignores-x-keys": {"x-match": "all", "x-foo": "bar", "a": "1"},
    "all-only-x-keys": {"x-match": "all", "x-foo": "bar"},
    "any-only-x-keys": {"x-match": "any", "x-foo": "bar"},
    "any-nothing": {"x-match": "any"},
    "all-with-x": {"x-match": "all-with-x", "x-foo": "bar"},
    "any-with-x": {"x-match": "any-with-x", "x-foo": "bar", "a": "zzz"},
    "void-means-present": {"a": None},
    "string-2": {"b": "2"},
    "bool-true": {"t": True},
}

HEADER_MESSAGES: dict[str, dict[str, Any] | None] = {
    "no-headers": None,
    "empty": {},
    "a1b2": {"a": "1", "b": 2},
    "a1": {"a": "1"},
    "b2": {"b": 2},
    "a1b3": {"a": "1", "b": 3},
    "a2": {"a": "2"},
    "b-string-2": {"b": "2"},
    "a1b2-xfoo": {"a": "1", "b": 2, "x-foo": "bar"},
    "xfoo": {"x-foo": "bar"},
    "t-true": {"t": True},
    "t-int-1": {"t": 1},
}

HEADER_MATCHES = {
    "no-args": set(HEADER_MESSAGES),
    "all-by-default": {"a1b2", "a1b2-xfoo"},
    "all": {"a1b2", "a1b2-xfoo"},
    "any": {"a1b2", "a1", "b2", "a1b3", "a1b2-xfoo"},
    "all-ignores-x-keys": {"a1b2", "a1", "a1b3", "a1b2-xfoo"},
    "all-only-x-keys": set(HEADER_MESSAGES),
    "any-only-x-keys": set(),
    "any-nothing": set(),
    "all-with-x": {"a1b2-xfoo", "xfoo"},
    "any-with-x": {"a1b2-xfoo", "xfoo"},
    "void-means-present": {"a1b2", "a1", "a1b3", "a2", "a1b2-xfoo"},
    "string-2": {"b-string-2"},
    "bool-true": {"t-true"},
}


def test_headers_routing_table(channel, unique):
    x = unique("headers")
    channel.exchange_declare(x, "headers", auto_delete=True)
    queue_of = {}
    for name, args in HEADER_BINDINGS.items():
        queue_of[name] = temp_queue(channel)
        channel.queue_bind(queue_of[name], x, "ignored", arguments=args)
    for name, headers in HEADER_MESSAGES.items():
        channel.basic_publish(x, "rk", name.encode(), pika.BasicProperties(headers=headers))
    routed = {name: {b.decode() for b in drain(channel, q)} for name, q in queue_of.items()}
    assert routed == HEADER_MATCHES


async def test_headers_match_integers_of_different_widths(broker_url, unique):
    # aio-pika (pamqp) encodes 2 as a short-int 's'; pika encodes it as a long-int 'I'.
    name = unique("headers")
    async with await aio_pika.connect(broker_url) as conn:
        ch = await conn.channel()
        x = await ch.declare_exchange(name, aio_pika.ExchangeType.HEADERS, auto_delete=True)
        q = await ch.declare_queue(exclusive=True)
        await q.bind(x, arguments={"x-match": "all", "n": 2})
        with pika.BlockingConnection(pika.URLParameters(broker_url)) as pconn:
            pch = pconn.channel()
            pch.confirm_delivery()
            pch.basic_publish(name, "", b"two", pika.BasicProperties(headers={"n": 2}))
            pch.basic_publish(name, "", b"three", pika.BasicProperties(headers={"n": 3}))
        msg = await q.get(no_ack=True)
        assert msg.body == b"two"
        assert await q.get(no_ack=True, fail=False) is None


@pytest.mark.parametrize(
    ("x_match", "text"),
    [
        (
            "foo",
            'PRECONDITION_FAILED - Invalid x-match field value <<"foo">>; '
            "expected all, any, all-with-x, or any-with-x",
        ),
        (
            1,
            "PRECONDITION_FAILED - Invalid x-match field type signedint (value 1); "
            "expected longstr",
        ),
    ],
)
def test_headers_binding_with_invalid_x_match_is_precondition_failed(
    connection, channel, unique, x_match, text
):
    x = unique("headers")
    channel.exchange_declare(x, "headers", auto_delete=True)
    q = temp_queue(channel)
    channel.queue_bind(q, x, "")  # keeps the auto-delete exchange alive
    error = channel_error(connection, lambda ch: ch.queue_bind(q, x, "", {"x-match": x_match}))
    assert error == (406, text)
