"""``GET /api/journeys/{vhost}?since=N`` and ``DELETE /api/journeys/{vhost}``: the message
journeys a vhost recorded while its tracing was on (``core/journeys.py``).

Not a RabbitMQ route: an amqpbroker extension (docs/management-routes.md), for the web
page's Trace view.  As ``/api/queues/{vhost}`` it asks that the vhost be visible to the
caller, and it asks for the monitoring tag (or administrator).  The answer holds the newest
journeys first, at most ``LIMIT``; ``since`` keeps those with an event numbered above it.
"""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web

from amqpbroker.core.journeys import Journey
from amqpbroker.core.message import decode_properties

from .auth import Level
from .http import integer, json_response, no_content
from .message_properties import properties_json
from .object_routes import vhost_named
from .routes import Call, Route

LIMIT = 200


async def get_journeys(call: Call) -> web.StreamResponse:
    vhost = vhost_named(call)
    since = integer(call.query["since"]) if "since" in call.query else 0
    recorder = vhost.journeys
    return json_response(
        {
            "vhost": vhost.name,
            "tracing": vhost.tracing,
            "latest": recorder.latest,
            "journeys": [journey_item(j, vhost.name) for j in recorder.since(since, LIMIT)],
        }
    )


async def delete_journeys(call: Call) -> web.StreamResponse:
    vhost_named(call).journeys.clear()
    return no_content()


def journey_item(journey: Journey, vhost: str) -> dict[str, Any]:
    """One journey as the API shows it (the contract in docs/management-routes.md)."""
    payload, encoding = payload_preview(journey.payload, journey.size)
    return {
        "id": journey.id,
        "published_at": journey.published_at,
        "vhost": vhost,
        "exchange": journey.exchange,
        "routing_key": journey.routing_key,
        "connection": journey.connection,
        "channel": journey.channel,
        "user": journey.user,
        "size": journey.size,
        "payload": payload,
        "payload_encoding": encoding,
        "properties": properties_json(decode_properties(journey.header)) or {},
        "events": list(journey.events),
    }


def payload_preview(kept: bytes, size: int) -> tuple[str, str]:
    """The kept octets as text when they are UTF-8 (a character the cut split in two is
    left out), else in base64."""
    try:
        return kept.decode(), "string"
    except UnicodeDecodeError as error:
        cut_inside = size > len(kept) and error.start >= len(kept) - 3
        if cut_inside and error.reason == "unexpected end of data":
            return kept[: error.start].decode(), "string"
    return base64.b64encode(kept).decode(), "base64"


ROUTES = [
    Route("GET", "/api/journeys/{vhost}", get_journeys, Level.MONITORING),
    Route("DELETE", "/api/journeys/{vhost}", delete_journeys, Level.MONITORING),
]
