"""A well-behaved second connection on the fuzzed connection's broker.

It consumes from q0 (a queue the fuzzed sessions use too) and from an exclusive queue of its
own bound to amq.fanout, so the fuzzed connection's publishes, deletes and teardown reach it.
Whatever that connection did, the bystander must afterwards still answer, its queue must
still be there, and once it closes it too must leave nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable

from pamqp import commands

from amqpbroker.protocol.framing import PROTOCOL_HEADER
from amqpbroker.session.connection import ConnectionSession
from amqpbroker.testing.harness import SessionBroker

from .checks import CHANNEL_OPEN_OK, CONNECTION_CLOSE_OK, OutputMonitor, leaks
from .wire import connection_close, frame_bytes, handshake_frames, method_frame

# (what, action): runs ``action``, records an exception out of it as a finding
Call = Callable[[str, Callable[[], object]], None]
QUEUE_DECLARE_OK = (50, 11)


class Bystander:
    QUEUE = "bystander"
    CONSUMERS = frozenset({"bystander-q0", "bystander-own"})

    def __init__(self, broker: SessionBroker, call: Call, peer: str) -> None:
        self.broker = broker
        self.call = call
        self.session = ConnectionSession(broker.state, broker.access, peer=peer, alarm=broker.alarm)
        self.monitor = OutputMonitor()

    def start(self) -> None:
        capabilities = [(b"consumer_cancel_notify", b"t", True)]
        frames = [
            *handshake_frames([(b"capabilities", b"F", capabilities)]),
            method_frame(1, commands.Channel.Open),
            method_frame(1, commands.Queue.Declare, queue="q0"),
            method_frame(1, commands.Queue.Declare, queue=self.QUEUE, exclusive=True),
            method_frame(1, commands.Queue.Bind, queue=self.QUEUE, exchange="amq.fanout"),
            method_frame(1, commands.Basic.Consume, queue="q0", consumer_tag="bystander-q0"),
            method_frame(1, commands.Basic.Consume, queue=self.QUEUE, consumer_tag="bystander-own"),
        ]
        self.send(PROTOCOL_HEADER + b"".join(frame_bytes(*frame) for frame in frames))

    def send(self, data: bytes) -> None:
        self.call("bystander receive_data", lambda: self.session.receive_data(data))
        self.flush()

    def flush(self) -> None:
        """Collect its output (deliveries the other connection caused, cancellations)."""
        output: list[bytes] = []
        self.call("bystander data_to_send", lambda: output.append(self.session.data_to_send()))
        self.monitor.feed(output[0])

    def check(self) -> list[tuple[str, str]]:
        """Its problems: it answers a channel.open and a passive declare of its queue, then
        closes and leaves nothing behind."""
        seen = len(self.monitor.frames)
        self.send(
            frame_bytes(*method_frame(2, commands.Channel.Open))
            + frame_bytes(*method_frame(2, commands.Queue.Declare, queue=self.QUEUE, passive=True))
            + frame_bytes(*connection_close())
        )
        answers = [(f.channel, f.ids) for f in self.monitor.frames[seen:] if f.frame_type == 1]
        expected = [(2, CHANNEL_OPEN_OK), (2, QUEUE_DECLARE_OK), (0, CONNECTION_CLOSE_OK)]
        problems = []
        if [answer for answer in answers if answer in expected] != expected:
            problems.append(("bystander", f"the other connection answered {answers}"))
        self.call("bystander connection_lost", self.session.connection_lost)
        problems.extend(("leak", leak) for leak in leaks(self.broker.state, self.session))
        problems.extend(("bystander", problem) for problem in self.monitor.problems)
        return problems
