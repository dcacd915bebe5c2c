"""The first half of a connection's life: protocol header, start, tune, open.

``Handshake`` handles a session's frames until connection.open succeeds; it tells the session
which ``Event`` each step was and keeps what was settled in ``Negotiated``.  RabbitMQ's
habits are kept: before tune-ok every mistake drops the socket without a reply (only a
refused login is answered, and only to clients that announce authentication_failure_close);
after tune-ok a method on channel 0 other than open or close is 504 CHANNEL_ERROR
"unexpected method in connection state opening", any other stray frame 505 UNEXPECTED_FRAME.
"""

from __future__ import annotations

import ipaddress
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pamqp import commands

from amqpbroker.access.control import AccessControl
from amqpbroker.access.permissions import VhostAccess
from amqpbroker.access.sasl import MECHANISMS, AuthError
from amqpbroker.access.users import User
from amqpbroker.config import BrokerConfig
from amqpbroker.core.limits import UserLimits
from amqpbroker.core.vhost import VirtualHost
from amqpbroker.errors import (
    AMQPError,
    ChannelErrorHard,
    ConnectionAccessRefused,
    NotAllowed,
    SilentClose,
    UnexpectedFrame,
)
from amqpbroker.protocol.erlang import frame_octets
from amqpbroker.protocol.framing import (
    FRAME_METHOD,
    FRAME_MIN_SIZE,
    PROTOCOL_HEADER,
    check_protocol_header,
)
from amqpbroker.protocol.methods import (
    Method,
    UnknownMethod,
    decode_method,
    encode_method,
    method_ids,
)
from amqpbroker.version import __version__

from .states import HANDSHAKE, Event, State

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


def is_loopback(peer: str) -> bool:
    """Whether a peer written "address:port" is on this host's loopback interface."""
    address = peer.rpartition(":")[0].strip("[]")
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class LoginRefused(SilentClose):
    """A refused login, dropped without a reply; the handshake has logged it already."""


@dataclass(slots=True)
class Negotiated:
    """What the handshake settled with the client: who it is and the connection's limits."""

    frame_max: int
    channel_max: int
    heartbeat: int = 0
    user: str = ""
    mechanism: str = ""  # the SASL mechanism the client logged in with
    client_properties: dict[str, Any] = field(default_factory=dict)

    def client_capability(self, name: str) -> bool:
        capabilities = self.client_properties.get("capabilities")
        return isinstance(capabilities, dict) and bool(capabilities.get(name))


class Handshake:
    """The steps from the protocol header to connection.open-ok.

    Each step returns the ``Event`` it amounts to, for the session to apply (the session
    owns the state); what the steps settle accumulates in ``negotiated``, and ``vhost`` is
    the virtual host connection.open named, once accepted.
    """

    def __init__(
        self,
        config: BrokerConfig,
        access: AccessControl,
        peer: str,
        open_vhost: Callable[[str], VirtualHost],
        write: Callable[[bytes], None],
        mechanisms: tuple[str, ...] = MECHANISMS,
        certificate_name: str | None = None,
        user_connections: dict[str, int] | None = None,
    ) -> None:
        self._config = config
        self._user_connections = user_connections if user_connections is not None else {}
        self._access = access
        self._mechanisms = mechanisms
        self._certificate_name = certificate_name
        self._peer = peer
        self._open_vhost = open_vhost
        self._write = write
        self._header = b""
        self.negotiated = Negotiated(config.frame_max, config.channel_max)
        self.vhost: VirtualHost | None = None
        self.access: VhostAccess | None = None  # the user's rights in ``vhost``

    def _send(self, method: Method) -> None:
        self._write(encode_method(0, method))

    def receive_header(self, data: bytes) -> tuple[Event | None, bytes]:
        """Consume the 8-byte protocol header: (None while incomplete, or HEADER_ACCEPTED
        or DROP; the bytes after it)."""
        needed = 8 - len(self._header)
        self._header += data[:needed]
        rest = data[needed:]
        if len(self._header) < 8:
            return None, b""
        if not check_protocol_header(self._header):
            self._write(PROTOCOL_HEADER)  # the version we speak, then the socket goes
            return Event.DROP, b""
        self._send(
            commands.Connection.Start(
                version_major=0,
                version_minor=9,
                server_properties=server_properties(),
                mechanisms=" ".join(self._mechanisms),
                locales="en_US",
            )
        )
        return Event.HEADER_ACCEPTED, rest

    def frame(self, state: State, frame_type: int, channel: int, payload: bytes) -> Event:
        """A frame in handshake ``state``: only the next handshake method is welcome (or,
        once tuned, connection.close: PEER_CLOSE, for the session to answer)."""
        expected, event = HANDSHAKE[state]
        method = None
        if frame_type == FRAME_METHOD and channel == 0 and len(payload) >= 4:
            try:
                method = decode_method(payload)
            except (AMQPError, UnknownMethod):
                method = None
        if isinstance(method, expected):
            self._handle(method)
            return event
        if state is State.AWAIT_OPEN and isinstance(method, commands.Connection.Close):
            return Event.PEER_CLOSE
        if state is State.AWAIT_OPEN and method is not None:  # (update-secret, too)
            text = "unexpected method in connection state opening"
            raise ChannelErrorHard(text, *method_ids(method))
        if state is State.AWAIT_OPEN:
            raise UnexpectedFrame(f"type {frame_type}, {frame_octets(payload)}")
        raise SilentClose(f"unexpected frame while {state.value}")

    def _handle(self, method: Method) -> None:
        if isinstance(method, commands.Connection.StartOk):
            self._start_ok(method)
        elif isinstance(method, commands.Connection.TuneOk):
            self._tune_ok(method)
        elif isinstance(method, commands.Connection.Open):
            self._open(method)

    def _start_ok(self, method: commands.Connection.StartOk) -> None:
        negotiated = self.negotiated
        props = method.client_properties
        negotiated.client_properties = props if isinstance(props, dict) else {}
        raw = method.response
        response = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
        try:
            if method.mechanism not in self._mechanisms:
                raise AuthError(f"unsupported authentication mechanism '{method.mechanism}'")
            user = self._authenticate(method.mechanism, response)
            self._check_loopback(user.name, method.mechanism)
        except AuthError as error:
            # the one line a refused login logs: who, from where, why (never the password)
            log.warning("connection from %s refused: %s", self._peer, error)
            if not error.credentials_checked or not negotiated.client_capability(
                "authentication_failure_close"
            ):
                raise LoginRefused(str(error)) from None
            raise ConnectionAccessRefused(
                f"Login was refused using authentication mechanism {method.mechanism}. "
                "For details see the broker logfile."
            ) from None
        negotiated.user = user.name
        negotiated.mechanism = method.mechanism
        config = self._config
        self._send(
            commands.Connection.Tune(
                channel_max=config.channel_max,
                frame_max=config.frame_max,
                heartbeat=config.heartbeat,
            )
        )

    def _authenticate(self, mechanism: str, response: bytes) -> User:
        """The user the credentials prove; the attempt is counted either way."""
        attempts = self._access.auth_attempts
        try:
            user = self._access.users.authenticate(
                mechanism, response, certificate_name=self._certificate_name
            )
        except AuthError:
            attempts.record("amqp091", succeeded=False)
            raise
        attempts.record("amqp091", succeeded=True)
        return user

    def _check_loopback(self, user: str, mechanism: str) -> None:
        """RabbitMQ's loopback_users: these users may connect from this host only."""
        if user in self._config.loopback_users and not is_loopback(self._peer):
            raise AuthError(
                f"{mechanism} login refused: user '{user}' can only connect via localhost",
                credentials_checked=True,
            )

    def _tune_ok(self, method: commands.Connection.TuneOk) -> None:
        server = self._config
        # RabbitMQ drops the socket without a reply when tune-ok asks for more than it
        # offered (0 means "no limit", which is more).
        if not FRAME_MIN_SIZE <= method.frame_max <= server.frame_max:
            raise SilentClose(f"negotiated frame_max = {method.frame_max} is out of range")
        if not 0 < method.channel_max <= server.channel_max:
            raise SilentClose(
                f"negotiated channel_max = {method.channel_max} is higher than "
                f"the maximum allowed value ({server.channel_max})"
            )
        negotiated = self.negotiated
        negotiated.frame_max = method.frame_max
        negotiated.channel_max = method.channel_max
        negotiated.heartbeat = method.heartbeat

    def _open(self, method: commands.Connection.Open) -> None:
        name = method.virtual_host
        user = self.negotiated.user
        try:
            vhost = self._open_vhost(name)
            vhost.limits.check_connection(name, user, vhost.open_connections)
            user_limits = UserLimits.from_value(self._access.user_limits(user))
            user_limits.check_connection(user, self._user_connections.get(user, 0))
            access = self._access.access_for(user, name)
            if access is None:
                raise NotAllowed(f"access to vhost '{name}' refused for user '{user}'")
        except NotAllowed as error:
            error.class_id, error.method_id = 10, 40
            raise
        self.vhost, self.access = vhost, access
        self._send(commands.Connection.OpenOk())
