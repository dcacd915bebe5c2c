"""Embedded brokers' powers: fault injection, to test how clients cope with a broker that
misbehaves the way RabbitMQ can.

- ``close_connections`` / ``close_connection``: connection.close with a reply code of the
  test's choosing, worded as RabbitMQ's management "force close" (``DELETE
  /api/connections/NAME``, ``rabbitmqctl close_connection``) words it;
- ``restart``: what a RabbitMQ restart does to clients and to the broker's state (``async``
  on ``Broker``, blocking on ``BrokerThread``: the ``*Restart`` mixins below);
- ``drop_heartbeats`` / ``resume_heartbeats``: a broker that goes silent.

(``block_publishers`` / ``unblock_publishers``, a resource alarm, are ``BrokerPowers``'.)
"""

from __future__ import annotations

from collections.abc import Callable

from amqpbroker.errors import CONNECTION_REPLY_NAMES, AMQPError
from amqpbroker.server.transport import AMQPProtocol

from .powers import LoopAccess

# RabbitMQ's reason when the management UI or API closes a connection without giving one.
CLOSED_BY_MANAGEMENT = "Closed via management plugin"


class InjectedClose(AMQPError):
    """A connection.close the test asked for: ``NAME - reason``, as RabbitMQ renders every
    reply text (an empty reason too: a forced close with ``X-Reason:`` empty reads
    ``CONNECTION_FORCED - ``)."""

    def __init__(self, code: int, reason: str) -> None:
        name = CONNECTION_REPLY_NAMES.get(code)
        if name is None:
            raise ValueError(
                f"{code} is not a connection-level reply code; "
                f"choose one of {sorted(CONNECTION_REPLY_NAMES)}"
            )
        super().__init__(reason)
        self.reply_code, self.reply_name = code, name

    @property
    def reply_text(self) -> str:
        return f"{self.reply_name} - {self.message}"


def is_live(protocol: AMQPProtocol) -> bool:
    """Not already closing (its client may still have to answer close-ok)."""
    session = protocol.session
    return session is not None and not (session.closing or session.closed)


def is_named(protocol: AMQPProtocol, name: str) -> bool:
    """Whether ``name`` designates this connection: its client's ``connection_name``
    property, its peer ``HOST:PORT``, or RabbitMQ's ``HOST:PORT -> HOST:PORT``."""
    session = protocol.session
    if session is None:
        return False
    given = session.client_properties.get("connection_name")
    if isinstance(given, bytes):
        given = given.decode("utf-8", "replace")
    return given == name or session.peer == name.split(" -> ", maxsplit=1)[0]


class Faults(LoopAccess):
    """Fault injection for testing client resilience (see the module docstring)."""

    def close_connections(self, code: int = 320, reason: str = CLOSED_BY_MANAGEMENT) -> int:
        """Close every client connection: connection.close ``code`` with the text
        ``"<NAME> - <reason>"``.  The defaults are what RabbitMQ's management "force close"
        sends: 320 ``CONNECTION_FORCED - Closed via management plugin``.  ``code`` is any
        connection-level reply code (320, 402, 403, 501-506, 530, 540, 541).  Each client's
        channels are closed at once (unacked messages requeued, exclusive queues gone) and
        its socket once it answers close-ok, as in RabbitMQ.  Returns how many connections
        were closed (those already closing do not count); the frames are on their way when
        this returns."""
        return self._close_where(lambda _: True, InjectedClose(code, reason))

    def close_connection(
        self, name: str, code: int = 320, reason: str = CLOSED_BY_MANAGEMENT
    ) -> int:
        """Like ``close_connections``, for the connections ``name`` designates: the
        ``connection_name`` a client announced in its client properties (pika's
        ``client_properties={"connection_name": ...}``, aio-pika's ``client_properties``),
        its address ``"HOST:PORT"`` as the broker sees it, or RabbitMQ's connection name
        ``"HOST:PORT -> HOST:PORT"``.  Several connections may share a ``connection_name``:
        all of them close.  Raises ``LookupError`` when no connection matches."""
        closed = self._close_where(
            lambda protocol: is_named(protocol, name), InjectedClose(code, reason)
        )
        if not closed:
            raise LookupError(f"no connection named {name!r}")
        return closed

    def _close_where(self, chosen: Callable[[AMQPProtocol], bool], error: AMQPError) -> int:
        def close() -> int:
            matching = [p for p in self.server.connections if is_live(p) and chosen(p)]
            for protocol in matching:
                protocol.close_by_broker(error)
            return len(matching)

        return self._on_loop(close)

    def drop_heartbeats(self) -> None:
        """Stop heartbeating, broker-wide, as a hung broker would: no connection (new ones
        included) is sent heartbeat frames, and none is dropped for missing the client's.
        A client that negotiated heartbeats and gets no other traffic notices the silence
        after its own grace period (pika: 6 to 12 s at heartbeat=1, aio-pika: about 6 s)
        and closes its connection.  Deliveries and other replies still go out, and
        count as signs of life for most clients.  A delayed heartbeat is a drop, then
        ``resume_heartbeats`` after the delay."""
        self._on_loop(setattr, self.server.heartbeats, "dropped", True)

    def resume_heartbeats(self) -> None:
        """Heartbeat again (the next one leaves within half an interval); each client's
        silence is timed afresh from now."""
        self._on_loop(setattr, self.server.heartbeats, "dropped", False)


class AwaitableRestart(LoopAccess):
    """``await broker.restart()`` for ``Broker``."""

    async def restart(self, downtime: float = 0.0) -> None:
        """Act as RabbitMQ restarting (``rabbitmqctl stop_app`` then ``start_app``).

        Every client gets connection.close 320 ``CONNECTION_FORCED - broker forced
        connection closure with reason 'shutdown'`` (pika raises ``ConnectionClosedByBroker``;
        aio-pika's ``connect_robust`` reconnects); the listener goes away for ``downtime``
        seconds (connecting is refused meanwhile) and comes back on the same port.

        Users, permissions, durable exchanges, queues and bindings, persistent messages in
        durable queues and every vhost stay; unacked messages go back to their queues marked
        redelivered.  Non-durable and exclusive queues, non-durable exchanges, bindings to
        either and transient messages in durable classic queues are gone (quorum queues keep
        all their messages, as RabbitMQ's do).  A broker with a data directory really stops and
        recovers from it; an in-memory one forgets what a restart loses.

        ``block_publishers``' alarm and ``drop_heartbeats`` stay as they were.  Clients
        still closing finish their close handshake with the old broker: the restart does
        not wait for them.
        """
        await self.server.restart(downtime)


class BlockingRestart(LoopAccess):
    """``broker.restart()`` for ``BrokerThread``."""

    def restart(self, downtime: float = 0.0) -> None:
        """What ``Broker.restart`` does (read there); returns once the broker listens
        again."""
        self._await_on_loop(self.server.restart(downtime))
