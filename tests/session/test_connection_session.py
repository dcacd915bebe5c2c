"""ConnectionSession in-process, bytes in and bytes out: its life, its gate and its channels."""

from __future__ import annotations

from typing import Any

from pamqp import commands
from pamqp import frame as pframe
from pamqp.base import Frame

from amqpbroker.auth import UserStore
from amqpbroker.bench.hotpath import publishes
from amqpbroker.config import BrokerConfig
from amqpbroker.core.broker import BrokerState
from amqpbroker.errors import NotAllowed
from amqpbroker.session.channel import ChannelState
from amqpbroker.session.connection import ConnectionSession
from amqpbroker.session.states import State
from amqpbroker.session.throttle import ResourceAlarm

HEADER = b"AMQP\x00\x00\x09\x01"


class Broker:
    def __init__(self) -> None:
        self.state = BrokerState(BrokerConfig())
        self.users = UserStore()
        self.users.add("guest", "guest")
        self.alarm = ResourceAlarm()

    def connect(self, **client_properties: Any) -> ConnectionSession:
        """A session through start-ok and tune-ok, with its handshake output taken."""
        session = ConnectionSession(self.state, self.users, peer="127.0.0.1:1", alarm=self.alarm)
        session.receive_data(HEADER)
        send(
            session,
            commands.Connection.StartOk(
                client_properties=client_properties, mechanism="PLAIN", response="\0guest\0guest"
            ),
            channel=0,
        )
        send(session, commands.Connection.TuneOk(channel_max=16, frame_max=8192), channel=0)
        session.data_to_send()
        return session

    def open(self, **client_properties: Any) -> ConnectionSession:
        """A session open on '/' with channel 1 open."""
        session = self.connect(**client_properties)
        send(session, commands.Connection.Open(virtual_host="/"), channel=0)
        send(session, commands.Channel.Open())
        session.data_to_send()
        return session


def send(session: ConnectionSession, method: Frame, channel: int = 1) -> None:
    session.receive_data(pframe.marshal(method, channel))


def replies(session: ConnectionSession) -> list[Frame]:
    data = session.data_to_send()
    frames = []
    while data:
        consumed, _, frame = pframe.unmarshal(data)
        frames.append(frame)
        data = data[consumed:]
    return frames


def one_publish() -> bytes:
    read = publishes("", "q", 10)
    return read[: len(read) // read.count(b"\x00\x3c\x00\x28")]


def names(frames: list[Frame]) -> list[str]:
    return [frame.name for frame in frames]


def test_the_handshake_settles_what_the_session_shows() -> None:
    broker = Broker()
    session = broker.connect(product="test")
    assert session.state is State.AWAIT_OPEN
    assert (session.user, session.frame_max, session.channel_max) == ("guest", 8192, 16)
    assert session.client_properties == {"product": "test"}
    assert session.max_body == 8192 - 8
    assert session.vhost is None
    send(session, commands.Connection.Open(virtual_host="/"), channel=0)
    assert session.state is State.OPEN
    assert session.vhost is broker.state.vhosts["/"]


def test_a_channel_gets_its_connection_vhost() -> None:
    session = Broker().open()
    assert session.channels[1].vhost is session.vhost


def test_channel_max_counts_open_channels() -> None:
    session = Broker().open()
    for number in range(2, 17):
        send(session, commands.Channel.Open(), channel=number)
    assert len(session.channels) == 16
    replies(session)
    send(session, commands.Channel.Open(), channel=17)
    (close,) = replies(session)
    assert isinstance(close, commands.Connection.Close)
    assert close.reply_code == NotAllowed.reply_code
    assert session.closing


def test_the_client_closing_gets_close_ok_and_frees_everything() -> None:
    session = Broker().open()
    send(session, commands.Connection.Close(200, "bye", 0, 0), channel=0)
    assert names(replies(session)) == ["Connection.CloseOk"]
    assert session.closed
    assert session.channels == {}
    assert session.vhost is None


def test_the_broker_closing_waits_for_close_ok_and_ignores_the_rest() -> None:
    session = Broker().open()
    session.force_close()
    (close,) = replies(session)
    assert isinstance(close, commands.Connection.Close)
    assert (close.reply_code, session.closing) == (320, True)
    send(session, commands.Queue.Declare(queue="q"))
    assert replies(session) == []
    send(session, commands.Connection.CloseOk(), channel=0)
    assert session.closed


def test_closes_that_cross_end_the_connection() -> None:
    session = Broker().open()
    session.force_close()
    replies(session)
    send(session, commands.Connection.Close(200, "bye", 0, 0), channel=0)
    assert names(replies(session)) == ["Connection.CloseOk"]
    assert session.closed


def test_the_broker_closing_a_connection_in_its_handshake_drops_it() -> None:
    session = Broker().connect()
    session.force_close()
    assert session.closed
    assert replies(session) == []


def test_a_failed_handshake_drops_the_socket_after_the_silent_delay() -> None:
    broker = Broker()
    session = ConnectionSession(broker.state, broker.users)
    session.receive_data(HEADER)
    send(session, commands.Connection.Open(virtual_host="/"), channel=0)  # not start-ok
    assert session.closed
    assert session.close_delay == broker.state.config.silent_close_delay


def test_a_channel_error_closes_the_channel_not_the_connection() -> None:
    session = Broker().open()
    send(session, commands.Queue.Declare(queue="missing", passive=True))
    (close,) = replies(session)
    assert isinstance(close, commands.Channel.Close)
    assert (close.reply_code, close.class_id, close.method_id) == (404, 50, 10)
    channel = session.channels[1]
    assert channel.state is ChannelState.CLOSING
    send(session, commands.Queue.Declare(queue="q"))  # ignored until close-ok
    assert replies(session) == []
    send(session, commands.Channel.CloseOk())
    assert session.channels == {}
    assert session.state is State.OPEN


def test_the_client_closing_a_channel_frees_its_number() -> None:
    session = Broker().open()
    send(session, commands.Channel.Close(200, "bye", 0, 0))
    assert names(replies(session)) == ["Channel.CloseOk"]
    assert 1 not in session.channels
    send(session, commands.Channel.Open())
    assert names(replies(session)) == ["Channel.OpenOk"]


def test_confirms_of_one_read_go_out_as_one_multiple_ack() -> None:
    session = Broker().open()
    send(session, commands.Queue.Declare(queue="q"))
    send(session, commands.Confirm.Select())
    replies(session)
    read = publishes("", "q", 10)
    session.receive_data(read)
    (ack,) = replies(session)
    assert isinstance(ack, commands.Basic.Ack)
    assert (ack.delivery_tag, ack.multiple) == (read.count(b"\x00\x3c\x00\x28"), True)


def test_held_commands_wait_unhandled_until_resumed() -> None:
    session = Broker().open()
    session.hold_commands()
    assert session.input_paused
    send(session, commands.Queue.Declare(queue="q"))
    assert replies(session) == []
    session.resume_commands()
    assert names(replies(session)) == ["Queue.DeclareOk"]
    assert not session.input_paused


def test_a_publisher_caught_by_the_alarm_is_blocked_and_finishes_once_it_clears() -> None:
    broker = Broker()
    session = broker.open(capabilities={"connection.blocked": True})
    send(session, commands.Queue.Declare(queue="q"))
    replies(session)
    broker.alarm.reason = "low on memory"
    session.receive_data(one_publish())  # its header blocks the connection: the body waits
    assert session.input_paused
    assert names(replies(session)) == ["Connection.Blocked"]
    queue = broker.state.vhosts["/"].queues["q"]
    assert queue.message_count == 0
    broker.alarm.reason = None
    session.alarm_cleared()
    assert not session.input_paused
    assert names(replies(session)) == ["Connection.Unblocked"]
    assert queue.message_count == 1


def test_a_backed_up_socket_holds_deliveries_until_it_drains() -> None:
    broker = Broker()
    publisher, consumer = broker.open(), broker.open()
    send(publisher, commands.Queue.Declare(queue="q"))
    send(consumer, commands.Basic.Consume(queue="q", consumer_tag="c", no_ack=True))
    replies(consumer)
    consumer.set_writable(False)
    publisher.receive_data(publishes("", "q", 10))
    assert replies(consumer) == []
    consumer.set_writable(True)
    assert "Basic.Deliver" in names(replies(consumer))
