"""A message's properties as the management API's JSON, both ways, as RabbitMQ 3.10.8 reads
and writes them: the ``properties`` of ``POST .../publish`` into a content header, and a
got message's properties into the ``properties`` of ``POST .../get``'s items.

Recorded against the reference broker:

- the names are AMQP's (``type``, not pamqp's ``message_type``); keys it does not know
  are ignored;
- a priority beyond an octet goes out as its low byte, as Erlang writes it;
- a string property that is not a string is ``["not_string", KEY]``, an integer one that
  is not an integer ``["not_int", KEY]`` (a 400), null included;
- ``headers`` is an object (``[]`` is the empty table, anything else a 500) and may not
  hold a null at any depth (400 ``null_not_allowed``);
- a got message lists its properties in the reverse of the content header's order, its
  headers sorted by name (``views/formats.json_value``), ``[]`` when it has none.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from typing import Any

from pamqp import commands
from pamqp.header import ContentHeader

from .http import bad_request, server_error
from .views.formats import json_value

# (AMQP's name, pamqp's name), in the content header's order.
PROPERTIES = (
    ("content_type", "content_type"),
    ("content_encoding", "content_encoding"),
    ("headers", "headers"),
    ("delivery_mode", "delivery_mode"),
    ("priority", "priority"),
    ("correlation_id", "correlation_id"),
    ("reply_to", "reply_to"),
    ("expiration", "expiration"),
    ("message_id", "message_id"),
    ("timestamp", "timestamp"),
    ("type", "message_type"),
    ("user_id", "user_id"),
    ("app_id", "app_id"),
    ("cluster_id", "cluster_id"),
)
INTEGER_PROPERTIES = frozenset(("delivery_mode", "priority", "timestamp"))
# RabbitMQ keeps a larger integer and writes only its low bits into the content header.
OCTET_MASKS = {"priority": 0xFF, "timestamp": 2**64 - 1}


def content_header(properties: Any, body_size: int) -> tuple[bytes, int]:
    """The content header of a publish's JSON ``properties``, and the delivery mode asked
    for (one other than 1 or 2 is left out here and refused later, as basic.publish's)."""
    if not isinstance(properties, dict):
        raise server_error()
    given: dict[str, Any] = {}
    for name, pamqp_name in PROPERTIES:
        if name in properties:
            given[pamqp_name] = _checked(name, properties[name])
    mode = given.get("delivery_mode", 0)
    if mode not in (1, 2):
        given.pop("delivery_mode", None)
    if "timestamp" in given:
        given["timestamp"] = _moment(given["timestamp"])
    cluster_id = given.pop("cluster_id", "")
    try:
        built = commands.Basic.Properties(**given)
        built.cluster_id = cluster_id  # (pamqp's constructor refuses one; RabbitMQ keeps it)
        return ContentHeader(0, body_size, built).marshal(), mode
    except (TypeError, ValueError, struct.error):  # (a priority beyond an octet, a huge int)
        raise bad_request("invalid properties") from None


def _checked(name: str, value: Any) -> Any:
    if name == "headers":
        return _headers(value)
    if name in INTEGER_PROPERTIES:
        if not isinstance(value, int) or isinstance(value, bool):
            raise bad_request(["not_int", name])
        return value & OCTET_MASKS.get(name, -1)
    if not isinstance(value, str):
        raise bad_request(["not_string", name])
    return value


def _headers(value: Any) -> dict[str, Any]:
    if value == []:
        return {}
    if not isinstance(value, dict):
        raise server_error()
    if _holds_null(value):
        raise bad_request("null_not_allowed")
    return value


def _holds_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_holds_null(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_null(item) for item in value)
    return False


def _moment(seconds: int) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise bad_request("invalid properties") from None


def properties_json(properties: Any) -> dict[str, Any] | list[Any]:
    """A got message's properties (pamqp's ``Basic.Properties``) as RabbitMQ shows them."""
    shown = {}
    for name, pamqp_name in reversed(PROPERTIES):
        value = getattr(properties, pamqp_name, None)
        if value is None or (name == "cluster_id" and value == ""):  # (pamqp's "absent")
            continue
        shown[name] = json_value(value)
    return shown or []  # (an empty proplist is a list to RabbitMQ's JSON encoder)
