"""Tracing over real sockets: switched by ``PUT /api/vhosts/{v}`` (``tracing``), the
firehose seen by pika and aio-pika consumers of a queue bound to ``amq.rabbitmq.trace``, and
``GET``/``DELETE /api/journeys/{vhost}`` (an extension) read over HTTP."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aio_pika
import pika
from mgmt_http import Api, q

from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.management.journey_routes import payload_preview
from amqpbroker.testing.polling import settle, settle_async

TRACE = "amq.rabbitmq.trace"


def _traced_vhost(api: Api, name: str) -> str:
    assert api.put(f"/api/vhosts/{q(name)}", {"tracing": True}).status == 201
    return name


def _journeys(api: Api, vhost: str, since: int | None = None) -> Any:
    query = "" if since is None else f"?since={since}"
    reply = api.get(f"/api/journeys/{q(vhost)}{query}")
    assert reply.status == 200, reply.raw
    assert reply.headers["content-type"].startswith("application/json")
    return reply.body


# -- the flag --------------------------------------------------------------------------------------


def test_tracing_is_switched_and_shown_as_rabbitmq_does(api: Api, name: str) -> None:
    assert api.put(f"/api/vhosts/{q(name)}", {}).status == 201
    assert api.get(f"/api/vhosts/{q(name)}").body["tracing"] is False
    assert api.put(f"/api/vhosts/{q(name)}", {"tracing": True}).status == 204
    assert api.get(f"/api/vhosts/{q(name)}").body["tracing"] is True
    listed = {v["name"]: v["tracing"] for v in api.get("/api/vhosts").body}
    assert listed[name] is True
    assert api.put(f"/api/vhosts/{q(name)}", {"tracing": "false"}).status == 204
    assert api.get(f"/api/vhosts/{q(name)}").body["tracing"] is False
    bad = api.put(f"/api/vhosts/{q(name)}", {"tracing": "yes"})
    assert bad.status == 400
    assert bad.body == {"error": "bad_request", "reason": ["not_boolean", "yes"]}


def test_tracing_is_not_exported_but_an_import_switches_it(api: Api, name: str) -> None:
    _traced_vhost(api, name)
    exported = api.get("/api/definitions").body
    assert {"name": name} in [{"name": v["name"]} for v in exported["vhosts"]]
    assert all("tracing" not in v for v in exported["vhosts"])
    document = {"vhosts": [{"name": name, "tracing": False}]}
    assert api.post("/api/definitions", document).status == 204
    assert api.get(f"/api/vhosts/{q(name)}").body["tracing"] is False


def test_embedded_trace_on_and_off(api: Api, mgmt_broker: BrokerThread, name: str) -> None:
    mgmt_broker.add_vhost(name)
    mgmt_broker.trace_on(name)
    assert api.get(f"/api/vhosts/{q(name)}").body["tracing"] is True
    mgmt_broker.trace_off(name)
    assert api.get(f"/api/vhosts/{q(name)}").body["tracing"] is False


# -- the firehose ----------------------------------------------------------------------------------


def test_a_pika_consumer_of_the_trace_queue_sees_publish_and_deliver_copies(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    vhost = _traced_vhost(api, name)
    seen: list[tuple[str, bytes, dict[str, Any]]] = []
    params = pika.URLParameters(mgmt_broker.url_for(vhost))
    with pika.BlockingConnection(params) as connection:
        watcher = connection.channel()
        trace_queue = watcher.queue_declare("", exclusive=True).method.queue
        watcher.queue_bind(trace_queue, TRACE, "#")
        watcher.basic_consume(
            trace_queue,
            lambda _ch, method, props, body: seen.append((method.routing_key, body, props.headers)),
            auto_ack=True,
        )
        worker = connection.channel()
        worker.queue_declare("work")
        worker.basic_publish("", "work", b"job", pika.BasicProperties(message_id="m1"))
        method, _props, _body = settle(lambda: worker.basic_get("work"), lambda got: got[0])
        worker.basic_ack(method.delivery_tag)
        settle(lambda: connection.process_data_events(0.05) or len(seen), lambda n: n >= 2)
    (publish_key, body, published), (deliver_key, _, delivered) = seen
    assert (publish_key, deliver_key, body) == ("publish.", "deliver.work", b"job")
    assert published["routed_queues"] == ["work"]
    assert published["properties"] == {"message_id": "m1"}
    assert published["vhost"] == vhost and published["user"] == "guest"
    assert " -> 127.0.0.1:" in published["connection"]
    assert delivered["redelivered"] == 0 and delivered["channel"] == 2


def test_an_aio_pika_consumer_sees_copies_of_a_redelivery(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    vhost = _traced_vhost(api, name)

    async def scenario() -> list[tuple[str, Any]]:
        seen: list[tuple[str, Any]] = []
        connection = await aio_pika.connect(mgmt_broker.url_for(vhost))
        async with connection:
            channel = await connection.channel()
            trace_queue = await channel.declare_queue("", exclusive=True)
            await trace_queue.bind(TRACE, "#")

            async def watch(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                seen.append((message.routing_key or "", message.headers.get("redelivered")))

            await trace_queue.consume(watch, no_ack=True)
            work = await channel.declare_queue("", exclusive=True)
            await channel.default_exchange.publish(aio_pika.Message(b"x"), work.name)
            first = await settle_async(lambda: work.get(fail=False))
            await first.reject(requeue=True)
            second = await settle_async(lambda: work.get(fail=False))
            await second.ack()
            await settle_async(lambda: len(seen), lambda n: n >= 3)
        return seen

    seen = asyncio.run(scenario())
    assert [key.split(".")[0] for key, _ in seen] == ["publish", "deliver", "deliver"]
    assert [redelivered for _, redelivered in seen] == [None, 0, 1]


# -- journeys --------------------------------------------------------------------------------------


def test_journeys_over_http(api: Api, mgmt_broker: BrokerThread, name: str) -> None:
    vhost = _traced_vhost(api, name)
    params = pika.URLParameters(mgmt_broker.url_for(vhost))
    with pika.BlockingConnection(params) as connection:
        ch = connection.channel()
        ch.queue_declare("q1")
        properties = pika.BasicProperties(content_type="text/plain", headers={"a": 1})
        ch.basic_publish("", "q1", b"hello", properties)
        tag = ch.basic_consume(
            "q1", lambda c, m, p, b: c.basic_ack(m.delivery_tag), consumer_tag="ctag1"
        )
        answer = settle(
            lambda: connection.process_data_events(0.05) or _journeys(api, vhost),
            lambda body: [e["type"] for e in body["journeys"][0]["events"]][-1:] == ["acked"],
        )
        ch.basic_cancel(tag)
    print(json.dumps(answer["journeys"][0]))  # (shown with -s: the exact shape)
    assert (answer["vhost"], answer["tracing"]) == (vhost, True)
    journey = answer["journeys"][0]
    assert answer["latest"] == journey["events"][-1]["seq"]
    assert {k: journey[k] for k in ("exchange", "routing_key", "channel", "user")} == {
        "exchange": "",
        "routing_key": "q1",
        "channel": 1,
        "user": "guest",
    }
    assert (journey["size"], journey["payload"], journey["payload_encoding"]) == (
        5,
        "hello",
        "string",
    )
    assert journey["properties"] == {"headers": {"a": 1}, "content_type": "text/plain"}
    assert journey["connection"].endswith(f"-> 127.0.0.1:{mgmt_broker.port}")
    delivered = journey["events"][1]
    assert delivered["type"] == "delivered" and delivered["consumer_tag"] == "ctag1"
    assert delivered["queue"] == "q1" and delivered["redelivered"] is False
    assert _journeys(api, vhost, since=answer["latest"])["journeys"] == []
    assert len(_journeys(api, vhost, since=answer["latest"] - 1)["journeys"]) == 1
    assert api.delete(f"/api/journeys/{q(vhost)}").status == 204
    cleared = _journeys(api, vhost)
    assert cleared["journeys"] == [] and cleared["tracing"] is True


def test_binary_payloads_are_shown_in_base64(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    vhost = _traced_vhost(api, name)
    with pika.BlockingConnection(pika.URLParameters(mgmt_broker.url_for(vhost))) as connection:
        ch = connection.channel()
        ch.confirm_delivery()
        ch.basic_publish("amq.direct", "nowhere", b"\xff\x00" * 200)
    journey = _journeys(api, vhost)["journeys"][0]
    assert journey["payload_encoding"] == "base64" and journey["size"] == 400
    assert journey["properties"] == {}
    assert [e["type"] for e in journey["events"]] == ["routed", "dropped"]


def test_journeys_ask_for_monitoring_and_the_vhost(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    vhost = _traced_vhost(api, name)
    path = f"/api/journeys/{q(vhost)}"
    mgmt_broker.add_user(name, "pw", "management")
    mgmt_broker.set_permissions(name, vhost=vhost)
    managing = api.as_user(name, "pw").get(path)
    assert (managing.status, managing.body["reason"]) == (401, "Not monitor user")
    watcher = name + "-m"
    mgmt_broker.add_user(watcher, "pw", "monitoring")
    refused = api.as_user(watcher, "pw").get(path)
    assert (refused.status, refused.body["reason"]) == (
        401,
        "User not authorised to access virtual host",
    )
    mgmt_broker.set_permissions(watcher, vhost=vhost)
    assert api.as_user(watcher, "pw").get(path).status == 200
    assert api.as_user(watcher, "pw").delete(path).status == 204
    assert api.get("/api/journeys/no-such-vhost").status == 404
    assert api.put(path).status == 405


def test_publish_and_get_through_the_api_are_traced(api: Api, name: str) -> None:
    vhost = _traced_vhost(api, name)
    assert api.put(f"/api/queues/{q(vhost)}/q1", {}).status == 201
    message = {"properties": {}, "routing_key": "q1", "payload": "hi", "payload_encoding": "string"}
    assert api.post(f"/api/exchanges/{q(vhost)}/amq.default/publish", message).body == {
        "routed": True
    }
    ackmode = {"count": 1, "ackmode": "reject_requeue_true", "encoding": "auto"}
    assert len(api.post(f"/api/queues/{q(vhost)}/q1/get", ackmode).body) == 1
    journey = _journeys(api, vhost)["journeys"][0]
    assert journey["user"] == "guest" and journey["connection"].endswith("-> management API")
    events = [(e["type"], e.get("ack_mode"), e.get("requeue")) for e in journey["events"]]
    assert events == [("routed", None, None), ("got", "manual", None), ("rejected", None, True)]


def test_the_payload_preview_is_text_or_base64():
    assert payload_preview(b"hello", 5) == ("hello", "string")
    cut = ("é" * 128).encode()[:255]  # a two-octet character cut in the middle
    assert payload_preview(cut, 256) == ("é" * 127, "string")
    assert payload_preview(b"\xff\x00", 2) == ("/wA=", "base64")
    assert payload_preview(b"ab\xc3", 3) == ("YWLD", "base64")  # (not cut: invalid)
