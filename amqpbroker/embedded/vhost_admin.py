"""Embedded brokers' powers: virtual hosts."""

from __future__ import annotations

from collections.abc import Iterable

from amqpbroker.access.users import parse_tags
from amqpbroker.config import amqp_url
from amqpbroker.session.tracing import switch_tracing

from .powers import LoopAccess


class VhostAdmin(LoopAccess):
    """Creating and deleting virtual hosts (the pytest plugin gives each test its own)."""

    @property
    def vhosts(self) -> list[str]:
        """The names of the broker's virtual hosts, in the order they were created."""
        return self._on_loop(lambda: list(self.server.state.vhosts))

    def add_vhost(
        self, name: str, description: str | None = None, tags: Iterable[str] | str | None = None
    ) -> None:
        """Create virtual host ``name`` (as RabbitMQ's ``PUT /api/vhosts/NAME``; if it
        exists only a given description or tags change).  The default user may use it at
        once; a durable broker keeps it across restarts.  Clients reach it at
        ``url_for(name)``."""
        tag_tuple = None if tags is None else parse_tags(tags)
        self._on_loop(self.server.add_vhost, name, description, tag_tuple)

    def delete_vhost(self, name: str) -> None:
        """Delete virtual host ``name`` as RabbitMQ's ``DELETE /api/vhosts/NAME`` does: its
        queues (consumers get basic.cancel if they asked for it) and exchanges go, durable
        ones from the disk too, and every connection on it is closed with 320
        CONNECTION_FORCED "vhost 'NAME' is deleted".  Done when this returns;
        ``LookupError`` if there is no such vhost."""
        self._on_loop(self.server.delete_vhost, name)

    def trace_on(self, vhost: str = "/") -> None:
        """Switch tracing on for ``vhost`` (RabbitMQ's ``rabbitmqctl trace_on -p VHOST``):
        the firehose publishes copies to ``amq.rabbitmq.trace`` and message journeys are
        recorded (``GET /api/journeys/VHOST``).  ``LookupError`` if there is no such vhost."""
        self._on_loop(self._switch_tracing, vhost, True)

    def trace_off(self, vhost: str = "/") -> None:
        """Switch tracing off for ``vhost`` (``rabbitmqctl trace_off``)."""
        self._on_loop(self._switch_tracing, vhost, False)

    def _switch_tracing(self, vhost: str, on: bool) -> None:
        found = self.server.state.vhosts.get(vhost)
        if found is None:
            raise LookupError(f"no vhost '{vhost}'")
        switch_tracing(found, on)

    def url_for(self, vhost: str) -> str:
        """The URL of virtual host ``vhost`` as the default user, quoted as pika and aio-pika
        expect (``/`` is the bare trailing slash, ``a/b`` becomes ``a%2Fb``)."""
        config = self.server.config
        return amqp_url(
            config.default_user, config.default_pass, config.host, self.server.port, vhost
        )
