"""Long answers built and written, and long bodies parsed, a slice of time at a time, the
event loop given back between two slices, so that 10,000 queues never hold the AMQP
clients up for long.

``list_response`` is every list route's answer (``columns``, ``sort``, paging and
``disable_stats`` applied); ``stream_array`` and ``stream_object`` write any JSON array or
object whose long parts are iterators (the definitions export); ``json_object_body``
parses a long request body (a definitions import).  What a slice is:
``views/listing.py`` ``time_slices``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .http import JSON, ApiError, bad_request
from .incremental_json import decode_text, object_steps
from .routes import Call
from .views import without_stats
from .views.listing import encode_json, encoded_slices, time_slices
from .views.query import QueryError
from .views.sorted_lists import ListCollector, ListQuery

Item = dict[str, Any]


async def list_response(call: Call, kind: str, items: Iterable[Item]) -> web.StreamResponse:
    """A list route's answer: ``items`` with ``disable_stats`` applied, then ``columns``;
    in the order built, streamed as they are built; with ``sort`` or ``page``, collected
    as they are built (``views/sorted_lists.py``), then sorted and paged."""
    params = call.query
    try:
        query = ListQuery.of(params)
        # (a bad ``name`` regular expression is found here: 400 before any item is built)
        collector = None if query.streams else ListCollector(query, encode_json)
    except QueryError as error:
        raise ApiError(400, error.body) from None
    reduced = (without_stats(kind, item, params) for item in items)
    if collector is None:
        return await stream_array(call, map(query.shown, reduced))
    for chunk in time_slices(reduced):
        for item in chunk:
            collector.add(item)
        await asyncio.sleep(0)
    try:
        if query.page is not None:
            return raw_json_response(collector.paged_json())
        ordered = collector.ordered()
    except QueryError as error:
        raise ApiError(400, error.body) from None
    await asyncio.sleep(0)
    return await write_slices(call, time_slices(ordered))


async def stream_array(call: Call, items: Iterable[Any]) -> web.StreamResponse:
    """The JSON array of ``items``, built and encoded a slice at a time."""
    return await write_slices(call, encoded_slices(items))


async def write_slices(call: Call, slices: Iterator[list[str]]) -> web.StreamResponse:
    """A JSON array of the encoded items of ``slices``: one plain response if they come in
    one slice, else written a slice at a time (chunked), the loop given back between two."""
    first = next(slices, [])
    await asyncio.sleep(0)
    second = next(slices, None)
    if second is None:
        return raw_json_response("[" + ",".join(first) + "]")
    response = await _prepared(call)
    await response.write(("[" + ",".join(first)).encode())
    for chunk in itertools.chain([second], slices):
        await response.write(("," + ",".join(chunk)).encode())
        await asyncio.sleep(0)
    await response.write(b"]")
    await response.write_eof()
    return response


@dataclass(frozen=True)
class Streamed:
    """A JSON array in ``stream_object``, whose items are built as it is written."""

    items: Iterable[Any]


async def stream_object(call: Call, fields: Iterable[tuple[str, Any]]) -> web.StreamResponse:
    """A JSON object of ``fields`` (key, value), written as it is built: a ``Streamed``
    value a slice of its items at a time."""
    response = await _prepared(call)
    separator = "{"
    for key, value in fields:
        head = f"{separator}{encode_json(key)}:"
        separator = ","
        if not isinstance(value, Streamed):
            await response.write((head + encode_json(value)).encode())
            continue
        opening = "["
        for chunk in encoded_slices(value.items):
            await response.write((head + opening + ",".join(chunk)).encode())
            head, opening = "", ","
            await asyncio.sleep(0)
        await response.write((head + "[]" if opening == "[" else "]").encode())
    await response.write(b"{}" if separator == "{" else b"}")
    await response.write_eof()
    return response


async def _prepared(call: Call) -> web.StreamResponse:
    # (exactly "application/json", as RabbitMQ says, and chunked: the length is unknown)
    response = web.StreamResponse(headers={"Content-Type": JSON})
    await response.prepare(call.request)
    return response


def raw_json_response(body: str, status: int = 200) -> web.Response:
    """A response whose JSON body is already encoded."""
    return web.Response(body=body.encode(), status=status, headers={"Content-Type": JSON})


async def json_object_body(call: Call, not_json: str = "not_json") -> dict[str, Any]:
    """The request's JSON object, parsed a slice at a time (``http.json_body``'s answers:
    ``{}`` for an empty body, 400 ``not_json`` for anything but an object)."""
    raw = await call.request.read()
    if not raw.strip():
        return {}
    document: dict[str, Any] = {}
    try:
        for _ in time_slices(object_steps(decode_text(raw), document)):
            await asyncio.sleep(0)
    except ValueError:  # (UnicodeDecodeError and json's errors are ValueErrors)
        raise bad_request(not_json) from None
    return document
