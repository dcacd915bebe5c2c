"""What a channel needs of its connection: the ``ChannelHost`` contract.

``Channel``, the method handlers and direct reply-to reach their connection only through
this interface (``ConnectionSession`` implements it), so the channel side does not depend
on the connection's internals: framing, input gating and the handshake.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from amqpbroker.access.permissions import VhostAccess
from amqpbroker.core.broker import BrokerState
from amqpbroker.core.limits import UserLimits
from amqpbroker.core.queue import Queue


class ConfirmSource(Protocol):
    """A channel with publisher confirms to send."""

    def flush_confirms(self) -> None: ...


class ChannelHost(Protocol):
    """The connection as its channels see it.  It also identifies the connection to the
    core, as the owner of its exclusive queues."""

    broker: BrokerState
    peer: str  # the client's "address:port"
    local_address: str  # the server's "address:port" it came in on ("" if unknown)
    max_body: int  # the largest body frame payload, from the negotiated frame_max
    access: VhostAccess | None  # the user's rights in the vhost (set once the connection is open)

    @property
    def user(self) -> str:
        """The authenticated user."""

    @property
    def writable(self) -> bool:
        """False while deliveries should wait (see ``session.output``)."""

    def write(self, data: bytes) -> None:
        """Queue encoded frames for the client."""

    def client_capability(self, name: str) -> bool:
        """Whether the client announced capability ``name`` in connection.start-ok."""

    def dispatch_later(self, queues: Sequence[Queue], published: bool = True) -> None:
        """Dispatch ``queues`` at the end of this run of publishes and acks
        (``published``: a publish landed there, so they may hold the connection back)."""

    def confirm_later(self, channel: ConfirmSource) -> None:
        """``channel`` has confirms to send once the input at hand is handled."""

    def hold_commands(self) -> None:
        """Handle no more input until ``resume_commands``: a reply waits for the disk."""

    def resume_commands(self) -> None: ...

    def user_limits(self) -> UserLimits:
        """The user's limits now (``core/limits.py``)."""

    def channel_closed(self, number: int) -> None:
        """Channel ``number`` finished closing (close-ok sent): its number is free."""
