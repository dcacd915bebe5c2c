"""Drive the broker's session layer in-process: raw AMQP in, decoded frames out, no sockets.

Theory of operation.  ``SessionBroker`` holds what ``BrokerServer`` holds (a ``BrokerState``
with the real dead-letter header rewriter, the users, the resource alarm), in memory and on a
``ManualClock``: time moves only through ``advance``.  Each ``Client`` owns one
``ConnectionSession`` and plays its transport: it feeds the session bytes, and collects its
output at the end of every "tick" (after each thing a test sends, or ``advance``), as the
transport's flush does, for every client that asked for one, so deliveries caused by another
connection arrive too.  Output is decoded with pamqp (not with the broker's own codec) into
methods and ``Delivery`` values (deliver, get-ok or return with their content), kept per
channel until the test reads them.  A session that ends up closed is dropped as the
transport drops its socket (``connection_lost``).

    broker = SessionBroker()
    ch = broker.connect().channel()
    ch.call(commands.Queue.Declare(queue="q", arguments={"x-message-ttl": 100}))
    ch.publish(b"hello", routing_key="q")
    broker.advance(0.1)
    assert ch.get("q") is None

Heartbeats, socket back-pressure and timeouts are the transport's, so they are not here.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from pamqp import body as pbody
from pamqp import commands
from pamqp import frame as pframe
from pamqp import header as pheader
from pamqp import heartbeat as pheartbeat
from pamqp.base import Frame

from amqpbroker.auth import UserStore
from amqpbroker.config import BrokerConfig
from amqpbroker.core.broker import BrokerState
from amqpbroker.core.ports import ManualClock
from amqpbroker.protocol.deadletter import rewrite_dead_letter
from amqpbroker.session.connection import ConnectionSession
from amqpbroker.session.throttle import ResourceAlarm

__all__ = ["PROTOCOL_HEADER", "Client", "ClientChannel", "Delivery", "SessionBroker"]

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

M = TypeVar("M", bound=Frame)
ContentMethod = commands.Basic.Deliver | commands.Basic.GetOk | commands.Basic.Return


@dataclasses.dataclass
class Delivery:
    """A method that carries content (deliver, get-ok, return) with its content."""

    method: ContentMethod
    properties: commands.Basic.Properties
    body: bytes = b""
    body_size: int = 0  # from the content header: the body is whole once it is reached

    @property
    def headers(self) -> dict[str, Any]:
        return dict(self.properties.headers or {})


Received = Frame | Delivery | pheader.ProtocolHeader


class SessionBroker:
    """One in-memory broker (a ``BrokerState``) and the clients connected to it."""

    def __init__(self, **config: Any) -> None:
        """``config``: ``BrokerConfig`` fields to change (``SessionBroker(channel_max=4)``)."""
        self.config = dataclasses.replace(BrokerConfig(), **config)
        self.clock = ManualClock()
        self.state = BrokerState(
            self.config, clock=self.clock, rewrite_dead_letter=rewrite_dead_letter
        )
        self.users = UserStore()
        self.users.add(self.config.default_user, self.config.default_pass)
        self.alarm = ResourceAlarm()
        self.clients: list[Client] = []
        self._flush_wanted: dict[Client, None] = {}  # ordered: flushes go in request order

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
            broker.users,
            request_flush=lambda: broker.want_flush(self),
            peer=peer,
            alarm=broker.alarm,
            write_now=self._write_now,
        )
        self._output = bytearray()  # bytes out of the session, not yet decoded
        self._inbox: dict[int, deque[Received]] = {}
        self._partial: dict[int, Delivery] = {}  # content still arriving, by channel
        self.heartbeats = 0
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
        self.send_bytes(pframe.marshal(method, channel))

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
        self._output += data

    def take_bytes(self) -> bytes:
        """The transport's flush, undecoded: handle resumed input, take the output."""
        self.session.resume_deferred_input()
        self._output += self.session.data_to_send()
        data = bytes(self._output)
        self._output.clear()
        return data

    def flush(self) -> None:
        """The end of a tick: the output decoded; a closed session's connection dropped."""
        if self.lost:
            return
        self._output += self.take_bytes()
        self._decode()
        if self.session.closed:
            self.drop()

    def _decode(self) -> None:
        while len(self._output) >= 8:
            try:
                size, channel, frame = pframe.unmarshal(bytes(self._output))
            except Exception:  # an incomplete frame: the rest comes with a later flush
                if len(self._output) >= 7 + int.from_bytes(self._output[3:7], "big") + 1:
                    raise
                return
            del self._output[:size]
            self._received(channel, frame)

    def _received(self, channel: int, frame: pframe.FrameTypes) -> None:
        if isinstance(frame, pheartbeat.Heartbeat):
            self.heartbeats += 1
        elif isinstance(frame, pheader.ContentHeader):
            partial = self._partial[channel]
            partial.properties, partial.body_size = frame.properties, frame.body_size
            if not frame.body_size:
                self._inbox_of(channel).append(self._partial.pop(channel))
        elif isinstance(frame, pbody.ContentBody):
            partial = self._partial[channel]
            partial.body += frame.value
            if len(partial.body) >= partial.body_size:
                self._inbox_of(channel).append(self._partial.pop(channel))
        elif isinstance(frame, ContentMethod):
            self._partial[channel] = Delivery(frame, commands.Basic.Properties())
        else:
            self._inbox_of(channel).append(frame)

    def _inbox_of(self, channel: int) -> deque[Received]:
        return self._inbox.setdefault(channel, deque())

    def received(self, channel: int) -> list[Received]:
        """Everything received on ``channel`` and not yet read (now read)."""
        self.broker.run_tick()
        return list(self._inbox.pop(channel, ()))

    def deliveries(self, channel: int) -> list[Delivery]:
        """The deliveries received on ``channel`` and not yet read (now read); anything
        else received stays unread."""
        items = self.received(channel)
        others = [item for item in items if not isinstance(item, Delivery)]
        if others:
            self._inbox[channel] = deque(others)
        return [item for item in items if isinstance(item, Delivery)]

    def next(self, channel: int) -> Received | None:
        """The oldest unread thing received on ``channel``, or None."""
        self.broker.run_tick()
        inbox = self._inbox.get(channel)
        return inbox.popleft() if inbox else None

    def expect(self, channel: int, kind: type[M]) -> M:
        """The next thing on ``channel`` must be a ``kind`` method."""
        got = self.next(channel)
        assert isinstance(got, kind), f"expected {kind.__name__} on {channel}, got {show(got)}"
        return got

    def reply(self, channel: int, kind: type[M]) -> M:
        """The next method on ``channel`` must be a ``kind``; deliveries (basic.deliver)
        received before it stay unread."""
        got = self.take(channel, lambda item: not _is_delivery(item))
        assert isinstance(got, kind), f"expected {kind.__name__} on {channel}, got {show(got)}"
        return got

    def take_first(self, channel: int, *kinds: type[Frame]) -> Frame | None:
        """The oldest unread method of one of ``kinds`` on ``channel`` (others stay unread)."""
        got = self.take(channel, lambda item: isinstance(item, kinds))
        return got if isinstance(got, Frame) else None

    def take(self, channel: int, wanted: Callable[[Received], bool]) -> Received | None:
        """The oldest unread thing on ``channel`` that is ``wanted`` (the rest stay unread)."""
        self.broker.run_tick()
        inbox = self._inbox.get(channel, deque())
        for item in inbox:
            if wanted(item):
                inbox.remove(item)
                return item
        return None


def _is_delivery(item: Received) -> bool:
    return isinstance(item, Delivery) and isinstance(item.method, commands.Basic.Deliver)


def show(item: object) -> str:
    """A method with its fields, for assertion messages."""
    if isinstance(item, Frame):
        return f"{item.name}{dict(item)}"
    if isinstance(item, Delivery):
        return f"Delivery({show(item.method)}, {item.body!r})"
    return repr(item)


class ClientChannel:
    """One channel of a ``Client``: methods and publishes on its number, what came back.

    In confirm mode (``select_confirms``) ``publish`` returns whether the broker acked."""

    def __init__(self, client: Client, number: int) -> None:
        self.client = client
        self.number = number
        self.confirming = False

    def send(self, method: Frame) -> None:
        self.client.send(self.number, method)

    def call(self, method: Frame, reply: type[M]) -> M:
        """Send ``method``; the next method on this channel must be a ``reply``
        (deliveries received meanwhile stay unread)."""
        self.send(method)
        return self.client.reply(self.number, reply)

    def expect(self, kind: type[M]) -> M:
        return self.client.expect(self.number, kind)

    def next(self) -> Received | None:
        return self.client.next(self.number)

    def received(self) -> list[Received]:
        return self.client.received(self.number)

    def deliveries(self) -> list[Delivery]:
        return self.client.deliveries(self.number)

    def expect_close(self, reply_code: int) -> commands.Channel.Close:
        """The broker closed this channel with ``reply_code``; answers close-ok."""
        close = self.expect(commands.Channel.Close)
        assert close.reply_code == reply_code, (close.reply_code, close.reply_text)
        self.send(commands.Channel.CloseOk())
        return close

    def close(self) -> None:
        method = commands.Channel.Close(reply_code=200, reply_text="bye", class_id=0, method_id=0)
        self.call(method, commands.Channel.CloseOk)

    # -- the usual calls ------------------------------------------------------------------

    def publish(
        self,
        body: bytes = b"",
        routing_key: str = "",
        exchange: str = "",
        properties: commands.Basic.Properties | None = None,
        mandatory: bool = False,
    ) -> bool | None:
        """basic.publish with its content.  In confirm mode: True when acked, False when
        nacked (the confirm is read; a basic.return before it stays unread); else None."""
        self.client.send_bytes(
            self.client.publish_bytes(
                self.number, body, exchange, routing_key, properties, mandatory
            )
        )
        if not self.confirming:
            return None
        confirm = self.client.take_first(self.number, commands.Basic.Ack, commands.Basic.Nack)
        return None if confirm is None else isinstance(confirm, commands.Basic.Ack)

    def select_confirms(self) -> None:
        self.call(commands.Confirm.Select(), commands.Confirm.SelectOk)
        self.confirming = True

    def declare(
        self, queue: str = "", arguments: dict[str, Any] | None = None, **flags: Any
    ) -> commands.Queue.DeclareOk:
        """queue.declare (``durable=True``, ``exclusive=True``...): returns declare-ok."""
        method = commands.Queue.Declare(queue=queue, arguments=arguments, **flags)
        return self.call(method, commands.Queue.DeclareOk)

    def bind(self, queue: str, exchange: str, routing_key: str = "", **arguments: Any) -> None:
        method = commands.Queue.Bind(
            queue=queue, exchange=exchange, routing_key=routing_key, arguments=arguments or None
        )
        self.call(method, commands.Queue.BindOk)

    def exchange(self, name: str, kind: str = "direct", **flags: Any) -> None:
        """exchange.declare (``durable=True``, ``arguments={...}``...)."""
        method = commands.Exchange.Declare(exchange=name, exchange_type=kind, **flags)
        self.call(method, commands.Exchange.DeclareOk)

    def consume(self, queue: str, tag: str = "", **flags: Any) -> str:
        """basic.consume (``no_ack=True``, ``arguments={...}``...): returns the consumer tag."""
        method = commands.Basic.Consume(queue=queue, consumer_tag=tag, **flags)
        return str(self.call(method, commands.Basic.ConsumeOk).consumer_tag)

    def qos(self, prefetch_count: int, global_: bool = False) -> None:
        method = commands.Basic.Qos(prefetch_count=prefetch_count, global_=global_)
        self.call(method, commands.Basic.QosOk)

    def get(self, queue: str, no_ack: bool = True) -> Delivery | None:
        """basic.get: the message, or None on get-empty."""
        self.send(commands.Basic.Get(queue=queue, no_ack=no_ack))
        got = self.client.take(self.number, lambda item: not _is_delivery(item))
        if isinstance(got, commands.Basic.GetEmpty):
            return None
        assert isinstance(got, Delivery), f"expected get-ok or get-empty, got {show(got)}"
        return got

    def drain(self, queue: str) -> list[bytes]:
        """Every message's body, by basic.get (no-ack), until the queue is empty."""
        return [message.body for message in iter(lambda: self.get(queue), None)]

    def ack(self, delivery_tag: int, multiple: bool = False) -> None:
        self.send(commands.Basic.Ack(delivery_tag=delivery_tag, multiple=multiple))

    def nack(self, delivery_tag: int, multiple: bool = False, requeue: bool = True) -> None:
        self.send(
            commands.Basic.Nack(delivery_tag=delivery_tag, multiple=multiple, requeue=requeue)
        )

    def reject(self, delivery_tag: int, requeue: bool = True) -> None:
        self.send(commands.Basic.Reject(delivery_tag=delivery_tag, requeue=requeue))

    def message_count(self, queue: str) -> int:
        """queue.declare passive: how many messages are ready."""
        return int(self.declare(queue, passive=True).message_count or 0)
