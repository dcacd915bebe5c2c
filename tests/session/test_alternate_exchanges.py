"""Alternate exchanges in the session layer (tests/server/test_alternate_exchange.py asserts
the same over sockets)."""

from __future__ import annotations

import pytest
from pamqp import commands
from sessionutil import props

from amqpbroker.testing.harness import ClientChannel


def exchange(ch: ClientChannel, name: str, kind: str = "direct", ae: object = None) -> str:
    arguments = None if ae is None else {"alternate-exchange": ae}
    ch.exchange(name, kind, arguments=arguments)
    return name


def bound_queue(ch: ClientChannel, *bindings: tuple[str, str]) -> str:
    queue = str(ch.declare("", exclusive=True).queue)
    for source, key in bindings:
        ch.bind(queue, source, key)
    return queue


def taken(ch: ClientChannel, queue: str) -> list[tuple[bytes, str, str]]:
    """(body, exchange, routing key) of every message in ``queue``, taken."""
    out = []
    while (message := ch.get(queue)) is not None:
        out.append((message.body, message.method.exchange, message.method.routing_key))
    return out


def test_unroutable_message_goes_to_the_alternate_keeping_exchange_and_key(ch):
    exchange(ch, "x", ae=exchange(ch, "ae", "fanout"))
    routed, caught = bound_queue(ch, ("x", "k")), bound_queue(ch, ("ae", ""))
    ch.publish(b"routed", "k", exchange="x")
    assert ch.publish(b"caught", "other", exchange="x", mandatory=True)
    assert ch.received() == []  # not returned
    assert taken(ch, routed) == [(b"routed", "x", "k")]
    assert taken(ch, caught) == [(b"caught", "x", "other")]


def test_alternates_chain_and_a_cycle_returns_once(ch):
    exchange(ch, "ae2", "fanout")
    exchange(ch, "ae1", "direct", ae="ae2")
    exchange(ch, "x", "direct", ae="ae1")
    q1, q2 = bound_queue(ch, ("ae1", "a1")), bound_queue(ch, ("ae2", ""))
    ch.publish(b"one", "a1", exchange="x")
    ch.publish(b"two", "z", exchange="x")
    assert taken(ch, q1) == [(b"one", "x", "a1")]
    assert taken(ch, q2) == [(b"two", "x", "z")]
    exchange(ch, "y", "direct", ae="z")
    exchange(ch, "z", "direct", ae="y")
    ch.publish(b"lost", "k", exchange="y", mandatory=True)
    assert [d.method.reply_text for d in ch.deliveries()] == ["NO_ROUTE"]


def test_alternate_is_used_only_when_no_key_routes(ch):
    exchange(ch, "x", ae=exchange(ch, "ae", "fanout"))
    routed, caught = bound_queue(ch, ("x", "k")), bound_queue(ch, ("ae", ""))
    for key, headers in (
        ("k", {"CC": ["none"]}),
        ("none", {"CC": ["k"]}),
        ("none", {"BCC": ["k"]}),
        ("none", {"CC": ["none2"]}),
    ):
        ch.publish(key.encode(), key, exchange="x", properties=props(headers=headers))
    assert [body for body, _, _ in taken(ch, routed)] == [b"k", b"none", b"none"]
    assert taken(ch, caught) == [(b"none", "x", "none")]


def test_exchange_reached_by_a_binding_uses_its_own_alternate(ch):
    exchange(ch, "mid", "direct", ae=exchange(ch, "mid-ae", "fanout"))
    exchange(ch, "src", "topic", ae=exchange(ch, "src-ae", "fanout"))
    bind = commands.Exchange.Bind(destination="mid", source="src", routing_key="to-mid.#")
    ch.call(bind, commands.Exchange.BindOk)
    q_src_ae, q_mid_ae = bound_queue(ch, ("src-ae", "")), bound_queue(ch, ("mid-ae", ""))
    ch.publish(b"mid routes nowhere", "to-mid.x", exchange="src")
    ch.publish(b"src routes nowhere", "elsewhere", exchange="src")
    assert taken(ch, q_mid_ae) == [(b"mid routes nowhere", "src", "to-mid.x")]
    assert taken(ch, q_src_ae) == [(b"src routes nowhere", "src", "elsewhere")]


@pytest.mark.parametrize(
    ("value", "type_name"),
    [(None, "void"), (["ae"], "array"), ({"a": 1}, "table"), (True, "bool")],
)
def test_alternate_exchange_must_be_a_longstr(ch, value, type_name):
    ch.send(commands.Exchange.Declare(exchange="x", arguments={"alternate-exchange": value}))
    assert ch.expect_close(406).reply_text == (
        f"PRECONDITION_FAILED - invalid type '{type_name}' for arg 'alternate-exchange' "
        "in exchange 'x' in vhost '/'"
    )


@pytest.mark.parametrize(
    ("current", "received", "detail"),
    [
        ("ae", None, "received none but current is 'ae'"),
        (None, None, "received the value 'undefined' of type 'void' but current is none"),
    ],
)
def test_redeclare_compares_alternate_exchange_as_erlang_does(ch, current, received, detail):
    exchange(ch, "x", ae=current)
    other = ch.client.channel()
    other.send(commands.Exchange.Declare(exchange="x", arguments={"alternate-exchange": received}))
    assert other.expect_close(406).reply_text == (
        "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange 'x' "
        f"in vhost '/': {detail}"
    )
