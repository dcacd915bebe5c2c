"""Drive the broker's session layer in-process: raw AMQP in, decoded frames out, no sockets.

Theory of operation.  ``SessionBroker`` holds what ``BrokerServer`` holds (a ``BrokerState``
with the real dead-letter header rewriter, the users, the resource alarm), in memory and on a
``ManualClock``: time moves only through ``advance``.  Each ``Client`` owns one
``ConnectionSession`` and plays its transport, using only the session's public surface: it
feeds the session bytes, and at the end of every "tick" (after each thing a test sends, or
``advance``) it flushes, as the transport does, every client that asked for it
(``request_flush``), so deliveries caused by another connection arrive too.  What comes out
is decoded into an ``Inbox`` (methods and ``Delivery`` values by channel, ``inbox.py``)
until the test reads it; ``ClientChannel`` (``client_channel.py``) speaks for one channel.
A session that ends up closed is dropped, as the transport drops its socket.

    broker = SessionBroker()
    ch = broker.connect().channel()
    ch.declare("q", arguments={"x-message-ttl": 100})
    ch.publish(b"hello", routing_key="q")
    broker.advance(0.1)
    assert ch.get("q") is None

Socket back-pressure is ``Client.stop_reading``; heartbeats and the transport's timeouts
(handshake, close) are not here: tests/server covers them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pamqp import body as pbody
from pamqp import commands
from pamqp import frame as pframe
from pamqp import header as pheader
from pamqp.base import Frame

from amqpbroker.access.defaults import default_access
from amqpbroker.access.permissions import Permission
from amqpbroker.config import BrokerConfig
from amqpbroker.core.broker import BrokerState
from amqpbroker.core.policy_changes import apply_policy_book, run_all
from amqpbroker.core.ports import ManualClock
from amqpbroker.core.sampler import StatsSampler
from amqpbroker.policies.model import check_policy
from amqpbroker.policies.parameters import RuntimeParameters
from amqpbroker.protocol.deadletter import rewrite_dead_letter
from amqpbroker.protocol.methods import encode_method
from amqpbroker.server.stats_timer import sample_totals, sampled_groups
from amqpbroker.session.connection import ConnectionSession
from amqpbroker.session.consumer_timeout import ConsumerTimeouts
from amqpbroker.session.throttle import ResourceAlarm

from .client_channel import ClientChannel
from .inbox import Delivery, Inbox, M, Received

__all__ = [
    "CAPABILITIES",
    "PROTOCOL_HEADER",
    "Client",
    "ClientChannel",
    "Delivery",
    "SessionBroker",
]

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
# What pika announces: the broker's behaviour depends on some (connection.blocked...).
CAPABILITIES: dict[str, Any] = {
    "authentication_failure_close": True,
    "basic.nack": True,
    "connection.blocked": True,
    "consumer_cancel_notify": True,
    "exchange_exchange_bindings": True,
    "per_consumer_qos": True,
    "publisher_confirms": True,
}


class SessionBroker:
    """One in-memory broker (a ``BrokerState``) and the clients connected to it."""

    def __init__(self, **config: Any) -> None:
        """``config``: ``BrokerConfig`` fields to change (``SessionBroker(channel_max=4)``)."""
        self.config = dataclasses.replace(BrokerConfig(), **config)
        self.clock = ManualClock()
        self.state = BrokerState(
            self.config, clock=self.clock, rewrite_dead_letter=rewrite_dead_letter
        )
        self.access = default_access(self.config)
        self.parameters = RuntimeParameters()  # policies: applied at once, in one go
        self.parameters.on_policies_changed(self._policies_changed)
        self.parameters.on_limits_changed(self.state.apply_vhost_limits)
        self.alarm = ResourceAlarm()
        self.clients: list[Client] = []
        if self.config.consumer_timeout is not None:  # (its sweeps on the ManualClock)
            sessions = lambda: [c.session for c in self.clients]  # noqa: E731
            ConsumerTimeouts(self.clock, sessions, self.config.consumer_timeout).start()
        self._flush_wanted: dict[Client, None] = {}  # ordered: flushes go in request order

    def add_vhost(self, name: str) -> None:
        """Create vhost ``name``; the default user may use it (as ``BrokerServer.add_vhost``)."""
        self.state.add_vhost(name)
        self.access.set_permissions(self.config.default_user, name, Permission())

    def set_policy(
        self,
        name: str,
        pattern: str,
        definition: dict[str, Any],
        *,
        apply_to: str = "all",
        priority: int = 0,
        vhost: str = "/",
        operator: bool = False,
    ) -> None:
        """Add or replace a policy (an operator policy with ``operator``), applied now;
        ``ValidationFailed`` as RabbitMQ refuses it."""
        policy = check_policy(
            vhost, name, pattern, definition, priority, apply_to, operator=operator
        )
        self.parameters.set_policy(policy)
        self.run_tick()

    def clear_policy(self, name: str, *, vhost: str = "/", operator: bool = False) -> None:
        self.parameters.clear_policy(vhost, name, operator=operator)
        self.run_tick()

    def _policies_changed(self, vhost: str) -> None:
        if vhost in self.state.vhosts:
            policies = self.parameters.policies_in(vhost)
            operator_policies = self.parameters.policies_in(vhost, operator=True)
            run_all(apply_policy_book(self.state.vhosts[vhost], policies, operator_policies))

    def client(self, peer: str = "127.0.0.1:40000") -> Client:
        """A client that has sent nothing yet (for handshake tests)."""
        client = Client(self, peer)
        self.clients.append(client)
        return client

    def connect(self, vhost: str = "/", **handshake: Any) -> Client:
        """A client through the handshake: connection.open-ok received."""
        client = self.client()
        client.handshake(vhost=vhost, **handshake)
        return client

    def advance(self, seconds: float) -> None:
        """Move the broker's clock (TTL, x-expires...), then flush as the loop would."""
        self.clock.advance(seconds)
        self.run_tick()

    def block_publishers(self, reason: str = "low on memory") -> None:
        """Raise the resource alarm (``BrokerServer.block_publishers``)."""
        self.alarm.reason = reason

    def unblock_publishers(self) -> None:
        """Clear the alarm: blocked clients read (and are handled) again."""
        self.alarm.reason = None
        for client in self.clients:
            client.session.alarm_cleared()
        self.run_tick()

    def sample_stats(self) -> None:
        """One round of the statistics sampler (``core.sampler``), at the clock's time: the
        rates over the time since the last round, and idle_since."""
        sessions = [client.session for client in self.clients if not client.lost]
        StatsSampler(self.clock).sample_all(sampled_groups(self.state, sessions))
        sample_totals(self.state, sessions, self.clock)

    def want_flush(self, client: Client) -> None:
        self._flush_wanted[client] = None

    def run_tick(self) -> None:
        """The end of a loop tick: every client that has output (or resumed input) flushes."""
        while self._flush_wanted:
            client = next(iter(self._flush_wanted))
            del self._flush_wanted[client]
            client.flush()


class Client:
    """One connection: a ``ConnectionSession`` and a transport's view of it."""

    def __init__(self, broker: SessionBroker, peer: str) -> None:
        self.broker = broker
        self.session = ConnectionSession(
            broker.state,
            broker.access,
            request_flush=lambda: broker.want_flush(self),
            peer=peer,
            alarm=broker.alarm,
            write_now=self._write_now,
        )
        self._written_early = bytearray()  # output taken in the middle of a tick
        self._inbox = Inbox()
        self.early_writes: list[int] = []  # sizes of the writes made in the middle of a tick
        self.lost = False  # the transport dropped the connection
        self.frame_max = broker.config.frame_max
        self._next_channel = 1

    # -- connection -----------------------------------------------------------------------

    def handshake(
        self,
        vhost: str = "/",
        user: str = "guest",
        password: str = "guest",
        capabilities: dict[str, Any] | None = None,
        channel_max: int = 0,
        frame_max: int = 0,
    ) -> commands.Connection.OpenOk:
        """Protocol header, start-ok (PLAIN), tune-ok (the broker's limits unless given),
        connection.open: returns open-ok."""
        self.send_bytes(PROTOCOL_HEADER)
        self.expect(0, commands.Connection.Start)
        properties: dict[str, Any] = {
            "product": "session-harness",
            "capabilities": capabilities or CAPABILITIES,
        }
        self.send(
            0,
            commands.Connection.StartOk(
                client_properties=properties, mechanism="PLAIN", response=f"\0{user}\0{password}"
            ),
        )
        tune = self.expect(0, commands.Connection.Tune)
        self.frame_max = frame_max or tune.frame_max
        self.send(
            0,
            commands.Connection.TuneOk(
                channel_max=channel_max or tune.channel_max, frame_max=self.frame_max, heartbeat=0
            ),
        )
        self.send(0, commands.Connection.Open(virtual_host=vhost))
        return self.expect(0, commands.Connection.OpenOk)

    def channel(self, number: int | None = None) -> ClientChannel:
        """Open a channel (the next unused number unless given): channel.open-ok received."""
        if number is None:
            number = self._next_channel
        self._next_channel = max(self._next_channel, number + 1)
        channel = ClientChannel(self, number)
        channel.call(commands.Channel.Open(), commands.Channel.OpenOk)
        return channel

    def close(self) -> None:
        """connection.close from the client; close-ok expected."""
        self.send(0, commands.Connection.Close(200, "bye", class_id=0, method_id=0))
        self.expect(0, commands.Connection.CloseOk)

    def drop(self) -> None:
        """The socket goes without a goodbye (the client died)."""
        if not self.lost:
            self.lost = True
            self.session.connection_lost()
            self.broker.run_tick()

    def stop_reading(self) -> None:
        """The client stops reading its socket: the transport's buffer fills
        (``pause_writing``) and the session holds its deliveries back."""
        self.session.set_writable(False)

    def resume_reading(self) -> None:
        self.session.set_writable(True)
        self.broker.want_flush(self)
        self.broker.run_tick()

    def expect_close(self, reply_code: int) -> commands.Connection.Close:
        """The broker closed the connection with ``reply_code``; answers close-ok."""
        close = self.expect(0, commands.Connection.Close)
        assert close.reply_code == reply_code, (close.reply_code, close.reply_text)
        if not self.lost:
            self.send(0, commands.Connection.CloseOk())
        return close

    @property
    def closed(self) -> bool:
        return self.session.closed

    # -- sending --------------------------------------------------------------------------

    def send_bytes(self, data: bytes) -> None:
        """Raw bytes, as one socket read (malformed input welcome)."""
        if not self.lost:
            self.session.receive_data(data)
            self.broker.want_flush(self)
            self.broker.run_tick()

    def send(self, channel: int, method: Frame) -> None:
        """One method frame, encoded by pamqp; a name pamqp's check refuses (RabbitMQ takes
        any, such as a direct reply-to name) goes through the broker's own encoder."""
        try:
            frame = pframe.marshal(method, channel)
        except ValueError:
            frame = encode_method(channel, method)
        self.send_bytes(frame)

    def publish_bytes(
        self,
        channel: int,
        body: bytes,
        exchange: str = "",
        routing_key: str = "",
        properties: commands.Basic.Properties | None = None,
        mandatory: bool = False,
    ) -> bytes:
        """basic.publish, its content header and body frames (split at frame_max)."""
        publish = commands.Basic.Publish(
            exchange=exchange, routing_key=routing_key, mandatory=mandatory
        )
        header = pheader.ContentHeader(0, len(body), properties or commands.Basic.Properties())
        frames = [pframe.marshal(publish, channel), pframe.marshal(header, channel)]
        step = self.frame_max - 8
        for start in range(0, len(body), step):
            frames.append(pframe.marshal(pbody.ContentBody(body[start : start + step]), channel))
        return b"".join(frames)

    # -- receiving ------------------------------------------------------------------------

    def _write_now(self) -> None:
        """The session's output outgrew OUTPUT_EARLY_WRITE in the middle of a tick."""
        data = self.session.take_output()
        self.early_writes.append(len(data))
        self._written_early += data

    def take_bytes(self) -> bytes:
        """The transport's flush, undecoded: handle resumed input, take the output."""
        self.session.resume_deferred_input()
        data = self.session.data_to_send()
        if self._written_early:  # those bytes come first
            data = bytes(self._written_early + data)
            self._written_early.clear()
        return data

    def flush(self) -> None:
        """The end of a tick: the output decoded; a closed session's connection dropped."""
        if self.lost:
            return
        self._inbox.feed(self.take_bytes())
        if self.session.closed:
            self.drop()

    @property
    def inbox(self) -> Inbox:
        """What this client received and has not read yet (the tick at hand flushed first)."""
        self.broker.run_tick()
        return self._inbox

    def received(self, channel: int) -> list[Received]:
        """Everything received on ``channel`` and not yet read (now read)."""
        return self.inbox.received(channel)

    def deliveries(self, channel: int) -> list[Delivery]:
        """The deliveries received on ``channel`` (now read); the rest stays unread."""
        return self.inbox.deliveries(channel)

    def next(self, channel: int) -> Received | None:
        return self.inbox.next(channel)

    def expect(self, channel: int, kind: type[M]) -> M:
        """The next thing on ``channel`` must be a ``kind`` method."""
        return self.inbox.expect(channel, kind)
