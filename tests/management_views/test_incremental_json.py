"""``management/incremental_json.py``: a JSON object parsed a value at a time gives what
``json.loads`` gives, and fails where it fails."""

from __future__ import annotations

import json
from typing import Any

import pytest

from amqpbroker.management.incremental_json import decode_text, object_steps

VALID = [
    "{}",
    " \n{ } \t",
    '{"a": 1}',
    '{"queues": [], "b": [1, [2, 3], {"c": null}], "d": "x\\u00e9\\"", "e": 1.5e3}',
    '{"a":[ {"name":"q1","arguments":{"x":[1,2]}} , {"name":"q2"} ] ,"a":true}',  # last wins
    '{"nan": NaN, "neg": -Infinity, "deep": {"list": [[], {}]}}',
    '{"é": "ü", "emoji": "\\ud83d\\ude00"}',
]
INVALID = [
    "",
    "[]",
    '"text"',
    "{",
    '{"a"}',
    '{"a": }',
    '{"a": 1,}',
    '{"a": [1,]}',
    '{"a": [1 2]}',
    '{"a": 1} x',
    '{"a": 1}}',
    "{a: 1}",
    '{"a": [1, 2}',
    '{"a": 1 "b": 2}',
]


def parsed(text: str) -> tuple[dict[str, Any], int]:
    document: dict[str, Any] = {}
    steps = sum(1 for _ in object_steps(text, document))
    return document, steps


@pytest.mark.parametrize("text", VALID)
def test_it_parses_as_json_loads(text: str) -> None:
    document, _ = parsed(text)
    assert json.dumps(document) == json.dumps(json.loads(text))


@pytest.mark.parametrize("text", INVALID)
def test_it_fails_where_json_loads_fails_or_finds_no_object(text: str) -> None:
    with pytest.raises(ValueError):
        parsed(text)


def test_a_step_per_top_level_value_and_per_array_element() -> None:
    text = json.dumps({"rabbit_version": "3.10.8", "queues": [{"n": n} for n in range(50)]})
    document, steps = parsed(text)
    assert steps == 1 + 50 + 1  # the version, each queue, the end of the queues
    assert len(document["queues"]) == 50


def test_bodies_are_read_in_the_encoding_json_loads_detects() -> None:
    assert decode_text('{"a": "é"}'.encode("utf-16")) == '{"a": "é"}'
    assert decode_text('\ufeff{"a": 1}'.encode()) == '{"a": 1}'
    with pytest.raises(ValueError):
        decode_text(b'{"a": "\xff"}')
