"""The management API's mutating routes for queues, exchanges, bindings and connections,
over HTTP against an embedded broker, observed with pika."""

from __future__ import annotations

import pika
import pika.exceptions
import pytest
from mgmt_http import Api, q

from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.testing.polling import wait_until


def _queue_count(url: str, queue: str) -> int:
    with pika.BlockingConnection(pika.URLParameters(url)) as connection:
        ok = connection.channel().queue_declare(queue, passive=True)
        return int(ok.method.message_count)


def _publish(url: str, exchange: str, routing_key: str, body: bytes = b"m") -> None:
    with pika.BlockingConnection(pika.URLParameters(url)) as connection:
        connection.channel().basic_publish(exchange, routing_key, body)


def test_put_queue_creates_then_answers_204_and_amqp_sees_it(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    assert api.put(f"/api/queues/%2F/{name}", {"durable": "true"}).status == 201
    assert api.put(f"/api/queues/%2F/{name}", {"durable": True}).status == 204
    _publish(mgmt_broker.url, "", name)
    assert _queue_count(mgmt_broker.url, name) == 1
    assert api.delete(f"/api/queues/%2F/{name}").status == 204


def test_put_queue_inequivalent_is_400_with_rabbitmq_text(api: Api, name: str) -> None:
    api.put(f"/api/queues/%2F/{name}", {"durable": True})
    reply = api.put(f"/api/queues/%2F/{name}", {})
    assert reply.status == 400
    assert reply.body == {
        "error": "bad_request",
        "reason": f"inequivalent arg 'durable' for queue '{name}' in vhost '/':"
        " received 'false' but current is 'true'",
    }
    api.delete(f"/api/queues/%2F/{name}")


def test_put_queue_in_missing_vhost_and_reserved_name(api: Api, name: str) -> None:
    reply = api.put(f"/api/queues/nosuch-{name}/{name}", {})
    assert (reply.status, reply.body) == (404, {"error": "not_found", "reason": "vhost_not_found"})
    reply = api.put("/api/queues/%2F/amq.foo", {})
    assert (reply.status, reply.body) == (
        401,
        {"error": "not_authorised", "reason": "Access refused."},
    )


def test_http_declare_needs_amqp_configure_permission(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    api.put(f"/api/users/{name}", {"password": "pw", "tags": "management"})
    api.put(f"/api/permissions/%2F/{name}", {"configure": "^allowed", "write": "", "read": ""})
    user = api.as_user(name, "pw")
    assert user.put(f"/api/queues/%2F/allowed-{name}", {}).status == 201
    reply = user.put(f"/api/queues/%2F/{name}", {})
    assert (reply.status, reply.body) == (
        401,
        {"error": "not_authorised", "reason": "Access refused."},
    )
    reply = user.post(
        f"/api/queues/%2F/allowed-{name}/get",
        {"count": 1, "ackmode": "ack_requeue_true", "encoding": "auto"},
    )
    assert reply.body == {
        "error": "not_authorised",
        "reason": f"ACCESS_REFUSED - access to queue 'allowed-{name}' in vhost '/'"
        f" refused for user '{name}'",
    }
    message = {"properties": {}, "routing_key": "k", "payload": "x", "payload_encoding": "string"}
    reply = user.post("/api/exchanges/%2F/amq.direct/publish", message)
    assert reply.body == {
        "error": "bad_request",
        "reason": "403 ACCESS_REFUSED - access to exchange 'amq.direct' in vhost '/'"
        f" refused for user '{name}'",
    }
    assert user.delete(f"/api/queues/%2F/allowed-{name}/contents").status == 401
    assert name not in mgmt_broker.server.state.vhosts["/"].queues
    api.delete(f"/api/queues/%2F/allowed-{name}")
    api.delete(f"/api/users/{name}")


def test_delete_queue_if_empty_and_missing(api: Api, mgmt_broker: BrokerThread, name: str) -> None:
    api.put(f"/api/queues/%2F/{name}", {})
    _publish(mgmt_broker.url, "", name)
    reply = api.delete(f"/api/queues/%2F/{name}?if-empty=true")
    assert reply.body == {
        "error": "bad_request",
        "reason": f"queue '{name}' in vhost '/' not empty",
    }
    assert api.delete(f"/api/queues/%2F/{name}/contents").status == 204
    assert _queue_count(mgmt_broker.url, name) == 0
    assert api.delete(f"/api/queues/%2F/{name}?if-empty=true").status == 204
    reply = api.delete(f"/api/queues/%2F/{name}")
    assert (reply.status, reply.body) == (404, {"error": "Object Not Found", "reason": "Not Found"})
    assert api.delete(f"/api/queues/%2F/{name}/contents").status == 404


def test_exchange_put_delete_and_reserved(api: Api, name: str) -> None:
    assert api.put(f"/api/exchanges/%2F/{name}", {}).status == 201
    assert api.put(f"/api/exchanges/%2F/{name}", {"type": "direct"}).status == 204
    reply = api.put(f"/api/exchanges/%2F/{name}", {"type": "fanout"})
    assert reply.status == 400
    assert reply.body["reason"].startswith(f"inequivalent arg 'type' for exchange '{name}'")
    assert api.put(f"/api/exchanges/%2F/x-{name}", {"type": "nosuch"}).body == {
        "error": "bad_request",
        "reason": "invalid exchange type 'nosuch'",
    }
    assert api.delete("/api/exchanges/%2F/amq.direct").status == 401
    assert api.delete(f"/api/exchanges/%2F/{name}").status == 204
    assert api.delete(f"/api/exchanges/%2F/{name}").status == 404


def test_binding_post_routes_and_delete_by_properties_key(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    api.put(f"/api/exchanges/%2F/{name}", {"type": "topic"})
    api.put(f"/api/queues/%2F/{name}", {})
    reply = api.post(f"/api/bindings/%2F/e/{name}/q/{name}", {"routing_key": "a.#"})
    assert reply.status == 201
    assert reply.headers["location"] == f"{q(name)}/a.%2523"
    _publish(mgmt_broker.url, name, "a.b")
    assert _queue_count(mgmt_broker.url, name) == 1
    assert api.delete(f"/api/bindings/%2F/e/{name}/q/{name}/a.%2523").status == 204
    assert api.delete(f"/api/bindings/%2F/e/{name}/q/{name}/a.%2523").status == 404
    _publish(mgmt_broker.url, name, "a.b")
    assert _queue_count(mgmt_broker.url, name) == 1
    api.delete(f"/api/queues/%2F/{name}")
    api.delete(f"/api/exchanges/%2F/{name}")


def test_binding_to_missing_objects_is_404_with_amqp_text(api: Api, name: str) -> None:
    api.put(f"/api/exchanges/%2F/{name}", {})
    reply = api.post(f"/api/bindings/%2F/e/{name}/q/nosuch-{name}", {"routing_key": "a"})
    assert (reply.status, reply.body) == (
        404,
        {"error": "not_found", "reason": f"no queue 'nosuch-{name}' in vhost '/'"},
    )
    reply = api.post(f"/api/bindings/%2F/e/nosuch-{name}/e/{name}", {})
    assert reply.body == {
        "error": "not_found",
        "reason": f"no exchange 'nosuch-{name}' in vhost '/'",
    }
    api.delete(f"/api/exchanges/%2F/{name}")


def test_exchange_to_exchange_binding(api: Api, mgmt_broker: BrokerThread, name: str) -> None:
    api.put(f"/api/exchanges/%2F/{name}", {"type": "fanout"})
    api.put(f"/api/exchanges/%2F/d-{name}", {"type": "fanout"})
    api.put(f"/api/queues/%2F/{name}", {})
    assert api.post(f"/api/bindings/%2F/e/{name}/e/d-{name}", {}).headers["location"] == (
        f"d-{q(name)}/~"
    )
    api.post(f"/api/bindings/%2F/e/d-{name}/q/{name}", {})
    _publish(mgmt_broker.url, name, "")
    assert _queue_count(mgmt_broker.url, name) == 1
    api.delete(f"/api/queues/%2F/{name}")
    api.delete(f"/api/exchanges/%2F/{name}")
    api.delete(f"/api/exchanges/%2F/d-{name}")


@pytest.mark.parametrize("reason", [None, "mgmt test"])
def test_delete_connection_closes_it_with_320(
    api: Api, mgmt_broker: BrokerThread, reason: str | None
) -> None:
    params = pika.URLParameters(mgmt_broker.url)
    params.client_properties = {"connection_name": f"close-{reason}"}
    connection = pika.BlockingConnection(params)
    try:

        def api_name() -> str | None:
            # (GET /api/connections is another route family: the name is built as it is)
            for live in list(mgmt_broker.server.connections):
                session = live.session
                if session and session.client_properties.get("connection_name") in (
                    f"close-{reason}",
                    f"close-{reason}".encode(),
                ):
                    return f"{session.peer} -> 127.0.0.1:{mgmt_broker.port}"
            return None

        connection_name = wait_until(api_name, "the connection to be open")
        headers = {"X-Reason": reason} if reason else None
        assert api.delete(f"/api/connections/{q(connection_name)}", headers=headers).status == 204
        with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as closed:
            connection.process_data_events(time_limit=5)
        expected = reason or "Closed via management plugin"
        assert closed.value.reply_code == 320
        assert closed.value.reply_text == f"CONNECTION_FORCED - {expected}"
    finally:
        if connection.is_open:
            connection.close()
    assert api.delete("/api/connections/nosuch").status == 404


def _consume_one(url: str, queue: str) -> tuple[bytes, pika.BasicProperties]:
    with pika.BlockingConnection(pika.URLParameters(url)) as connection:
        channel = connection.channel()
        for _method, properties, body in channel.consume(queue, inactivity_timeout=5):
            assert body is not None, "no message came"
            return body, properties
    raise AssertionError("unreachable")


def test_published_over_http_is_consumed_with_pika(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    api.put(f"/api/queues/%2F/{name}", {})
    reply = api.post(
        "/api/exchanges/%2F/amq.default/publish",
        {
            "properties": {"headers": {"h": "v"}, "delivery_mode": 2, "content_type": "text/x"},
            "routing_key": name,
            "payload": "aGk=",
            "payload_encoding": "base64",
        },
    )
    assert (reply.status, reply.body) == (200, {"routed": True})
    body, properties = _consume_one(mgmt_broker.url, name)
    assert body == b"hi"
    assert (properties.content_type, properties.delivery_mode) == ("text/x", 2)
    assert properties.headers == {"h": "v"}
    api.delete(f"/api/queues/%2F/{name}")


def test_publish_unroutable_missing_exchange_and_missing_keys(api: Api, name: str) -> None:
    message = {"properties": {}, "routing_key": name, "payload": "x", "payload_encoding": "string"}
    assert api.post("/api/exchanges/%2F/amq.default/publish", message).body == {"routed": False}
    reply = api.post(f"/api/exchanges/%2F/nosuch-{name}/publish", message)
    assert (reply.status, reply.body) == (
        400,
        {
            "error": "bad_request",
            "reason": f"404 NOT_FOUND - no exchange 'nosuch-{name}' in vhost '/'",
        },
    )
    reply = api.post("/api/exchanges/%2F/amq.default/publish", {"routing_key": "a"})
    assert reply.body == {
        "error": "bad_request",
        "reason": "[{key_missing,properties},\n {key_missing,payload},\n"
        " {key_missing,payload_encoding}]",
    }


def test_get_requeues_then_acks(api: Api, mgmt_broker: BrokerThread, name: str) -> None:
    api.put(f"/api/queues/%2F/{name}", {})
    _publish(mgmt_broker.url, "", name, b"hello")
    path = f"/api/queues/%2F/{name}/get"
    first = api.post(path, {"count": "5", "ackmode": "reject_requeue_true", "encoding": "auto"})
    assert first.body == [
        {
            "payload_bytes": 5,
            "redelivered": False,
            "exchange": "",
            "routing_key": name,
            "message_count": 0,
            "properties": [],
            "payload": "hello",
            "payload_encoding": "string",
        }
    ]
    second = api.post(
        path, {"count": 1, "ackmode": "ack_requeue_false", "encoding": "base64", "truncate": 2}
    )
    [item] = second.body
    assert (item["redelivered"], item["payload"], item["payload_encoding"]) == (
        True,
        "aGU=",
        "base64",
    )
    assert item["payload_bytes"] == 5
    assert (
        api.post(path, {"count": 1, "ackmode": "ack_requeue_true", "encoding": "auto"}).body == []
    )
    assert _queue_count(mgmt_broker.url, name) == 0
    api.delete(f"/api/queues/%2F/{name}")


def test_get_errors(api: Api, name: str) -> None:
    reply = api.post(f"/api/queues/%2F/{name}/get", {"count": 1})
    assert reply.body == {
        "error": "bad_request",
        "reason": "[{key_missing,ackmode},{key_missing,encoding}]",
    }
    body = {"count": 1, "ackmode": "ack_requeue_true", "encoding": "auto"}
    reply = api.post(f"/api/queues/%2F/{name}/get", body)
    assert (reply.status, reply.body) == (
        404,
        {"error": "not_found", "reason": f"NOT_FOUND - no queue '{name}' in vhost '/'"},
    )
    api.put(f"/api/queues/%2F/{name}", {})
    reply = api.post(f"/api/queues/%2F/{name}/get", {**body, "ackmode": "bad"})
    assert (reply.status, reply.raw) == (500, b"")
    api.delete(f"/api/queues/%2F/{name}")


def test_publish_over_http_reaches_a_waiting_consumer(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    api.put(f"/api/queues/%2F/{name}", {})
    with pika.BlockingConnection(pika.URLParameters(mgmt_broker.url)) as connection:
        channel = connection.channel()
        got: list[bytes] = []
        channel.basic_consume(name, lambda _ch, _m, _p, body: got.append(body), auto_ack=True)
        connection.process_data_events(time_limit=0)
        message = {"properties": {}, "routing_key": name, "payload": "live"}
        reply = api.post(
            "/api/exchanges/%2F/amq.default/publish", {**message, "payload_encoding": "string"}
        )
        assert reply.body == {"routed": True}
        wait_until(lambda: got or connection.process_data_events(time_limit=0.05), "delivery")
        assert got == [b"live"]
    api.delete(f"/api/queues/%2F/{name}")


def test_only_administrators_close_other_users_connections(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    api.put(f"/api/users/{name}", {"password": "pw", "tags": "management"})
    api.put(f"/api/permissions/%2F/{name}", {"configure": ".*", "write": ".*", "read": ".*"})
    with pika.BlockingConnection(pika.URLParameters(mgmt_broker.url)) as connection:
        local = connection._impl._transport._sock.getsockname()  # (the client's own port)
        connection_name = f"{local[0]}:{local[1]} -> 127.0.0.1:{mgmt_broker.port}"
        reply = api.as_user(name, "pw").delete(f"/api/connections/{q(connection_name)}")
        assert (reply.status, reply.body) == (
            401,
            {"error": "not_authorised", "reason": "User not authorised to access object"},
        )
        assert connection.is_open
    api.delete(f"/api/users/{name}")


def test_publish_user_id_needs_impersonator(api: Api, name: str) -> None:
    message = {"routing_key": "k", "payload": "x", "payload_encoding": "string"}
    foreign = {**message, "properties": {"user_id": "someone-else"}}
    reply = api.post("/api/exchanges/%2F/amq.direct/publish", foreign)
    assert reply.body == {
        "error": "bad_request",
        "reason": "406 PRECONDITION_FAILED - user_id property set to 'someone-else'"
        " but authenticated user was 'guest'",
    }
    api.put(f"/api/users/{name}", {"password": "pw", "tags": "management,impersonator"})
    api.put(f"/api/permissions/%2F/{name}", {"configure": "", "write": ".*", "read": ""})
    reply = api.as_user(name, "pw").post("/api/exchanges/%2F/amq.direct/publish", foreign)
    assert (reply.status, reply.body) == (200, {"routed": False})
    api.delete(f"/api/users/{name}")
