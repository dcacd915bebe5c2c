"""``/api/definitions`` and ``/api/definitions/{vhost}``: export and import in RabbitMQ
3.10.8's format (``amqpbroker.definitions``), whole broker or one vhost.

Both go a slice of time at a time (an export of 10,000 queues is written as it is built,
an import applies a slice of definitions between two yields to the loop), so that the
AMQP clients are not held up; the import is checked whole before the first change."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from amqpbroker.definitions import DefinitionsError

from .auth import Level
from .http import bad_request, no_content, not_found_reason
from .routes import Call, Route
from .streaming import Streamed, json_object_body, stream_object
from .views.listing import time_slices

ADMIN = Level.ADMINISTRATOR
# The sections of a per-vhost export, in 3.10.8's order (its items carry no ``vhost``,
# except policies).
VHOST_SECTIONS = ("parameters", "policies", "queues", "exchanges", "bindings")
_VHOST_ITEMS = ("queues", "exchanges", "bindings")


async def get_definitions(call: Call) -> web.StreamResponse:
    sections = call.broker.export_sections()
    return await stream_object(call, [(key, _streamed(value)) for key, value in sections.items()])


def _streamed(value: Any) -> Any:
    return Streamed(value) if isinstance(value, Iterator) else value


async def post_definitions(call: Call) -> web.StreamResponse:
    document = await json_object_body(call, "failed_to_parse_json")
    await _import(call, document)
    return no_content()


async def get_vhost_definitions(call: Call) -> web.StreamResponse:
    name = call.segment("vhost")
    if name not in call.broker.state.vhosts:
        raise bad_request("vhost_not_found")
    whole = call.broker.export_sections()
    fields: list[tuple[str, Any]] = [("rabbit_version", whole["rabbit_version"])]
    for section in VHOST_SECTIONS:
        items = (item for item in whole[section] if item.get("vhost") == name)
        if section in _VHOST_ITEMS:
            items = ({k: v for k, v in item.items() if k != "vhost"} for item in items)
        fields.append((section, Streamed(items)))
    return await stream_object(call, fields)


async def post_vhost_definitions(call: Call) -> web.StreamResponse:
    """Import into the vhost of the URL: the items' own ``vhost`` fields are ignored, and
    users, vhosts and permissions in the document too, as RabbitMQ does."""
    name = call.segment("vhost")
    if name not in call.broker.state.vhosts:
        raise not_found_reason("vhost_not_found")
    document = await json_object_body(call, "failed_to_parse_json")
    scoped: dict[str, Any] = {}
    for section in VHOST_SECTIONS:
        items = document.get(section)
        if isinstance(items, list):
            items = [{**item, "vhost": name} if isinstance(item, dict) else item for item in items]
        if items is not None:
            scoped[section] = items
    await _import(call, scoped)
    return no_content()


async def _import(call: Call, document: dict[str, Any]) -> None:
    """Check the whole document (400 if it cannot be imported), then apply it a slice of
    time at a time."""
    steps = call.broker.import_steps(document)
    try:
        for _ in time_slices(steps):
            await asyncio.sleep(0)
    except DefinitionsError as error:
        raise bad_request(str(error)) from None


ROUTES = [
    Route("GET", "/api/definitions", get_definitions, ADMIN),
    Route("POST", "/api/definitions", post_definitions, ADMIN),
    Route("GET", "/api/definitions/{vhost}", get_vhost_definitions, ADMIN),
    Route("POST", "/api/definitions/{vhost}", post_vhost_definitions, ADMIN),
]
