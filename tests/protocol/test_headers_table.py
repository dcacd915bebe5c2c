"""The headers table edited entry by entry, and the dead-lettering rewrite built on it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pamqp import commands
from pamqp.header import ContentHeader

from amqpbroker.protocol import headers_table
from amqpbroker.protocol.deadletter import Death, dead_letter_header
from amqpbroker.protocol.properties import EXPIRATION, property_spans

keys = st.text(alphabet="abcxyzBC-", min_size=1, max_size=6)
values = st.one_of(st.text(max_size=10), st.integers(-(2**31), 2**31 - 1), st.booleans())
tables = st.dictionaries(keys, values, min_size=1, max_size=5)


def header(**properties: Any) -> bytes:
    return ContentHeader(0, 3, commands.Basic.Properties(**properties)).marshal()


def decoded(raw: bytes) -> commands.Basic.Properties:
    content_header = ContentHeader()
    content_header.unmarshal(raw)
    return content_header.properties


@given(tables)
def test_entries_are_in_table_order_and_hold_their_octets(table: dict[str, Any]) -> None:
    raw = header(headers=table)
    entries = headers_table.entries(raw, property_spans(raw))
    assert list(entries) == list(decoded(raw).headers)  # wire order (pamqp writes it sorted)
    assert b"".join(entries.values()) in raw


@given(tables, st.data())
def test_without_entry_cuts_one_entry_and_keeps_the_others_in_order(
    table: dict[str, Any], data: st.DataObject
) -> None:
    raw = header(content_type="text/plain", headers=table, app_id="app")
    key = data.draw(st.sampled_from(sorted(table)))
    cut = headers_table.without_entry(raw, key)
    remaining = {k: v for k, v in decoded(raw).headers.items() if k != key}
    assert decoded(cut).headers == remaining
    assert list(decoded(cut).headers) == list(remaining)
    assert (decoded(cut).content_type, decoded(cut).app_id) == ("text/plain", "app")
    assert headers_table.without_entry(raw, "absent!") is raw


@given(tables)
def test_with_entries_writes_the_table_sorted_by_key(table: dict[str, Any]) -> None:
    raw = header(headers=table, priority=3, expiration="10")
    spans = property_spans(raw)
    rewritten = headers_table.with_entries(
        raw, spans, headers_table.entries(raw, spans), without=EXPIRATION
    )
    properties = decoded(rewritten)
    assert list(properties.headers) == sorted(table, key=str.encode)
    assert properties.headers == table
    assert (properties.priority, properties.expiration) == (3, None)


def test_a_first_death_keeps_the_expiration_in_x_death_and_adds_first_death_headers() -> None:
    raw = header(content_type="text/plain", headers={"k": "v"}, expiration="60000")
    death = Death("work", "expired", "jobs", ("a", "b"), 1_700_000_000)
    properties = decoded(dead_letter_header(raw, death))
    assert (properties.content_type, properties.expiration) == ("text/plain", None)
    headers = properties.headers
    assert [entry["original-expiration"] for entry in headers["x-death"]] == ["60000"]
    assert headers["x-death"][0] | {"original-expiration": "60000"} == {
        "count": 1,
        "reason": "expired",
        "queue": "work",
        "time": datetime.fromtimestamp(1_700_000_000, UTC),
        "exchange": "jobs",
        "routing-keys": ["a", "b"],
        "original-expiration": "60000",
    }
    assert (headers["x-first-death-queue"], headers["x-first-death-reason"]) == ("work", "expired")
    assert (headers["k"], headers["x-first-death-exchange"]) == ("v", "jobs")


def test_a_second_death_in_the_same_queue_counts_up() -> None:
    death = Death("work", "rejected", "", ("work",), 1_700_000_000)
    once = dead_letter_header(header(), death)
    twice = decoded(dead_letter_header(once, death)).headers
    assert [(entry["queue"], entry["count"]) for entry in twice["x-death"]] == [("work", 2)]
    assert twice["x-first-death-reason"] == "rejected"


def test_drop_cc_removes_the_cc_header() -> None:
    raw = header(headers={"CC": ["x"], "keep": 1})
    death = Death("q", "maxlen", "", ("q",), 0)
    headers = decoded(dead_letter_header(raw, death, drop_cc=True)).headers
    assert "CC" not in headers
    assert headers["keep"] == 1
