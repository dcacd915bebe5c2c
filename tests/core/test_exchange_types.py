"""Exchange types: direct, fanout, topic and headers routing; headers_match; binding checks.

(Named test_exchange_types.py: tests/server/test_exchanges.py already owns the basename
test_exchanges, and without __init__.py files pytest cannot import two modules of one name.)
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pamqp import commands
from pamqp.header import ContentHeader

from amqpbroker.core.exchanges import (
    EXCHANGE_TYPES,
    DirectExchange,
    FanoutExchange,
    HeadersExchange,
    TopicExchange,
    field_equal,
    headers_match,
    make_binding,
)
from amqpbroker.core.message import Message
from amqpbroker.core.queue import Queue
from amqpbroker.errors import PreconditionFailed
from amqpbroker.protocol.fieldtable import TypedTable


def queue(name: str) -> Queue:
    return Queue(name, "/", durable=False, exclusive_owner=None, auto_delete=False, arguments={})


def message(routing_key: str = "", headers: dict | None = None) -> Message:
    properties = commands.Basic.Properties(headers=headers)
    header = ContentHeader(0, 0, properties).marshal()
    return Message(
        "x", routing_key, b"\x01x" + bytes((len(routing_key),)) + routing_key.encode(), header, b""
    )


# (binding arguments, message headers, match?)
HEADERS_TABLE = [
    # all (the default)
    ({"x-match": "all", "a": 1, "b": "x"}, {"a": 1, "b": "x"}, True),
    ({"x-match": "all", "a": 1, "b": "x"}, {"a": 1, "b": "x", "c": 3}, True),
    ({"x-match": "all", "a": 1, "b": "x"}, {"a": 1}, False),
    ({"x-match": "all", "a": 1, "b": "x"}, {"a": 2, "b": "x"}, False),
    ({"x-match": "all", "a": 1}, {}, False),
    ({"a": 1, "b": 2}, {"a": 1}, False),
    ({"a": 1, "b": 2}, {"a": 1, "b": 2}, True),
    ({"x-match": "all"}, {}, True),
    ({}, {"anything": 1}, True),
    # any
    ({"x-match": "any", "a": 1, "b": 2}, {"a": 1}, True),
    ({"x-match": "any", "a": 1, "b": 2}, {"b": 2, "c": 0}, True),
    ({"x-match": "any", "a": 1, "b": 2}, {"a": 2, "b": 1}, False),
    ({"x-match": "any", "a": 1, "b": 2}, {}, False),
    ({"x-match": "any"}, {"a": 1}, False),
    # x- keys in the binding are not matched (but x-match's value still counts)
    ({"x-match": "all", "x-foo": "bar", "a": 1}, {"a": 1}, True),
    ({"x-match": "all", "x-foo": "bar"}, {}, True),
    ({"x-match": "any", "x-foo": "bar"}, {"x-foo": "bar"}, False),
    ({"x-match": "any", "x-foo": "bar", "a": 1}, {"x-foo": "bar"}, False),
    # ...unless x-match is all-with-x or any-with-x
    ({"x-match": "all-with-x", "x-foo": "bar"}, {"x-foo": "bar"}, True),
    ({"x-match": "all-with-x", "x-foo": "bar"}, {}, False),
    ({"x-match": "all-with-x", "x-foo": "bar", "a": 1}, {"x-foo": "bar"}, False),
    ({"x-match": "all-with-x", "x-foo": "bar", "a": 1}, {"x-foo": "bar", "a": 1}, True),
    ({"x-match": "any-with-x", "x-foo": "bar", "a": 1}, {"x-foo": "bar"}, True),
    ({"x-match": "any-with-x", "x-foo": "bar", "a": 1}, {"x-foo": "baz"}, False),
    # x-match itself is never compared
    ({"x-match": "all-with-x"}, {"x-match": "other"}, True),
    ({"x-match": "any-with-x"}, {"x-match": "any-with-x"}, False),
    # a void (None) value matches the key's presence, whatever its value
    ({"a": None}, {"a": 5}, True),
    ({"a": None}, {"a": None}, True),
    ({"a": None}, {"b": 5}, False),
    ({"x-match": "any", "a": None, "b": 1}, {"a": "zz"}, True),
    # Erlang's ==: booleans never equal numbers, integers equal floats
    ({"a": 1}, {"a": True}, False),
    ({"a": True}, {"a": 1}, False),
    ({"a": 0}, {"a": False}, False),
    ({"a": True}, {"a": True}, True),
    ({"a": False}, {"a": True}, False),
    ({"a": 1}, {"a": 1.0}, True),
    ({"a": "1"}, {"a": 1}, False),
    # x-match as bytes, and unknown modes falling back to all (RabbitMQ's legacy)
    ({"x-match": b"any", "a": 1, "b": 2}, {"a": 1}, True),
    ({"x-match": "bogus", "a": 1, "b": 2}, {"a": 1}, False),
    ({"x-match": "bogus", "a": 1, "b": 2}, {"a": 1, "b": 2}, True),
]


@pytest.mark.parametrize(("binding", "headers", "expected"), HEADERS_TABLE)
def test_headers_match(binding, headers, expected):
    assert headers_match(binding, headers) is expected


def test_field_equal():
    assert field_equal(1, 1)
    assert field_equal(1, 1.0)
    assert not field_equal(1, True)
    assert not field_equal(False, 0)
    assert field_equal(False, False)
    assert field_equal("a", "a")


def test_exchange_types_registry():
    assert {name: cls.type_name for name, cls in EXCHANGE_TYPES.items()} == {
        "direct": "direct",
        "fanout": "fanout",
        "topic": "topic",
        "headers": "headers",
    }


def test_direct_routes_by_exact_key():
    exchange = DirectExchange("d", "/")
    q1, q2 = queue("q1"), queue("q2")
    exchange.add_binding(make_binding("d", q1, "k", {}))
    exchange.add_binding(make_binding("d", q2, "k", {}))
    exchange.add_binding(make_binding("d", q2, "other", {}))
    assert set(exchange.route("k", message())) == {q1, q2}
    assert set(exchange.route("other", message())) == {q2}
    assert set(exchange.route("K", message())) == set()


def test_direct_counts_bindings_that_differ_only_in_arguments():
    exchange = DirectExchange("d", "/")
    q = queue("q")
    first = make_binding("d", q, "k", {"a": 1})
    second = make_binding("d", q, "k", {"a": 2})
    assert exchange.add_binding(first)
    assert exchange.add_binding(second)
    assert exchange.remove_binding(first)
    assert set(exchange.route("k", message())) == {q}
    assert exchange.remove_binding(second)
    assert set(exchange.route("k", message())) == set()
    assert exchange._by_key == {}


def test_duplicate_binding_is_not_added_twice():
    exchange = DirectExchange("d", "/")
    q = queue("q")
    assert exchange.add_binding(make_binding("d", q, "k", {"a": 1}))
    assert not exchange.add_binding(make_binding("d", q, "k", {"a": 1}))
    assert exchange.remove_binding(make_binding("d", q, "k", {"a": 1}))
    assert set(exchange.route("k", message())) == set()
    assert not exchange.remove_binding(make_binding("d", q, "k", {"a": 1}))


def test_binding_identity_ignores_integer_width_and_key_order():
    exchange = DirectExchange("d", "/")
    q = queue("q")
    exchange.add_binding(make_binding("d", q, "k", {"a": 1, "b": {"c": 2}}))
    assert not exchange.add_binding(make_binding("d", q, "k", {"b": {"c": 2}, "a": 1}))


def test_fanout_ignores_the_routing_key():
    exchange = FanoutExchange("f", "/")
    q1, q2 = queue("q1"), queue("q2")
    exchange.add_binding(make_binding("f", q1, "", {}))
    exchange.add_binding(make_binding("f", q2, "whatever", {}))
    exchange.add_binding(make_binding("f", q2, "another", {}))
    assert set(exchange.route("any.key", message())) == {q1, q2}
    exchange.remove_binding(make_binding("f", q2, "whatever", {}))
    assert set(exchange.route("", message())) == {q1, q2}
    exchange.remove_binding(make_binding("f", q2, "another", {}))
    assert set(exchange.route("", message())) == {q1}


# (add?, queue, routing key, binding argument): a binding added or removed
BINDING_OPS = st.lists(
    st.tuples(st.booleans(), st.sampled_from("ab"), st.sampled_from("xy"), st.integers(0, 1)),
    max_size=30,
)


@pytest.mark.parametrize("exchange_type", [DirectExchange, FanoutExchange])
@given(ops=BINDING_OPS)
def test_direct_and_fanout_route_to_what_their_bindings_select(exchange_type, ops):
    """A destination stays routable while any of its bindings (there may be several,
    differing in arguments) is there, and only then."""
    exchange = exchange_type("e", "/")
    queues = {name: queue(name) for name in "ab"}
    for add, name, key, argument in ops:
        binding = make_binding("e", queues[name], key, {"n": argument})
        (exchange.add_binding if add else exchange.remove_binding)(binding)
    for key in "xy":
        selected = {
            b.destination
            for b in exchange.bindings.values()
            if exchange_type is FanoutExchange or b.routing_key == key
        }
        assert set(exchange.route(key, message(key))) == selected
    if exchange_type is DirectExchange:
        assert all(exchange._by_key.values())  # no key left behind without a destination


def test_topic_routes_through_the_trie():
    exchange = TopicExchange("t", "/")
    q1, q2 = queue("q1"), queue("q2")
    exchange.add_binding(make_binding("t", q1, "stock.*.nyse", {}))
    exchange.add_binding(make_binding("t", q2, "stock.#", {}))
    assert exchange.route("stock.ibm.nyse", message()) == {q1, q2}
    assert exchange.route("stock", message()) == {q2}
    exchange.remove_binding(make_binding("t", q2, "stock.#", {}))
    assert exchange.route("stock.ibm.nyse", message()) == {q1}


def test_headers_exchange_routes_on_message_headers():
    exchange = HeadersExchange("h", "/")
    pdf, any_report = queue("pdf"), queue("report")
    exchange.add_binding(
        make_binding("h", pdf, "", {"x-match": "all", "format": "pdf", "type": "report"})
    )
    exchange.add_binding(
        make_binding("h", any_report, "", {"x-match": "any", "type": "report", "year": 2024})
    )
    assert exchange.route("", message(headers={"format": "pdf", "type": "report"})) == {
        pdf,
        any_report,
    }
    assert exchange.route("", message(headers={"year": 2024})) == {any_report}
    assert exchange.route("", message(headers={"format": "pdf"})) == set()
    assert exchange.route("", message()) == set()


def test_headers_exchange_without_bindings_routes_nowhere():
    assert list(HeadersExchange("h", "/").route("", message(headers={"a": 1}))) == []


def test_bindings_to_a_destination():
    exchange = TopicExchange("t", "/")
    q1, q2 = queue("q1"), queue("q2")
    exchange.add_binding(make_binding("t", q1, "a", {}))
    exchange.add_binding(make_binding("t", q1, "b", {}))
    exchange.add_binding(make_binding("t", q2, "a", {}))
    assert sorted(b.routing_key for b in exchange.bindings_to(q1)) == ["a", "b"]
    assert [b.routing_key for b in exchange.bindings_to(q2)] == ["a"]


@pytest.mark.parametrize("mode", ["all", "any", "all-with-x", "any-with-x", b"any"])
def test_headers_binding_accepts_known_modes(mode):
    HeadersExchange("h", "/").validate_binding({"x-match": mode, "a": 1})


def test_headers_binding_without_x_match_is_fine():
    HeadersExchange("h", "/").validate_binding({"a": 1})


def test_headers_binding_rejects_unknown_mode():
    with pytest.raises(PreconditionFailed) as error:
        HeadersExchange("h", "/").validate_binding({"x-match": "some"})
    assert error.value.message == (
        'Invalid x-match field value <<"some">>; expected all, any, all-with-x, or any-with-x'
    )
    assert error.value.reply_code == 406


def test_headers_binding_rejects_non_string_mode_with_its_wire_type():
    arguments = TypedTable({"x-match": 5}, {"x-match": "signedint"})
    with pytest.raises(PreconditionFailed) as error:
        HeadersExchange("h", "/").validate_binding(arguments)
    assert error.value.message == "Invalid x-match field type signedint (value 5); expected longstr"


def test_headers_binding_rejects_bool_mode():
    with pytest.raises(
        PreconditionFailed,
        match=r"^Invalid x-match field type bool \(value true\); expected longstr$",
    ):
        HeadersExchange("h", "/").validate_binding({"x-match": True})


def test_other_exchange_types_accept_any_binding_arguments():
    for cls in (DirectExchange, FanoutExchange, TopicExchange):
        cls("x", "/").validate_binding({"x-match": 5})


def test_message_headers_decoded_lazily_from_the_raw_header():
    msg = message(headers={"k": "v", "n": 2})
    assert msg._properties is None
    assert msg.headers == {"k": "v", "n": 2}
    assert msg._properties is not None


def test_message_without_headers_or_with_a_broken_header():
    assert message().headers == {}
    # flags announce a headers table whose length runs past the end
    raw = b"\x00\x3c\x00\x00" + bytes(8) + b"\x20\x00" + b"\x00\x00\x00\x05ab"
    broken = Message("", "q", b"\x00\x01q", raw, b"body")
    assert broken.headers == {}
    assert broken.size == 4
