"""Sorting and paging a long list without holding its items (``ListQuery``,
``ListCollector``), for ``management/streaming.py``: the same answers as
``query.apply_query``, which holds them all.

Held items are what each collection of the garbage collector walks (10,000 queue items are
some 300,000 objects).  So a page keeps only the items that may still be on it (page 1 of
100: the best 100 so far, by sort key and then by arrival, as a stable sort), and a whole
sorted list keeps each item encoded (a string, which no collection walks) with its key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .query import (
    Page,
    check_page,
    dotted_value,
    flag,
    name_filter,
    paged_body,
    parse_columns,
    parse_page,
    select_columns,
    term_order,
)

Item = dict[str, Any]


@dataclass(frozen=True)
class ListQuery:
    """A list route's query parameters, read once (``QueryError`` for bad pagination)."""

    page: Page | None
    columns: list[str] | None
    sort: str | None
    reverse: bool

    @classmethod
    def of(cls, params: Mapping[str, str]) -> ListQuery:
        sort = params.get("sort") or None
        return cls(parse_page(params), parse_columns(params), sort, flag(params, "sort_reverse"))

    @property
    def streams(self) -> bool:
        """Whether the items go out in the order they are built, each as soon as it is."""
        return self.page is None and self.sort is None and not self.reverse

    def shown(self, item: Item) -> Item:
        """``item`` cut to the columns asked for."""
        return select_columns(item, self.columns) if self.columns else item


class ListCollector:
    """``add`` each item as it is built, then ``ordered`` (no ``page``) or ``paged_json``."""

    def __init__(self, query: ListQuery, encode: Callable[[Any], str]) -> None:
        self.query = query
        self.encode = encode
        self.total = 0  # items added
        self.filtered = 0  # of them, those the page's name filter keeps
        # (sort key, arrival, item or its encoding); a page keeps the first ``keep``.
        self.entries: list[tuple[Any, int, Any]] = []
        page = query.page
        self.matches = name_filter(page) if page is not None else None
        self.keep = page.number * page.size if page is not None else None

    def add(self, item: Item) -> None:
        self.total += 1
        if self.matches is not None and not self.matches(item):
            return
        self.filtered += 1
        key = term_order(dotted_value(item, self.query.sort)) if self.query.sort else None
        kept = item if self.keep is not None else self.encode(self.query.shown(item))
        self.entries.append((key, self.filtered, kept))
        if self.keep is not None and len(self.entries) >= 2 * self.keep + 100:
            self._trim(self.keep)

    def _trim(self, keep: int) -> None:
        """Sort the entries as the answer lists them (a reversed list from its end), keep
        the first ``keep``."""
        self.entries.sort(key=lambda entry: entry[:2], reverse=self.query.reverse)
        del self.entries[keep:]

    def ordered(self) -> list[str]:
        """Without ``page``: every item's encoding, sorted (stable) and reversed as asked."""
        self._trim(len(self.entries))
        return [entry[2] for entry in self.entries]

    def paged_json(self) -> str:
        """With ``page``: the paged body as JSON; ``QueryError`` past the last page."""
        page = self.query.page
        assert page is not None and self.keep is not None
        check_page(page, self.filtered)
        self._trim(self.keep)
        items = [self.encode(self.query.shown(entry[2])) for entry in self.entries]
        body = paged_body(items, page, self.total, self.filtered)
        fields = [
            f'"{key}":' + ("[" + ",".join(value) + "]" if key == "items" else self.encode(value))
            for key, value in body.items()
        ]
        return "{" + ",".join(fields) + "}"
