"""ConnectionSession in-process, bytes in and bytes out: its life, its gate and its channels."""

from __future__ import annotations

from typing import Any

from pamqp import commands
from pamqp import frame as pframe
from pamqp.base import Frame

from amqpbroker.access.defaults import default_access
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
        self.access = default_access(BrokerConfig())
        self.alarm = ResourceAlarm()

    def connect(self, **client_properties: Any) -> ConnectionSession:
        """A session through start-ok and tune-ok, with its handshake output taken."""
        session = ConnectionSession(self.state, self.access, peer="127.0.0.1:1", alarm=self.alarm)
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
    session = ConnectionSession(broker.state, broker.access)
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


# -- settling, through a channel ---------------------------------------------------------------


def consuming(broker: Broker, **arguments: Any) -> tuple[ConnectionSession, ConnectionSession]:
    """A publisher and a consumer (acks required, prefetch 10) of queue 'q'."""
    publisher, consumer = broker.open(), broker.open()
    send(publisher, commands.Queue.Declare(queue="q", arguments=arguments))
    send(consumer, commands.Basic.Qos(prefetch_count=10))
    send(consumer, commands.Basic.Consume(queue="q", consumer_tag="c"))
    replies(publisher)
    replies(consumer)
    return publisher, consumer


def deliveries(session: ConnectionSession) -> list[commands.Basic.Deliver]:
    return [frame for frame in replies(session) if isinstance(frame, commands.Basic.Deliver)]


def test_an_ack_settles_and_a_multiple_ack_settles_everything_before() -> None:
    broker = Broker()
    publisher, consumer = consuming(broker)
    publisher.receive_data(one_publish() * 3)
    assert [d.delivery_tag for d in deliveries(consumer)] == [1, 2, 3]
    send(consumer, commands.Basic.Ack(delivery_tag=1))
    assert list(consumer.channels[1].unacked) == [2, 3]
    send(consumer, commands.Basic.Ack(delivery_tag=3, multiple=True))
    assert consumer.channels[1].unacked == {}
    assert broker.state.vhosts["/"].queues["q"].message_count == 0


def test_a_nack_with_requeue_comes_back_redelivered() -> None:
    broker = Broker()
    publisher, consumer = consuming(broker)
    publisher.receive_data(one_publish())
    deliveries(consumer)
    send(consumer, commands.Basic.Nack(delivery_tag=1, requeue=True))
    (again,) = deliveries(consumer)
    assert (again.delivery_tag, again.redelivered) == (2, True)


def test_a_reject_without_requeue_is_dead_lettered() -> None:
    broker = Broker()
    arguments = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dlq"}
    publisher, consumer = consuming(broker, **arguments)
    send(publisher, commands.Queue.Declare(queue="dlq"))
    publisher.receive_data(one_publish())
    deliveries(consumer)
    send(consumer, commands.Basic.Reject(delivery_tag=1, requeue=False))
    queues = broker.state.vhosts["/"].queues
    assert (queues["q"].message_count, queues["dlq"].message_count) == (0, 1)
    assert consumer.channels[1].unacked == {}


def test_an_unknown_delivery_tag_closes_the_channel_with_406() -> None:
    broker = Broker()
    _, consumer = consuming(broker)
    send(consumer, commands.Basic.Ack(delivery_tag=7))
    (close,) = replies(consumer)
    assert isinstance(close, commands.Channel.Close)
    assert (close.reply_code, close.class_id, close.method_id) == (406, 60, 80)


def test_a_closing_channel_gives_its_unacked_messages_back() -> None:
    broker = Broker()
    publisher, consumer = consuming(broker)
    publisher.receive_data(one_publish() * 2)
    deliveries(consumer)
    send(consumer, commands.Channel.Close(200, "bye", 0, 0))
    assert broker.state.vhosts["/"].queues["q"].message_count == 2


def test_recover_requeues_everything_unacked_after_recover_ok() -> None:
    broker = Broker()
    publisher, consumer = consuming(broker)
    publisher.receive_data(one_publish() * 2)
    deliveries(consumer)
    send(consumer, commands.Basic.Recover(requeue=True))
    frames = replies(consumer)
    assert frames[0].name == "Basic.RecoverOk"
    redelivered = [f for f in frames if isinstance(f, commands.Basic.Deliver)]
    assert [(d.delivery_tag, d.redelivered) for d in redelivered] == [(3, True), (4, True)]


def test_a_settlement_in_a_transaction_waits_for_commit_and_rollback_undoes_it() -> None:
    broker = Broker()
    publisher, consumer = consuming(broker)
    publisher.receive_data(one_publish() * 2)
    deliveries(consumer)
    send(consumer, commands.Tx.Select())
    send(consumer, commands.Basic.Ack(delivery_tag=1))
    assert list(consumer.channels[1].unacked) == [2]  # checked, held back
    send(consumer, commands.Tx.Rollback())
    assert list(consumer.channels[1].unacked) == [1, 2]
    send(consumer, commands.Basic.Ack(delivery_tag=2, multiple=True))
    send(consumer, commands.Tx.Commit())
    assert names(replies(consumer))[-1] == "Tx.CommitOk"
    assert broker.state.vhosts["/"].queues["q"].message_count == 0


def test_a_publish_a_full_queue_refuses_is_nacked_in_order() -> None:
    broker = Broker()
    session = broker.open()
    arguments = {"x-max-length": 1, "x-overflow": "reject-publish"}
    send(session, commands.Queue.Declare(queue="q", arguments=arguments))
    send(session, commands.Confirm.Select())
    replies(session)
    session.receive_data(one_publish() * 3)
    confirms = [(f.name, f.delivery_tag, f.multiple) for f in replies(session)]
    assert confirms == [("Basic.Ack", 1, False), ("Basic.Nack", 2, True), ("Basic.Nack", 3, True)]
