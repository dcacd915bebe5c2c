"""Exchange declare, delete, auto-delete, internal and system exchanges and the default
exchange's refusals in the session layer (tests/server/test_exchanges.py asserts the same
over sockets)."""

from __future__ import annotations

import pytest
from pamqp import commands
from pamqp.base import Frame

from amqpbroker.testing.harness import ClientChannel

DEFAULT_EXCHANGE_REFUSED = "ACCESS_REFUSED - operation not permitted on the default exchange"


def refused(ch: ClientChannel, method: Frame, code: int) -> commands.Channel.Close:
    """``method`` on a new channel of ``ch``'s connection must close it with ``code``."""
    other = ch.client.channel()
    other.send(method)
    return other.expect_close(code)


def exists(ch: ClientChannel, name: str) -> bool:
    other = ch.client.channel()
    other.send(commands.Exchange.Declare(exchange=name, passive=True))
    reply = other.next()
    if isinstance(reply, commands.Channel.Close):
        assert reply.reply_text == f"NOT_FOUND - no exchange '{name}' in vhost '/'"
        other.send(commands.Channel.CloseOk())
        return False
    assert isinstance(reply, commands.Exchange.DeclareOk), reply
    return True


@pytest.mark.parametrize(
    "name", ["amq.direct", "amq.fanout", "amq.topic", "amq.headers", "amq.match"]
)
def test_standard_exchanges_exist(ch, name):
    assert exists(ch, name)


def test_amq_match_is_a_headers_exchange(ch):
    q = str(ch.declare("", exclusive=True).queue)
    ch.bind(q, "amq.match", "", **{"x-match": "any", "tag": q})
    ch.publish(b"m", exchange="amq.match", properties=commands.Basic.Properties(headers={"tag": q}))
    assert ch.drain(q) == [b"m"]


def test_passive_declare_ignores_type_and_flags(ch):
    ch.exchange("x", "direct", auto_delete=True)
    ch.exchange("x", "fanout", passive=True, durable=True, internal=True)


@pytest.mark.parametrize(
    ("first", "second", "detail"),
    [
        (
            {},
            {"exchange_type": "fanout"},
            "'type' for exchange 'x' in vhost '/': received 'fanout' but current is 'direct'",
        ),
        (
            {"durable": True},
            {},
            "'durable' for exchange 'x' in vhost '/': received 'false' but current is 'true'",
        ),
    ],
    ids=["type", "durable"],
)
def test_inequivalent_redeclare_is_precondition_failed(ch, first, second, detail):
    ch.exchange("x", "direct", **first)
    method = commands.Exchange.Declare(exchange="x", **{"exchange_type": "direct", **second})
    assert refused(ch, method, 406).reply_text == f"PRECONDITION_FAILED - inequivalent arg {detail}"


def test_arguments_other_than_alternate_exchange_are_not_compared(ch):
    ch.exchange("x", auto_delete=True, arguments={"x-foo": "a", "bar": 1})
    ch.exchange("x", auto_delete=True, arguments={"x-foo": "b"})
    ch.exchange("x", auto_delete=True)


def test_amq_prefixed_names_are_reserved(ch):
    close = refused(ch, commands.Exchange.Declare(exchange="amq.foo"), 403)
    assert (
        close.reply_text
        == "ACCESS_REFUSED - exchange name 'amq.foo' contains reserved prefix 'amq.*'"
    )
    assert not exists(ch, "amq.foo")
    ch.exchange("amq.direct", "direct", durable=True)  # an equivalent redeclare is fine


@pytest.mark.parametrize("exchange_type", ["x-foo", "nosuch-type"])
def test_unknown_exchange_type_closes_the_connection(ch, exchange_type):
    ch.send(commands.Exchange.Declare(exchange="x", exchange_type=exchange_type))
    close = ch.client.expect_close(503)
    assert (close.reply_text, close.class_id, close.method_id) == (
        f"COMMAND_INVALID - unknown exchange type '{exchange_type}'",
        40,
        10,
    )


@pytest.mark.parametrize(
    "method",
    [
        commands.Exchange.Declare(exchange="", exchange_type="direct"),
        commands.Exchange.Declare(exchange="", passive=True),
        commands.Exchange.Delete(exchange=""),
        commands.Queue.Bind(queue="q", exchange="", routing_key="k"),
        commands.Queue.Unbind(queue="q", exchange="", routing_key="q"),
        commands.Exchange.Bind(destination="amq.direct", source="", routing_key="k"),
        commands.Exchange.Bind(destination="", source="amq.direct", routing_key="k"),
        commands.Exchange.Unbind(destination="amq.direct", source="", routing_key="k"),
    ],
    ids=[
        "declare",
        "passive",
        "delete",
        "queue-bind",
        "queue-unbind",
        "bind-source",
        "bind-dest",
        "unbind",
    ],
)
def test_operations_on_the_default_exchange_are_access_refused(ch, method):
    ch.declare("q", exclusive=True)
    assert refused(ch, method, 403).reply_text == DEFAULT_EXCHANGE_REFUSED


def test_delete_system_exchange_is_access_refused(ch):
    close = refused(ch, commands.Exchange.Delete(exchange="amq.topic"), 403)
    assert (close.reply_text, close.class_id, close.method_id) == (
        "ACCESS_REFUSED - deletion of system exchange 'amq.topic' in vhost '/' not allowed",
        40,
        20,
    )
    assert exists(ch, "amq.topic")


def test_internal_exchange_refuses_publishes_and_routes_from_bound_exchanges(ch):
    ch.exchange("front", "fanout", auto_delete=True)
    ch.exchange("inner", "fanout", auto_delete=True, internal=True)
    ch.call(commands.Exchange.Bind(destination="inner", source="front"), commands.Exchange.BindOk)
    q = str(ch.declare("", exclusive=True).queue)
    ch.bind(q, "inner")
    ch.publish(b"via-internal", "k", exchange="front")
    assert ch.drain(q) == [b"via-internal"]
    ch.publish(b"m", exchange="inner")
    assert ch.expect_close(403).reply_text == (
        "ACCESS_REFUSED - cannot publish to internal exchange 'inner' in vhost '/'"
    )


def test_delete_removes_the_exchange_and_its_bindings(ch):
    ch.exchange("x")
    q = str(ch.declare("", exclusive=True).queue)
    ch.bind(q, "x", "k")
    ch.call(commands.Exchange.Delete(exchange="x"), commands.Exchange.DeleteOk)
    assert not exists(ch, "x")
    ch.exchange("x", auto_delete=True)
    ch.publish(b"m", "k", exchange="x")
    assert ch.drain(q) == []


def test_delete_of_missing_exchange_is_ok(ch):
    ch.call(commands.Exchange.Delete(exchange="missing"), commands.Exchange.DeleteOk)
    delete = commands.Exchange.Delete(exchange="missing", if_unused=True)
    ch.call(delete, commands.Exchange.DeleteOk)


def test_delete_if_unused_counts_only_bindings_from_the_exchange(ch):
    ch.exchange("source", "fanout")
    ch.exchange("dest", "fanout")
    ch.call(commands.Exchange.Bind(destination="dest", source="source"), commands.Exchange.BindOk)
    close = refused(ch, commands.Exchange.Delete(exchange="source", if_unused=True), 406)
    assert close.reply_text == "PRECONDITION_FAILED - exchange 'source' in vhost '/' in use"
    for name in ("dest", "source"):  # dest is only a destination; source's binding went with it
        ch.call(commands.Exchange.Delete(exchange=name, if_unused=True), commands.Exchange.DeleteOk)
    assert not exists(ch, "source")


def test_auto_delete_exchange_goes_with_its_last_binding(ch):
    ch.exchange("auto", "direct", auto_delete=True)
    q = str(ch.declare("", exclusive=True).queue)
    ch.bind(q, "auto", "a")
    ch.bind(q, "auto", "b")
    ch.call(
        commands.Queue.Unbind(queue=q, exchange="auto", routing_key="a"), commands.Queue.UnbindOk
    )
    assert exists(ch, "auto")
    ch.call(
        commands.Queue.Unbind(queue=q, exchange="auto", routing_key="b"), commands.Queue.UnbindOk
    )
    assert not exists(ch, "auto")


def test_auto_delete_exchange_goes_with_its_bound_queue_and_stays_without_bindings(ch):
    ch.exchange("auto", "fanout", auto_delete=True)
    ch.exchange("unbound", "fanout", auto_delete=True)
    ch.declare("q", exclusive=True)
    ch.bind("q", "auto")
    ch.call(commands.Queue.Delete(queue="q"), commands.Queue.DeleteOk)
    assert not exists(ch, "auto")
    assert exists(ch, "unbound")
