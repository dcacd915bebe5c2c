"""What every item builder needs to know about the node, gathered once per response.

The views are plain functions of the broker's objects; what those objects do not know
(the node's name, when it started, the address clients connected to, who declared what)
comes in a ``ViewContext`` that the HTTP layer builds once per request, and an
``UnackedIndex`` that counts each queue's unacknowledged deliveries in one walk over the
channels (so 10,000 queue items cost one pass, not 10,000).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from amqpbroker.core.message import Message
    from amqpbroker.core.queue import Queue
    from amqpbroker.session.channel import Channel
    from amqpbroker.session.connection import ConnectionSession

INTERNAL_ACTOR = "rmq-internal"  # RabbitMQ's user_who_performed_action for built-ins


@dataclass(frozen=True)
class ViewContext:
    """Facts about the node the items repeat."""

    node: str = "rabbit@localhost"
    # The AMQP listener's "ip:port": the right half of a connection's name.
    local_address: str = "127.0.0.1:5672"
    # Connections that came in elsewhere (AMQPS): peer "ip:port" -> local "ip:port".
    local_addresses: Mapping[str, str] = field(default_factory=dict)
    # Peers whose connection is TLS: peer "ip:port" -> facts (see ``TLSFacts``).
    tls: Mapping[str, TLSFacts] = field(default_factory=dict)
    # When each connection was accepted: peer "ip:port" -> epoch seconds.
    connected_at: Mapping[str, float] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)  # epoch seconds
    # Who declared what RabbitMQ would say a user declared (this broker does not record
    # it): the default user.
    default_actor: str = "guest"
    # The open connections (a vhost's octets add theirs to what closed ones left).
    sessions: tuple[ConnectionSession, ...] = ()

    def connection_name(self, peer: str) -> str:
        """RabbitMQ's connection name: "127.0.0.1:48970 -> 127.0.0.1:5673"."""
        return f"{peer} -> {self.local_addresses.get(peer, self.local_address)}"

    def local_port(self, peer: str) -> int:
        _, _, port = self.local_addresses.get(peer, self.local_address).rpartition(":")
        return int(port) if port.isdigit() else 0

    def local_host(self, peer: str) -> str:
        return self.local_addresses.get(peer, self.local_address).rpartition(":")[0]


@dataclass(frozen=True)
class TLSFacts:
    """A TLS connection as RabbitMQ shows it (``ssl_*`` and ``peer_cert_*``)."""

    protocol: str  # "tlsv1.3"
    cipher: str  # "aes_256_gcm"
    key_exchange: str  # "ecdhe_rsa"
    hash: str  # "sha384" (or "aead")
    peer_cert_subject: str | None = None
    peer_cert_issuer: str | None = None
    peer_cert_validity: str | None = None


class UnackedIndex:
    """Unacknowledged deliveries per queue, counted in one walk over the channels: how
    many, their body bytes, and how many of them (and bytes) are persistent."""

    def __init__(self, sessions: Iterable[ConnectionSession] = ()) -> None:
        # id(queue) -> [count, bytes, persistent count, persistent bytes]
        self._by_queue: dict[int, list[int]] = {}
        for session in sessions:
            for channel in session.channels.values():
                self.add_channel(channel)

    def add_channel(self, channel: Channel) -> None:
        for entry in channel.unacked.values():
            self._add(entry.queue, entry.envelope.message)
        if channel.tx is not None:  # settlements held by a transaction are still unacked
            for _tags, entries, _outcome in channel.tx.settlements:
                for held in entries:
                    self._add(held.queue, held.envelope.message)

    def _add(self, queue: Queue, message: Message) -> None:
        counts = self._by_queue.get(id(queue))
        if counts is None:
            counts = self._by_queue[id(queue)] = [0, 0, 0, 0]
        size = len(message.body)
        counts[0] += 1
        counts[1] += size
        if queue.durable and (message.persistent or queue.ready.keeps_transient):
            counts[2] += 1
            counts[3] += size

    def count(self, queue: Queue) -> int:
        found = self._by_queue.get(id(queue))
        return found[0] if found else 0

    def bytes(self, queue: Queue) -> int:
        found = self._by_queue.get(id(queue))
        return found[1] if found else 0

    def persistent(self, queue: Queue) -> tuple[int, int]:
        """(count, bytes) of the persistent ones."""
        found = self._by_queue.get(id(queue))
        return (found[2], found[3]) if found else (0, 0)
