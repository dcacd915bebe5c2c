"""``POST /api/exchanges/{v}/{x}/publish`` and ``POST /api/queues/{v}/{q}/get``, acting
through the core as AMQP's basic.publish and basic.get do (same permission checks, same
routing, the same settlement of what was got), with RabbitMQ 3.10.8's bodies.

RabbitMQ's management plugin runs each on a direct connection's channel, opened and closed
for the request (``DirectChannel``): what it counts shows in the vhost's and the overview's
message_stats (a publish is confirmed, and ``return_unroutable`` when it reaches no
queue: it is mandatory), the churn counts a connection and a channel, and
``/api/connections`` never lists it.  ``ack_requeue_false`` gets without an ack
(``get_no_ack``); the other ackmodes get and then reject, so no ack is ever counted.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

from aiohttp import web

from amqpbroker.access.users import User
from amqpbroker.core.exchanges import Exchange
from amqpbroker.core.journeys import Party
from amqpbroker.core.message import Envelope, Message, routing_bytes
from amqpbroker.core.queue import Queue
from amqpbroker.core.stats import ChannelCounters, add_counts, channel_counts
from amqpbroker.core.vhost import VirtualHost
from amqpbroker.errors import NO_ROUTE, AccessRefused, AMQPError, NotFound, PreconditionFailed
from amqpbroker.session.direct_reply import REPLY_QUEUE
from amqpbroker.session.handlers.basic import (
    apply_sender_selected,
    read_ttl_and_priority,
    set_delivery_mode,
)
from amqpbroker.session.tracing import traced_delivery, traced_publish, traced_settled
from amqpbroker.session.unacked import Outcome

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

ACKMODES = {  # ackmode: (requeue, counted as acked)
    "ack_requeue_true": (True, True),
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
    with DirectChannel(vhost) as channel:
        try:
            access.check_publish(name)
            exchange = vhost.exchange(name)
            if exchange.internal:
                raise AccessRefused(
                    f"cannot publish to internal exchange '{name}' in vhost '{vhost.name}'"
                )
            if exchange.type_name == "topic":
                access.check_topic("write", name, routing_key)
            if body["properties"].get("reply_to") == REPLY_QUEUE:  # (no consumer: a direct channel)
                raise PreconditionFailed("fast reply consumer does not exist")
            message = _message(name, routing_key, header, mode, payload, call.user)
        except AMQPError as error:  # (RabbitMQ's plugin sees the channel close: code, text)
            raise bad_request(f"{error.reply_code} {error.reply_text}") from None
        routed = _route(vhost, exchange, routing_key, message, call)
        channel.counters.publish += 1
        channel.counters.confirm += 1
        channel.counters.return_unroutable += 0 if routed else 1
    return json_response({"routed": routed})


def _route(
    vhost: VirtualHost, exchange: Exchange, routing_key: str, message: Message, call: Call
) -> bool:
    exchange.publish_in += 1
    queues = vhost.route(exchange, routing_key, message)
    if vhost.tracing:
        traced_publish(http_party(call), vhost, exchange, message, queues)
        if not queues and message.journey is not None:  # (the plugin publishes mandatory)
            message.journey.add("returned", reply_code=NO_ROUTE.code, reply_text=NO_ROUTE.name)
    if not queues and exchange.name:  # (the default exchange counts it out: basic.py)
        exchange.unroutable += 1
    elif len(queues) > 1:
        message.frames_key = 0
        exchange.extra_out += len(queues) - 1
    for queue in queues:
        queue.enqueue(message)
    return bool(queues)


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
    requeue, acked = ACKMODES[ackmode]
    no_ack = acked and not requeue  # (ack_requeue_false: a get without an ack)
    envelopes: list[Envelope] = []
    items: list[dict[str, Any]] = []
    with DirectChannel(vhost) as channel:
        while len(envelopes) < count:
            envelope = await _take(queue)
            if envelope is None:
                queue.counters.get_empty += 1
                channel.counters.get_empty += 1
                break
            queue.counters.got(no_ack, envelope.redelivered)
            channel.counters.got(no_ack, envelope.redelivered)
            queue.handed_out(envelope, True)
            if vhost.tracing:
                traced_delivery(http_party(call), vhost, queue, envelope, None, no_ack)
            envelopes.append(envelope)
            items.append(_item(envelope, queue.message_count, encoding, truncate))
        _settle(queue, envelopes, requeue, acked)
    return json_response(items)


def _settle(queue: Queue, envelopes: list[Envelope], requeue: bool, acked: bool) -> None:
    """Without an ack, the messages got; else rejected (requeued or dead-lettered): what
    was got and not acked counts as returned (see ``core.stats.DeliveryCounters``)."""
    if not envelopes:
        return
    if not (acked and not requeue):
        queue.counters.returned += len(envelopes)
        outcome = Outcome.REQUEUE if requeue else Outcome.DROP  # (basic.reject, traced so)
        for envelope in envelopes:
            traced_settled(queue, envelope, outcome)
    if requeue:
        queue.requeue(envelopes)
        return
    queue.forget(envelopes)
    if not acked:
        queue.dead_letter(queue, envelopes, "rejected")


def http_party(call: Call) -> Party:
    """The firehose's and the journeys' name for a publish or get through this API."""
    return Party(f"{call.request.remote} -> management API", 1, call.user.name)


class DirectChannel:
    """The direct connection's channel RabbitMQ's plugin opens for one publish or get, as
    the statistics see it: its counts join the vhost's and the broker's totals as it
    closes, and a connection and a channel come and go in the churn."""

    def __init__(self, vhost: VirtualHost) -> None:
        self.vhost = vhost
        self.counters = ChannelCounters()

    def __enter__(self) -> DirectChannel:
        stats = self.vhost.stats
        stats.connection_created += 1
        stats.channel_created += 1
        return self

    def __exit__(self, *exc: object) -> None:
        counts = channel_counts(self.counters, ())
        add_counts(self.vhost.retired, counts)
        stats = self.vhost.stats
        stats.channel_closed_with(counts)
        stats.connection_closed += 1


ROUTES = [
    Route("POST", "/api/exchanges/{vhost}/{exchange}/publish", publish),
    Route("POST", "/api/queues/{vhost}/{queue}/get", get_messages),
]
