"""``binding_keys.phash2`` against Erlang's own ``erlang:phash2/2`` on random terms of the
kinds a binding's arguments hold.  Needs ``erl`` (it comes with RabbitMQ's package);
skipped where there is none."""

from __future__ import annotations

import random
import shutil
import subprocess
from typing import Any

import pytest

from amqpbroker.management.views.binding_keys import Atom, arguments_term, phash2

ERL = shutil.which("erl")
ATOMS = ("long", "longstr", "true", "false", "undefined", "signedint", "table", "array", "a")
INTEGERS = (0, 1, -1, 255, 256, 2**27, -(2**27) - 1, 2**59, -(2**60), 2**64)


def random_term(rnd: random.Random, depth: int = 0) -> Any:
    kind = rnd.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return rnd.choice([*INTEGERS, rnd.randrange(-(2**70), 2**70)])
    if kind == 1:
        return bytes(rnd.randrange(256) for _ in range(rnd.randrange(40)))
    if kind == 2:
        return Atom(rnd.choice(ATOMS))
    if kind == 3:
        return rnd.choice([0.0, 1.5, -2.25, 1e100, 3.14159, -0.0, 123456789.125])
    if kind == 4:
        return rnd.randrange(256)
    if kind == 5:
        return tuple(random_term(rnd, depth + 1) for _ in range(rnd.randrange(4)))
    return [random_term(rnd, depth + 1) for _ in range(rnd.randrange(6))]


def erlang_source(term: Any) -> str:
    if isinstance(term, Atom):
        return f"'{term}'"
    if isinstance(term, float):
        return f"{term:.17e}"
    if isinstance(term, int):
        return str(term)
    if isinstance(term, bytes):
        return "<<" + ",".join(map(str, term)) + ">>"
    if isinstance(term, tuple):
        return "{" + ",".join(map(erlang_source, term)) + "}"
    return "[" + ",".join(map(erlang_source, term)) + "]"


def erlang_phash2(terms: list[Any]) -> list[int]:
    assert ERL is not None
    calls = ",".join(f"erlang:phash2({erlang_source(term)}, 1 bsl 32)" for term in terms)
    program = f'io:format("~w~n", [[{calls}]]), halt().'
    answer = subprocess.run(
        [ERL, "-noshell", "-eval", program], capture_output=True, text=True, timeout=60, check=True
    )
    return [int(value) for value in answer.stdout.strip().strip("[]").split(",")]


@pytest.mark.skipif(ERL is None, reason="no erl here")
def test_random_terms_hash_as_in_erlang() -> None:
    rnd = random.Random(2026)
    terms = [random_term(rnd) for _ in range(300)]
    terms.append(arguments_term({"k": "é✓", "n": {"deep": [1, {"x": 2.5}]}, "big": -(2**40)}))
    assert [phash2(term) for term in terms] == erlang_phash2(terms)
