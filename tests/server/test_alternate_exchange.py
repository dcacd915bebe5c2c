"""Alternate exchanges as RabbitMQ 3.10 implements them.

An exchange whose bindings match none of a message's routing keys (the routing key, CC and
BCC keys) hands it to the exchange named by its ``alternate-exchange`` argument, if that
exists; every exchange on the way does the same, each visited once.  A new exchange's
``alternate-exchange`` must be a longstr; a redeclare compares it by value as Erlang does.

Publishes go through a confirm-mode channel: once basic_publish returns, the message is in its
queues (or dropped), and basic.get observes the result without waiting.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import pika
import pika.exceptions
import pytest
from clientutil import channel_error

pytestmark = pytest.mark.timeout(30)

STAMP = datetime.datetime.fromtimestamp(1_700_000_000, datetime.UTC)


@pytest.fixture
def declare(channel: Any, connection: Any) -> Iterator[Callable[..., str]]:
    """declare(name, kind, ae=...) -> name: an exchange deleted after the test."""
    names: list[str] = []

    def declare_exchange(name: str, kind: str = "direct", ae: Any = None, **flags: Any) -> str:
        arguments = None if ae is None else {"alternate-exchange": ae}
        channel.exchange_declare(name, kind, arguments=arguments, **flags)
        names.append(name)
        return name

    yield declare_exchange
    if connection.is_open:
        cleanup = connection.channel()
        for name in names:
            cleanup.exchange_delete(name)


def bound_queue(ch: Any, *bindings: tuple[str, str]) -> str:
    queue = ch.queue_declare("", exclusive=True).method.queue
    for exchange, key in bindings:
        ch.queue_bind(queue, exchange, key)
    return queue


def taken(ch: Any, queue: str) -> list[tuple[bytes, str, str]]:
    """(body, exchange, routing key) of every message in ``queue``, taken."""
    out = []
    while True:
        method, _props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            return out
        out.append((body, method.exchange, method.routing_key))


def test_unroutable_message_goes_to_the_alternate_keeping_exchange_and_key(
    channel, declare, unique
):
    ae = declare(unique("ae"), "fanout")
    x = declare(unique("x"), "direct", ae=ae)
    routed, caught = bound_queue(channel, (x, "k")), bound_queue(channel, (ae, ""))
    channel.basic_publish(x, "k", b"routed")
    channel.basic_publish(x, "other", b"caught", mandatory=True)  # not returned
    assert taken(channel, routed) == [(b"routed", x, "k")]
    assert taken(channel, caught) == [(b"caught", x, "other")]


def test_alternates_chain_and_a_cycle_returns_once(channel, declare, unique):
    ae2 = declare(unique("ae2"), "fanout")
    ae1 = declare(unique("ae1"), "direct", ae=ae2)
    x = declare(unique("x"), "direct", ae=ae1)
    q1, q2 = bound_queue(channel, (ae1, "a1")), bound_queue(channel, (ae2, ""))
    channel.basic_publish(x, "a1", b"one")
    channel.basic_publish(x, "z", b"two")
    assert taken(channel, q1) == [(b"one", x, "a1")]
    assert taken(channel, q2) == [(b"two", x, "z")]
    y, z = unique("y"), unique("z")
    declare(y, "direct", ae=z)
    declare(z, "direct", ae=y)
    with pytest.raises(pika.exceptions.UnroutableError) as info:
        channel.basic_publish(y, "k", b"lost", mandatory=True)
    assert [m.method.reply_text for m in info.value.messages] == ["NO_ROUTE"]


def test_alternate_is_used_only_when_no_key_routes(channel, declare, unique):
    """A CC or BCC key that routes keeps the message from the alternate, and so does a
    routing key that routes while a CC key does not."""
    ae = declare(unique("ae"), "fanout")
    x = declare(unique("x"), "direct", ae=ae)
    routed, caught = bound_queue(channel, (x, "k")), bound_queue(channel, (ae, ""))
    for key, headers in (
        ("k", {"CC": ["none"]}),
        ("none", {"CC": ["k"]}),
        ("none", {"BCC": ["k"]}),
        ("none", {"CC": ["none2"]}),
    ):
        channel.basic_publish(x, key, key.encode(), pika.BasicProperties(headers=headers))
    assert [body for body, _, _ in taken(channel, routed)] == [b"k", b"none", b"none"]
    assert taken(channel, caught) == [(b"none", x, "none")]


def test_exchange_reached_by_a_binding_uses_its_own_alternate(channel, declare, unique):
    src_ae, mid_ae = declare(unique("src-ae"), "fanout"), declare(unique("mid-ae"), "fanout")
    mid = declare(unique("mid"), "direct", ae=mid_ae)
    src = declare(unique("src"), "topic", ae=src_ae)
    channel.exchange_bind(mid, src, "to-mid.#")
    q_src_ae, q_mid_ae = bound_queue(channel, (src_ae, "")), bound_queue(channel, (mid_ae, ""))
    channel.basic_publish(src, "to-mid.x", b"mid routes nowhere")
    channel.basic_publish(src, "elsewhere", b"src routes nowhere")
    assert taken(channel, q_mid_ae) == [(b"mid routes nowhere", src, "to-mid.x")]
    assert taken(channel, q_src_ae) == [(b"src routes nowhere", src, "elsewhere")]


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        (5, "signedint"),
        (None, "void"),
        (b"ae", "binary"),
        (["ae"], "array"),
        ({"a": 1}, "table"),
        (True, "bool"),
    ],
)
def test_alternate_exchange_must_be_a_longstr(connection, unique, value, type_name):
    x = unique("x")
    args = {"alternate-exchange": value}
    error = channel_error(connection, lambda ch: ch.exchange_declare(x, arguments=args))
    assert error == (
        406,
        f"PRECONDITION_FAILED - invalid type '{type_name}' for arg 'alternate-exchange' "
        f"in exchange '{x}' in vhost '/'",
    )


@pytest.mark.parametrize(
    ("current", "received", "detail"),
    [
        ("ae", b"ae", None),  # a binary with the same octets is the same Erlang term
        ("ae", None, "received none but current is 'ae'"),
        (None, None, "received the value 'undefined' of type 'void' but current is none"),
        ("ae", STAMP, "received '1700000000' but current is 'ae'"),  # a timestamp
        (
            None,
            {"a": [1, "b"]},
            'received the value \'[{<<"a">>,array,[{signedint,1},{longstr,<<"b">>}]}]\' '
            "of type 'table' but current is none",
        ),
    ],
)
def test_redeclare_compares_alternate_exchange_as_erlang_does(
    connection, declare, unique, current, received, detail
):
    x = declare(unique("x"), ae=current)
    args = {"alternate-exchange": received}
    if detail is None:
        connection.channel().exchange_declare(x, arguments=args)
        return
    error = channel_error(connection, lambda ch: ch.exchange_declare(x, arguments=args))
    assert error == (
        406,
        f"PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange '{x}' "
        f"in vhost '/': {detail}",
    )
