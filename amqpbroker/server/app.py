"""The broker process: listener, live connections, graceful shutdown."""

from __future__ import annotations

import asyncio
import base64
import importlib
import logging
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amqpbroker.access.control import AccessControl
from amqpbroker.access.defaults import apply_defaults
from amqpbroker.access.permissions import Permission
from amqpbroker.config import BrokerConfig
from amqpbroker.core.alarms import Alarms
from amqpbroker.core.broker import BrokerState
from amqpbroker.core.ports import Clock
from amqpbroker.definitions import (
    DefinitionsError,
    export_definitions,
    export_sections,
    import_definitions,
    import_steps,
    read_definitions_file,
)
from amqpbroker.errors import ConnectionForced
from amqpbroker.policies.parameters import RuntimeParameters
from amqpbroker.protocol.deadletter import rewrite_dead_letter
from amqpbroker.session.connection import ConnectionSession
from amqpbroker.session.consumer_timeout import ConsumerTimeouts
from amqpbroker.session.throttle import ResourceAlarm
from amqpbroker.storage.lock import DataDirLock
from amqpbroker.storage.recovery import recover
from amqpbroker.storage.store import DurableStore

from .alarm_monitor import AlarmMonitor
from .clock import LoopClock
from .listeners import AMQP, AMQPS, Listener, ListenError, Listeners
from .policy_applier import PolicyApplier
from .stats_timer import StatsTimer
from .tls import server_context
from .transport import AMQPProtocol, HeartbeatSwitch

if TYPE_CHECKING:
    from amqpbroker.management.app import ManagementServer
    from amqpbroker.management.prometheus.server import PrometheusServer

log = logging.getLogger(__name__)

INTERNAL_CLUSTER_ID = "internal_cluster_id"


class BrokerServer:
    """Owns the broker state and the listeners (plain AMQP, AMQPS)."""

    def __init__(
        self, config: BrokerConfig, clock: Clock | None = None, wire_clock: Clock | None = None
    ) -> None:
        """``clock`` times messages and queues (TTL, expiry, x-expires), ``wire_clock`` the
        connections (heartbeats); both are the loop's by default.  A test may pass a
        ``ManualClock`` for either, to move time instead of waiting.  Unusable TLS options
        raise ``server.tls.TLSConfigError`` here."""
        self.config = config
        self.listeners = Listeners(config)
        self.clock: Clock = clock or LoopClock()
        self.wire_clock = wire_clock
        self._lock = None if config.in_memory else DataDirLock(self._data_dir)
        self.store, self.state = self._empty_state()
        self.access = AccessControl()  # filled at ``start``: recovered, seeded or imported
        self.parameters = RuntimeParameters()  # policies among them; filled at ``start`` too
        self.policy_applier = PolicyApplier(lambda: self.state, self.parameters)
        self._policies_watched = False
        self.connections: set[AMQPProtocol] = set()
        self.alarm = ResourceAlarm()  # what connections see: the blocked reason
        self._manual_alarm: str | None = None  # block_publishers' reason
        self.alarm_monitor = AlarmMonitor(
            config, lambda: self.state, self._sessions, self._buffered_bytes, self._apply_alarms
        )
        self.heartbeats = HeartbeatSwitch()
        self.management: ManagementServer | None = None  # start_management
        self.prometheus: PrometheusServer | None = None  # start_prometheus
        self._all_closed = asyncio.Event()
        self._all_closed.set()
        self.stats_timer: StatsTimer | None = None  # message statistics' rates, from ``start``
        self.consumer_timeouts: ConsumerTimeouts | None = None  # from ``start``
        self.started_at = time.time()  # epoch seconds (the nodes' ``uptime``)

    @property
    def _data_dir(self) -> Path:
        return Path(self.config.data_dir or ".")

    def _empty_state(self) -> tuple[DurableStore | None, BrokerState]:
        """A broker with nothing in it yet, and the store ``start`` recovers it from."""
        store = None
        if not self.config.in_memory:
            store = DurableStore(self._data_dir, fsync=self.config.fsync)
        state = BrokerState(
            self.config,
            store,
            self.clock,
            rewrite_dead_letter=rewrite_dead_letter,
            with_default_vhost=False,  # seeded by ``_boot`` on a blank store
        )
        return store, state

    @property
    def port(self) -> int:
        """The plain AMQP port (``RuntimeError`` without that listener)."""
        return self.listeners.port(AMQP)

    @property
    def tls_port(self) -> int:
        """The AMQPS port (``RuntimeError`` without TLS)."""
        return self.listeners.port(AMQPS)

    async def start(self) -> None:
        """Recover durable state (if any), then listen."""
        loop = asyncio.get_running_loop()
        if isinstance(self.clock, LoopClock):
            self.clock.bind(loop)
        await self._recover(loop)
        self._apply_policies()
        await self.alarm_monitor.start()  # an alarm already on is raised before clients come
        try:
            await self._listen()
        except BaseException:
            self.alarm_monitor.stop()
            raise
        self.stats_timer = StatsTimer(
            lambda: self.state, self._sessions, LoopClock.running(), self.config.stats_interval
        )
        self.stats_timer.start()
        if self.config.consumer_timeout is not None:
            self.consumer_timeouts = ConsumerTimeouts(
                self.clock, self._sessions, self.config.consumer_timeout
            )
            self.consumer_timeouts.start()

    def _apply_policies(self) -> None:
        """Policies take effect on what was recovered and imported, and on every change
        from now on (``server.policy_applier``)."""
        if self.policy_applier.parameters is not self.parameters:  # (recovery made new ones)
            self.policy_applier = PolicyApplier(lambda: self.state, self.parameters)
        if not self._policies_watched:
            self.parameters.on_policies_changed(self.policy_applier.changed)
            self.parameters.on_limits_changed(self._limits_changed)
            self._policies_watched = True
        self.policy_applier.apply_all()
        for name in self.state.vhosts:  # (vhost limits: recovered or imported)
            self.state.apply_vhost_limits(name, self.parameters.vhost_limits(name))

    def _limits_changed(self, vhost: str, value: Any) -> None:
        self.state.apply_vhost_limits(vhost, value)

    @property
    def alarms(self) -> Alarms:
        """The memory and disk figures and alarms (``core.alarms.Alarms``), as measured."""
        return self.alarm_monitor.alarms

    def _buffered_bytes(self) -> int:
        return sum(protocol.buffered_bytes() for protocol in self.connections)

    def _sessions(self) -> list[ConnectionSession]:
        return [p.session for p in self.connections if p.session is not None]

    async def _recover(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.store is not None and self._lock is not None:
            self._lock.acquire()
            access, parameters = AccessControl(), RuntimeParameters()
            try:
                await asyncio.to_thread(recover, self.store, self.state, access, parameters)
            except BaseException:
                self._lock.release()
                raise
            # Compaction runs on the loop's real time, even under a test's virtual clock.
            self.store.start(loop, LoopClock.running())
            access.journal = parameters.journal = self.store
            self.access, self.parameters = access, parameters
            self._policies_watched = False
            self.state.recovered()
        try:
            self._boot()
        except BaseException:
            await self._close_store()
            raise
        await self.durable()  # what ``_boot`` recorded: a kill right after start keeps it

    def _boot(self) -> None:
        """What RabbitMQ does once its database is up: import ``load_definitions`` (every
        boot), or else seed the default vhost, user and permissions on a blank store (one
        without users: always for an in-memory broker's first start)."""
        path = self.config.load_definitions
        if path:
            document = read_definitions_file(path)
            try:
                self.import_definitions(document)
            except DefinitionsError as error:
                raise DefinitionsError(f"{path}: {error}") from None
        elif not self.access.users:
            self.state.put_vhost(self.config.default_vhost)
            apply_defaults(self.access, self.config)
        if INTERNAL_CLUSTER_ID not in self.parameters.global_values:
            # RabbitMQ's identity for the cluster, made once and kept (exported too).
            token = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
            self.parameters.set_global(INTERNAL_CLUSTER_ID, f"rabbitmq-cluster-id-{token}")

    async def durable(self) -> None:
        """Wait until every definition recorded so far is on disk (an in-memory broker
        returns at once): the management API answers a change once it is kept, as
        RabbitMQ answers once its database has it."""
        if self.store is None:
            return
        done = asyncio.Event()
        self.store.when_durable(done.set)
        self.store.flush()
        await done.wait()

    def import_definitions(self, definitions: Mapping[str, Any]) -> None:
        """Import a definitions document (RabbitMQ's JSON export, parsed) into this
        broker: ``amqpbroker.definitions.import_definitions``."""
        import_definitions(definitions, self.state, self.access, self.parameters)

    def import_steps(self, definitions: Mapping[str, Any]) -> Iterator[None]:
        """``import_definitions`` a step at a time (``definitions.import_steps``)."""
        return import_steps(definitions, self.state, self.access, self.parameters)

    def export_definitions(self) -> dict[str, Any]:
        """This broker's definitions in RabbitMQ 3.10.8's export shape."""
        return export_definitions(self.state, self.access, self.parameters)

    def export_sections(self) -> dict[str, Any]:
        """``export_definitions`` with its long sections as iterators
        (``definitions.export_sections``)."""
        return export_sections(self.state, self.access, self.parameters)

    async def _listen(self) -> None:
        await self.listeners.open(self._new_protocol)
        for scheme in self.listeners.schemes:
            host, port = self.listeners.host(scheme), self.listeners.port(scheme)
            log.info("listening on %s://%s:%d/", scheme, host, port)

    def _new_protocol(self, listener: Listener) -> AMQPProtocol:
        return AMQPProtocol(
            self.state,
            self.access,
            self._connection_closed,
            self.alarm,
            self.heartbeats,
            self.wire_clock,
            listener=listener,
            on_made=self._connection_made,
        )

    def _connection_made(self, protocol: AMQPProtocol) -> None:
        # Counted from connection_made, not from accept: a TLS connection whose handshake
        # fails never gets that far (nor to connection_lost).
        self.connections.add(protocol)
        self._all_closed.clear()

    def _connection_closed(self, protocol: AMQPProtocol) -> None:
        self.connections.discard(protocol)
        if not self.connections:
            self._all_closed.set()

    def add_vhost(
        self,
        name: str,
        description: str | None = None,
        tags: tuple[str, ...] | None = None,
        *,
        creator: str | None = None,
    ) -> bool:
        """Create vhost ``name`` (if it exists, only a description or tags given change);
        True if it is new.  The default user gets full permissions on it; given a
        ``creator`` (the management API's caller), that user does instead, on a new vhost
        only, as in RabbitMQ's management API."""
        existing = self.state.vhosts.get(name)
        if existing is None:
            self.state.put_vhost(name, description or "", tags or ())
        elif description is not None or tags is not None:
            description = existing.description if description is None else description
            self.state.put_vhost(name, description, existing.tags if tags is None else tags)
        grantee = creator or self.config.default_user
        if grantee in self.access.users and (existing is None or creator is None):
            self.access.set_permissions(grantee, name, Permission())
        return existing is None

    def delete_vhost(self, name: str) -> None:
        """Delete vhost ``name`` and everything in it (``BrokerState.delete_vhost``); then,
        as RabbitMQ does, each connection on it gets connection.close 320 "vhost 'NAME' is
        deleted".  ``LookupError`` if there is no such vhost."""
        vhost = self.state.delete_vhost(name)
        self.access.forget_vhost(name)  # its permissions go, journalled
        self.parameters.forget_vhost(name)  # and its parameters and policies
        for protocol in list(self.connections):
            if protocol.session is not None and protocol.session.vhost is vhost:
                protocol.close_by_broker(ConnectionForced(f"vhost '{name}' is deleted"))

    def amqp_listeners(self) -> list[tuple[str, str, int]]:
        """(scheme, host, port) of each open AMQP listener, plain first (none while a
        restart has them closed)."""
        listeners = self.listeners
        if not listeners.is_open:
            return []
        return [(s, listeners.host(s), listeners.port(s)) for s in listeners.schemes]

    async def start_management(self) -> str:
        """Start the management HTTP API (``config.management_port``; 0 picks a free port)
        and return its URL.  aiohttp is imported here, not before: a broker without the
        API never loads it.  The import (~0.1 s for aiohttp) runs on a thread, so that the
        loop serves the AMQP clients connecting meanwhile."""
        await asyncio.to_thread(importlib.import_module, "amqpbroker.management.app")
        from amqpbroker.management.app import ManagementServer  # noqa: PLC0415

        config = self.config
        tls = config.management_tls
        context = server_context(tls) if tls is not None else None
        management = ManagementServer(self, context)
        host = config.management_host or config.host
        port = config.management_port or 0
        try:
            await management.start(host, port)
        except OSError as error:
            raise ListenError("http", host, port, error) from None
        self.management = management
        log.info("management API on %s", management.url)
        return management.url

    async def start_prometheus(self) -> str:
        """Start the Prometheus endpoint (``config.prometheus_port``; 0 picks a free port)
        and return its ``/metrics`` URL; aiohttp and prometheus_client are imported here."""
        module = "amqpbroker.management.prometheus.server"
        await asyncio.to_thread(importlib.import_module, module)
        from amqpbroker.management.prometheus.server import PrometheusServer  # noqa: PLC0415

        config = self.config
        prometheus = PrometheusServer(self)
        host = config.prometheus_host or config.host
        port = config.prometheus_port or 0
        try:
            await prometheus.start(host, port)
        except OSError as error:
            raise ListenError("http", host, port, error) from None
        self.prometheus = prometheus
        log.info("prometheus metrics on %s", prometheus.url)
        return prometheus.url

    @property
    def prometheus_url(self) -> str:
        """``http://HOST:PORT/metrics`` (``RuntimeError`` if the endpoint is off)."""
        if self.prometheus is None:
            raise RuntimeError("the Prometheus endpoint is not running (prometheus=True)")
        return self.prometheus.url

    @property
    def management_url(self) -> str:
        """``http://HOST:PORT/`` of the management API (``RuntimeError`` if it is off)."""
        if self.management is None:
            raise RuntimeError("the management API is not running (management=True)")
        return self.management.url

    def block_publishers(self, reason: str = "low on memory") -> None:
        """Raise a resource alarm by hand, as if memory or disk ran low (the monitors'
        alarms do the same from measurements, ``server.alarm_monitor``).

        Each connection that sends a publish from now on stops being read (its publishes wait
        in the socket, none lost) and, if it announced the capability, gets
        connection.blocked(reason).  Consumers and idle connections are not affected.  While
        the alarm is up a new reason applies to connections blocked after it.
        """
        log.info("publishers blocked: %s", reason)
        self._manual_alarm = reason
        self._apply_alarms()

    def unblock_publishers(self) -> None:
        """Clear the alarm raised by hand: blocked connections read again (those told get
        connection.unblocked) unless a measured alarm is still on."""
        if self._manual_alarm is None:
            return
        log.info("publishers unblocked")
        self._manual_alarm = None
        self._apply_alarms()

    def _apply_alarms(self) -> None:
        """Publishers blocked while any alarm is on (measured, or raised by hand); when the
        last one clears, every blocked connection reads again."""
        reason = self._manual_alarm or self.alarms.blocked_reason
        was_on = self.alarm.reason is not None
        self.alarm.reason = reason
        if was_on and reason is None:
            for protocol in list(self.connections):
                protocol.alarm_cleared()

    async def stop(self, reason: str = "shutdown") -> None:
        """Stop listening, send every client connection.close 320, wait for them to go."""
        if self.management is not None:
            management, self.management = self.management, None
            await management.stop()
        if self.prometheus is not None:
            prometheus, self.prometheus = self.prometheus, None
            await prometheus.stop()
        if self.stats_timer is not None:
            self.stats_timer.stop()
        self.alarm_monitor.stop()
        if self.consumer_timeouts is not None:
            self.consumer_timeouts.stop()
        self.listeners.close()
        for protocol in list(self.connections):
            protocol.force_close(reason)
        try:
            await asyncio.wait_for(self._all_closed.wait(), self.config.close_timeout + 1)
        except TimeoutError:
            log.warning("%d connections did not close in time", len(self.connections))
        await self.listeners.wait_closed()
        await self._close_store()

    async def _close_store(self) -> None:
        if self.store is not None:
            self.store.flush()  # on the loop, which owns the pending batch
            await asyncio.to_thread(self.store.close)
        if self._lock is not None:
            self._lock.release()

    async def restart(self, downtime: float = 0.0) -> None:
        """Stop and start again on the same port, as RabbitMQ restarting: every client gets
        the shutdown's connection.close 320 and the listener goes away for ``downtime``
        seconds.  Durable state comes back from the data directory, as at any start; an
        in-memory broker keeps its durable state and forgets the rest
        (``BrokerState.forget_transient``).  Closing connections do not hold the restart up:
        each releases what it held (unacked messages requeued) as its close is sent, and
        finishes its close handshake with the old broker, or times out."""
        if not self.listeners.is_open:
            raise RuntimeError("the broker is not running")
        self.listeners.forget()  # reopened on the same ports below
        for protocol in list(self.connections):
            protocol.force_close("shutdown")
        if self.store is None:
            self.state.forget_transient()
        else:
            await self._close_store()
            self.store, self.state = self._empty_state()
            await self._recover(asyncio.get_running_loop())
            self._apply_policies()  # (and limits) on the recovered state, watched again
        await asyncio.sleep(downtime)
        await self._listen()
