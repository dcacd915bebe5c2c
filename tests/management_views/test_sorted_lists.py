"""``ListCollector`` (sorting and paging without holding every item) answers as
``apply_query`` (which holds them all) for every combination of the list parameters."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from amqpbroker.management.views.listing import encode_json
from amqpbroker.management.views.query import QueryError, apply_query
from amqpbroker.management.views.sorted_lists import ListCollector, ListQuery

# Ties on "messages" (a stable sort keeps their order), missing and null values, mixed types.
ITEMS = [
    {"name": f"q{n % 7}-{n}", "messages": n % 4, "extra": {"a": n % 3} if n % 5 else None}
    for n in range(250)
] + [{"name": "no-messages"}, {"name": "Upper", "messages": "text"}]

PARAMETERS = [
    dict(pair for pair in combination if pair)
    for combination in itertools.product(
        [("sort", "messages"), ("sort", "extra.a"), ("sort", "name"), ("sort", "")],
        [("sort_reverse", "true"), ("sort_reverse", "false")],
        [(), ("page", "1"), ("page", "3"), ("page", "40")],
        [(), ("page_size", "7")],
        [(), ("name", "q3"), ("name", "^q[12]-1")],
        [(), ("use_regex", "true")],
        [(), ("columns", "name,extra.a")],
    )
    if combination[2]  # without page, name and use_regex do nothing
    or combination[4:6] == ((), ())
]


def collected(params: dict[str, str]) -> Any:
    query = ListQuery.of(params)
    collector = ListCollector(query, encode_json)
    for item in ITEMS:
        collector.add(item)
    if query.page is not None:
        return json.loads(collector.paged_json())
    return [json.loads(encoded) for encoded in collector.ordered()]


@pytest.mark.parametrize(
    "params", PARAMETERS, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items())
)
def test_the_collector_answers_as_apply_query(params: dict[str, str]) -> None:
    try:
        expected = apply_query(ITEMS, params)
    except QueryError as error:
        with pytest.raises(QueryError) as raised:
            collected(params)
        assert raised.value.body == error.body
        return
    assert collected(params) == expected


def test_a_page_keeps_only_its_candidates() -> None:
    collector = ListCollector(
        ListQuery.of({"sort": "messages", "page": "2", "page_size": "5"}), encode_json
    )
    for item in ITEMS:
        collector.add(item)
        assert len(collector.entries) < 2 * 10 + 100
    assert collector.total == len(ITEMS) and collector.filtered == len(ITEMS)
