"""Publisher throttling: connection.blocked and connection.unblocked, as RabbitMQ does it.

Theory of operation.  A resource alarm (memory or disk low; for now raised through
``BrokerServer.block_publishers``) is broker-wide: one ``ResourceAlarm`` shared by every
session.  Raising it sends nothing.  A connection is caught only when it sends a content frame
(a content header or body) while the alarm is up: that frame is still handled (a publish it
completes is routed), then the connection is *blocked*: nothing more of its input is read
until the alarm clears, so its later frames wait in the socket, none lost.  A client that
announced the capability ``connection.blocked`` is told once, with connection.blocked(reason);
any other is held silently.  Connections that only consume or sit idle are never blocked, and
deliveries to every connection keep flowing.  When the alarm clears, each blocked connection
reads again, and those that were told get connection.unblocked.  A later alarm starts over.
"""

from __future__ import annotations

from collections.abc import Callable

from pamqp import commands

from amqpbroker.protocol.methods import Method


class ResourceAlarm:
    """The broker-wide alarm: ``reason`` is connection.blocked's text, None while clear."""

    __slots__ = ("reason",)

    def __init__(self) -> None:
        self.reason: str | None = None


class PublisherThrottle:
    """One connection's side of the alarm: whether it is blocked, and whether it was told."""

    __slots__ = ("_alarm", "_client_listens", "_told", "blocked")

    def __init__(self, alarm: ResourceAlarm, client_listens: Callable[[], bool]) -> None:
        self._alarm = alarm
        self._client_listens = client_listens  # asked once per block, not per frame
        self._told = False
        self.blocked = False

    @property
    def alarm_raised(self) -> bool:
        """While the alarm is on, every content frame must be seen (``content_received``)."""
        return self._alarm.reason is not None

    def content_received(self) -> Method | None:
        """A content frame was handled: under an alarm the connection is now blocked.

        Returns connection.blocked when the client is to be told (once per block)."""
        reason = self._alarm.reason
        if reason is None or self.blocked:
            return None
        self.blocked = True
        self._told = self._client_listens()
        return commands.Connection.Blocked(reason=reason) if self._told else None

    def alarm_cleared(self) -> Method | None:
        """The connection reads again; connection.unblocked if it was told it was blocked."""
        told = self._told
        self.blocked = self._told = False
        return commands.Connection.Unblocked() if told else None
