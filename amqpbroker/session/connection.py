"""One client connection: frame dispatch, channels and error scoping.

Theory of operation: bytes go in through ``receive_data``; frames come out of the
``FrameReader`` and are handled in order.  Output accumulates and the transport collects it
with ``data_to_send`` (one write per loop tick); ``request_flush`` tells the transport there
is output produced outside ``receive_data`` (deliveries caused by another connection).
While ``input_paused`` (a reply waits for the disk, or publishers are blocked: ``throttle``)
frames stay buffered unhandled and the transport stops reading the socket.

States are in ``states``; everything before connection.open-ok is ``Handshake``'s.
A channel-level ``AMQPError`` closes that channel; any other closes the connection: we send
connection.close, ignore everything but close/close-ok, and the transport drops the socket.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from pamqp import commands

from amqpbroker.auth import UserStore
from amqpbroker.config import BrokerConfig
from amqpbroker.core.broker import BrokerState
from amqpbroker.core.consumer import Consumer
from amqpbroker.core.queue import Queue
from amqpbroker.core.vhost import VirtualHost
from amqpbroker.errors import (
    AMQPError,
    ChannelErrorHard,
    CommandInvalid,
    ConnectionAccessRefused,
    ConnectionForced,
    FrameError,
    NotAllowed,
    SilentClose,
    UnexpectedFrame,
)
from amqpbroker.protocol.assembler import CommandAssembler, Content
from amqpbroker.protocol.erlang import frame_octets
from amqpbroker.protocol.fastcodec import ACK_PREFIX, decode_ack
from amqpbroker.protocol.framing import (
    FRAME_BODY,
    FRAME_HEADER,
    FRAME_HEARTBEAT,
    FRAME_METHOD,
    FRAME_MIN_SIZE,
    FRAME_OVERHEAD,
    FRAME_PUBLISH,
    HEARTBEAT_FRAME,
    FrameReader,
)
from amqpbroker.protocol.methods import (
    Method,
    UnknownMethod,
    decode_method,
    encode_method,
    make_method,
    method_ids,
)

from .channel import Channel, ChannelState
from .handlers import HANDLERS, handle_content
from .handshake import Handshake
from .states import SILENT_STATES, State
from .throttle import PublisherThrottle, ResourceAlarm

log = logging.getLogger(__name__)

PUBLISH_IDS = (60, 40)
ACK_IDS = (60, 80)
# Output bytes per loop tick after which deliveries wait for the next tick.
OUTPUT_HIGH_WATER = 1 << 20
# Output bytes after which the transport writes at once rather than at the end of the loop
# tick: a tick spent reading many publishes from many connections can last a second, and
# their consumers would otherwise hear nothing until it ends.
OUTPUT_EARLY_WRITE = 256 << 10


class ConnectionSession:
    """The AMQP side of one connection; synchronous and free of I/O."""

    def __init__(
        self,
        broker: BrokerState,
        users: UserStore,
        request_flush: Callable[[], None] = lambda: None,
        peer: str = "",
        alarm: ResourceAlarm | None = None,
        write_now: Callable[[], None] = lambda: None,
    ) -> None:
        self.broker = broker
        self.config: BrokerConfig = broker.config
        self.users = users
        self.peer = peer
        self._request_flush = request_flush  # output waits: flush at the end of the tick
        self._write_now = write_now  # output outgrew OUTPUT_EARLY_WRITE: take_output now
        self.state = State.AWAIT_HEADER
        self._handshake = Handshake(self)
        self._reader = FrameReader(FRAME_MIN_SIZE)
        self._assembler = CommandAssembler()
        self._out: list[bytes] = []
        self.channels: dict[int, Channel] = {}
        self.confirms_pending: set[Channel] = set()
        self.vhost: VirtualHost | None = None
        self.user = ""
        self.client_properties: dict[str, Any] = {}
        self.channel_max = self.config.channel_max
        self.frame_max = self.config.frame_max
        self.max_body = self.frame_max - FRAME_OVERHEAD
        self.heartbeat = 0
        self._out_size = 0
        self._transport_paused = False
        self.commands_held = False
        self._held_by_queues: set[Queue] = set()  # publisher flow control (core.queue FLOW_HIGH)
        # Queues to dispatch at the end of a run of publishes and acks: published into?
        self._undispatched: dict[Queue, bool] = {}
        self._input_resumed = False
        self.throttle = PublisherThrottle(
            alarm or ResourceAlarm(), lambda: self.client_capability("connection.blocked")
        )
        self.close_delay = 0.0  # once closed: how long the transport waits to drop the socket
        self.close_reason = ""

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
        """True while input stays buffered unhandled (the transport stops reading).

        A connection closing on the broker's initiative reads again, for its close-ok."""
        if self.state is not State.OPEN:
            return self.commands_held
        return self.commands_held or self.throttle.blocked or bool(self._held_by_queues)

    @property
    def writable(self) -> bool:
        """False while deliveries should wait: the socket is backed up or a tick's output is big.

        Without the output bound, a consumer without prefetch would have a whole backlog
        encoded in one loop tick.
        """
        return not self._transport_paused and self._out_size < OUTPUT_HIGH_WATER

    def write(self, data: bytes) -> None:
        if not self._out:
            self._request_flush()
        self._out.append(data)
        self._out_size += len(data)
        if self._out_size >= OUTPUT_EARLY_WRITE:
            self._write_now()

    def take_output(self) -> bytes:
        """The output so far (for a write in the middle of a tick)."""
        data = b"".join(self._out)
        self._out.clear()
        self._out_size = 0
        return data

    def data_to_send(self) -> bytes:
        """The tick's output; consumers held back by OUTPUT_HIGH_WATER may then go on."""
        if not self._out:
            return b""
        was_full = self._out_size >= OUTPUT_HIGH_WATER
        data = self.take_output()
        if was_full and not self._transport_paused:
            self._resume_consumers()  # their next deliveries go out with the next flush
        return data

    def receive_data(self, data: bytes) -> None:
        if self.state is State.CLOSED:
            return
        if self.input_paused:
            self._reader.push(data)
            return
        try:
            if self.state is State.AWAIT_HEADER:
                data = self._handshake.receive_header(data)
                if not data:
                    return
            # Under a resource alarm every content frame counts (throttle): no whole publishes.
            whole = self.state is State.OPEN and not self.throttle.alarm_raised
            for frame_type, channel, payload, header, body in self._reader.read_commands(
                data, whole
            ):
                if frame_type == FRAME_PUBLISH:
                    self._handle_publish(channel, payload, header, body)
                    continue  # (a publish never pauses input: a connection error raises)
                self._handle_frame(frame_type, channel, payload)
                if self.closed or self.input_paused:
                    return
        except AMQPError as error:
            if self.state in SILENT_STATES and not isinstance(error, ConnectionAccessRefused):
                log.info("dropping connection %s: %s", self.peer, error.reply_text)
                self.state = State.CLOSED
                self.close_delay = self.config.silent_close_delay
            else:
                self.close_with_error(error)
        except (SilentClose, UnknownMethod) as error:
            log.info("dropping connection %s: %s", self.peer, error)
            if isinstance(error, SilentClose):
                self.close_delay = self.config.silent_close_delay
            self.state = State.CLOSED
            self.release()
        finally:
            if self._undispatched:
                self._dispatch_pending()
            self._flush_confirms()

    def hold_commands(self) -> None:
        """Stop handling input (it stays buffered) until ``release_commands``: a reply this
        connection owes waits for the disk, and later replies must not overtake it."""
        self.commands_held = True
        self._request_flush()  # lets the transport pause reading

    def release_commands(self) -> None:
        self.commands_held = False
        self.close_delay = 0.0  # once closed: how long the transport waits to drop the socket
        self._resume_input()

    def alarm_cleared(self) -> None:
        """The broker's resource alarm cleared: a blocked connection reads again."""
        if not self.throttle.blocked:
            return
        unblocked = self.throttle.alarm_cleared()
        if unblocked is not None and self.state is State.OPEN:
            self.send_method(0, unblocked)
        self._resume_input()

    def dispatch_later(self, queues: list[Queue], published: bool = True) -> None:
        """A publish landed in ``queues`` (or, not ``published``, an ack freed room for their
        consumers): they deliver once this run of publishes and acks ends (at the next
        other command, or the end of the input at hand): one dispatch per run, not per
        message.  Only the queues published into may then hold this connection back."""
        undispatched = self._undispatched
        for queue in queues:
            if published or queue not in undispatched:
                undispatched[queue] = published

    def _dispatch_pending(self) -> None:
        queues = list(self._undispatched.items())
        self._undispatched.clear()
        for queue, published in queues:
            queue.dispatch()
            if published and queue.holds_publishers():
                self.held_by(queue)

    def held_by(self, queue: Queue) -> None:
        """A queue this connection published into is far behind its consumers: stop reading
        until it catches up (see core.queue FLOW_HIGH)."""
        if queue not in self._held_by_queues:
            self._held_by_queues.add(queue)
            queue.hold_publisher(self, partial(self._released_by, queue))

    def _released_by(self, queue: Queue) -> None:
        # Called while the queue dispatches for another connection: the buffered input is
        # handled from the transport's next flush (resume_deferred_input), not from here.
        self._held_by_queues.discard(queue)
        if not self._held_by_queues:
            self._input_resumed = True
            self._request_flush()

    def resume_deferred_input(self) -> None:
        """Handle input a queue's flow control held back, now that it let go (transport)."""
        if self._input_resumed:
            self._input_resumed = False
            self.receive_data(b"")

    def _resume_input(self) -> None:
        self.receive_data(b"")  # the frames buffered meanwhile (a no-op while still paused)
        self._request_flush()  # lets the transport resume reading

    def _flush_confirms(self) -> None:
        if self.confirms_pending:
            for channel in self.confirms_pending:
                channel.flush_confirms()
            self.confirms_pending.clear()

    def set_writable(self, writable: bool) -> None:
        """Transport back-pressure: stop dispatching while the socket buffer is full."""
        self._transport_paused = not writable
        if writable:
            self._resume_consumers()

    def _resume_consumers(self) -> None:
        for channel in list(self.channels.values()):
            channel.resume_consumers()

    def set_frame_max(self, frame_max: int) -> None:
        self._reader.frame_max = frame_max

    def client_capability(self, name: str) -> bool:
        capabilities = self.client_properties.get("capabilities")
        return isinstance(capabilities, dict) and bool(capabilities.get(name))

    # -- frames ---------------------------------------------------------------------------------

    def _handle_frame(self, frame_type: int, channel: int, payload: bytes) -> None:
        if frame_type == FRAME_HEARTBEAT and not payload:
            if channel != 0:
                raise UnexpectedFrame(f"type 8, {frame_octets(payload)}")
            return
        if self.state is State.CLOSING:
            self._closing_frame(frame_type, channel, payload)
            return
        if self.state is not State.OPEN:
            self._handshake.frame(frame_type, channel, payload)
            return
        if frame_type == FRAME_METHOD:
            if channel == 0 and len(payload) >= 4:
                self._handle_channel_zero(decode_method(payload))
                return
            if len(payload) == 13 and payload[:4] == ACK_PREFIX:
                self._handle_ack(channel, payload)
                return
            command = self._assembler.method_frame(channel, payload)
            if command is not None:
                self._dispatch(channel, command)
        elif frame_type in (FRAME_HEADER, FRAME_BODY):
            if channel == 0:
                raise UnexpectedFrame(f"type {frame_type}, {frame_octets(payload)}")
            command = self._assembler.content_frame(frame_type, channel, payload)
            if command is not None:
                self._dispatch(channel, command)
            blocked = self.throttle.content_received()  # after the frame, as RabbitMQ
            if blocked is not None:
                self.send_method(0, blocked)
        else:
            raise FrameError(f"type {frame_type}, {frame_octets(payload)}: unknown_frame")

    def _handle_publish(self, channel: int, method: bytes, header: bytes, body: bytes) -> None:
        """A whole basic.publish (``framing.read_commands``): what its three frames do."""
        if self.state is not State.OPEN:
            return  # closing: only close and close-ok matter
        publish = self._assembler.whole_publish(channel, method, header)
        chan = self.channels.get(channel)
        if chan is None or chan.state is not ChannelState.OPEN:
            content = Content(publish, header=header, body_size=len(body), parts=[body])
            self._dispatch(channel, content)  # what it says about a channel not open
            return
        try:
            handle_content(chan, publish, header, body)
        except AMQPError as error:
            self._command_failed(chan, error, PUBLISH_IDS)

    def _handle_ack(self, channel: int, payload: bytes) -> None:
        """basic.ack, the most frequent method: the consumers it frees take more once the
        input at hand is handled (one dispatch for a run of acks, as for publishes)."""
        chan = self.channels.get(channel)
        if chan is None or chan.state is not ChannelState.OPEN or chan.tx is not None:
            command = self._assembler.method_frame(channel, payload)
            if command is not None:
                self._dispatch(channel, command)
            return
        if self._assembler.assembling(channel):
            self._assembler.method_frame(channel, payload)  # raises UnexpectedFrame
        delivery_tag, multiple = decode_ack(payload)
        try:
            self.dispatch_later(chan.ack(delivery_tag, multiple), published=False)
        except AMQPError as error:
            self._command_failed(chan, error, ACK_IDS)

    def _closing_frame(self, frame_type: int, channel: int, payload: bytes) -> None:
        """After we sent connection.close, only close-ok (or a crossing close) matters."""
        if frame_type != FRAME_METHOD or channel != 0 or len(payload) < 4:
            return
        try:
            method = decode_method(payload)
        except (AMQPError, UnknownMethod):
            return
        if isinstance(method, commands.Connection.Close):
            self.send_method(0, commands.Connection.CloseOk())
            self.state = State.CLOSED
        elif isinstance(method, commands.Connection.CloseOk):
            self.state = State.CLOSED

    def _dispatch(self, channel: int, command: Method | Content) -> None:
        if self._undispatched and not isinstance(command, Content):
            self._dispatch_pending()  # deliveries keep their order with other commands
        if channel == 0:
            self._handle_channel_zero(command)
            return
        chan = self.channels.get(channel)
        if isinstance(command, commands.Channel.Open):
            self._open_channel(channel, chan)
            return
        if chan is None:
            class_id, method_id = _command_ids(command)
            raise ChannelErrorHard(
                "expected 'channel.open'", class_id=class_id, method_id=method_id
            )
        if chan.state is ChannelState.CLOSING:
            if isinstance(command, commands.Channel.CloseOk):
                del self.channels[channel]
            elif isinstance(command, commands.Channel.Close):
                chan.send(commands.Channel.CloseOk())
            return
        try:
            if isinstance(command, Content):
                if command.publish is None:  # deliver, return or get-ok from a client
                    raise CommandInvalid("unimplemented method", *command.ids)
                handle_content(chan, command.publish, command.header, command.body)
            else:
                self._run_handler(chan, command)
        except AMQPError as error:
            self._command_failed(chan, error, _command_ids(command))

    def _command_failed(self, chan: Channel, error: AMQPError, ids: tuple[int, int]) -> None:
        """A command on ``chan`` failed: the channel closes, or the connection (re-raised)."""
        if not error.class_id:
            error.class_id, error.method_id = ids
        if error.connection_level:
            raise error
        self.close_channel_with_error(chan, error)

    @staticmethod
    def _run_handler(chan: Channel, method: Method) -> None:
        handler = HANDLERS.get(type(method))
        if handler is None:
            raise CommandInvalid("unimplemented method")
        handler(chan, method)

    def _handle_channel_zero(self, command: Method | Content) -> None:
        if isinstance(command, commands.Connection.Close):
            self.handle_connection_close()
        elif isinstance(command, commands.Connection.CloseOk):
            self.state = State.CLOSED
        else:
            class_id, method_id = _command_ids(command)
            raise ChannelErrorHard(
                "unexpected method in connection state running",
                class_id=class_id,
                method_id=method_id,
            )

    def handle_connection_close(self) -> None:
        self.send_method(0, commands.Connection.CloseOk())
        self.state = State.CLOSED
        self.release()

    def _open_channel(self, number: int, existing: Channel | None) -> None:
        if existing is not None:
            raise ChannelErrorHard("second 'channel.open' seen", class_id=20, method_id=10)
        if len(self.channels) >= self.channel_max:
            raise NotAllowed(
                f"number of channels opened ({len(self.channels)}) has reached "
                f"the negotiated channel_max ({self.channel_max})"
            )
        self.channels[number] = Channel(number, self)
        self.send_method(number, make_method(commands.Channel.OpenOk, channel_id=""))

    # -- closing --------------------------------------------------------------------------------

    def send_method(self, channel: int, method: Method) -> None:
        self.write(encode_method(channel, method))

    def close_channel_with_error(self, chan: Channel, error: AMQPError) -> None:
        chan.send(
            commands.Channel.Close(
                reply_code=error.reply_code,
                reply_text=error.reply_text[:255],
                class_id=error.class_id,
                method_id=error.method_id,
            )
        )
        chan.release()

    def close_with_error(self, error: AMQPError) -> None:
        """A connection-level error: connection.close, then wait for close-ok."""
        if self.state in (State.CLOSING, State.CLOSED):
            return
        log.info("closing connection %s: %s", self.peer, error.reply_text)
        if self.state is State.AWAIT_HEADER:
            self.state = State.CLOSED
            return
        self.close_reason = error.reply_text
        self.send_method(
            0,
            commands.Connection.Close(
                reply_code=error.reply_code,
                reply_text=error.reply_text[:255],
                class_id=error.class_id,
                method_id=error.method_id,
            ),
        )
        self.state = State.CLOSING
        self.release()

    def force_close(self, reason: str = "shutdown") -> None:
        """The broker shuts down: 320 CONNECTION_FORCED, in RabbitMQ's words."""
        self.close_by_broker(shutdown_error(reason))

    def close_by_broker(self, error: AMQPError) -> None:
        """The broker closes the connection on its own initiative (shutdown, fault injection):
        connection.close with ``error``; a connection still in its handshake is dropped."""
        if self.state is State.OPEN:
            self.close_with_error(error)
        elif self.state is not State.CLOSING:
            self.state = State.CLOSED
            self.release()

    def heartbeat_frame(self) -> bytes:
        return HEARTBEAT_FRAME

    # -- cleanup --------------------------------------------------------------------------------

    def remove_consumer(self, chan: Channel, consumer: Consumer) -> None:
        chan.consumers.pop(consumer.tag, None)
        queue = consumer.queue
        queue.remove_consumer(consumer)
        if self.vhost is not None:
            self.vhost.consumer_removed(queue)

    def release(self) -> None:
        """Free everything the connection holds: channels (requeueing unacked), exclusive queues."""
        channels = list(self.channels.values())
        self.channels.clear()
        self.confirms_pending.clear()
        for queue in self._held_by_queues:
            queue.forget_publisher(self)
        self._held_by_queues.clear()
        closing = [chan for chan in channels if chan.state is ChannelState.OPEN]
        for chan in closing:  # what one channel requeues must not go to another of ours
            chan.state = ChannelState.CLOSING
        for chan in closing:
            chan.release()
        vhost = self.vhost
        if vhost is not None:
            vhost.connection_closed(self)
            self.vhost = None

    def connection_lost(self) -> None:
        """The socket is gone (or we dropped it)."""
        if self.state is not State.CLOSED:
            self.state = State.CLOSED
        self.release()


def shutdown_error(reason: str) -> ConnectionForced:
    """What RabbitMQ tells every client as it stops (``reason`` 'shutdown')."""
    return ConnectionForced(f"broker forced connection closure with reason '{reason}'")


def _command_ids(command: Method | Content) -> tuple[int, int]:
    return command.ids if isinstance(command, Content) else method_ids(command)
