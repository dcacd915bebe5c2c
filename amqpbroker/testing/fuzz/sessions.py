"""Seeded client sessions: the valid material the mutators then break.

``client_session(rng)`` writes what a busy client might send on one connection: the protocol
header and handshake, channels opened, exchanges and queues declared (with arguments valid
and not), bindings, publishes with properties and headers of every field type, consumers,
gets, acks, nacks, rejects, transactions, confirms, flow, channels closed, and scripted
stretches (``scenarios``) that reach dead-lettering, routing, confirms and the like.

Most sessions are written attentively (``shadow``): each command also runs on a broker of
the writer's own, and a channel that broker closed gets its close-ok and is not used again.
The rest are written blind, as a stream of bytes rather than a conversation, so later
commands may refer to things an earlier error removed: that is part of the material too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from pamqp import commands

from amqpbroker.protocol.framing import PROTOCOL_HEADER
from amqpbroker.protocol.methods import AccessRequest

from .fields import properties, queue_arguments, random_table
from .scenarios import SCENARIOS
from .shadow import ShadowSession
from .wire import Piece, content_header, method_frame, start_ok_payload

QUEUES = (b"q0", b"q1", b"q2", b"", b"amq.q", b"amq.rabbitmq.reply-to")
EXCHANGES = (b"x0", b"x1", b"", b"amq.direct", b"amq.fanout", b"amq.topic", b"amq.headers")
# (mistakes that close the connection are rare: the session should go on long enough)
EXCHANGE_TYPES = (b"direct", b"fanout", b"topic", b"headers") * 8 + (b"x-bogus",)
ROUTING_KEYS = (b"q0", b"q1", b"q2", b"a.b", b"#", b"*.b", b"", b"amq.rabbitmq.reply-to")
CONSUMER_TAGS = (b"c0", b"c1", b"", b"amq.ctag-x")
FRAME_MAXES = (4096, 8192, 131072)


@dataclass(slots=True)
class ClientSession:
    """A seeded session's pieces (handshake first) and what it negotiated."""

    pieces: list[Piece] = field(default_factory=list)
    frame_max: int = 131072
    channel_max: int = 2047
    handshake_pieces: int = 0  # how many of ``pieces`` are the header and handshake


class SessionWriter:
    """Writes one seeded session: ``write()`` returns it."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.session = ClientSession()
        self.opened: list[int] = []
        self.next_number = 1
        self.published = 0

    def write(self, commands_count: int) -> ClientSession:
        self._handshake()
        for _ in range(self.rng.choice((1, 1, 2, 3))):
            self._open_channel()
        ops = list(OPS)
        weights = [OPS[op] for op in ops]
        shadow = ShadowSession() if self.rng.random() < 0.7 else None
        for op in self.rng.choices(ops, weights, k=commands_count):
            op(self)
            if shadow is not None and self._attend(shadow):
                break
        if self.rng.random() < 0.3:
            self.add(
                method_frame(
                    0,
                    commands.Connection.Close,
                    reply_code=200,
                    reply_text="bye",
                    class_id=0,
                    method_id=0,
                )
            )
        return self.session

    def _attend(self, shadow: ShadowSession) -> bool:
        """Answer the broker's channel.close with close-ok; True once it closed the
        connection (the rest would be ignored)."""
        shadow.catch_up(self.session.pieces)
        if shadow.over:
            return True
        for number in list(self.opened):
            if shadow.closed_by_broker(number):
                self.add(method_frame(number, commands.Channel.CloseOk))
                self.opened.remove(number)
        return False

    def add(self, *pieces: Piece) -> None:
        self.session.pieces.extend(pieces)

    def _handshake(self) -> None:
        rng, session = self.rng, self.session
        capabilities = [
            (name, b"t", rng.random() < 0.8)
            for name in (b"publisher_confirms", b"connection.blocked", b"consumer_cancel_notify")
        ]
        client = [(b"product", b"S", b"fuzz"), (b"capabilities", b"F", capabilities)]
        session.frame_max = rng.choice(FRAME_MAXES)
        session.channel_max = rng.choice((2047, 2047, 8))
        self.add(
            PROTOCOL_HEADER,
            (1, 0, start_ok_payload(client)),
            method_frame(
                0,
                commands.Connection.TuneOk,
                channel_max=session.channel_max,
                frame_max=session.frame_max,
                heartbeat=rng.choice((0, 60)),
            ),
            method_frame(0, commands.Connection.Open, virtual_host="/"),
        )
        session.handshake_pieces = len(session.pieces)

    def channel(self) -> int:
        """Mostly an open channel; sometimes one never opened."""
        if not self.opened:
            self._open_channel()
        if self.rng.random() < 0.995:
            return self.rng.choice(self.opened)
        return self.rng.choice((1, 2, 3, 9, self.session.channel_max))

    def _open_channel(self) -> None:
        # a number never used (as clients do: the broker may have closed an old one), while
        # channel_max allows; else one of the first few, open or not
        if self.next_number <= self.session.channel_max and self.rng.random() < 0.97:
            number = self.next_number
            self.next_number += 1
        else:
            number = self.rng.randint(1, 4)
        self.add(method_frame(number, commands.Channel.Open))
        if number not in self.opened:
            self.opened.append(number)

    def _close_channel(self) -> None:
        if not self.opened:
            return
        number = self.rng.choice(self.opened)
        self.opened.remove(number)
        self.add(
            method_frame(
                number,
                commands.Channel.Close,
                reply_code=200,
                reply_text="ok",
                class_id=0,
                method_id=0,
            )
        )
        if self.rng.random() < 0.05:  # a confused client: close-ok as well
            self.add(method_frame(number, commands.Channel.CloseOk))

    def _exchange_declare(self) -> None:
        rng = self.rng
        arguments = random_table(rng, keys=(b"alternate-exchange",))
        self.add(
            method_frame(
                self.channel(),
                commands.Exchange.Declare,
                exchange=rng.choice(EXCHANGES).decode(),
                exchange_type=rng.choice(EXCHANGE_TYPES).decode(),
                passive=rng.random() < 0.1,
                durable=rng.random() < 0.3,
                auto_delete=rng.random() < 0.2,
                internal=rng.random() < 0.1,
                nowait=rng.random() < 0.1,
                arguments=arguments,
            )
        )

    def _exchange_delete(self) -> None:
        self.add(
            method_frame(
                self.channel(),
                commands.Exchange.Delete,
                exchange=self.rng.choice(EXCHANGES).decode(),
                if_unused=self.rng.random() < 0.3,
            )
        )

    def _exchange_bind(self) -> None:
        rng = self.rng
        cls = rng.choice((commands.Exchange.Bind, commands.Exchange.Unbind))
        self.add(
            method_frame(
                self.channel(),
                cls,
                destination=rng.choice(EXCHANGES).decode(),
                source=rng.choice(EXCHANGES).decode(),
                routing_key=rng.choice(ROUTING_KEYS).decode(),
                arguments=random_table(rng, keys=(b"x-match",)),
            )
        )

    def _queue_declare(self) -> None:
        rng = self.rng
        self.add(
            method_frame(
                self.channel(),
                commands.Queue.Declare,
                queue=rng.choice(QUEUES).decode(),
                passive=rng.random() < 0.1,
                durable=rng.random() < 0.2,
                exclusive=rng.random() < 0.3,
                auto_delete=rng.random() < 0.3,
                nowait=rng.random() < 0.05,
                arguments=queue_arguments(rng),
            )
        )

    def _queue_bind(self) -> None:
        rng = self.rng
        cls = commands.Queue.Bind if rng.random() < 0.8 else commands.Queue.Unbind
        self.add(
            method_frame(
                self.channel(),
                cls,
                queue=rng.choice(QUEUES).decode(),
                exchange=rng.choice(EXCHANGES).decode(),
                routing_key=rng.choice(ROUTING_KEYS).decode(),
                arguments=random_table(rng, keys=(b"x-match", b"k")),
            )
        )

    def _queue_other(self) -> None:
        rng = self.rng
        queue = rng.choice(QUEUES).decode()
        if rng.random() < 0.5:
            self.add(method_frame(self.channel(), commands.Queue.Purge, queue=queue))
        else:
            self.add(
                method_frame(
                    self.channel(),
                    commands.Queue.Delete,
                    queue=queue,
                    if_unused=rng.random() < 0.2,
                    if_empty=rng.random() < 0.2,
                )
            )

    def _publish(self) -> None:
        rng = self.rng
        self.publish(
            self.channel(),
            rng.choice(EXCHANGES).decode(),
            rng.choice(ROUTING_KEYS).decode(),
            properties(rng),
            mandatory=rng.random() < 0.3,
        )

    def publish(
        self,
        channel: int,
        exchange: str,
        routing_key: str,
        props: dict[str, Any],
        mandatory: bool = False,
    ) -> None:
        """basic.publish, its header and body frames (sometimes cut smaller than frame_max)."""
        rng = self.rng
        size = rng.choice((0, 1, 10, 100, 1000, rng.randint(0, 3 * self.session.frame_max)))
        body = rng.randbytes(min(size, 8)) * (size // 8 + 1)
        body = body[:size]
        self.add(
            method_frame(
                channel,
                commands.Basic.Publish,
                exchange=exchange,
                routing_key=routing_key,
                mandatory=mandatory,
                immediate=rng.random() < 0.003,
            ),
            (2, channel, content_header(size, props)),
        )
        piece = self.session.frame_max - 8
        if rng.random() < 0.3:
            piece = rng.randint(1, piece)
        for start in range(0, size, piece):
            self.add((3, channel, body[start : start + piece]))
        self.published += 1

    def fresh_channel(self) -> int:
        """A channel opened now (a number not used before, while channel_max allows)."""
        self._open_channel()
        return self.opened[-1] if self.opened else 1

    def _consume(self) -> None:
        rng = self.rng
        arguments = random_table(rng, keys=(b"x-priority",)) if rng.random() < 0.3 else []
        self.add(
            method_frame(
                self.channel(),
                commands.Basic.Consume,
                queue=rng.choice(QUEUES).decode(),
                consumer_tag=rng.choice(CONSUMER_TAGS).decode(),
                no_local=rng.random() < 0.05,
                no_ack=rng.random() < 0.4,
                exclusive=rng.random() < 0.2,
                nowait=rng.random() < 0.05,
                arguments=arguments,
            )
        )

    def _cancel(self) -> None:
        tag = self.rng.choice(CONSUMER_TAGS).decode()
        self.add(method_frame(self.channel(), commands.Basic.Cancel, consumer_tag=tag))

    def _qos(self) -> None:
        rng = self.rng
        self.add(
            method_frame(
                self.channel(),
                commands.Basic.Qos,
                prefetch_size=0 if rng.random() < 0.97 else 10,
                prefetch_count=rng.choice((0, 1, 2, 10, 65535)),
                global_=rng.random() < 0.3,
            )
        )

    def _get(self) -> None:
        rng = self.rng
        queue = rng.choice(QUEUES).decode()
        self.add(
            method_frame(self.channel(), commands.Basic.Get, queue=queue, no_ack=rng.random() < 0.5)
        )

    def _settle(self) -> None:
        rng = self.rng
        tag = rng.randint(0, self.published + 2)
        cls = rng.choice(
            (commands.Basic.Ack, commands.Basic.Ack, commands.Basic.Nack, commands.Basic.Reject)
        )
        fields: dict[str, Any] = {"delivery_tag": tag}
        if cls is not commands.Basic.Reject:
            fields["multiple"] = rng.random() < 0.3
            if rng.random() < 0.5:  # everything outstanding: valid even when nothing is
                fields.update(delivery_tag=0, multiple=True)
        if cls is not commands.Basic.Ack:
            fields["requeue"] = rng.random() < 0.5
        self.add(method_frame(self.channel(), cls, **fields))

    def _recover(self) -> None:
        cls = self.rng.choice((commands.Basic.Recover, commands.Basic.RecoverAsync))
        self.add(method_frame(self.channel(), cls, requeue=self.rng.random() < 0.9))

    def _tx_confirm(self) -> None:
        cls = self.rng.choice(
            (
                commands.Tx.Select,
                commands.Tx.Commit,
                commands.Tx.Rollback,
                commands.Confirm.Select,
                commands.Confirm.Select,
            )
        )
        self.add(method_frame(self.channel(), cls))

    def _scenario(self) -> None:
        self.rng.choice(SCENARIOS)(self)

    def _misc(self) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            self.add(method_frame(self.channel(), commands.Channel.Flow, active=rng.random() < 0.9))
        elif roll < 0.5:
            self.add(
                method_frame(
                    self.channel(),
                    AccessRequest,
                    realm="/data",
                    exclusive=False,
                    passive=True,
                    active=True,
                    write=True,
                    read=True,
                )
            )
        else:
            self.add((8, 0, b""))


# Commands and how often a session uses them.
OPS: dict[Any, int] = {
    SessionWriter._open_channel: 3,
    SessionWriter._close_channel: 2,
    SessionWriter._exchange_declare: 4,
    SessionWriter._exchange_delete: 1,
    SessionWriter._exchange_bind: 2,
    SessionWriter._queue_declare: 8,
    SessionWriter._queue_bind: 5,
    SessionWriter._queue_other: 2,
    SessionWriter._publish: 16,
    SessionWriter._consume: 6,
    SessionWriter._cancel: 1,
    SessionWriter._qos: 2,
    SessionWriter._get: 3,
    SessionWriter._settle: 8,
    SessionWriter._recover: 1,
    SessionWriter._tx_confirm: 3,
    SessionWriter._misc: 2,
    SessionWriter._scenario: 6,
}


def client_session(rng: random.Random, commands_count: int | None = None) -> ClientSession:
    count = commands_count if commands_count is not None else rng.randint(1, 30)
    return SessionWriter(rng).write(count)
