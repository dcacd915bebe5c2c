"""A list with many queues, as a person pages and filters it: the page asks the API for one
page at a time (``page``, ``page_size``, ``name``, ``use_regex``), shows where it is
(``.page-info``), and the filter box narrows the list by name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pika
import pytest

from amqpbroker.embedded.broker import BrokerThread

COUNT = 230
NAMES = [f"many-{n:03}" for n in range(COUNT)]


@pytest.fixture(scope="module")
def many_queues(web_broker: BrokerThread) -> Iterator[list[str]]:
    connection = pika.BlockingConnection(pika.URLParameters(web_broker.url))
    channel = connection.channel()
    for name in NAMES:
        channel.queue_declare(name)
    yield NAMES
    for name in NAMES:
        channel.queue_delete(name)
    connection.close()


def page_info(page: Any) -> tuple[int, int, int]:
    """``.page-info``'s "first-last of total" (an en dash) as numbers."""
    text = page.text_of(".pager .page-info")
    found = re.search(r"(\d+)\s*[\u2013-]\s*(\d+)\s+of\s+(\d+)", text)
    assert found, text
    first, last, total = (int(n) for n in found.groups())
    return first, last, total


def test_paging_through_many_queues(page: Any, many_queues: list[str]) -> None:
    page.menu("Queues")
    page.heading("Queues")
    page.row(many_queues[0])
    page.choose("select.page-size", "100")
    page.wait(lambda: page_info(page) == (1, 100, COUNT), "page 1 of 100")
    assert page.listed_names() == many_queues[:100]

    page.click("button.page-next")
    page.wait(lambda: page_info(page) == (101, 200, COUNT), "page 2")
    page.wait(lambda: page.listed_names() == many_queues[100:200], "page 2's rows")

    page.click("button.page-next")
    page.wait(lambda: page_info(page) == (201, COUNT, COUNT), "the last page")
    page.wait(lambda: page.listed_names() == many_queues[200:], "the last page's rows")

    page.click("button.page-prev")
    page.wait(lambda: page_info(page) == (101, 200, COUNT), "back to page 2")


def test_the_filter_box_narrows_the_list_by_name(page: Any, many_queues: list[str]) -> None:
    page.menu("Queues")
    page.row(many_queues[0])

    page.type_into("input.filter", "many-12")

    expected = [n for n in many_queues if "many-12" in n]
    page.wait(lambda: page.listed_names() == expected, f"only {expected}")
    page.wait(lambda: page_info(page)[2] == len(expected), "the filtered count")

    assert page.find("input.filter").get_attribute("placeholder") == "Filter"


def test_a_regular_expression_filter(page: Any, many_queues: list[str]) -> None:
    page.menu("Queues")
    page.row(many_queues[0])

    page.click("input.filter-regex")
    page.type_into("input.filter", "^many-0[0-4]5$")

    expected = ["many-005", "many-015", "many-025", "many-035", "many-045"]
    page.wait(lambda: page.listed_names() == expected, f"only {expected}")


def test_sorting_by_name_both_ways(page: Any, many_queues: list[str]) -> None:
    page.menu("Queues")
    page.row(many_queues[0])
    page.wait(lambda: page.listed_names()[:3] == many_queues[:3], "sorted by name")

    name_heading = next(
        th for th in page.find_all("table.list thead th") if th.text.startswith("Name")
    )
    name_heading.click()

    page.wait(lambda: page.listed_names()[:3] == many_queues[::-1][:3], "sorted backwards")
    assert page_info(page)[:2] == (1, 100)
