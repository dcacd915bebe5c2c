"""RabbitMQ's loose request values and its Erlang-rendered error reasons (no sockets)."""

from __future__ import annotations

from typing import Any

import pytest

from amqpbroker.management.http import ApiError, flag, integer, keys_missing


@pytest.mark.parametrize(("value", "expected"), [(True, True), ("true", True), ("false", False)])
def test_booleans_may_be_strings(value: Any, expected: bool) -> None:
    assert flag(value) is expected


@pytest.mark.parametrize("value", ["maybe", 5, None, "True"])
def test_anything_else_is_not_boolean(value: Any) -> None:
    with pytest.raises(ApiError) as refused:
        flag(value)
    assert (refused.value.status, refused.value.body) == (
        400,
        {"error": "bad_request", "reason": ["not_boolean", value]},
    )


@pytest.mark.parametrize(
    ("value", "expected"), [(1, 1), ("1", 1), ("250", 250), ("-3", -3), ("+4", 4), (2.7, 2)]
)
def test_numbers_may_be_strings_or_floats(value: Any, expected: int) -> None:
    assert integer(value) == expected


@pytest.mark.parametrize("value", ["one", True, "1.5", " 2", "", None, []])
def test_other_numbers_are_not_integers_as_rabbitmq_says(value: Any) -> None:
    """Recorded on 3.10.8 with ``POST .../get``'s count."""
    with pytest.raises(ApiError) as refused:
        integer(value)
    assert (refused.value.status, refused.value.body) == (
        400,
        {"error": "bad_request", "reason": ["not_integer", value]},
    )


def test_missing_keys_are_listed_in_erlangs_rendering() -> None:
    keys_missing({"a": 1}, ["a"])
    with pytest.raises(ApiError) as refused:
        keys_missing({"write": "x"}, ["exchange", "write", "read"])
    assert refused.value.body == {
        "error": "bad_request",
        "reason": "[{key_missing,exchange},{key_missing,read}]",
    }
