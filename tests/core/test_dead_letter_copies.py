"""dead_lettering: the copy a dead message becomes, and RabbitMQ's cycle rule."""

from __future__ import annotations

from typing import Any

import pytest
from pamqp import commands
from pamqp.header import ContentHeader

from amqpbroker.core.dead_lettering import cc_keys, dead_letter_copy, is_cycle
from amqpbroker.core.message import Message, routing_bytes


def message(headers: dict[str, Any] | None = None, **options: Any) -> Message:
    header = ContentHeader(0, 4, commands.Basic.Properties(headers=headers)).marshal()
    return Message("orders", "new", routing_bytes("orders", "new"), header, b"body", **options)


class Rewriter:
    """Records what the header rewrite was asked, and marks the header it returns."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, header: bytes, *death: Any) -> bytes:
        self.calls.append(death)
        return header + b"!"


def test_the_copy_keeps_the_routing_key_and_the_cc_keys():
    original = message({"CC": ["audit", 5]}, persistent=True)
    rewrite = Rewriter()
    copy = dead_letter_copy(
        original, rewrite, queue="q", reason="expired", exchange="dlx", fixed_key=None, now=7
    )
    assert (copy.exchange, copy.routing_key) == ("dlx", "new")
    assert copy.routing == routing_bytes("dlx", "new")
    assert copy.header == original.header + b"!"
    assert (copy.body, copy.persistent) == (b"body", True)
    assert copy.sender_keys == ("audit",)
    assert rewrite.calls == [("q", "expired", "orders", ("new", "audit"), 7, False)]


def test_a_fixed_key_replaces_every_key():
    original = message({"CC": ["audit"]})
    original.sender_keys = ("audit", "bcc")
    rewrite = Rewriter()
    copy = dead_letter_copy(
        original, rewrite, queue="q", reason="maxlen", exchange="dlx", fixed_key="dead", now=7
    )
    assert (copy.routing_key, copy.sender_keys, copy.persistent) == ("dead", (), False)
    assert rewrite.calls[0][-1] is True  # the rewrite drops CC


def test_the_copy_keeps_bcc_keys_it_still_knows():
    original = message({"CC": ["audit"]})
    original.sender_keys = ("audit", "bcc")
    copy = dead_letter_copy(
        original, Rewriter(), queue="q", reason="expired", exchange="", fixed_key=None, now=0
    )
    assert copy.sender_keys == ("audit", "bcc")


def test_cc_keys_are_the_text_elements_of_the_cc_header():
    assert cc_keys(message()) == ()
    assert cc_keys(message({"CC": "not-a-list"})) == ()
    assert cc_keys(message({"CC": ["a", 5, "c"]})) == ("a", "c")


@pytest.mark.parametrize(
    ("deaths", "cycle"),
    [
        (None, False),
        ([], False),
        ([{"queue": "other", "reason": "expired"}], False),
        ([{"queue": "q", "reason": "expired"}], True),
        ([{"queue": "other", "reason": "maxlen"}, {"queue": "q", "reason": "expired"}], True),
        ([{"queue": "other", "reason": "rejected"}, {"queue": "q", "reason": "expired"}], False),
        ([{"queue": "q", "reason": "rejected"}], False),
        (["not a table", {"queue": "q", "reason": "expired"}], False),
    ],
)
def test_a_cycle_is_a_death_in_the_same_queue_with_no_rejection_since(deaths, cycle):
    assert is_cycle("q", deaths) is cycle
