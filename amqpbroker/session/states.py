"""The states of a connection and every transition between them, in one table.

  AWAIT_HEADER -> AWAIT_START_OK -> AWAIT_TUNE_OK -> AWAIT_OPEN -> OPEN -> CLOSING -> CLOSED

Rule: whatever changes a connection's state is an ``Event`` listed in ``TRANSITIONS``, and
the session applies it with ``next_state``; a pair missing from the table is a bug in the
broker (``InvalidTransition``), never a client's mistake.  CLOSING means the broker sent
connection.close and waits for close-ok.  The socket may go at any time (``Event.DROP``).
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


class Event(enum.Enum):
    HEADER_ACCEPTED = "a valid protocol header arrived (connection.start sent)"
    START_OK = "connection.start-ok accepted (connection.tune sent)"
    TUNE_OK = "connection.tune-ok accepted"
    OPEN = "connection.open accepted (connection.open-ok sent)"
    BROKER_CLOSE = "the broker sent connection.close"
    PEER_CLOSE = "the client sent connection.close (connection.close-ok sent)"
    PEER_CLOSE_OK = "the client sent connection.close-ok"
    DROP = "the socket is dropped or gone"


_AFTER_HEADER = (State.AWAIT_START_OK, State.AWAIT_TUNE_OK, State.AWAIT_OPEN, State.OPEN)

TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.AWAIT_HEADER, Event.HEADER_ACCEPTED): State.AWAIT_START_OK,
    (State.AWAIT_START_OK, Event.START_OK): State.AWAIT_TUNE_OK,
    (State.AWAIT_TUNE_OK, Event.TUNE_OK): State.AWAIT_OPEN,
    (State.AWAIT_OPEN, Event.OPEN): State.OPEN,
    # Once the client speaks AMQP, a connection-level error is answered with close
    # (before tune-ok only a refused login is: see handshake).
    **{(state, Event.BROKER_CLOSE): State.CLOSING for state in _AFTER_HEADER},
    (State.AWAIT_OPEN, Event.PEER_CLOSE): State.CLOSED,
    (State.OPEN, Event.PEER_CLOSE): State.CLOSED,
    (State.CLOSING, Event.PEER_CLOSE): State.CLOSED,  # the two closes crossed
    (State.OPEN, Event.PEER_CLOSE_OK): State.CLOSED,
    (State.CLOSING, Event.PEER_CLOSE_OK): State.CLOSED,
    **{(state, Event.DROP): State.CLOSED for state in State},
}


class InvalidTransition(RuntimeError):
    """The broker tried a transition the table does not have."""


def next_state(state: State, event: Event) -> State:
    try:
        return TRANSITIONS[state, event]
    except KeyError:
        raise InvalidTransition(f"{event.name} while {state.value}") from None


# The one connection method each handshake state accepts, and the event it is.
HANDSHAKE: dict[State, tuple[type[Method], Event]] = {
    State.AWAIT_START_OK: (commands.Connection.StartOk, Event.START_OK),
    State.AWAIT_TUNE_OK: (commands.Connection.TuneOk, Event.TUNE_OK),
    State.AWAIT_OPEN: (commands.Connection.Open, Event.OPEN),
}

# Before tune-ok RabbitMQ answers errors by dropping the socket, without connection.close.
SILENT_STATES = (State.AWAIT_START_OK, State.AWAIT_TUNE_OK)
