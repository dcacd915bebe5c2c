"""Embedded brokers' powers: inspection.

Everything here reads the broker on its event loop (``_on_loop``), so a snapshot is
consistent (taken between two events) and safe to take from a test's thread; what comes back
are the detached views of ``amqpbroker.snapshots``, never live broker objects.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

from amqpbroker.core.consumers import Consumer
from amqpbroker.core.queue import Queue
from amqpbroker.core.stats import (
    CHANNEL_FIELDS,
    CHURN_FIELDS,
    OVERVIEW_FIELDS,
    QUEUE_TOTALS_FIELDS,
)
from amqpbroker.core.vhost import VirtualHost
from amqpbroker.server.stats_timer import totals_now
from amqpbroker.session.channel import Channel, Unacked
from amqpbroker.session.connection import ConnectionSession
from amqpbroker.session.states import State
from amqpbroker.snapshots import (
    BindingView,
    ChannelView,
    ConnectionView,
    ConsumerView,
    ExchangeView,
    OverviewStats,
    PublishedMessage,
    QueueView,
    UnackedMessage,
    binding_view,
    exchange_view,
    message_view,
    published_message,
    queue_view,
)

from .powers import LoopAccess

MAX_MESSAGES = 10_000  # ready messages a queue snapshot lists unless told otherwise

_STATES = {
    State.AWAIT_HEADER: "starting",
    State.AWAIT_START_OK: "starting",
    State.AWAIT_TUNE_OK: "tuning",
    State.AWAIT_OPEN: "opening",
    State.OPEN: "running",
    State.CLOSING: "closing",
    State.CLOSED: "closed",
}


class Inspection(LoopAccess):
    """Read-only views for tests: what was published, queues, consumers, unacked messages."""

    # -- what was published ---------------------------------------------------------------------

    @property
    def published(self) -> tuple[PublishedMessage, ...]:
        """Every publish clients made, oldest first, recorded when it was routed: a publish in
        a transaction when it is committed (a rolled-back one never), and publishes that the
        broker refused (closing the channel) not at all.  Dead-lettered messages are not
        publishes.  A copy: later publishes do not change it.

        Recording is on for embedded brokers (``record_published=False`` turns it off) and
        keeps the last ``published_limit`` (10,000) publishes, bodies included;
        ``clear_published()`` empties it.  Raises RuntimeError when recording is off."""
        return self._on_loop(self._published_views, False)

    def clear_published(self) -> None:
        """Forget what was published so far (``published`` is empty until the next one)."""
        self._on_loop(self._published_views, True)

    def _published_views(self, clear: bool) -> tuple[PublishedMessage, ...]:
        log = self.server.state.published
        if log is None:
            raise RuntimeError(
                "this broker does not record publishes: start it with record_published=True"
            )
        views = tuple(published_message(record) for record in log)
        if clear:
            log.clear()
        return views

    # -- queues ---------------------------------------------------------------------------------

    def queue(self, name: str, vhost: str = "/", *, max_messages: int = MAX_MESSAGES) -> QueueView:
        """A snapshot of queue ``name``: its ready messages (at most ``max_messages``, see
        ``QueueView``), consumers and unacked messages.  KeyError if there is no such queue."""
        return self._on_loop(self._queue_view, name, vhost, max_messages)

    def queues(
        self, vhost: str | None = None, *, max_messages: int = MAX_MESSAGES
    ) -> tuple[QueueView, ...]:
        """Snapshots of every queue of ``vhost`` (of every vhost when None), by vhost and name."""
        return self._on_loop(self._queue_views, vhost, max_messages)

    def _queue_view(self, name: str, vhost: str, max_messages: int) -> QueueView:
        queue = self._vhost(vhost).queues.get(name)
        if queue is None:
            raise KeyError(f"no queue '{name}' in vhost '{vhost}'")
        return self._snapshot(queue, self._unacked_by_queue(queue), max_messages)

    def _queue_views(self, vhost: str | None, max_messages: int) -> tuple[QueueView, ...]:
        unacked = self._unacked_by_queue()
        return tuple(
            self._snapshot(queue, unacked, max_messages)
            for host in self._vhosts(vhost)
            for _, queue in sorted(host.queues.items())
        )

    def _snapshot(
        self, queue: Queue, unacked: dict[int, list[UnackedMessage]], max_messages: int
    ) -> QueueView:
        consumers = tuple(_consumer_view(consumer) for consumer in queue.consumers)
        return queue_view(queue, consumers, tuple(unacked.get(id(queue), ())), max_messages)

    def _unacked_by_queue(self, only: Queue | None = None) -> dict[int, list[UnackedMessage]]:
        """Every delivery awaiting its ack (from ``only`` if given), by queue (``id``), in
        delivery-tag order per channel; settlements held in an uncommitted transaction still
        count as unacked."""
        found: dict[int, list[UnackedMessage]] = {}
        for session in self._sessions():
            for channel in session.channels.values():
                for tag, entry in sorted(_unacked(channel), key=lambda pair: pair[0]):
                    if only is not None and entry.queue is not only:
                        continue
                    found.setdefault(id(entry.queue), []).append(
                        UnackedMessage(
                            delivery_tag=tag,
                            consumer_tag=entry.consumer.tag if entry.consumer else None,
                            queue=entry.queue.name,
                            channel=channel.number,
                            connection=session.peer,
                            message=message_view(entry.envelope),
                        )
                    )
        return found

    # -- exchanges and bindings ----------------------------------------------------------------

    def exchanges(self, vhost: str = "/") -> tuple[ExchangeView, ...]:
        """The exchanges of ``vhost`` by name (the default exchange's name is "")."""
        return self._on_loop(self._exchange_views, vhost)

    def bindings(self, vhost: str = "/") -> tuple[BindingView, ...]:
        """The bindings of ``vhost`` by source exchange (the default exchange's implicit
        bindings are not listed)."""
        return self._on_loop(self._binding_views, vhost)

    def _exchange_views(self, vhost: str) -> tuple[ExchangeView, ...]:
        exchanges = self._vhost(vhost).exchanges
        return tuple(exchange_view(exchanges[name]) for name in sorted(exchanges))

    def _binding_views(self, vhost: str) -> tuple[BindingView, ...]:
        exchanges = self._vhost(vhost).exchanges
        return tuple(
            binding_view(binding, vhost)
            for name in sorted(exchanges)
            for binding in exchanges[name].bindings.values()
        )

    # -- connections ----------------------------------------------------------------------------

    @property
    def connections(self) -> tuple[ConnectionView, ...]:
        """The client connections, by ``id`` (the client's "ip:port", unique among open
        connections; a client that sets the ``connection_name`` client property can find
        itself by ``connection_name``)."""
        return self._on_loop(self._connection_views)

    def _connection_views(self) -> tuple[ConnectionView, ...]:
        local = f"{self.server.config.host}:{self.server.port}"
        views = [_connection_view(session, local) for session in self._sessions()]
        return tuple(sorted(views, key=lambda view: view.id))

    # -- statistics -----------------------------------------------------------------------------

    def overview(self) -> OverviewStats:
        """The broker-wide statistics now (counts exact; rates from the last sampling)."""
        return self._on_loop(self._overview)

    def sample_stats(self) -> None:
        """Sample the statistics now, as the 5-second timer does (rates over the time since
        the last sampling, idle_since)."""
        self._on_loop(self._sample_stats)

    def _overview(self) -> OverviewStats:
        sessions = list(self._sessions())
        messages, churn, totals = totals_now(self.server.state, sessions)
        stats = self.server.state.stats
        return OverviewStats(
            message_stats=dict(zip(OVERVIEW_FIELDS, messages, strict=True)),
            message_rates=stats.message_sample.rates_by_name(OVERVIEW_FIELDS),
            churn=dict(zip(CHURN_FIELDS, churn, strict=True)),
            churn_rates=stats.churn_sample.rates_by_name(CHURN_FIELDS),
            queue_totals=dict(zip(QUEUE_TOTALS_FIELDS, totals, strict=True)),
            queue_totals_rates=stats.totals_sample.rates_by_name(QUEUE_TOTALS_FIELDS),
        )

    def _sample_stats(self) -> None:
        timer = self.server.stats_timer
        if timer is None:
            raise RuntimeError("the broker is not running")
        timer.sample_now()

    # -- helpers --------------------------------------------------------------------------------

    def _sessions(self) -> Iterator[ConnectionSession]:
        for protocol in list(self.server.connections):
            if protocol.session is not None:
                yield protocol.session

    def _vhost(self, name: str) -> VirtualHost:
        vhost = self.server.state.vhosts.get(name)
        if vhost is None:
            raise KeyError(f"no vhost '{name}'")
        return vhost

    def _vhosts(self, name: str | None) -> list[VirtualHost]:
        if name is not None:
            return [self._vhost(name)]
        vhosts = self.server.state.vhosts
        return [vhosts[key] for key in sorted(vhosts)]


def _unacked(channel: Channel) -> Iterator[tuple[int, Unacked]]:
    """(delivery tag, entry) of a channel's unacked deliveries, including those an
    uncommitted transaction would settle."""
    yield from channel.unacked.items()
    if channel.tx is not None:
        for tags, entries, _outcome in channel.tx.settlements:
            yield from zip(tags, entries, strict=True)


def _consumer_view(consumer: Consumer[Queue]) -> ConsumerView:
    channel = consumer.sink
    number, peer = (
        (channel.number, channel.connection.peer) if isinstance(channel, Channel) else (0, "")
    )
    return ConsumerView(
        consumer_tag=consumer.tag,
        queue=consumer.queue.name,
        vhost=consumer.queue.vhost,
        channel=number,
        connection=peer,
        ack_required=not consumer.no_ack,
        exclusive=consumer.exclusive,
        prefetch_count=consumer.prefetch,
        priority=consumer.priority,
        arguments=dict(consumer.arguments),
        unacked=consumer.unacked,
    )


def _channel_view(channel: Channel) -> ChannelView:
    return ChannelView(
        number=channel.number,
        prefetch_count=channel.prefetch_count,
        global_prefetch_count=channel.shared_prefetch.limit,
        confirm=channel.confirm_mode,
        transactional=channel.tx is not None,
        consumer_count=len(channel.consumers) + (channel.reply_consumer is not None),
        messages_unacknowledged=sum(1 for _ in _unacked(channel)),
        message_stats=dict(zip(CHANNEL_FIELDS, channel.message_counts(), strict=True)),
        message_rates=channel.sample.rates_by_name(CHANNEL_FIELDS),
        idle_since=channel.sample.idle_since,
    )


def _connection_view(session: ConnectionSession, local: str) -> ConnectionView:
    host, _, port = session.peer.rpartition(":")
    state = _STATES[session.state]
    if state == "running" and session.throttle.blocked:
        state = "blocked"
    return ConnectionView(
        id=session.peer,
        name=f"{session.peer} -> {local}",
        peer_host=host,
        peer_port=int(port) if port.isdigit() else 0,
        state=state,
        user=session.user,
        vhost=session.vhost.name if session.vhost is not None else None,
        client_properties=copy.deepcopy(session.client_properties),
        timeout=session.heartbeat,
        frame_max=session.frame_max,
        channel_max=session.channel_max,
        channels=tuple(
            _channel_view(session.channels[number]) for number in sorted(session.channels)
        ),
        recv_oct=session.recv_oct,
        recv_cnt=session.recv_cnt,
        send_oct=session.send_oct,
        send_cnt=session.send_cnt,
        octet_rates={"recv_oct": session.sample.rates[0], "send_oct": session.sample.rates[2]},
    )
