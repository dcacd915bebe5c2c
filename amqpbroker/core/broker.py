"""The broker model: virtual hosts by name."""

from __future__ import annotations

from collections import deque
from typing import Any

from amqpbroker.config import BrokerConfig
from amqpbroker.errors import NotAllowed

from .journeys import switch_tracing
from .limits import VhostLimits
from .message import Message
from .ports import Clock, HeaderRewriter, ManualClock, NullStore, Store, unchanged_header
from .publish_log import PublishRecord, publish_log
from .stats import BrokerStats
from .vhost import VirtualHost


class BrokerState:
    """All vhosts of one broker; created with the configured default vhost."""

    def __init__(
        self,
        config: BrokerConfig,
        store: Store[Message] | None = None,
        clock: Clock | None = None,
        rewrite_dead_letter: HeaderRewriter = unchanged_header,
        *,
        with_default_vhost: bool = True,
    ) -> None:
        """``with_default_vhost=False``: start without vhosts (a server recovering a data
        directory, where the default vhost is recorded once, on a blank store)."""
        self.config = config
        self.rewrite_dead_letter = rewrite_dead_letter
        self.store: Store[Message] = store or NullStore()
        self.clock: Clock = clock or ManualClock()
        self.vhosts: dict[str, VirtualHost] = {}
        # open connections and channels by user, for the per-user limits (the session counts)
        self.user_connections: dict[str, int] = {}
        self.user_channels: dict[str, int] = {}
        self.stats = BrokerStats()  # churn and what closed channels counted (core.stats)
        # Direct reply-to consumers by the suffix of their amq.rabbitmq.reply-to.* name: the
        # session layer owns them; they are broker-wide, as a reply may come from any vhost.
        self.reply_consumers: dict[str, Any] = {}
        # What clients published (config.record_published), appended to by the session.
        self.published: deque[PublishRecord] | None = (
            publish_log(config.published_limit) if config.record_published else None
        )
        # Deleted vhosts whose tracing was on: RabbitMQ keeps tracing by vhost name (an
        # application setting), so a vhost made again under that name traces at once.
        self.traced_deleted: set[str] = set()
        if with_default_vhost:
            self._new_vhost(config.default_vhost)  # from the configuration: not recorded

    def _new_vhost(self, name: str) -> VirtualHost:
        vhost = self.vhosts[name] = VirtualHost(name, self.store, self.clock)
        vhost.rewrite_dead_letter = self.rewrite_dead_letter
        vhost.stats = self.stats
        if name in self.traced_deleted:
            self.traced_deleted.discard(name)
            switch_tracing(vhost, True)
        return vhost

    def apply_vhost_limits(self, name: str, value: Any) -> None:
        """The vhost's ``vhost-limits`` parameter changed to ``value`` (None: cleared)."""
        vhost = self.vhosts.get(name)
        if vhost is not None:
            vhost.limits = VhostLimits.from_value(value)

    def add_vhost(self, name: str) -> VirtualHost:
        """The vhost ``name``, created if new (a durable broker records it, so it and its
        durable queues come back after a restart, as RabbitMQ's do)."""
        vhost = self.vhosts.get(name)
        if vhost is None:
            vhost = self._new_vhost(name)
            self.store.vhost_added(name)
        return vhost

    def put_vhost(
        self, name: str, description: str = "", tags: tuple[str, ...] = ()
    ) -> VirtualHost:
        """Create vhost ``name`` or update its description and tags (RabbitMQ's
        ``put_vhost``); recorded either way."""
        vhost = self.vhosts.get(name) or self._new_vhost(name)
        vhost.description, vhost.tags = description, tuple(tags)
        self.store.vhost_added(name, description, vhost.tags)
        return vhost

    def delete_vhost(self, name: str) -> VirtualHost:
        """Delete a vhost as RabbitMQ does: every queue (its consumers are cancelled, a
        durable one leaves the store with its messages), then every exchange.  Returns it:
        the caller closes the connections still on it.  ``LookupError`` if there is none."""
        vhost = self.vhosts.pop(name, None)
        if vhost is None:
            raise LookupError(f"no vhost '{name}'")
        vhost.delete_contents()
        if vhost.tracing:
            self.traced_deleted.add(name)
        self.store.vhost_deleted(name)
        return vhost

    def recovered(self) -> None:
        """Recovery put every durable queue back and the store writes again: now each
        queue can drop what expired while the broker was down, or dead-letter it into
        queues that are all there."""
        for vhost in self.vhosts.values():
            for queue in list(vhost.queues.values()):
                queue.recovered()

    def forget_transient(self) -> None:
        """Lose what a RabbitMQ restart loses, keeping the rest (vhosts included): for a
        broker without a data directory, ``storage.recovery`` rebuilds the same from disk.
        Call it once every connection is closed (their unacked messages requeued).  Tracing
        goes off, as it is not kept over a restart."""
        self.traced_deleted.clear()
        for vhost in self.vhosts.values():
            vhost.forget_transient()
            switch_tracing(vhost, False)

    def vhost(self, name: str) -> VirtualHost:
        try:
            return self.vhosts[name]
        except KeyError:
            raise NotAllowed(f"vhost {name} not found") from None
