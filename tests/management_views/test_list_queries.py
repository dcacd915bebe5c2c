"""The list query parameters (``columns``, ``sort``, ``page``...) as RabbitMQ 3.10.8 applies
them: recorded responses are reproduced from the recorded full list, and the error cases
and orderings are those the reference broker gave (see ``views.query``)."""

from __future__ import annotations

from typing import Any

import pytest
from views_scenario import VHOST, recorded, scenario

from amqpbroker.core.alarms import Alarms
from amqpbroker.management.views import (
    QueryError,
    ViewContext,
    apply_columns,
    apply_query,
    exchange_detail,
    node_item,
    overview_item,
    queue_detail,
    queue_items,
    queues_of,
    vhost_item,
    without_stats,
)


def named(*names: str) -> list[dict[str, Any]]:
    return [{"name": name, "durable": name.startswith("q")} for name in names]


def names(body: Any) -> list[str]:
    items = body["items"] if isinstance(body, dict) else body
    return [item["name"] for item in items]


def test_columns_reproduce_the_recorded_answer() -> None:
    body = apply_query(recorded("queues"), {"columns": "name,messages,vhost"})
    assert body == recorded("queues_columns")


def test_a_dotted_column_keeps_the_whole_top_level_object() -> None:
    item = recorded("queue_consumed")
    body = apply_columns(item, {"columns": "name,backing_queue_status.len,nosuch"})
    assert body == {"name": item["name"], "backing_queue_status": item["backing_queue_status"]}


def test_pagination_reproduces_the_recorded_answer() -> None:
    params = {"page": "1", "page_size": "2", "name": "research", "use_regex": "false"}
    assert apply_query(recorded("queues"), params) == recorded("queues_paged")


def test_disable_stats_with_queue_totals_reproduces_the_recorded_answer() -> None:
    params = {"disable_stats": "true", "enable_queue_totals": "true"}
    classic = [item for item in recorded("queues") if item["type"] == "classic"]
    reduced = [without_stats("queue", item, params) for item in classic]
    assert reduced == [item for item in recorded("queues_nostats") if item["type"] == "classic"]


def test_disable_stats_with_queue_totals_on_built_items() -> None:
    """(RabbitMQ's recorded quorum item was too fresh to have its counters: built here.)"""
    world = scenario()
    params = {"disable_stats": "true", "enable_queue_totals": "true"}
    items = queue_items(queues_of(world.broker.state, VHOST), world.context, world.unacked())
    reduced = [without_stats("queue", item, params) for item in items]
    expected = recorded("queues_nostats")
    assert [item.keys() for item in reduced] == [item.keys() for item in expected]
    assert [item["exclusive"] for item in reduced] == [False, False, False, None]


def test_disable_stats_alone() -> None:
    item = recorded("queues")[0]
    assert without_stats("queue", item, {"disable_stats": "true"}).keys() == {
        "arguments", "auto_delete", "durable", "exclusive", "name", "node", "state", "type",
        "vhost",
    }  # fmt: skip
    exchange = recorded("exchange_one")
    assert "message_stats" not in without_stats("exchange", exchange, {"disable_stats": "true"})
    assert without_stats("queue", item, {}) is item


def test_sort_is_by_octets_stable_and_reversible() -> None:
    items = named("q", "Ab", "c", "B", "q2", "a")
    assert names(apply_query(items, {"sort": "name"})) == ["Ab", "B", "a", "c", "q", "q2"]
    reverse = {"sort": "name", "sort_reverse": "true"}
    assert names(apply_query(items, reverse)) == ["q2", "q", "c", "a", "B", "Ab"]
    by_flag = apply_query(named("Ab", "B", "a", "c", "q", "q2"), {"sort": "durable"})
    assert names(by_flag) == ["Ab", "B", "a", "c", "q", "q2"]  # false < true, ties kept


def test_sort_by_a_dotted_key_puts_numbers_before_missing_values() -> None:
    items = [
        {"name": "x", "message_stats": {"publish": 5}},
        {"name": "y"},
        {"name": "z", "message_stats": {"publish": 2}},
    ]
    assert names(apply_query(items, {"sort": "message_stats.publish"})) == ["z", "x", "y"]
    assert names(apply_query(items, {"sort": "nosuch"})) == ["x", "y", "z"]


def test_name_filters_only_with_a_page_and_ignores_case() -> None:
    items = named("Ab", "B", "a", "c", "q", "q2")
    assert names(apply_query(items, {"name": "a"})) == ["Ab", "B", "a", "c", "q", "q2"]
    body = apply_query(items, {"page": "1", "page_size": "2", "name": "A"})
    assert names(body) == ["Ab", "a"]
    assert body["filtered_count"] == 2 and body["total_count"] == 6
    regex = {"page": "1", "name": "^a", "use_regex": "true"}
    assert names(apply_query(items, regex)) == ["Ab", "a"]
    literal = {"page": "1", "name": "a.", "use_regex": "yes"}  # only "true" turns it on
    assert names(apply_query(items, literal)) == []


def test_page_shape_and_the_last_page() -> None:
    items = named("Ab", "B", "a", "c", "q", "q2")
    body = apply_query(items, {"page": "2", "page_size": "5"})
    assert body == {
        "filtered_count": 6,
        "item_count": 1,
        "items": [items[5]],
        "page": 2,
        "page_count": 2,
        "page_size": 5,
        "total_count": 6,
    }
    empty = apply_query(items, {"page": "1", "name": "zzz"})
    assert {k: v for k, v in empty.items() if k != "items"} == {
        "filtered_count": 0, "item_count": 0, "page": 1, "page_count": 0, "page_size": 100,
        "total_count": 6,
    }  # fmt: skip
    assert names(apply_query(items, {"page_size": "2"})) == names(items)  # no page: no paging


def test_columns_apply_to_the_page_items() -> None:
    body = apply_query(named("a", "b", "c"), {"page": "1", "page_size": "2", "columns": "name"})
    assert body["items"] == [{"name": "a"}, {"name": "b"}]


@pytest.mark.parametrize(
    ("params", "error", "reason"),
    [
        ({"page": "0"}, "invalid_pagination_parameters",
         "Invalid pagination parameters: page number 0, page size undefined"),
        ({"page": "-1"}, "invalid_pagination_parameters",
         "Invalid pagination parameters: page number -1, page size undefined"),
        ({"page": "1", "page_size": "0"}, "invalid_pagination_parameters",
         "Invalid pagination parameters: page number 1, page size 0"),
        ({"page": "1", "page_size": "501"}, "invalid_pagination_parameters",
         "Invalid pagination parameters: page number 1, page size 501"),
        ({"page": "abc"}, "bad_request", "Pagination parameters are invalid"),
        ({"page": "1.5"}, "bad_request", "Pagination parameters are invalid"),
        ({"page": "1", "page_size": "abc"}, "bad_request", "Pagination parameters are invalid"),
        ({"page": "1", "name": "[", "use_regex": "true"}, "bad_request",
         "Pagination parameters are invalid"),
        ({"page": "99", "page_size": "2"}, "page_out_of_range",
         "Page out of range, page: 99 page size: 2, len: 6"),
        ({"page": "2", "name": "zzz"}, "page_out_of_range",
         "Page out of range, page: 2 page size: 100, len: 0"),
    ],
)  # fmt: skip
def test_bad_pages_answer_rabbitmqs_400(params: dict[str, str], error: str, reason: str) -> None:
    with pytest.raises(QueryError) as raised:
        apply_query(named("Ab", "B", "a", "c", "q", "q2"), params)
    assert raised.value.body == {"error": error, "reason": reason}


def test_page_size_500_is_allowed() -> None:
    body = apply_query(named("a"), {"page": "1", "page_size": "500"})
    assert body["page_size"] == 500 and body["page_count"] == 1


def test_disable_stats_on_single_objects_as_the_reference_answered() -> None:
    """(Values from the reference's objects are fed in, so the answers compare whole.)"""
    live = recorded("disable_stats_live")
    off = {"disable_stats": "true", "enable_queue_totals": "true"}
    world = scenario()
    vhost = world.broker.state.vhosts[VHOST]
    context = ViewContext(node="refbroker@localhost")
    for name, expected in (
        ("q", live["queue_detail_classic"]),
        ("qq", live["queue_detail_quorum"]),
    ):
        arguments = expected["arguments"]
        queue = vhost.declare_queue(
            name, passive=False, durable=True, exclusive=False, auto_delete=False,
            arguments=arguments, owner=None,
        )  # fmt: skip
        item = queue_detail(queue, context, world.unacked()) | {"vhost": "mgmt-shapes-v"}
        assert without_stats("queue_detail", item, off) == expected
    vhost_item_ = vhost_item(vhost, context, world.unacked()) | {"name": "mgmt-shapes-v"}
    assert without_stats("vhost", vhost_item_, off) == live["vhost"]
    node = node_item(context, Alarms(mem_limit=1, disk_free_limit=1))
    assert without_stats("node", node, off) == live["node"]
    overview = overview_item(world.broker.state, context, world.unacked(), cluster_name="c")
    reduced = without_stats("overview", overview, off)
    assert sorted(reduced) == live["overview_keys"]
    assert sorted(reduced["object_totals"]) == live["overview_object_totals_keys"]
    assert (reduced["disable_stats"], reduced["enable_queue_totals"]) == (True, True)
    exchange = exchange_detail(vhost.exchanges["research-x"], context)
    assert without_stats("exchange", exchange, off).keys() == live["exchange_detail"].keys()
