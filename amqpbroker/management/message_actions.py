"""``POST /api/exchanges/{v}/{x}/publish`` and ``POST /api/queues/{v}/{q}/get``, acting
through the core as AMQP's basic.publish and basic.get do (same permission checks, same
routing, the same settlement of what was got), with RabbitMQ 3.10.8's bodies."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

from aiohttp import web

from amqpbroker.access.users import User
from amqpbroker.core.message import Envelope, Message, routing_bytes
from amqpbroker.core.queue import Queue
from amqpbroker.core.stats import ChannelCounters, add_counts, channel_counts
from amqpbroker.core.vhost import VirtualHost
from amqpbroker.errors import AccessRefused, AMQPError, NotFound, PreconditionFailed
from amqpbroker.session.handlers.basic import (
    apply_sender_selected,
    read_ttl_and_priority,
    set_delivery_mode,
)

from .http import (
    bad_request,
    integer,
    json_response,
    keys_missing,
    not_authorised,
    not_found_reason,
    server_error,
    text,
)
from .message_properties import content_header, properties_json
from .object_actions import HTTP_OWNER, caller_access, request_vhost
from .routes import Call, Route

# ackmode: (requeue, got with no-ack).  RabbitMQ's plugin gets with no-ack for
# ack_requeue_false and rejects what it got for the others: it never counts an ack.
ACKMODES = {
    "ack_requeue_true": (True, False),
    "ack_requeue_false": (False, True),
    "reject_requeue_true": (True, False),
    "reject_requeue_false": (False, False),
}


# -- publish --------------------------------------------------------------------------------------


def _payload(body: dict[str, Any]) -> bytes:
    payload, encoding = text(body["payload"]), body["payload_encoding"]
    if encoding == "string":
        return payload.encode()
    if encoding == "base64":
        try:
            return base64.b64decode(payload, validate=True)
        except binascii.Error:
            raise bad_request(["not_base64", payload]) from None
    raise bad_request(f"unsupported payload_encoding: {encoding}")


def _message(
    exchange: str, routing_key: str, header: bytes, mode: int, payload: bytes, user: User
) -> Message:
    """The message as basic.publish would take it: the same property checks (406s)."""
    routing = routing_bytes(exchange, routing_key)
    message = Message(exchange, routing_key, routing, header, payload)
    set_delivery_mode(message, mode)
    read_ttl_and_priority(message)
    user_id = message.properties.user_id
    if user_id and user_id != user.name and not user.may_impersonate:
        raise PreconditionFailed(
            f"user_id property set to '{user_id}' but authenticated user was '{user.name}'"
        )
    if message.properties.headers:
        apply_sender_selected(message)
    return message


async def publish(call: Call) -> web.StreamResponse:
    """Publish one message (``{"routed": bool}``); a missing exchange is 400 with AMQP's text."""
    vhost = request_vhost(call)
    name = call.segment("exchange")
    name = "" if name == "amq.default" else name
    body = await call.body()
    keys_missing(body, ("properties", "routing_key", "payload", "payload_encoding"))
    routing_key = text(body["routing_key"])
    payload = _payload(body)
    header, mode = content_header(body["properties"], len(payload))
    access = caller_access(call, vhost)
    try:
        access.check_publish(name)
        exchange = vhost.exchange(name)
        if exchange.internal:
            raise AccessRefused(
                f"cannot publish to internal exchange '{name}' in vhost '{vhost.name}'"
            )
        if exchange.type_name == "topic":
            access.check_topic("write", name, routing_key)
        message = _message(name, routing_key, header, mode, payload, call.user)
    except AMQPError as error:  # (RabbitMQ's plugin sees the channel close: code and text)
        raise bad_request(f"{error.reply_code} {error.reply_text}") from None
    exchange.publish_in += 1
    queues = vhost.route(exchange, routing_key, message)
    _count_as_a_channel(call, vhost, publish=1, confirm=1, return_unroutable=int(not queues))
    if not queues and exchange.name:  # (the default exchange counts it out: basic.py)
        exchange.unroutable += 1
    elif len(queues) > 1:
        message.frames_key = 0
        exchange.extra_out += len(queues) - 1
    for queue in queues:
        queue.enqueue(message)
    return json_response({"routed": bool(queues)})


# -- get ------------------------------------------------------------------------------------------


def _item(envelope: Envelope, left: int, encoding: str, truncate: int | None) -> dict[str, Any]:
    message = envelope.message
    payload = message.body if truncate is None else message.body[:truncate]
    as_text = None
    if encoding == "auto":
        try:
            as_text = payload.decode()
        except UnicodeDecodeError:
            as_text = None
    return {
        "payload_bytes": len(message.body),
        "redelivered": envelope.redelivered,
        "exchange": message.exchange,
        "routing_key": message.routing_key,
        "message_count": left,
        "properties": properties_json(message.properties),
        "payload": as_text if as_text is not None else base64.b64encode(payload).decode(),
        "payload_encoding": "string" if as_text is not None else "base64",
    }


async def _take(queue: Queue) -> Envelope | None:
    if not queue.ready.head_ready():  # the next message is on disk: wait for it
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        queue.ready.when_head_ready(wake)
        await ready
    return queue.get()


async def get_messages(call: Call) -> web.StreamResponse:
    """Get up to ``count`` messages, then settle them all as ``ackmode`` says."""
    vhost = request_vhost(call)
    body = await call.body()
    keys_missing(body, ("count", "ackmode", "encoding"))
    count, ackmode, encoding = integer(body["count"]), body["ackmode"], body["encoding"]
    if ackmode not in ACKMODES or encoding not in ("auto", "base64"):
        raise server_error()
    truncate = integer(body["truncate"]) if "truncate" in body else None
    access = caller_access(call, vhost)
    name = call.segment("queue")
    try:
        access.check("read", "queue", name)
        queue = vhost.queue(name, HTTP_OWNER)
    except NotFound as error:
        raise not_found_reason(error.reply_text) from None
    except AccessRefused as error:
        raise not_authorised(error.reply_text) from None
    except AMQPError as error:
        raise bad_request(error.reply_text) from None
    requeue, no_ack = ACKMODES[ackmode]
    channel = ChannelCounters()
    envelopes: list[Envelope] = []
    items: list[dict[str, Any]] = []
    while len(envelopes) < count:
        envelope = await _take(queue)
        if envelope is None:  # (RabbitMQ's plugin asks until the count or an empty answer)
            queue.counters.get_empty += 1
            channel.get_empty += 1
            break
        queue.counters.got(no_ack, envelope.redelivered)
        channel.got(no_ack, envelope.redelivered)
        queue.handed_out(envelope, True)
        envelopes.append(envelope)
        items.append(_item(envelope, queue.message_count, encoding, truncate))
    _settle(queue, envelopes, requeue, no_ack)
    _count_as_a_channel(call, vhost, channel)
    return json_response(items)


def _settle(queue: Queue, envelopes: list[Envelope], requeue: bool, no_ack: bool) -> None:
    if not envelopes:
        return
    if not no_ack:
        queue.counters.returned += len(envelopes)  # (rejected)
    if requeue:
        queue.requeue(envelopes)
        return
    queue.forget(envelopes)
    if not no_ack:
        queue.dead_letter(queue, envelopes, "rejected")


def _count_as_a_channel(
    call: Call, vhost: VirtualHost, counters: ChannelCounters | None = None, **counts: int
) -> None:
    """What RabbitMQ's plugin counts on the channel it opens for one request (publishes
    in confirm mode and mandatory): in the vhost's and the overview's message_stats, as
    a closed channel's counts are kept."""
    counters = counters or ChannelCounters()
    for name, value in counts.items():
        setattr(counters, name, getattr(counters, name) + value)
    totals = channel_counts(counters, ())
    add_counts(vhost.retired, totals)
    add_counts(call.broker.state.stats.retired, totals)


ROUTES = [
    Route("POST", "/api/exchanges/{vhost}/{exchange}/publish", publish),
    Route("POST", "/api/queues/{vhost}/{queue}/get", get_messages),
]
