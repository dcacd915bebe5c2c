"""What the management API needs of a running broker (``server/app.py`` ``BrokerServer``
provides it): the state, the users and permissions, the parameters and policies, vhost
creation and deletion with their side effects, definitions, and what listens where."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any, Protocol

from amqpbroker.access.control import AccessControl
from amqpbroker.config import BrokerConfig
from amqpbroker.core.alarms import Alarms
from amqpbroker.core.broker import BrokerState
from amqpbroker.errors import AMQPError
from amqpbroker.policies.parameters import RuntimeParameters
from amqpbroker.session.connection import ConnectionSession
from amqpbroker.session.throttle import ResourceAlarm


class LiveConnection(Protocol):
    """An accepted AMQP connection: its session once the transport has one, when it was
    accepted (epoch seconds), the "ip:port" it came in on, and its ``ssl.SSLObject`` (None
    without TLS)."""

    @property
    def session(self) -> ConnectionSession | None: ...

    def close_by_broker(self, error: AMQPError) -> None:
        """connection.close with ``error`` (the socket follows the client's close-ok)."""
        ...

    @property
    def connected_at(self) -> float: ...

    @property
    def local_address(self) -> str: ...

    @property
    def ssl_object(self) -> Any: ...


class ManagedBroker(Protocol):
    """The broker as the management API drives it; everything runs on the broker's loop."""

    config: BrokerConfig
    state: BrokerState
    access: AccessControl
    parameters: RuntimeParameters  # runtime and global parameters, policies
    alarm: ResourceAlarm

    @property
    def alarms(self) -> Alarms:
        """The measured memory and disk figures and their alarms."""
        ...

    started_at: float  # epoch seconds

    @property
    def connections(self) -> Collection[LiveConnection]: ...

    def add_vhost(
        self,
        name: str,
        description: str | None = None,
        tags: tuple[str, ...] | None = None,
        *,
        creator: str | None = None,
    ) -> bool: ...

    def delete_vhost(self, name: str) -> None: ...

    def import_definitions(self, definitions: Mapping[str, Any]) -> None: ...

    def import_steps(self, definitions: Mapping[str, Any]) -> Iterator[None]:
        """``import_definitions`` a step at a time (the first checks the whole document)."""
        ...

    async def durable(self) -> None:
        """Return once every change recorded so far is on disk."""
        ...

    def export_definitions(self) -> dict[str, Any]: ...

    def export_sections(self) -> dict[str, Any]:
        """``export_definitions`` with queues, exchanges and bindings as iterators."""
        ...

    def amqp_listeners(self) -> list[tuple[str, str, int]]:
        """(scheme, host, port) of each AMQP listener: ``amqp``, ``amqps``."""
        ...
