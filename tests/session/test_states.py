"""The connection's transition table (session.states)."""

from __future__ import annotations

import pytest

from amqpbroker.session.states import (
    HANDSHAKE,
    SILENT_STATES,
    TRANSITIONS,
    Event,
    InvalidTransition,
    State,
    next_state,
)


def test_the_handshake_leads_from_the_header_to_open() -> None:
    state = State.AWAIT_HEADER
    for event in (Event.HEADER_ACCEPTED, Event.START_OK, Event.TUNE_OK, Event.OPEN):
        state = next_state(state, event)
    assert state is State.OPEN


def test_each_handshake_method_is_the_event_of_its_state() -> None:
    for state, (_, event) in HANDSHAKE.items():
        assert (state, event) in TRANSITIONS


def test_the_socket_may_drop_in_every_state() -> None:
    assert all(next_state(state, Event.DROP) is State.CLOSED for state in State)


@pytest.mark.parametrize("state", [State.AWAIT_START_OK, State.AWAIT_OPEN, State.OPEN])
def test_the_broker_closes_with_connection_close_once_the_client_speaks_amqp(
    state: State,
) -> None:
    assert next_state(state, Event.BROKER_CLOSE) is State.CLOSING


def test_a_closing_connection_closes_on_close_ok_or_a_crossing_close() -> None:
    assert next_state(State.CLOSING, Event.PEER_CLOSE_OK) is State.CLOSED
    assert next_state(State.CLOSING, Event.PEER_CLOSE) is State.CLOSED


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (State.AWAIT_HEADER, Event.OPEN),
        (State.AWAIT_START_OK, Event.TUNE_OK),
        (State.OPEN, Event.HEADER_ACCEPTED),
        (State.AWAIT_HEADER, Event.BROKER_CLOSE),  # nothing to say it in: dropped
        (State.CLOSED, Event.BROKER_CLOSE),
        (State.CLOSED, Event.PEER_CLOSE),
        (State.CLOSING, Event.BROKER_CLOSE),
    ],
)
def test_a_transition_missing_from_the_table_is_a_broker_bug(state: State, event: Event) -> None:
    with pytest.raises(InvalidTransition, match=event.name):
        next_state(state, event)


def test_closed_is_final() -> None:
    leaving = [e for (s, e), to in TRANSITIONS.items() if s is State.CLOSED and to is not s]
    assert leaving == []


def test_every_state_is_reachable_from_the_start() -> None:
    reached, frontier = {State.AWAIT_HEADER}, [State.AWAIT_HEADER]
    while frontier:
        state = frontier.pop()
        for (source, _), target in TRANSITIONS.items():
            if source is state and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(State)


def test_silent_states_are_those_before_tune_ok() -> None:
    assert set(SILENT_STATES) == {State.AWAIT_START_OK, State.AWAIT_TUNE_OK}
