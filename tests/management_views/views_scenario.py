"""The objects RabbitMQ 3.10.8's recorded responses were taken from, rebuilt in-process.

``recorded_3_10_8.json`` (a subset of ``../shared/research/management-3.10.8-responses.json``
plus ``/api/nodes`` from the reference broker) was recorded with: vhost ``research-v``;
queue ``research-c`` (x-max-priority 5, auto-delete) with one consumer (prefetch 7) holding
one unacked message; ``research-q`` (durable, x-message-ttl 600000) with 4 messages;
``research-q2``; quorum ``research-qq``; topic exchanges ``research-x`` (bound to research-q
with ``a.#`` and with ``b.*`` and ``{"x-foo": "bar"}``, to research-t with ``c``) and
``research-t``; a pika connection named ``research-conn``.  ``scenario()`` builds the same
with the session harness, so the views' key sets can be compared with RabbitMQ's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pamqp import commands

from amqpbroker.management.views import UnackedIndex, ViewContext
from amqpbroker.testing.harness import CAPABILITIES, PROTOCOL_HEADER, Client, SessionBroker

RECORDED = json.loads((Path(__file__).parent / "recorded_3_10_8.json").read_text())
VHOST = "research-v"


def recorded(name: str) -> Any:
    return RECORDED[name]["body"]


def recorded_item(name: str, item_name: str) -> dict[str, Any]:
    return next(item for item in recorded(name) if item.get("name") == item_name)


@dataclass
class Scenario:
    broker: SessionBroker
    client: Client
    context: ViewContext

    def unacked(self) -> UnackedIndex:
        return UnackedIndex(c.session for c in self.broker.clients)


def named_client(broker: SessionBroker, vhost: str, connection_name: str) -> Client:
    """A client through the handshake that names itself (``connection_name``), as pika
    does when asked to."""
    client = broker.client("127.0.0.1:48970")
    client.send_bytes(PROTOCOL_HEADER)
    client.expect(0, commands.Connection.Start)
    properties = {
        "product": "Pika Python Client Library",
        "capabilities": CAPABILITIES,
        "connection_name": connection_name,
    }
    client.send(
        0,
        commands.Connection.StartOk(
            client_properties=properties, mechanism="PLAIN", response="\0guest\0guest"
        ),
    )
    tune = client.expect(0, commands.Connection.Tune)
    client.send(
        0,
        commands.Connection.TuneOk(
            channel_max=tune.channel_max, frame_max=tune.frame_max, heartbeat=0
        ),
    )
    client.send(0, commands.Connection.Open(virtual_host=vhost))
    client.expect(0, commands.Connection.OpenOk)
    return client


def scenario() -> Scenario:
    broker = SessionBroker()
    broker.add_vhost(VHOST)
    client = named_client(broker, VHOST, "research-conn")
    ch = client.channel()
    ch.declare("research-c", arguments={"x-max-priority": 5}, auto_delete=True)
    ch.declare("research-q", arguments={"x-message-ttl": 600000}, durable=True)
    ch.declare("research-q2")
    ch.declare("research-qq", arguments={"x-queue-type": "quorum"}, durable=True)
    ch.exchange("research-x", "topic", durable=True)
    ch.exchange("research-t", "topic", durable=True)
    ch.bind("research-q", "research-x", "a.#")
    ch.bind("research-q", "research-x", "b.*", **{"x-foo": "bar"})
    ch.call(
        commands.Exchange.Bind(destination="research-t", source="research-x", routing_key="c"),
        commands.Exchange.BindOk,
    )
    for body in (b"one", b"two", b"three", b"four"):
        ch.publish(body, routing_key="research-q")
    ch.publish(b"x", routing_key="research-c")
    ch.qos(7)
    ch.consume("research-c", "research-ctag")
    context = ViewContext(node="refrabbit@localhost", local_address="127.0.0.1:5673")
    return Scenario(broker, client, context)
