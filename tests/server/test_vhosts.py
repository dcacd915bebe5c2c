"""Virtual hosts created and deleted while the broker runs (the pytest plugin's isolation).

What RabbitMQ 3.10.8 does when a vhost is deleted (``DELETE /api/vhosts/NAME``): its queues go
first, so a consumer that announced ``consumer_cancel_notify`` gets basic.cancel; then every
connection on the vhost gets connection.close 320 "CONNECTION_FORCED - vhost 'NAME' is
deleted" (class 0, method 0).  Connections on other vhosts carry on.  connection.open to a
vhost that is not there is 530 "NOT_ALLOWED - vhost NAME not found" (class 10, method 40).

Against an external broker the vhosts are made through its management API, at
``AMQPBROKER_TEST_MANAGEMENT_URL`` (e.g. ``http://guest:guest@127.0.0.1:15673``); without it
these tests are skipped there.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import aio_pika
import pika
import pika.exceptions
import pytest
from clientutil import EXTERNAL_URL, channel_error
from pamqp import commands
from rawamqp import BrokerClosed, RawAMQP

from amqpbroker.config import amqp_url
from amqpbroker.embedded.broker import Broker, BrokerThread
from amqpbroker.testing.polling import DEADLINE

OWN_BROKER = pytest.mark.skipif(bool(EXTERNAL_URL), reason="runs a broker of its own")
MANAGEMENT_URL = os.environ.get("AMQPBROKER_TEST_MANAGEMENT_URL")


class ManagementAPI:
    """Vhosts of an external RabbitMQ, through its management HTTP API."""

    def __init__(self, management_url: str, broker: Any) -> None:
        parts = urlparse(management_url)
        self.base = f"{parts.scheme}://{parts.hostname}:{parts.port}/api"
        credentials = f"{parts.username or 'guest'}:{parts.password or 'guest'}"
        self.auth = "Basic " + base64.b64encode(credentials.encode()).decode()
        self.broker = broker

    def _call(self, method: str, path: str, body: Any = None) -> None:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": self.auth, "content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=DEADLINE):
            pass

    def add_vhost(self, name: str) -> None:
        self._call("PUT", f"/vhosts/{quote(name, safe='')}")
        permissions = {"configure": ".*", "write": ".*", "read": ".*"}
        self._call("PUT", f"/permissions/{quote(name, safe='')}/guest", permissions)

    def delete_vhost(self, name: str) -> None:
        self._call("DELETE", f"/vhosts/{quote(name, safe='')}")

    def url_for(self, vhost: str) -> str:
        return amqp_url("guest", "guest", self.broker.host, self.broker.port, vhost)


@pytest.fixture
def admin(broker: Any) -> Any:
    """What creates and deletes vhosts: the broker itself, or RabbitMQ's management API."""
    if not EXTERNAL_URL:
        return broker
    if not MANAGEMENT_URL:
        pytest.skip("set AMQPBROKER_TEST_MANAGEMENT_URL to manage an external broker's vhosts")
    return ManagementAPI(MANAGEMENT_URL, broker)


@pytest.fixture
def new_vhost(admin: Any, unique: Callable[[str], str]) -> Iterator[Callable[[], str]]:
    """``new_vhost()`` creates a uniquely named vhost; any left are deleted at the end."""
    made: list[str] = []

    def make() -> str:
        name = unique(f"plugin-vhost-{len(made)}")
        admin.add_vhost(name)
        made.append(name)
        return name

    yield make
    for name in made:
        with contextlib.suppress(LookupError, urllib.error.HTTPError):  # the test deleted it
            admin.delete_vhost(name)


def connect(url: str) -> pika.BlockingConnection:
    return pika.BlockingConnection(pika.URLParameters(url))


def test_a_new_vhost_has_its_own_queues(admin: Any, new_vhost: Callable[[], str]) -> None:
    first, second = new_vhost(), new_vhost()
    with connect(admin.url_for(first)) as a, connect(admin.url_for(second)) as b:
        a.channel().queue_declare("orders")
        code, text = channel_error(b, lambda ch: ch.queue_declare("orders", passive=True))
    assert (code, text) == (404, f"NOT_FOUND - no queue 'orders' in vhost '{second}'")


def test_deleting_a_vhost_closes_its_connections_with_320(
    admin: Any, new_vhost: Callable[[], str]
) -> None:
    name = new_vhost()
    connection = connect(admin.url_for(name))
    connection.channel().queue_declare("orders")
    admin.delete_vhost(name)
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as closed:
        connection.process_data_events(DEADLINE)
    assert (closed.value.reply_code, closed.value.reply_text) == (
        320,
        f"CONNECTION_FORCED - vhost '{name}' is deleted",
    )


def test_a_consumer_is_cancelled_before_its_connection_closes(
    broker: Any, admin: Any, new_vhost: Callable[[], str]
) -> None:
    name = new_vhost()
    with RawAMQP.connect(broker.host, broker.port, vhost=name) as raw:
        raw.open_channel(1)
        raw.send_method(1, commands.Queue.Declare(queue="orders"))
        raw.expect_method(commands.Queue.DeclareOk)
        raw.send_method(1, commands.Basic.Consume(queue="orders", consumer_tag="ctag"))
        raw.expect_method(commands.Basic.ConsumeOk)
        admin.delete_vhost(name)
        (ch1, cancel), (ch0, close) = raw.recv_frame(DEADLINE), raw.recv_frame(DEADLINE)
        raw.send_method(0, commands.Connection.CloseOk())
        assert raw.wait_closed(DEADLINE)
    assert (ch1, cancel.consumer_tag, cancel.nowait) == (1, "ctag", True)
    assert ch0 == 0
    assert (close.reply_code, close.reply_text, close.class_id, close.method_id) == (
        320,
        f"CONNECTION_FORCED - vhost '{name}' is deleted",
        0,
        0,
    )


def test_connections_on_other_vhosts_carry_on(admin: Any, new_vhost: Callable[[], str]) -> None:
    doomed, kept = new_vhost(), new_vhost()
    with connect(admin.url_for(kept)) as survivor:
        channel = survivor.channel()
        channel.queue_declare("orders")
        admin.delete_vhost(doomed)
        channel.basic_publish("", "orders", b"still here")
        assert channel.queue_declare("orders", passive=True).method.message_count == 1


def test_a_deleted_vhost_cannot_be_opened(
    broker: Any, admin: Any, new_vhost: Callable[[], str]
) -> None:
    name = new_vhost()
    admin.delete_vhost(name)
    with pytest.raises(BrokerClosed) as refused:
        RawAMQP.connect(broker.host, broker.port, vhost=name)
    error = refused.value
    assert (error.reply_code, error.reply_text, error.class_id, error.method_id) == (
        530,
        f"NOT_ALLOWED - vhost {name} not found",
        10,
        40,
    )


def test_a_recreated_vhost_starts_empty(admin: Any, new_vhost: Callable[[], str]) -> None:
    name = new_vhost()
    with connect(admin.url_for(name)) as connection:
        channel = connection.channel()
        channel.exchange_declare("events", "fanout", durable=True)
        channel.queue_declare("orders", durable=True)
        channel.basic_publish("", "orders", b"gone", pika.BasicProperties(delivery_mode=2))
    admin.delete_vhost(name)
    admin.add_vhost(name)
    with connect(admin.url_for(name)) as connection:
        code, text = channel_error(connection, lambda ch: ch.queue_declare("orders", passive=True))
        assert (code, text) == (404, f"NOT_FOUND - no queue 'orders' in vhost '{name}'")
        code, text = channel_error(
            connection, lambda ch: ch.exchange_declare("events", "fanout", passive=True)
        )
        assert (code, text) == (404, f"NOT_FOUND - no exchange 'events' in vhost '{name}'")


def test_a_vhost_name_with_a_slash_reaches_pika_and_aio_pika(
    admin: Any, unique: Callable[[str], str]
) -> None:
    name = unique("plugin/with/slashes")
    admin.add_vhost(name)
    try:
        url = admin.url_for(name)
        assert "%2F" in url and url.endswith("%2Fslashes-" + name.rsplit("-", 1)[1])
        with connect(url) as connection:
            connection.channel().queue_declare("orders")

        async def declare_passively() -> int:
            async with await aio_pika.connect(url) as conn:
                channel = await conn.channel()
                queue = await channel.declare_queue("orders", passive=True)
                return queue.declaration_result.message_count

        assert asyncio.run(declare_passively()) == 0
    finally:
        admin.delete_vhost(name)


# -- the embedded broker's own API ------------------------------------------------------------


@pytest.fixture
def own_broker(broker_factory: Callable[..., Any]) -> BrokerThread:
    broker: BrokerThread = broker_factory()
    return broker


def test_vhosts_lists_the_default_and_the_added(own_broker: BrokerThread) -> None:
    own_broker.add_vhost("plugin-a")
    own_broker.add_vhost("plugin-b")
    assert own_broker.vhosts == ["/", "plugin-a", "plugin-b"]
    own_broker.delete_vhost("plugin-a")
    assert own_broker.vhosts == ["/", "plugin-b"]


def test_adding_an_existing_vhost_keeps_what_is_in_it(own_broker: BrokerThread) -> None:
    own_broker.add_vhost("plugin-a")
    with connect(own_broker.url_for("plugin-a")) as connection:
        connection.channel().queue_declare("orders")
        own_broker.add_vhost("plugin-a")
        connection.channel().queue_declare("orders", passive=True)


def test_deleting_an_unknown_vhost_is_a_lookup_error(own_broker: BrokerThread) -> None:
    with pytest.raises(LookupError, match="no vhost 'plugin-nowhere'"):
        own_broker.delete_vhost("plugin-nowhere")


def test_url_for_the_default_vhost_is_the_broker_url(own_broker: BrokerThread) -> None:
    assert own_broker.url_for("/") == own_broker.url


@OWN_BROKER
async def test_the_async_broker_manages_vhosts_on_its_own_loop() -> None:
    async with Broker() as broker:
        broker.add_vhost("plugin-async")
        connection = await aio_pika.connect(broker.url_for("plugin-async"))
        closed: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()
        connection.close_callbacks.add(lambda _, exc: closed.set_result(exc))
        broker.delete_vhost("plugin-async")
        error = await asyncio.wait_for(closed, DEADLINE)
        assert "vhost 'plugin-async' is deleted" in str(error)
        assert broker.vhosts == ["/"]


@OWN_BROKER
def test_a_runtime_vhost_and_its_durable_queue_survive_a_restart(tmp_path: Path) -> None:
    with BrokerThread(data_dir=str(tmp_path)) as broker:
        broker.add_vhost("plugin-kept")
        broker.add_vhost("plugin-empty")
        broker.add_vhost("plugin-dropped")
        for name in ("plugin-kept", "plugin-dropped"):
            with connect(broker.url_for(name)) as connection:
                channel = connection.channel()
                channel.confirm_delivery()
                channel.queue_declare("orders", durable=True)
                channel.basic_publish(
                    "", "orders", name.encode(), pika.BasicProperties(delivery_mode=2)
                )
        broker.delete_vhost("plugin-dropped")
    with BrokerThread(data_dir=str(tmp_path)) as broker:
        assert broker.vhosts == ["/", "plugin-kept", "plugin-empty"]
        with connect(broker.url_for("plugin-kept")) as connection:
            _, _, body = connection.channel().basic_get("orders", auto_ack=True)
            assert body == b"plugin-kept"
