"""The first half of a connection's life: protocol header, start, tune, open.

``Handshake`` acts on its ``ConnectionSession`` until connection.open succeeds.  RabbitMQ's
habits are kept: before tune-ok every mistake drops the socket without a reply (only a
refused login is answered, and only to clients that announce authentication_failure_close);
after tune-ok a stray frame is 505 UNEXPECTED_FRAME.
"""

from __future__ import annotations

import ipaddress
import logging
import sys
from typing import TYPE_CHECKING, Any

from pamqp import commands

from amqpbroker.auth import MECHANISMS, AuthError
from amqpbroker.errors import (
    AMQPError,
    ConnectionAccessRefused,
    NotAllowed,
    SilentClose,
    UnexpectedFrame,
)
from amqpbroker.protocol.erlang import frame_octets
from amqpbroker.protocol.framing import (
    FRAME_METHOD,
    FRAME_MIN_SIZE,
    FRAME_OVERHEAD,
    PROTOCOL_HEADER,
    check_protocol_header,
)
from amqpbroker.protocol.methods import Method, UnknownMethod, decode_method
from amqpbroker.version import __version__

from .states import HANDSHAKE, State

if TYPE_CHECKING:
    from .connection import ConnectionSession

log = logging.getLogger(__name__)

# What the broker advertises in connection.start, in RabbitMQ's order.
CAPABILITIES = {
    "publisher_confirms": True,
    "exchange_exchange_bindings": True,
    "basic.nack": True,
    "consumer_cancel_notify": True,
    "connection.blocked": True,
    "consumer_priorities": True,
    "authentication_failure_close": True,
    "per_consumer_qos": True,
    "direct_reply_to": True,
}


def server_properties() -> dict[str, Any]:
    """connection.start's server-properties, in RabbitMQ's key order."""
    return {
        "capabilities": dict(CAPABILITIES),
        "cluster_name": "amqpbroker@localhost",
        "copyright": "amqpbroker contributors",
        "information": "Licensed under the MIT licence",
        "platform": f"Python {sys.version.split()[0]}",
        "product": "amqpbroker",
        "version": __version__,
    }


def _check_loopback(session: ConnectionSession, user: str, mechanism: str) -> None:
    """RabbitMQ's loopback_users: these users may connect from this host only."""
    if user in session.config.loopback_users and not is_loopback(session.peer):
        raise AuthError(
            f"{mechanism} login refused: user '{user}' can only connect via localhost",
            credentials_checked=True,
        )


def is_loopback(peer: str) -> bool:
    """Whether a peer written "address:port" is on this host's loopback interface."""
    address = peer.rpartition(":")[0].strip("[]")
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class Handshake:
    """Drives one session from the protocol header to connection.open-ok."""

    def __init__(self, session: ConnectionSession) -> None:
        self.session = session
        self._header = b""

    def receive_header(self, data: bytes) -> bytes:
        """Consume the 8-byte protocol header; return the bytes after it."""
        session = self.session
        needed = 8 - len(self._header)
        self._header += data[:needed]
        rest = data[needed:]
        if len(self._header) < 8:
            return b""
        if not check_protocol_header(self._header):
            session.write(PROTOCOL_HEADER)
            session.state = State.CLOSED
            return b""
        session.state = State.AWAIT_START_OK
        session.send_method(
            0,
            commands.Connection.Start(
                version_major=0,
                version_minor=9,
                server_properties=server_properties(),
                mechanisms=" ".join(MECHANISMS),
                locales="en_US",
            ),
        )
        return rest

    def frame(self, frame_type: int, channel: int, payload: bytes) -> None:
        """A frame before connection.open: only the next handshake method is welcome."""
        session = self.session
        expected, next_state = HANDSHAKE[session.state]
        method = None
        if frame_type == FRAME_METHOD and channel == 0 and len(payload) >= 4:
            try:
                method = decode_method(payload)
            except (AMQPError, UnknownMethod):
                method = None
        if isinstance(method, expected):
            self._handle(method)
            session.state = next_state
        elif session.state is State.AWAIT_OPEN and isinstance(method, commands.Connection.Close):
            session.handle_connection_close()
        elif session.state is State.AWAIT_OPEN:
            raise UnexpectedFrame(f"type {frame_type}, {frame_octets(payload)}")
        else:
            raise SilentClose(f"unexpected frame while {session.state.value}")

    def _handle(self, method: Method) -> None:
        if isinstance(method, commands.Connection.StartOk):
            self._start_ok(method)
        elif isinstance(method, commands.Connection.TuneOk):
            self._tune_ok(method)
        elif isinstance(method, commands.Connection.Open):
            self._open(method)

    def _start_ok(self, method: commands.Connection.StartOk) -> None:
        session = self.session
        props = method.client_properties
        session.client_properties = props if isinstance(props, dict) else {}
        raw = method.response
        response = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
        try:
            user = session.users.authenticate(method.mechanism, response)
            _check_loopback(session, user.name, method.mechanism)
        except AuthError as error:
            log.info("connection from %s refused: %s", session.peer, error)
            if not error.credentials_checked or not session.client_capability(
                "authentication_failure_close"
            ):
                raise SilentClose(str(error)) from None
            raise ConnectionAccessRefused(
                f"Login was refused using authentication mechanism {method.mechanism}. "
                "For details see the broker logfile."
            ) from None
        session.user = user.name
        config = session.config
        session.send_method(
            0,
            commands.Connection.Tune(
                channel_max=config.channel_max,
                frame_max=config.frame_max,
                heartbeat=config.heartbeat,
            ),
        )

    def _tune_ok(self, method: commands.Connection.TuneOk) -> None:
        session, server = self.session, self.session.config
        # RabbitMQ drops the socket without a reply when tune-ok asks for more than it
        # offered (0 means "no limit", which is more).
        if not FRAME_MIN_SIZE <= method.frame_max <= server.frame_max:
            raise SilentClose(f"negotiated frame_max = {method.frame_max} is out of range")
        if not 0 < method.channel_max <= server.channel_max:
            raise SilentClose(
                f"negotiated channel_max = {method.channel_max} is higher than "
                f"the maximum allowed value ({server.channel_max})"
            )
        session.frame_max = method.frame_max
        session.max_body = method.frame_max - FRAME_OVERHEAD
        session.channel_max = method.channel_max
        session.heartbeat = method.heartbeat
        session.set_frame_max(method.frame_max)

    def _open(self, method: commands.Connection.Open) -> None:
        session = self.session
        try:
            session.vhost = session.broker.vhost(method.virtual_host)
        except NotAllowed as error:
            error.class_id, error.method_id = 10, 40
            raise
        session.send_method(0, commands.Connection.OpenOk())
