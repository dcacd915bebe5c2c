"""An open connection's channels: frames and commands to the channel they name.

Theory of operation: once the connection is open (``open``), the session hands every frame
here but heartbeats.  The ``CommandAssembler`` turns frames into commands, and each
command goes to its channel's handler (``handlers.HANDLERS``).  The two most frequent
commands skip the assembler: a whole basic.publish (``publish``, the frame reader's
``FRAME_PUBLISH``) and basic.ack outside a transaction, whose freed consumers take more once
the input at hand is handled.  Channel 0 belongs to the connection: its commands go back to
the session (``connection_command``).  A content frame may also block a publisher under a
resource alarm (``throttle``): connection.blocked goes out after the frame, as in RabbitMQ.

Errors are scoped here: an ``AMQPError`` with ``connection_level`` unset closes the channel
(channel.close, then only close-ok or a crossing close counts on it); any other is raised
for the session to close the connection.
"""

from __future__ import annotations

from collections.abc import Callable

from pamqp import commands

from amqpbroker.core.limits import count_down
from amqpbroker.core.vhost import VirtualHost
from amqpbroker.errors import (
    AMQPError,
    ChannelErrorHard,
    CommandInvalid,
    FrameError,
    InternalError,
    NotAllowed,
    PreconditionFailed,
    UnexpectedFrame,
)
from amqpbroker.protocol.assembler import CommandAssembler, Content
from amqpbroker.protocol.erlang import frame_octets
from amqpbroker.protocol.fastcodec import ACK_PREFIX, decode_ack
from amqpbroker.protocol.framing import FRAME_BODY, FRAME_HEADER, FRAME_METHOD
from amqpbroker.protocol.ids import ACK_IDS, PUBLISH_IDS
from amqpbroker.protocol.methods import (
    Method,
    decode_method,
    encode_method,
    make_method,
    method_ids,
)

from .channel import Channel, ChannelState
from .handlers import HANDLERS, handle_content
from .host import ChannelHost, ConfirmSource
from .input_gate import InputGate


class ChannelRouter:
    """The channels of one connection, by number."""

    def __init__(
        self,
        host: ChannelHost,
        gate: InputGate,
        connection_command: Callable[[Method | Content], None],
    ) -> None:
        self._host = host
        self._gate = gate
        self._connection_command = connection_command  # a command on channel 0
        self._assembler = CommandAssembler(host.broker.config.max_message_size)
        self.channels: dict[int, Channel] = {}
        self._confirms_pending: set[ConfirmSource] = set()
        self._vhost: VirtualHost | None = None
        self._channel_max = 0

    def open(self, vhost: VirtualHost, channel_max: int) -> None:
        """The connection is open on ``vhost``: channels may open, up to ``channel_max``."""
        self._vhost = vhost
        self._channel_max = channel_max

    # -- frames ---------------------------------------------------------------------------------

    def publish(self, channel: int, method: bytes, header: bytes, body: bytes) -> None:
        """A whole basic.publish (``framing.read_commands``): what its three frames do."""
        publish = self._assembler.whole_publish(channel, method)
        chan = self.channels.get(channel)
        if chan is None or chan.state is not ChannelState.OPEN:
            content = Content(publish, header=header, body_size=len(body), parts=[body])
            self._dispatch(channel, content)  # what it says about a channel not open
            return
        try:
            handle_content(chan, publish, header, body)
        except AMQPError as error:
            self._command_failed(chan, error, PUBLISH_IDS)

    def frame(self, frame_type: int, channel: int, payload: bytes) -> None:
        """Any other frame of the open connection (empty heartbeats stay with the session)."""
        if frame_type == FRAME_METHOD:
            if channel == 0 and len(payload) >= 4:
                self._connection_command(decode_method(payload))
            elif len(payload) == 13 and payload[:4] == ACK_PREFIX:
                self._ack(channel, payload)
            else:
                command = self._assembler.method_frame(channel, payload)
                if command is not None:
                    self._dispatch(channel, command)
        elif frame_type in (FRAME_HEADER, FRAME_BODY):
            if channel == 0:
                raise UnexpectedFrame(f"type {frame_type}, {frame_octets(payload)}")
            try:
                command = self._assembler.content_frame(frame_type, channel, payload)
            except PreconditionFailed as error:  # a body over max_message_size
                self._refuse_content(channel, error)
                command = None
            if command is not None:
                self._dispatch(channel, command)
            blocked = self._gate.content_received()  # after the frame, as RabbitMQ
            if blocked is not None:
                self._host.write(encode_method(0, blocked))
        else:
            raise FrameError(f"type {frame_type}, {frame_octets(payload)}: unknown_frame")

    def _refuse_content(self, channel: int, error: PreconditionFailed) -> None:
        chan = self.channels.get(channel)
        if chan is not None and chan.state is ChannelState.OPEN:
            self.close_with_error(chan, error)

    def _ack(self, channel: int, payload: bytes) -> None:
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
            self._gate.dispatch_later(chan.ack(delivery_tag, multiple), published=False)
        except AMQPError as error:
            self._command_failed(chan, error, ACK_IDS)

    # -- commands -------------------------------------------------------------------------------

    def _dispatch(self, channel: int, command: Method | Content) -> None:
        gate = self._gate
        if gate.pending and not isinstance(command, Content):
            gate.dispatch_pending()  # deliveries keep their order with other commands
        if channel == 0:
            self._connection_command(command)
            return
        chan = self.channels.get(channel)
        if isinstance(command, commands.Channel.Open):
            self._open_channel(channel, chan)
            return
        if chan is None:
            raise ChannelErrorHard("expected 'channel.open'", *command_ids(command))
        if chan.state is ChannelState.CLOSING:
            if isinstance(command, commands.Channel.CloseOk):
                self.channel_closed(channel)
            elif isinstance(command, commands.Channel.Close):
                chan.send(commands.Channel.CloseOk())
            return
        try:
            if isinstance(command, Content):
                if command.publish is None:  # deliver, return or get-ok from a client
                    raise CommandInvalid("unimplemented method", *command.ids)
                handle_content(chan, command.publish, command.header, command.body)
            else:
                _run_handler(chan, command)
        except AMQPError as error:
            self._command_failed(chan, error, command_ids(command))

    def _command_failed(self, chan: Channel, error: AMQPError, ids: tuple[int, int]) -> None:
        """A command on ``chan`` failed: the channel closes, or the connection (re-raised)."""
        if not error.class_id and not isinstance(error, InternalError):
            # (RabbitMQ's 541 comes from a crashed channel: its close names no method.)
            error.class_id, error.method_id = ids
        if error.connection_level:
            raise error
        self.close_with_error(chan, error)

    def _open_channel(self, number: int, existing: Channel | None) -> None:
        if existing is not None:
            raise ChannelErrorHard("second 'channel.open' seen", class_id=20, method_id=10)
        if len(self.channels) >= self._channel_max:
            raise NotAllowed(
                f"number of channels opened ({len(self.channels)}) has reached "
                f"the negotiated channel_max ({self._channel_max})"
            )
        host = self._host
        user_channels = host.broker.user_channels
        host.user_limits().check_channel(host.user, user_channels.get(host.user, 0))
        user_channels[host.user] = user_channels.get(host.user, 0) + 1
        vhost = self._vhost
        if vhost is None:  # (the session sends no frames here before open())
            raise RuntimeError("channel.open on a connection not open")
        chan = Channel(number, self._host, vhost)
        self.channels[number] = chan
        self._host.broker.stats.channel_created += 1
        chan.send(make_method(commands.Channel.OpenOk, channel_id=""))

    # -- all channels ---------------------------------------------------------------------------

    @staticmethod
    def close_with_error(chan: Channel, error: AMQPError) -> None:
        """channel.close for a channel-level error; the channel then waits for close-ok."""
        chan.send(close_method(commands.Channel.Close, error))
        chan.teardown()

    def confirm_later(self, channel: ConfirmSource) -> None:
        """``channel`` has confirms to send at the end of the input at hand."""
        self._confirms_pending.add(channel)

    def flush_confirms(self) -> None:
        """The input at hand is handled: channels send their confirms (one frame per run)."""
        if self._confirms_pending:
            for channel in self._confirms_pending:
                channel.flush_confirms()
            self._confirms_pending.clear()

    def channel_closed(self, number: int) -> None:
        """Channel ``number`` finished closing: its number is free."""
        if self.channels.pop(number, None) is not None:
            count_down(self._host.broker.user_channels, self._host.user, 1)

    def resume_consumers(self) -> None:
        for channel in list(self.channels.values()):
            channel.resume_consumers()

    def teardown(self) -> None:
        """The connection goes away: every open channel requeues its unacked messages."""
        channels = list(self.channels.values())
        count_down(self._host.broker.user_channels, self._host.user, len(channels))
        self.channels.clear()
        self._confirms_pending.clear()
        closing = [chan for chan in channels if chan.state is ChannelState.OPEN]
        for chan in closing:  # what one channel requeues must not go to another of ours
            chan.stop_deliveries()
        for chan in closing:
            chan.teardown()


def _run_handler(chan: Channel, method: Method) -> None:
    handler = HANDLERS.get(type(method))
    if handler is None:
        raise CommandInvalid("unimplemented method")
    handler(chan, method)


def close_method(
    close: type[commands.Connection.Close | commands.Channel.Close], error: AMQPError
) -> Method:
    """connection.close or channel.close telling ``error``."""
    return close(
        reply_code=error.reply_code,
        reply_text=error.reply_text[:255],
        class_id=error.class_id,
        method_id=error.method_id,
    )


def command_ids(command: Method | Content) -> tuple[int, int]:
    return command.ids if isinstance(command, Content) else method_ids(command)
