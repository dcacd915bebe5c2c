"""The read-only object routes side by side: the same vhost, queues, exchange, binding and
consumer made over AMQP on RabbitMQ 3.10.8 and on amqpbroker, then the same GETs; statuses,
error bodies and key sets must agree (``test_mgmt_differential.same``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

import pika
import pytest
from mgmt_http import Api, Reply, q
from test_mgmt_differential import Both, same

from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.testing.polling import wait_until

pytestmark = pytest.mark.differential

REFERENCE_AMQP = urlparse(
    os.environ.get("AMQPBROKER_REFERENCE_URL", "amqp://guest:guest@127.0.0.1:5673/")
)


@pytest.fixture
def compare(reference_api: Api, our_api: Api) -> Both:
    """``compare(method, path, body, user=(name, password))``: both replies, compared."""

    def call(
        method: str, path: str, body: Any = None, user: tuple[str, str] | None = None
    ) -> tuple[Reply, Reply]:
        apis = (reference_api, our_api)
        if user is not None:
            apis = (reference_api.as_user(*user), our_api.as_user(*user))
        reference, ours = (api.call(method, path, body) for api in apis)
        same(reference, ours, what=f"{method} {path}")
        return reference, ours

    return call


def _objects(host: str, port: int, vhost: str) -> pika.BlockingConnection:
    """q1 and q2, exchange x bound to q1 with key k, one message unacked to a consumer."""
    parameters = pika.ConnectionParameters(host, port, vhost)
    connection = pika.BlockingConnection(parameters)
    channel = connection.channel()
    channel.queue_declare("q1")
    channel.queue_declare("q2")
    channel.exchange_declare("x", "direct")
    channel.queue_bind("q1", "x", "k")
    channel.basic_publish("x", "k", b"hello")
    channel.basic_consume("q1", lambda *args: None)
    connection.process_data_events(time_limit=0.2)
    return connection


@pytest.fixture
def vhost(
    reference_api: Api, our_api: Api, our_broker: BrokerThread, new_name: Callable[[], str]
) -> Iterator[str]:
    """A vhost of the same name on both, with the same objects in it (guest connected)."""
    name = new_name()
    for api in (reference_api, our_api):
        assert api.put(f"/api/vhosts/{q(name)}").status == 201
    connections = [
        _objects(REFERENCE_AMQP.hostname or "127.0.0.1", REFERENCE_AMQP.port or 5672, name),
        _objects("127.0.0.1", our_broker.port, name),
    ]
    v = q(name)
    # RabbitMQ lists its objects' full keys once their first statistics arrive (~5 s).
    wait_until(lambda: _stats_arrived(reference_api, v), "the reference's statistics", timeout=20)
    try:
        yield name
    finally:
        for connection in connections:
            connection.close()


def _stats_arrived(api: Api, v: str) -> bool:
    queues = api.get(f"/api/queues/{v}").body
    channels = api.get(f"/api/vhosts/{v}/channels").body
    connections = api.get(f"/api/vhosts/{v}/connections").body
    consumers = api.get(f"/api/consumers/{v}").body  # listed later than the queues at times
    return (
        len(queues) == 2
        and len(consumers) == 1
        and all("message_bytes_ready" in item for item in queues)
        and len(channels) == len(connections) == 1
        and all("garbage_collection" in item for item in [*channels, *connections])
        # (a connection's and a channel's reductions come from another collector, later)
        and all("reductions" in item for item in [*channels, *connections])
    )


def test_queue_and_exchange_routes(compare: Both, vhost: str) -> None:
    v = q(vhost)
    for path in (
        f"/api/queues/{v}",
        f"/api/queues/{v}/q1",
        f"/api/queues/{v}/q2",
        f"/api/queues/{v}/q1/bindings",
        f"/api/queues/{v}/nosuch",
        "/api/queues/mgmt-read-nosuch-vhost",
        f"/api/queues/{v}?disable_stats=true",
        f"/api/queues/{v}?columns=name,messages&sort=name&sort_reverse=true",
        f"/api/queues/{v}?page=1&page_size=1",
        f"/api/queues/{v}?page=0",
        f"/api/exchanges/{v}",
        f"/api/exchanges/{v}/x",
        f"/api/exchanges/{v}/amq.default",
        f"/api/exchanges/{v}/nosuch",
        f"/api/exchanges/{v}/x/bindings/source",
        f"/api/exchanges/{v}/x/bindings/destination",
        f"/api/exchanges/{v}/amq.default/bindings/source",
    ):
        compare("GET", path)


def test_binding_routes(compare: Both, vhost: str) -> None:
    v = q(vhost)
    for path in (
        f"/api/bindings/{v}",
        f"/api/bindings/{v}/e/x/q/q1",
        f"/api/bindings/{v}/e/x/q/q1/k",
        f"/api/bindings/{v}/e/x/q/q1/nosuch",
        f"/api/bindings/{v}/e/x/q/nosuch",
        f"/api/bindings/{v}/e/nosuch/q/q1",
        f"/api/bindings/{v}/e/amq.default/q/nosuch",
        f"/api/bindings/{v}/e/amq.default/q/nosuch/nosuch",
        "/api/bindings/mgmt-read-nosuch/e/x/q/q1",
        f"/api/exchanges/{v}/nosuch/bindings/source",
        f"/api/queues/{v}/nosuch/bindings",
        f"/api/bindings/{v}/e/amq.direct/e/x",
    ):
        compare("GET", path)


def test_connection_channel_consumer_routes(compare: Both, vhost: str) -> None:
    v = q(vhost)
    for path in (
        f"/api/vhosts/{v}/connections",
        f"/api/vhosts/{v}/channels",
        f"/api/consumers/{v}",
        "/api/connections/nosuch",
        "/api/channels/nosuch%20(1)",
        "/api/nodes/rabbit@nowhere",
        "/api/connections/nosuch/channels",
    ):
        compare("GET", path)
    reference, ours = compare("GET", f"/api/vhosts/{v}/connections")
    assert len(reference.body) == len(ours.body) == 1


def test_who_sees_what(compare: Both, vhost: str, new_name: Callable[[], str]) -> None:
    user = new_name()
    for tags in ("management", "monitoring"):
        compare("PUT", f"/api/users/{q(user)}", {"password": "pw", "tags": tags})
        compare("GET", f"/api/queues/{q(vhost)}", user=(user, "pw"))
        compare("GET", f"/api/exchanges/{q(vhost)}", user=(user, "pw"))
        compare("GET", f"/api/bindings/{q(vhost)}", user=(user, "pw"))
        compare("GET", f"/api/consumers/{q(vhost)}", user=(user, "pw"))
        compare("GET", f"/api/vhosts/{q(vhost)}/connections", user=(user, "pw"))
