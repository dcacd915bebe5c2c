"""One client connection: its life from protocol header to close, and its I/O boundary.

Theory of operation: bytes go in through ``receive_data``; frames come out of the
``FrameReader`` and are handled in order: by the ``Handshake`` until connection.open-ok
(each step an ``Event`` for the state table, ``states``, which ``_to`` applies), then by the
``ChannelRouter``, which takes them to their channels.  Output accumulates in an
``OutputBuffer`` and the transport collects it with ``data_to_send`` (one write per loop
tick); ``request_flush`` tells the transport there is output produced outside
``receive_data`` (deliveries caused by another connection).  While ``input_paused`` (the
``InputGate``: a reply waits for the disk, publishers are blocked or held by a queue)
frames stay buffered unhandled and the transport stops reading the socket.

A channel-level ``AMQPError`` closes that channel (the router's business); any other
closes the connection: we send connection.close, ignore everything but close/close-ok, and
the transport drops the socket.  Before tune-ok most errors drop the socket silently.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pamqp import commands

from amqpbroker.access.control import AccessControl
from amqpbroker.access.permissions import VhostAccess
from amqpbroker.access.sasl import MECHANISMS
from amqpbroker.config import BrokerConfig
from amqpbroker.core.broker import BrokerState
from amqpbroker.core.limits import UserLimits, count_down
from amqpbroker.core.sampler import Sample
from amqpbroker.core.stats import CONNECTION_FIELDS
from amqpbroker.core.vhost import VirtualHost
from amqpbroker.errors import (
    AMQPError,
    ChannelErrorHard,
    ConnectionAccessRefused,
    ConnectionForced,
    SilentClose,
    UnexpectedFrame,
)
from amqpbroker.protocol.assembler import Content
from amqpbroker.protocol.erlang import frame_octets
from amqpbroker.protocol.framing import (
    FRAME_HEARTBEAT,
    FRAME_METHOD,
    FRAME_MIN_SIZE,
    FRAME_OVERHEAD,
    FRAME_PUBLISH,
    FrameReader,
)
from amqpbroker.protocol.methods import Method, UnknownMethod, decode_method, encode_method

from .channel import Channel
from .channels import ChannelRouter, close_method, command_ids
from .handshake import Handshake, LoginRefused
from .input_gate import InputGate
from .output import OUTPUT_EARLY_WRITE, OUTPUT_HIGH_WATER, OutputBuffer
from .states import SILENT_STATES, Event, State, next_state
from .throttle import PublisherThrottle, ResourceAlarm

__all__ = ["OUTPUT_EARLY_WRITE", "OUTPUT_HIGH_WATER", "ConnectionSession", "shutdown_error"]

log = logging.getLogger(__name__)


class ConnectionSession:
    """The AMQP side of one connection, free of I/O; its channels' ``ChannelHost``."""

    def __init__(
        self,
        broker: BrokerState,
        access: AccessControl,
        request_flush: Callable[[], None] = lambda: None,
        peer: str = "",
        alarm: ResourceAlarm | None = None,
        write_now: Callable[[], None] = lambda: None,
        mechanisms: tuple[str, ...] = MECHANISMS,
        certificate_name: str | None = None,
    ) -> None:
        self.broker = broker
        self.config: BrokerConfig = broker.config
        self.peer = peer
        self.local_address = ""  # the server's "address:port" (the transport sets it)
        self._request_flush = request_flush  # output or resumed input waits: flush soon
        self.state = State.AWAIT_HEADER  # changed by _to() only
        self._output = OutputBuffer(request_flush, write_now)
        self.write = self._output.write  # (the hottest call: no wrapper)
        self.throttle = PublisherThrottle(
            alarm or ResourceAlarm(), lambda: self.client_capability("connection.blocked")
        )
        self._gate = InputGate(self.throttle, self, request_flush)
        self.dispatch_later = self._gate.dispatch_later
        self._access_control = access
        self._handshake = Handshake(
            self.config,
            access,
            peer,
            broker.vhost,
            self.write,
            mechanisms,
            certificate_name,
            broker.user_connections,
        )
        self.negotiated = self._handshake.negotiated
        self._reader = FrameReader(FRAME_MIN_SIZE)
        self._router = ChannelRouter(self, self._gate, self._connection_command)
        self.channels = self._router.channels  # (the same dict, by number)
        self.confirm_later = self._router.confirm_later  # (ChannelHost, served by the router)
        self.channel_closed = self._router.channel_closed
        self.vhost: VirtualHost | None = None
        self.access: VhostAccess | None = None  # the user's rights in ``vhost``, once open
        self.max_body = self.config.frame_max - FRAME_OVERHEAD
        self.close_delay = 0.0  # once closed: how long the transport waits to drop the socket
        self.close_reason = ""
        # Statistics as RabbitMQ's: octets and socket reads (receive_data calls) in, octets
        # and writes (output taken) out; rates from the sampler (core.sampler).
        self.recv_oct = self.recv_cnt = self.send_oct = self.send_cnt = 0
        self.sample = Sample(len(CONNECTION_FIELDS), broker.clock.wall(), broker.clock.now())
        self._lost = False
        self._opened_on: VirtualHost | None = None

    def _to(self, event: Event) -> None:
        """The one place the state changes (the table is ``states.TRANSITIONS``)."""
        self.state = next_state(self.state, event)

    # -- what the handshake settled -------------------------------------------------------------

    @property
    def user(self) -> str:
        return self.negotiated.user

    @property
    def client_properties(self) -> dict[str, Any]:
        return self.negotiated.client_properties

    @property
    def heartbeat(self) -> int:
        return self.negotiated.heartbeat

    def user_limits(self) -> UserLimits:
        """The user's limits as they are now (read at channel.open only)."""
        return UserLimits.from_value(self._access_control.user_limits(self.user))

    @property
    def frame_max(self) -> int:
        return self.negotiated.frame_max

    @property
    def channel_max(self) -> int:
        return self.negotiated.channel_max

    def client_capability(self, name: str) -> bool:
        return self.negotiated.client_capability(name)

    # -- I/O boundary ---------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True when the transport should flush and drop the socket."""
        return self.state is State.CLOSED

    @property
    def closing(self) -> bool:
        return self.state is State.CLOSING

    @property
    def input_paused(self) -> bool:
        """True while input stays buffered unhandled (the transport stops reading)."""
        gate = self._gate  # (InputGate.paused, inlined: asked after every frame)
        return gate.shut if self.state is State.OPEN else gate.held

    @property
    def writable(self) -> bool:
        """``OutputBuffer.writable``, inlined: asked before every delivery."""
        output = self._output
        return not output.paused and output.size < OUTPUT_HIGH_WATER

    def take_output(self) -> bytes:
        """The output so far (for a write in the middle of a tick)."""
        data = self._output.take()
        self.sent(len(data))
        return data

    def data_to_send(self) -> bytes:
        """The tick's output; consumers held back by the high-water mark may then go on."""
        data, resume = self._output.take_tick()
        self.sent(len(data))
        if resume:
            self._router.resume_consumers()  # their next deliveries go out with the next flush
        return data

    def sent(self, octets: int) -> None:
        """``octets`` went to the socket in one write (the transport's heartbeats too)."""
        if octets:
            self.send_oct += octets
            self.send_cnt += 1

    def message_counts(self) -> tuple[int, int, int, int]:
        """(recv_oct, recv_cnt, send_oct, send_cnt): ``core.stats.CONNECTION_FIELDS``."""
        return self.recv_oct, self.recv_cnt, self.send_oct, self.send_cnt

    def set_writable(self, writable: bool) -> None:
        """Transport back-pressure: stop dispatching while the socket buffer is full."""
        self._output.paused = not writable
        if writable:
            self._router.resume_consumers()

    def receive_data(self, data: bytes) -> None:
        if data:  # (b"": input that waited, handled now)
            self.recv_oct += len(data)
            self.recv_cnt += 1
        if self.state is State.CLOSED:
            return
        if self.input_paused:
            self._reader.push(data)
            return
        try:
            if self.state is State.AWAIT_HEADER:
                event, data = self._handshake.receive_header(data)
                if event is not None:
                    self._to(event)
                if not data:
                    return
            self._receive_frames(data)  # (b"": the frames that waited while input paused)
        except AMQPError as error:
            login = isinstance(error, ConnectionAccessRefused)  # (the handshake logged why)
            if self.state in SILENT_STATES and not login:
                self._drop(error.reply_text, self.config.silent_close_delay)
            else:
                self.close_with_error(error, logged=login)
        except (SilentClose, UnknownMethod) as error:
            silent = isinstance(error, SilentClose)
            delay = self.config.silent_close_delay if silent else 0.0
            self._drop(str(error), delay, logged=isinstance(error, LoginRefused))
            self._teardown()
        finally:
            if self._gate.pending:
                self._gate.dispatch_pending()
            self._router.flush_confirms()

    def _receive_frames(self, data: bytes) -> None:
        # Under a resource alarm every content frame counts (throttle): no whole publishes.
        whole = self.state is State.OPEN and not self.throttle.alarm_raised
        publish, route, open_ = self._router.publish, self._router.frame, State.OPEN
        for frame_type, channel, payload, header, body in self._reader.read_commands(data, whole):
            if frame_type == FRAME_PUBLISH:
                if self.state is open_:  # (closing: only close and close-ok matter)
                    publish(channel, payload, header, body)
                continue  # (a publish never pauses input: a connection error raises)
            if self.state is open_ and frame_type != FRAME_HEARTBEAT:
                route(frame_type, channel, payload)
            else:
                self._handle_frame(frame_type, channel, payload)
            if self.closed or self.input_paused:
                return

    def _drop(self, why: str, delay: float, *, logged: bool = False) -> None:
        """Drop the socket without a word (after ``delay``, input ignored meanwhile)."""
        if not logged:
            log.info("dropping connection %s: %s", self.peer, why)
        self.close_delay = delay
        self._to(Event.DROP)

    # -- what channels and the transport ask for ------------------------------------------------

    def hold_commands(self) -> None:
        """Input waits until ``resume_commands``: a reply waits for the disk (ChannelHost)."""
        self._gate.hold()

    def resume_commands(self) -> None:
        self._gate.resume()
        self._resume_input()

    @property
    def output_size(self) -> int:
        """Bytes written by the session and not yet taken by the transport."""
        return self._output.size

    def alarm_cleared(self) -> None:
        """The broker's resource alarm cleared: a blocked connection reads again."""
        if self.throttle.blocked:
            unblocked = self._gate.alarm_cleared()
            if unblocked is not None and self.state is State.OPEN:
                self.send_method(0, unblocked)
            self._resume_input()

    def resume_deferred_input(self) -> None:
        """Handle input a queue's flow control held back, now that it let go (transport)."""
        if self._gate.take_resumed():
            self.receive_data(b"")

    def _resume_input(self) -> None:
        self.receive_data(b"")  # the frames buffered meanwhile (a no-op while still paused)
        self._request_flush()  # lets the transport resume reading

    # -- frames ---------------------------------------------------------------------------------

    def _handle_frame(self, frame_type: int, channel: int, payload: bytes) -> None:
        if frame_type == FRAME_HEARTBEAT and not payload:
            if channel != 0:
                raise UnexpectedFrame(f"type 8, {frame_octets(payload)}")
            return
        if self.state is State.CLOSING:
            self._closing_frame(frame_type, channel, payload)
        elif self.state is not State.OPEN:
            self._handshake_frame(frame_type, channel, payload)
        else:
            self._router.frame(frame_type, channel, payload)

    def _handshake_frame(self, frame_type: int, channel: int, payload: bytes) -> None:
        handshake = self._handshake
        event = handshake.frame(self.state, frame_type, channel, payload)
        if event is Event.PEER_CLOSE:
            self.handle_connection_close()
            return
        if event is Event.TUNE_OK:
            frame_max = handshake.negotiated.frame_max
            self.max_body = frame_max - FRAME_OVERHEAD
            self._reader.frame_max = frame_max
            self._reader.body_max = min(frame_max, self.config.max_message_size)
        elif event is Event.OPEN and handshake.vhost is not None:
            self.vhost = handshake.vhost
            self.access = handshake.access
            handshake.vhost.open_connections += 1  # (its limit: counted down in _teardown)
            counts = self.broker.user_connections
            counts[self.user] = counts.get(self.user, 0) + 1
            self._router.open(handshake.vhost, handshake.negotiated.channel_max)
            self.broker.stats.connection_created += 1
            self._opened_on = handshake.vhost  # (its octets stay in its totals: connection_lost)
        self._to(event)

    def _closing_frame(self, frame_type: int, channel: int, payload: bytes) -> None:
        """After we sent connection.close, only close-ok (or a crossing close) matters."""
        if frame_type != FRAME_METHOD or channel != 0 or len(payload) < 4:
            return
        try:
            method = decode_method(payload)
        except (AMQPError, UnknownMethod):
            return
        if isinstance(method, (commands.Connection.Close, commands.Connection.CloseOk)):
            self._connection_command(method)  # (teardown is done: a no-op now)

    def _connection_command(self, command: Method | Content) -> None:
        """A command on channel 0 (of a connection open, or closing for close and close-ok)."""
        if isinstance(command, commands.Connection.Close):
            self.handle_connection_close()
        elif isinstance(command, commands.Connection.CloseOk):
            self._to(Event.PEER_CLOSE_OK)
        elif isinstance(command, commands.Connection.UpdateSecret):
            # As RabbitMQ 3.10.8 with its internal users: update-secret-ok whatever the new
            # secret is (the user logged in already; nothing expires), and the connection
            # carries on.
            self.send_method(0, commands.Connection.UpdateSecretOk())
        else:
            text = "unexpected method in connection state running"
            raise ChannelErrorHard(text, *command_ids(command))

    def handle_connection_close(self) -> None:
        self.send_method(0, commands.Connection.CloseOk())
        self._to(Event.PEER_CLOSE)
        self._teardown()

    # -- closing --------------------------------------------------------------------------------

    def send_method(self, channel: int, method: Method) -> None:
        self.write(encode_method(channel, method))

    def close_with_error(self, error: AMQPError, *, logged: bool = False) -> None:
        """A connection-level error: connection.close, then wait for close-ok (``logged``:
        the reason is in the log already)."""
        if self.state in (State.CLOSING, State.CLOSED):
            return
        if not logged:
            log.info("closing connection %s: %s", self.peer, error.reply_text)
        if self.state is State.AWAIT_HEADER:
            self._to(Event.DROP)
            return
        self.close_reason = error.reply_text
        self.send_method(0, close_method(commands.Connection.Close, error))
        self._to(Event.BROKER_CLOSE)
        self._teardown()

    def force_close(self, reason: str = "shutdown") -> None:
        """The broker shuts down: 320 CONNECTION_FORCED, in RabbitMQ's words."""
        self.close_by_broker(shutdown_error(reason))

    def close_channel_by_broker(self, chan: Channel, error: AMQPError) -> None:
        """Close one channel with ``error`` on the broker's initiative (consumer_timeout):
        its unacknowledged messages go back and their queues dispatch at once."""
        self._router.close_with_error(chan, error)
        if self._gate.pending:
            self._gate.dispatch_pending()

    def close_by_broker(self, error: AMQPError) -> None:
        """The broker closes the connection on its own initiative (shutdown, fault injection):
        connection.close with ``error``; a connection still in its handshake is dropped."""
        if self.state is State.OPEN:
            self.close_with_error(error)
        elif self.state is not State.CLOSING:
            self._to(Event.DROP)
            self._teardown()

    def _teardown(self) -> None:
        """Free everything the connection holds: channels (requeueing unacked), exclusive queues."""
        self._gate.forget()
        self._router.teardown()
        vhost = self.vhost
        if vhost is not None:
            vhost.open_connections -= 1
            count_down(self.broker.user_connections, self.user, 1)
            vhost.connection_closed(self)
            self.vhost = None

    def connection_lost(self) -> None:
        """The socket is gone (or we dropped it)."""
        if self.state is not State.CLOSED:
            self._to(Event.DROP)
        if not self._lost:  # (counted once: RabbitMQ counts every connection that goes)
            self._lost = True
            self.broker.stats.connection_closed += 1
            if self._opened_on is not None:
                self._opened_on.recv_oct += self.recv_oct
                self._opened_on.send_oct += self.send_oct
        self._teardown()


def shutdown_error(reason: str) -> ConnectionForced:
    """What RabbitMQ tells every client as it stops (``reason`` 'shutdown')."""
    return ConnectionForced(f"broker forced connection closure with reason '{reason}'")
