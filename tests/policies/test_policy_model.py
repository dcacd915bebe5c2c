"""The policy model, in-process: RabbitMQ 3.10.8's validation texts (each checked against
the reference broker), which policy applies to which object, and the operator merge."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amqpbroker.policies.model import (
    ValidationFailed,
    check_policy,
    effective_definition,
    policy_from_value,
    resolve,
    select,
)


def reason(*args: Any, operator: bool = False, **kwargs: Any) -> str:
    with pytest.raises(ValidationFailed) as failed:
        check_policy("v", "p", *args, operator=operator, **kwargs)
    return failed.value.reason(escape=not operator)


def policy(name: str, pattern: str, definition: dict[str, Any], **kwargs: Any) -> Any:
    return check_policy("v", name, pattern, definition, **kwargs)


# -- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "text"),
    [
        ({}, "no policy provided"),
        ({"max-length": "ten"}, '&lt;&lt;"ten"&gt;&gt; is not a valid maximum length'),
        ({"max-length": -1}, "-1 is not a valid maximum length"),
        ({"max-length": 1.5}, "1.5 is not a valid maximum length"),
        ({"message-ttl": True}, "true is not a valid message TTL"),
        ({"expires": 0}, "0 is not a valid queue expiry"),
        ({"overflow": "x"}, '&lt;&lt;"x"&gt;&gt; is not a valid overflow value'),
        ({"queue-version": 1.0}, "1.0 is not a valid queue-version value"),
        ({"dead-letter-exchange": 0}, "0 is not a valid dead letter exchange name"),
        ({"max-age": "10"}, '&lt;&lt;"10"&gt;&gt; is not a valid max age'),
        ({"ha-mode": "exactly"}, 'ha-mode="exactly" takes an integer, none given'),
        ({"ha-mode": "all", "ha-params": 1}, 'ha-mode="all" does not take parameters'),
        (
            {"ha-params": 1},
            "ha-mode must be specified to specify ha-params, ha-sync-mode or "
            "ha-promote-on-shutdown",
        ),
        (
            {"ha-mode": "all", "queue-master-locator": "q", "expires": 0},
            '&lt;&lt;"q"&gt;&gt; invalid queue-master-locator value',
        ),
        (  # the core's keys first, in sorted order; unknown keys only once all are valid
            {"max-length": "a", "message-ttl": "b", "ha-mode": "q", "zzz": 1},
            '&lt;&lt;"a"&gt;&gt; is not a valid maximum length',
        ),
        (
            {"max-length": 1, "bogus": 2, "zz": "q"},
            '[{&lt;&lt;"bogus"&gt;&gt;,2},{&lt;&lt;"zz"&gt;&gt;,&lt;&lt;"q"&gt;&gt;}] '
            "are not recognised policy settings",
        ),
        (
            {"a": {"b": [1, "c", None, True, 1.5]}},
            '[{&lt;&lt;"a"&gt;&gt;,#{&lt;&lt;"b"&gt;&gt; =&gt; [1,&lt;&lt;"c"&gt;&gt;,'
            "null,true,1.5]}}] are not recognised policy settings",
        ),
    ],
)
def test_definition_errors_are_rabbitmqs(definition: dict[str, Any], text: str) -> None:
    assert reason("^a", definition) == f"Validation failed\n\n{text}\n"


def test_every_error_is_reported_in_rabbitmqs_order() -> None:
    assert reason("(", {"max-length": "x"}, "2", "bogus") == (
        "Validation failed\n\n"
        '&lt;&lt;"x"&gt;&gt; is not a valid maximum length\n'
        "apply-to 'bogus' unrecognised; should be 'queues', 'exchanges' or 'all'\n"
        'pattern should be regular expression but is invalid: {"missing )",1}\n'
        'priority should be a number, actually was &lt;&lt;"2"&gt;&gt;\n'
    )


def test_a_long_term_wraps_as_erlang_prints_it() -> None:
    assert reason("[a", {"max-length": 1}) == (
        "Validation failed\n\npattern should be regular expression but is invalid: "
        '{"missing terminating ] for character class",\n' + " " * 54 + "2}\n"
    )


def test_operator_policies_know_only_limits_and_are_not_escaped() -> None:
    assert reason("^a", {"overflow": "drop-head"}, operator=True) == (
        'Validation failed\n\n[{<<"overflow">>,<<"drop-head">>}] are not recognised policy '
        "settings\n"
    )
    assert reason("^a", {"max-length": "x"}, operator=True) == (
        'Validation failed\n\n<<"x">> is not a valid maximum length\n'
    )
    check_policy("v", "o", "^a", {"delivery-limit": 3, "expires": 10}, operator=True)


def test_null_priority_and_apply_to_are_refused() -> None:
    assert "priority should be a number, actually was null" in reason("a", {"expires": 1}, None)
    assert "apply-to 'null' unrecognised" in reason("a", {"expires": 1}, 0, None)


def test_a_parameter_value_needs_every_key_but_apply_to() -> None:
    with pytest.raises(ValidationFailed) as failed:
        policy_from_value("v", "o1", {"pattern": "^a", "definition": {"max-length": 1}})
    assert failed.value.errors == ['Key "priority" not found in o1']
    made = policy_from_value(
        "v", "o1", {"pattern": "^a", "definition": {"expires": 5}, "priority": 1}
    )
    assert made.item()["apply-to"] == "undefined"
    assert "apply-to" not in made.value()


def test_definitions_keep_erlangs_key_order() -> None:
    made = policy(
        "p", "^a", {"overflow": "drop-head", "max-length": 1, "dead-letter-exchange": "x"}
    )
    assert list(made.definition) == ["dead-letter-exchange", "max-length", "overflow"]
    assert list(made.item()) == ["vhost", "name", "pattern", "apply-to", "definition", "priority"]
    assert list(made.value()) == ["pattern", "definition", "priority", "apply-to"]


# -- which policy applies -------------------------------------------------------------------------


def test_the_highest_priority_matching_policy_applies() -> None:
    low = policy("low", "^q", {"max-length": 5})
    high = policy("high", "^q1$", {"max-length": 7}, priority=3)
    other = policy("other", "^x", {"max-length": 9}, priority=9)
    assert select([low, high, other], "q1", "classic") is high
    assert select([low, high, other], "q2", "classic") is low
    assert select([low, high, other], "nomatch", "classic") is None


def test_patterns_are_unanchored() -> None:
    assert select([policy("p", "ue", {"expires": 1})], "queue", "classic") is not None


def test_apply_to_limits_the_kind() -> None:
    queues = policy("q", ".", {"max-length": 1}, apply_to="queues", priority=2)
    exchanges = policy("x", ".", {"alternate-exchange": "ae"}, apply_to="exchanges", priority=1)
    everything = policy("a", ".", {"expires": 1})
    found = [queues, exchanges, everything]
    assert select(found, "n", "classic") is queues
    assert select(found, "n", "quorum") is queues
    assert select(found, "n", "exchange") is exchanges


@pytest.mark.parametrize(
    ("key", "value", "applies"),
    [  # recorded on RabbitMQ 3.10.8: (classic, quorum, stream, exchange)
        ("delivery-limit", 1, (False, True, False, True)),
        ("queue-mode", "lazy", (True, False, False, True)),
        ("message-ttl", 1, (True, True, False, True)),
        ("max-age", "1D", (False, False, True, True)),
        ("max-in-memory-length", 1, (True, True, False, True)),
        ("ha-mode", "all", (True, False, False, True)),
        ("queue-version", 2, (True, True, True, True)),
        ("max-length-bytes", 1, (True, True, True, True)),
    ],
)
def test_a_policy_with_a_key_the_type_lacks_is_skipped(
    key: str, value: Any, applies: tuple[bool, ...]
) -> None:
    fallback = policy("low", ".", {"max-length-bytes": 5})
    special = policy("high", ".", {key: value}, priority=5)
    chosen = [
        select([fallback, special], "n", kind)
        for kind in ("classic", "quorum", "stream", "exchange")
    ]
    assert tuple(found is special for found in chosen) == applies
    assert all(found is not None for found in chosen)


def test_operator_limits_merge_by_minimum() -> None:
    base = policy("p", ".", {"message-ttl": 5000, "max-length": 10, "dead-letter-exchange": "x"})
    cap = check_policy(
        "v", "o", ".", {"message-ttl": 1000, "max-length": 20, "expires": 9}, operator=True
    )
    assert effective_definition(base, cap) == {
        "dead-letter-exchange": "x",
        "expires": 9,
        "max-length": 10,
        "message-ttl": 1000,
    }
    assert effective_definition(None, None) == {}
    assert effective_definition(None, cap) == dict(cap.definition)
    applied = resolve([base], [cap], "q", "classic")
    assert (applied.policy, applied.operator_policy) == (base, cap)
    assert applied.definition["message-ttl"] == 1000


# -- a property: the chosen policy is one that may apply, and none that may beats it -------------

_KEYS = st.sampled_from(["max-length", "delivery-limit", "queue-mode", "max-age", "expires"])
_VALUES = {
    "max-length": 1,
    "delivery-limit": 1,
    "queue-mode": "lazy",
    "max-age": "1D",
    "expires": 5,
}
_POLICIES = st.lists(
    st.tuples(
        st.sampled_from(["^q", "q1", "^x", "."]),
        st.sets(_KEYS, min_size=1, max_size=2),
        st.integers(0, 3),
        st.sampled_from(["all", "queues", "exchanges"]),
    ),
    max_size=6,
)


@given(
    _POLICIES,
    st.sampled_from(["q1", "x1"]),
    st.sampled_from(["classic", "quorum", "stream", "exchange"]),
)
def test_select_picks_a_highest_applicable_policy(
    specs: list[tuple[str, set[str], int, str]], name: str, kind: str
) -> None:
    made = [
        policy(
            f"p{i}", pattern, {k: _VALUES[k] for k in keys}, priority=priority, apply_to=apply_to
        )
        for i, (pattern, keys, priority, apply_to) in enumerate(specs)
    ]
    applicable = [p for p in made if p.applies_to(name, kind)]
    chosen = select(made, name, kind)
    if not applicable:
        assert chosen is None
    else:
        assert chosen in applicable
        assert chosen.priority == max(p.priority for p in applicable)
