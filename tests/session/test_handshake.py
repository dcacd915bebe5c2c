"""Handshake on its own: each step's Event, what it settles, and how it refuses."""

from __future__ import annotations

import pytest
from pamqp import commands
from pamqp import frame as pframe
from pamqp.base import Frame

from amqpbroker.access.defaults import default_access
from amqpbroker.access.permissions import Permission
from amqpbroker.config import BrokerConfig
from amqpbroker.core.broker import BrokerState
from amqpbroker.errors import (
    ChannelErrorHard,
    ConnectionAccessRefused,
    NotAllowed,
    SilentClose,
    UnexpectedFrame,
)
from amqpbroker.protocol.framing import FRAME_METHOD, PROTOCOL_HEADER
from amqpbroker.session.handshake import Handshake
from amqpbroker.session.states import Event, State

HEADER = b"AMQP\x00\x00\x09\x01"
REFUSAL_IS_TOLD = {"capabilities": {"authentication_failure_close": True}}


class Client:
    """A Handshake and the frames it wrote."""

    def __init__(self, peer: str = "127.0.0.1:5000", **config: object) -> None:
        self.config = BrokerConfig(**config)  # type: ignore[arg-type]
        self.broker = BrokerState(self.config)
        access = default_access(self.config)
        access.add_user("remote", "secret")
        access.set_permissions("remote", "/", Permission())
        self.written = bytearray()
        self.handshake = Handshake(
            self.config, access, peer, self.broker.vhost, self.written.extend
        )

    def replies(self) -> list[Frame]:
        data, self.written = bytes(self.written), bytearray()
        frames = []
        while data:
            consumed, _, frame = pframe.unmarshal(data)
            frames.append(frame)
            data = data[consumed:]
        return frames

    def send(self, state: State, method: Frame) -> Event:
        payload = pframe.marshal(method, 0)[7:-1]
        return self.handshake.frame(state, FRAME_METHOD, 0, payload)

    def start_ok(self, user: str = "guest", password: str = "guest", **props: object) -> Event:
        return self.send(
            State.AWAIT_START_OK,
            commands.Connection.StartOk(
                client_properties=props, mechanism="PLAIN", response=f"\0{user}\0{password}"
            ),
        )

    def tune_ok(
        self, frame_max: int = 131072, channel_max: int = 2047, heartbeat: int = 0
    ) -> Event:
        return self.send(
            State.AWAIT_TUNE_OK,
            commands.Connection.TuneOk(
                channel_max=channel_max, frame_max=frame_max, heartbeat=heartbeat
            ),
        )


def test_the_header_may_come_in_pieces_and_what_follows_it_is_kept() -> None:
    client = Client()
    assert client.handshake.receive_header(HEADER[:3]) == (None, b"")
    assert client.handshake.receive_header(HEADER[3:] + b"rest") == (
        Event.HEADER_ACCEPTED,
        b"rest",
    )
    (start,) = client.replies()
    assert isinstance(start, commands.Connection.Start)
    assert start.server_properties["product"] == "amqpbroker"


def test_a_wrong_header_is_answered_with_ours_and_dropped() -> None:
    client = Client()
    assert client.handshake.receive_header(b"AMQP\x00\x00\x08\x00") == (Event.DROP, b"")
    assert bytes(client.written) == PROTOCOL_HEADER


def test_start_ok_settles_the_user_and_client_properties_and_tunes() -> None:
    client = Client()
    assert client.start_ok(product="test", capabilities={"connection.blocked": True}) is (
        Event.START_OK
    )
    negotiated = client.handshake.negotiated
    assert negotiated.user == "guest"
    assert negotiated.client_properties["product"] == "test"
    assert negotiated.client_capability("connection.blocked")
    assert not negotiated.client_capability("consumer_cancel_notify")
    (tune,) = client.replies()
    assert isinstance(tune, commands.Connection.Tune)
    assert (tune.frame_max, tune.channel_max) == (
        client.config.frame_max,
        client.config.channel_max,
    )


def test_a_refused_login_is_dropped_silently_unless_the_client_asks_to_be_told() -> None:
    with pytest.raises(SilentClose):
        Client().start_ok(password="wrong")
    with pytest.raises(ConnectionAccessRefused, match="PLAIN"):
        Client().start_ok(password="wrong", **REFUSAL_IS_TOLD)


def test_a_loopback_user_from_another_host_is_refused() -> None:
    client = Client(peer="10.1.2.3:5000", loopback_users=("guest",))
    with pytest.raises(ConnectionAccessRefused):
        client.start_ok(**REFUSAL_IS_TOLD)
    assert Client(peer="10.1.2.3:5000", loopback_users=("guest",)).start_ok("remote", "secret") is (
        Event.START_OK
    )


def test_tune_ok_settles_the_limits() -> None:
    client = Client()
    assert client.tune_ok(frame_max=8192, channel_max=10, heartbeat=30) is Event.TUNE_OK
    negotiated = client.handshake.negotiated
    assert (negotiated.frame_max, negotiated.channel_max, negotiated.heartbeat) == (8192, 10, 30)


@pytest.mark.parametrize(
    ("frame_max", "channel_max"), [(4095, 10), (10**9, 10), (8192, 0), (8192, 4096)]
)
def test_tune_ok_asking_for_more_than_offered_is_dropped(frame_max: int, channel_max: int) -> None:
    client = Client()
    with pytest.raises(SilentClose, match="negotiated"):
        client.tune_ok(frame_max=frame_max, channel_max=channel_max)
    assert client.handshake.negotiated.frame_max == client.config.frame_max  # unchanged


def test_open_names_the_vhost_and_answers_open_ok() -> None:
    client = Client()
    client.handshake.negotiated.user = "guest"  # as start-ok settles it
    assert client.send(State.AWAIT_OPEN, commands.Connection.Open(virtual_host="/")) is Event.OPEN
    assert client.handshake.vhost is client.broker.vhosts["/"]
    assert isinstance(client.replies()[0], commands.Connection.OpenOk)


def test_open_of_an_unknown_vhost_is_refused_with_the_open_method_ids() -> None:
    client = Client()
    with pytest.raises(NotAllowed) as refused:
        client.send(State.AWAIT_OPEN, commands.Connection.Open(virtual_host="nowhere"))
    assert (refused.value.class_id, refused.value.method_id) == (10, 40)
    assert client.handshake.vhost is None


def test_open_of_a_vhost_the_user_has_no_permission_in_is_refused_with_530() -> None:
    client = Client()
    client.broker.add_vhost("private")
    client.handshake.negotiated.user = "guest"
    with pytest.raises(NotAllowed) as refused:
        client.send(State.AWAIT_OPEN, commands.Connection.Open(virtual_host="private"))
    assert refused.value.message == "access to vhost 'private' refused for user 'guest'"
    assert client.handshake.vhost is None and client.handshake.access is None


def test_close_before_open_is_the_peer_closing() -> None:
    client = Client()
    assert client.send(State.AWAIT_OPEN, commands.Connection.Close(200, "bye", 0, 0)) is (
        Event.PEER_CLOSE
    )


def test_a_stray_frame_after_tune_ok_is_unexpected_before_it_silent() -> None:
    channel_open = pframe.marshal(commands.Channel.Open(), 1)[7:-1]
    with pytest.raises(UnexpectedFrame):
        Client().handshake.frame(State.AWAIT_OPEN, FRAME_METHOD, 1, channel_open)
    # A method on channel 0 is 504 "unexpected method in connection state opening" instead,
    # with its own ids (RabbitMQ 3.10.8; interop vhost_access.*_before_open).
    with pytest.raises(ChannelErrorHard, match="state opening") as info:
        Client().send(State.AWAIT_OPEN, commands.Channel.Open())
    assert (info.value.class_id, info.value.method_id) == (20, 10)
    with pytest.raises(SilentClose, match="start-ok"):
        Client().send(State.AWAIT_START_OK, commands.Connection.Open(virtual_host="/"))
    with pytest.raises(SilentClose):
        Client().handshake.frame(State.AWAIT_TUNE_OK, 3, 0, b"")
