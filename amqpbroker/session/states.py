"""The states of a connection and the handshake's transitions.

  AWAIT_HEADER -> AWAIT_START_OK -> AWAIT_TUNE_OK -> AWAIT_OPEN -> OPEN -> CLOSING -> CLOSED

Any state may jump to CLOSED (the socket is dropped).  CLOSING means the broker sent
connection.close and waits for close-ok.
"""

from __future__ import annotations

import enum

from pamqp import commands

from amqpbroker.protocol.methods import Method


class State(enum.Enum):
    AWAIT_HEADER = "awaiting protocol header"
    AWAIT_START_OK = "awaiting connection.start-ok"
    AWAIT_TUNE_OK = "awaiting connection.tune-ok"
    AWAIT_OPEN = "awaiting connection.open"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


# The one connection method each handshake state accepts, and the state it leads to.
HANDSHAKE: dict[State, tuple[type[Method], State]] = {
    State.AWAIT_START_OK: (commands.Connection.StartOk, State.AWAIT_TUNE_OK),
    State.AWAIT_TUNE_OK: (commands.Connection.TuneOk, State.AWAIT_OPEN),
    State.AWAIT_OPEN: (commands.Connection.Open, State.OPEN),
}

# Before tune-ok RabbitMQ answers errors by dropping the socket, without connection.close.
SILENT_STATES = (State.AWAIT_START_OK, State.AWAIT_TUNE_OK)
