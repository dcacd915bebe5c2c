"""The list query parameters of RabbitMQ 3.10.8's management API, as pure functions.

``apply_query(items, params)`` is what a list route calls: it filters by ``name`` (only
when paginating), sorts (``sort``, ``sort_reverse``), cuts the page
(``page``/``page_size``: then the body is ``{filtered_count, item_count, items, page,
page_count, page_size, total_count}``) and keeps ``columns``; ``disable_stats`` and
``enable_queue_totals`` are applied by ``without_stats`` while the items are built.
Bad pagination raises ``QueryError`` with RabbitMQ's 400 body.

Behaviour recorded against the reference broker:

- ``columns=a,b.c`` keeps top-level keys; a dotted name keeps the whole top-level object
  (``b``), and unknown names are left out.  It applies to a single object too.
- ``sort`` names one (dotted) key; values compare in Erlang's term order (numbers, then
  atoms such as true/false/null and missing values, then lists, then strings, by their
  octets: "B" before "a"); the sort is stable, ``sort_reverse=true`` reverses the result.
- ``name`` and ``use_regex`` apply only with ``page``: a case-insensitive substring, or
  a case-insensitive regular expression when ``use_regex=true`` (a bad one is a 400).
- ``page_size`` alone does nothing; with ``page`` it defaults to 100 and must be 1..500.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500

Item = dict[str, Any]


class QueryError(Exception):
    """A 400 answer: ``body`` is RabbitMQ's ``{"error": ..., "reason": ...}``."""

    def __init__(self, error: str, reason: str) -> None:
        super().__init__(reason)
        self.body = {"error": error, "reason": reason}


@dataclass(frozen=True)
class Page:
    """Pagination asked for with ``page``."""

    number: int
    size: int
    name: str | None = None  # the filter on names
    use_regex: bool = False


# -- parameters -----------------------------------------------------------------------------------


def parse_columns(params: Mapping[str, str]) -> list[str] | None:
    """``columns=a,b.c`` -> ["a", "b.c"]; None when not asked for."""
    raw = params.get("columns")
    if not raw:
        return None
    return [column for column in raw.split(",") if column]


def parse_page(params: Mapping[str, str]) -> Page | None:
    """The pagination asked for (None without ``page``); ``QueryError`` as RabbitMQ."""
    raw_page = params.get("page")
    if raw_page is None:
        return None
    raw_size = params.get("page_size")
    number = _integer(raw_page)
    size = DEFAULT_PAGE_SIZE if raw_size is None else _integer(raw_size)
    if number < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        shown = "undefined" if raw_size is None else str(size)
        raise QueryError(
            "invalid_pagination_parameters",
            f"Invalid pagination parameters: page number {number}, page size {shown}",
        )
    name = params.get("name") or None
    return Page(number, size, name, params.get("use_regex") == "true")


def _integer(raw: str) -> int:
    try:
        return int(raw.strip(), 10)
    except ValueError:
        raise _invalid() from None


def _invalid() -> QueryError:
    return QueryError("bad_request", "Pagination parameters are invalid")


def flag(params: Mapping[str, str], name: str) -> bool:
    """A boolean query parameter: only "true" is true (as RabbitMQ reads them)."""
    return params.get(name) == "true"


# -- columns --------------------------------------------------------------------------------------


def select_columns(item: Item, columns: Sequence[str]) -> Item:
    """The top-level keys ``columns`` name (a dotted name keeps its whole first part)."""
    wanted = {column.split(".", 1)[0] for column in columns}
    return {key: value for key, value in item.items() if key in wanted}


# -- sorting --------------------------------------------------------------------------------------

_MISSING = object()


def dotted_value(item: Item, key: str) -> Any:
    value: Any = item
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def term_order(value: Any) -> tuple[int, Any]:
    """Erlang's term order for JSON values: number < atom < map < list < binary."""
    if isinstance(value, bool):
        return (1, "true" if value else "false")
    if isinstance(value, int | float):
        return (0, value)
    if value is None:
        return (1, "null")
    if value is _MISSING:
        return (1, "undefined")
    if isinstance(value, str):
        return (4, value.encode("utf-8", "surrogateescape"))
    if isinstance(value, list):
        return (3, [term_order(element) for element in value])
    if isinstance(value, dict):
        return (2, sorted((k, term_order(v)) for k, v in value.items()))
    return (1, str(value))


def sort_items(items: list[Item], key: str | None, reverse: bool = False) -> list[Item]:
    """Sorted by the (dotted) ``key`` (stable), then reversed if asked; no key: as given."""
    if key:
        items = sorted(items, key=lambda item: term_order(dotted_value(item, key)))
    return items[::-1] if reverse else items


# -- filtering and pages --------------------------------------------------------------------------


def name_filter(page: Page) -> Callable[[Item], bool]:
    """Whether an item's ``name`` matches the page's ``name`` (always, without one)."""
    if page.name is None:
        return lambda item: True
    pattern = page.name if page.use_regex else re.escape(page.name)
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error:
        raise _invalid() from None
    return lambda item: compiled.search(str(item.get("name", ""))) is not None


def paged_body(
    items: list[Any], page: Page, total: int, filtered: int | None = None
) -> dict[str, Any]:
    """``items`` (already filtered and sorted: the first ``filtered`` of them at least, all
    without it) cut to ``page``, in RabbitMQ's shape."""
    filtered = len(items) if filtered is None else filtered
    check_page(page, filtered)
    start = (page.number - 1) * page.size
    shown = items[start : start + page.size]
    page_count = math.ceil(filtered / page.size)
    return {
        "filtered_count": filtered,
        "item_count": len(shown),
        "items": shown,
        "page": page.number,
        "page_count": page_count,
        "page_size": page.size,
        "total_count": total,
    }


def check_page(page: Page, filtered: int) -> None:
    """``QueryError`` for a page past the last one (the first page always exists)."""
    if page.number > max(math.ceil(filtered / page.size), 1):
        raise QueryError(
            "page_out_of_range",
            f"Page out of range, page: {page.number} page size: {page.size}, len: {filtered}",
        )


def apply_query(
    items: Iterable[Item], params: Mapping[str, str], paginated: bool = True
) -> list[Item] | dict[str, Any]:
    """A list route's body: the items as RabbitMQ 3.10.8 filters, sorts, pages and cuts
    them for ``params`` (the request's query parameters).  ``QueryError`` for bad ones.
    ``paginated=False``: ``page`` is ignored, as 3.10.8 ignores it on the lists of users
    and permissions."""
    page = parse_page(params) if paginated else None
    columns = parse_columns(params)
    listed = list(items)
    total = len(listed)
    if page is not None:
        matches = name_filter(page)
        listed = [item for item in listed if matches(item)]
    listed = sort_items(listed, params.get("sort"), flag(params, "sort_reverse"))
    if page is None:
        return [select_columns(item, columns) for item in listed] if columns else listed
    body = paged_body(listed, page, total)
    if columns:
        body["items"] = [select_columns(item, columns) for item in body["items"]]
    return body


def apply_columns(item: Item, params: Mapping[str, str]) -> Item | list[Any]:
    """A single object's body with ``columns`` applied; when none of the columns is there,
    ``[]`` (RabbitMQ's empty Erlang list, as 3.10.8 answers it)."""
    columns = parse_columns(params)
    if not columns:
        return item
    return select_columns(item, columns) or []


# -- disable_stats / enable_queue_totals ----------------------------------------------------------

QUEUE_BASIC_KEYS = (
    "arguments",
    "auto_delete",
    "durable",
    "exclusive",
    "name",
    "node",
    "state",
    "type",
    "vhost",
)
# A quorum queue: its members instead of its node, and (a 3.10.8 quirk) exclusive as null.
QUORUM_BASIC_KEYS = (
    "arguments",
    "auto_delete",
    "durable",
    "exclusive",
    "leader",
    "members",
    "name",
    "online",
    "state",
    "type",
    "vhost",
)
QUEUE_TOTALS = ("messages", "messages_ready", "messages_unacknowledged")


VHOST_BASIC_KEYS = (
    "name",
    "description",
    "tags",
    "default_queue_type",
    "metadata",
    "tracing",
    "cluster_state",
)
NODE_BASIC_KEYS = ("name", "type", "running")
_OVERVIEW_STATS = frozenset(
    (
        "message_stats",
        "churn_rates",
        "queue_totals",
        "statistics_db_event_queue",
        "listeners",
        "contexts",
    )
)
_OVERVIEW_OBJECTS = ("queues", "exchanges", "connections")


def without_stats(kind: str, item: Item, params: Mapping[str, str]) -> Item:
    """``item`` as ``disable_stats=true`` (and ``enable_queue_totals=true``) reduce it;
    unchanged without ``disable_stats=true``.  ``kind``: "queue" (a list item),
    "queue_detail" (``GET /api/queues/{v}/{q}``), "vhost", "node", "overview", or any
    other kind of object, which loses its ``message_stats``.  As the reference answered:

    - a queue list item keeps its basic keys (a quorum queue's members rather than its
      node, and ``exclusive`` as null), plus the three message totals with
      ``enable_queue_totals``;
    - a single queue keeps the same basic keys, never the totals, and its state is "live";
    - a vhost keeps its name and metadata, a node its name, type and ``running``;
    - the overview loses its rates and totals, and its object totals count only queues,
      exchanges and connections.
    """
    if not flag(params, "disable_stats"):
        return item
    if kind in ("queue", "queue_detail"):
        return _queue_without_stats(item, kind == "queue", flag(params, "enable_queue_totals"))
    if kind == "vhost":
        return {key: item[key] for key in VHOST_BASIC_KEYS if key in item}
    if kind == "node":
        return {key: item[key] for key in NODE_BASIC_KEYS if key in item}
    if kind == "overview":
        return _overview_without_stats(item, flag(params, "enable_queue_totals"))
    return {key: value for key, value in item.items() if key != "message_stats"}


def _queue_without_stats(item: Item, listed: bool, totals: bool) -> Item:
    quorum = item.get("type") == "quorum"
    keep = set(QUORUM_BASIC_KEYS if quorum else QUEUE_BASIC_KEYS)
    if listed and totals:
        keep.update(QUEUE_TOTALS)
    reduced = {key: value for key, value in item.items() if key in keep}
    if not listed:
        reduced["state"] = "live"
    elif quorum:
        reduced["exclusive"] = None
    return reduced


def _overview_without_stats(item: Item, totals: bool) -> Item:
    reduced = {key: value for key, value in item.items() if key not in _OVERVIEW_STATS}
    reduced["disable_stats"] = True
    reduced["enable_queue_totals"] = totals
    objects = item.get("object_totals", {})
    reduced["object_totals"] = {key: objects[key] for key in _OVERVIEW_OBJECTS if key in objects}
    return reduced
