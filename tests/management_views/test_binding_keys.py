"""``properties_key`` as RabbitMQ 3.10.8 computes it: every expected key below is what the
reference broker answered for a binding made with those arguments (over HTTP, where JSON
integers are ``long``; over AMQP from pika, where small integers are ``signedint``), and
the ``phash2`` values are Erlang 25's ``erlang:phash2(Term, 1 bsl 32)`` (and 2,000 random
terms of these kinds were checked against Erlang 25 once, by a script outside the tests)."""

from __future__ import annotations

from typing import Any

import pytest

from amqpbroker.management.views.binding_keys import (
    Atom,
    arguments_term,
    phash2,
    properties_key,
    quote_routing_key,
)
from amqpbroker.protocol.fieldtable import TypedTable


@pytest.mark.parametrize(
    ("routing_key", "arguments", "expected"),
    [
        ("", {}, "~"),
        ("a.#", {}, "a.%23"),
        ("b.*", {"x-foo": "bar"}, "b.%2A~EDqv5Q"),
        ("b.*", {"x": "y"}, "b.%2A~FO7NeQ"),
        ("k~ ~/é+", {}, "k%7E+%7E%2F%C3%A9%2B"),
        ("research-c", {}, "research-c"),
        ("", {"a": 1}, "~Ajat_Q"),
        ("", {"a": 100000}, "~EPzyHw"),
        ("", {"a": -1}, "~ElVmZA"),
        ("", {"a": 300}, "~hGiGqg"),
        ("", {"a": "b"}, "~KCO9yA"),
        ("", {"a": ""}, "~ZkKYww"),
        ("", {"a": True}, "~a2lJKQ"),
        ("", {"a": 1.5}, "~yo4NAg"),
        ("", {"a": [1, "x"]}, "~a2p-qw"),
        ("", {"a": {"n": 1}}, "~eOC4JQ"),
        ("", {"b": "c", "a": 1}, "~PAJeNw"),  # sorted by key, as RabbitMQ keeps them
        ("", {"a": 1, "b": "c"}, "~PAJeNw"),
    ],
)
def test_keys_rabbitmq_gave(routing_key: str, arguments: dict[str, Any], expected: str) -> None:
    assert properties_key(routing_key, arguments) == expected


def test_a_table_from_the_wire_hashes_with_its_wire_types() -> None:
    """pika sent {'a': 1, 's': 'x', 'big': 2**40}: 1 as a signedint, 2**40 as a long."""
    values = {"a": 1, "s": "x", "big": 2**40}
    typed = TypedTable(values, {"a": "signedint", "s": "longstr", "big": "long"})
    assert properties_key("pk", typed) == "pk~p0WvBQ"
    assert properties_key("pk", values) == "pk~1XnjQQ"  # all integers long, as over HTTP


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ([], 3468870702),
        (1, 539485162),
        (b"a", 1589197455),
        (Atom("long"), 472647),
        ((), 221703996),
        ((Atom("a"),), 2853905094),
        ([1], 2768963718),
        ([(b"a", Atom("long"), 1)], 37137917),
        (b"abcdefghijklmnopqrstuvwxyz0123", 3716455556),
        (b"abcdefghijkl", 686521495),
        ([1, 2, (Atom("x"),), 3, 300, 4, 5, 6, 7, 8], 4024850642),
        (-100000, 1756815611),
        (2.5e10, 353204767),
        ((Atom("signedint"), -7), 2460821380),
        (2**40, 282329375),
        (-(2**40), 2464100025),
        (2**70, 1070946125),
        (134217728, 2562491755),
        (-134217729, 1418916782),
        (2**64, 2519041713),
        # an atom met while the hash is 0 is taken unmixed
        ([Atom("a")], 1634476877),
        ([Atom("a"), 1], 1351506309),
        ([Atom("a"), Atom("a")], 2030523489),
        ([Atom("a"), ()], 3683814978),
        ([Atom("true")], 4111006142),
        ([1, Atom("a")], 1114307026),
        ((Atom("a"), []), 475258904),
    ],
)
def test_phash2_matches_erlang(term: Any, expected: int) -> None:
    assert phash2(term) == expected


def test_the_arguments_term_is_rabbitmqs() -> None:
    assert arguments_term({"z": [1, "x"], "a": {"n": False}}) == [
        (b"a", Atom("table"), [(b"n", Atom("bool"), Atom("false"))]),
        (b"z", Atom("array"), [(Atom("long"), 1), (Atom("longstr"), b"x")]),
    ]


def test_quoting_keeps_only_letters_digits_and_three_marks() -> None:
    assert quote_routing_key("aZ09-_.") == "aZ09-_."
    assert quote_routing_key("a b") == "a+b"
    assert quote_routing_key("~") == "%7E"
