"""Seeded client sessions: the valid material the mutators then break.

``client_session(rng)`` writes what a busy client might send on one connection: the protocol
header and handshake, channels opened, exchanges and queues declared (with arguments valid
and not), bindings, publishes with properties and headers of every field type, consumers,
gets, acks, nacks, rejects, transactions, confirms, flow, channels closed.  The writer does
not read the broker's answers (it is a stream of bytes, not a conversation), so later
commands may refer to things an earlier error removed: that is part of the material too.
"""

from __future__ import annotations

import random
import warnings
from dataclasses import dataclass, field
from typing import Any

from pamqp import commands

from amqpbroker.protocol.framing import PROTOCOL_HEADER
from amqpbroker.protocol.methods import AccessRequest, Method, encode_method, make_method

from .wire import Entry, content_header, frame_bytes, table

# A frame before serialisation: (type, channel, payload).  Raw octets (the protocol header,
# frames a mutator malformed) are kept as bytes.
Frame = tuple[int, int, bytes]
Piece = Frame | bytes

QUEUES = (b"q0", b"q1", b"q2", b"", b"amq.q", b"amq.rabbitmq.reply-to")
EXCHANGES = (b"x0", b"x1", b"", b"amq.direct", b"amq.fanout", b"amq.topic", b"amq.headers")
EXCHANGE_TYPES = (b"direct", b"fanout", b"topic", b"headers", b"x-bogus")
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


def method_payload(method: Method, arguments: list[Entry] | None = None) -> bytes:
    """A method frame's payload; ``arguments`` (its last field) written as a typed table."""
    if arguments is not None:
        setattr(method, "arguments", {})  # noqa: B010 (every method given one has the field)
    payload = encode_method(0, method)[7:-1]
    if arguments is not None:
        payload = payload[:-4] + table(arguments)
    return payload


def method_frame(channel: int, cls: type[Method], **fields: Any) -> Frame:
    arguments = fields.pop("arguments", None)
    with warnings.catch_warnings():  # pamqp warns on making deprecated methods
        warnings.simplefilter("ignore", DeprecationWarning)
        method = make_method(cls, **fields)
    return 1, channel, method_payload(method, arguments)


def random_value(rng: random.Random, depth: int = 0) -> tuple[bytes, Any]:
    """A well-formed field value of any type (nested tables and arrays a few levels deep)."""
    tag = rng.choice(b"tbBsuIilfdDSxTVFA" if depth < 3 else b"tbBsuIilfdDSxTV")
    kind = bytes((tag,))
    simple: dict[bytes, Any] = {
        b"t": rng.random() < 0.5,
        b"b": rng.randint(-128, 127),
        b"B": rng.randint(0, 255),
        b"s": rng.randint(-(2**15), 2**15 - 1),
        b"u": rng.randint(0, 2**16 - 1),
        b"I": rng.choice((0, 1, -1, 5, 1000, 2**31 - 1, -(2**31))),
        b"i": rng.choice((0, 1, 2**32 - 1)),
        b"l": rng.choice((0, 7, -7, 2**63 - 1, -(2**63))),
        b"f": rng.choice((0.5, -1.0, float("inf"), float("nan"))),
        b"d": rng.choice((1.5, -0.0, 1e308, float("nan"))),
        b"D": (rng.randint(0, 255), rng.randint(-(2**31), 2**31 - 1)),
        b"S": rng.choice((b"", b"v", b"all", b"any", b"x0", "\u00e9".encode(), b"\xff\xfe")),
        b"x": rng.randbytes(rng.randint(0, 8)),
        b"T": rng.choice((0, 1_700_000_000, 1_700_000_000, 2**64 - 1)),
        b"V": None,
    }
    if kind in simple:
        return kind, simple[kind]
    if kind == b"F":
        return kind, random_table(rng, depth + 1)
    return kind, [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]


def random_table(rng: random.Random, depth: int = 0, keys: tuple[bytes, ...] = ()) -> list[Entry]:
    entries = []
    for _ in range(rng.randint(0, 3)):
        key = rng.choice(keys) if keys and rng.random() < 0.7 else rng.choice((b"k", b"n", b""))
        tag, value = random_value(rng, depth)
        entries.append((key, tag, value))
    return entries


def _int_arg(rng: random.Random, key: bytes) -> Entry:
    tag = rng.choice((b"I", b"l", b"s", b"S", b"t", b"d"))
    values: dict[bytes, Any] = {
        b"I": rng.choice((0, 1, 10, 1000, -1)),
        b"l": rng.choice((0, 5, 60_000, 2**40)),
        b"s": rng.choice((0, 3, -3)),
        b"S": rng.choice((b"10", b"abc")),
        b"t": True,
        b"d": 1.5,
    }
    return key, tag, values[tag]


def _str_arg(rng: random.Random, key: bytes, choices: tuple[bytes, ...]) -> Entry:
    if rng.random() < 0.85:
        return key, b"S", rng.choice(choices)
    return key, b"I", 1


QUEUE_ARGUMENTS: dict[bytes, Any] = {
    b"x-message-ttl": _int_arg,
    b"x-expires": _int_arg,
    b"x-max-length": _int_arg,
    b"x-max-length-bytes": _int_arg,
    b"x-max-priority": _int_arg,
    b"x-delivery-limit": _int_arg,
    b"x-overflow": lambda rng, key: _str_arg(
        rng, key, (b"drop-head", b"reject-publish", b"reject-publish-dlx", b"bogus")
    ),
    b"x-dead-letter-exchange": lambda rng, key: _str_arg(rng, key, (b"x0", b"", b"amq.fanout")),
    b"x-dead-letter-routing-key": lambda rng, key: _str_arg(rng, key, (b"q1", b"")),
    b"x-queue-type": lambda rng, key: _str_arg(rng, key, (b"classic", b"quorum", b"stream")),
    b"x-queue-mode": lambda rng, key: _str_arg(rng, key, (b"lazy", b"default", b"odd")),
    b"x-single-active-consumer": lambda rng, key: (key, b"t", rng.random() < 0.5),
}


def queue_arguments(rng: random.Random) -> list[Entry]:
    keys = rng.sample(sorted(QUEUE_ARGUMENTS), rng.choice((0, 0, 1, 2, 3)))
    entries = [QUEUE_ARGUMENTS[key](rng, key) for key in keys]
    if rng.random() < 0.1:
        entries += random_table(rng)
    return entries


def message_headers(rng: random.Random) -> list[Entry]:
    """Headers for a publish: routing headers (CC, BCC), x-death, x-match keys, anything."""
    entries = random_table(rng, keys=(b"k", b"x-match", b"x-delivery-count"))
    roll = rng.random()
    if roll < 0.15:
        entries.append((rng.choice((b"CC", b"BCC")), b"A", [(b"S", b"q1"), (b"S", b"q2")]))
    elif roll < 0.25:
        entries.append((b"CC", b"S", b"q1"))
    elif roll < 0.35:
        death = [(b"queue", b"S", b"q0"), (b"reason", b"S", b"expired"), (b"count", b"l", 1)]
        entries.append((b"x-death", b"A", [(b"F", death)]))
    return entries


def properties(rng: random.Random) -> dict[str, Any]:
    chosen: dict[str, Any] = {}
    options: dict[str, Any] = {
        "content_type": lambda: b"text/plain",
        "content_encoding": lambda: b"gzip",
        "headers": lambda: message_headers(rng),
        "delivery_mode": lambda: rng.choice((1, 2, 0, 3)),
        "priority": lambda: rng.choice((0, 5, 9, 255)),
        "correlation_id": lambda: b"c-1",
        "reply_to": lambda: rng.choice((b"amq.rabbitmq.reply-to", b"q1", b"")),
        "expiration": lambda: rng.choice((b"0", b"10", b"60000", b"-1", b"abc", b"")),
        "message_id": lambda: b"m-1",
        "timestamp": lambda: rng.choice((0, 1_700_000_000)),
        "type": lambda: b"t",
        "user_id": lambda: rng.choice((b"guest", b"other")),
        "app_id": lambda: b"fuzz",
        "cluster_id": lambda: b"",
    }
    for name, make in options.items():
        if rng.random() < 0.25:
            chosen[name] = make()
    return chosen


class SessionWriter:
    """Writes one seeded session: ``write()`` returns it."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.session = ClientSession()
        self.opened: list[int] = []
        self.published = 0

    def write(self, commands_count: int) -> ClientSession:
        self._handshake()
        for _ in range(self.rng.choice((1, 1, 2, 3))):
            self._open_channel()
        ops = list(OPS)
        weights = [OPS[op] for op in ops]
        for op in self.rng.choices(ops, weights, k=commands_count):
            op(self)
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
        if self.opened and self.rng.random() < 0.98:
            return self.rng.choice(self.opened)
        return self.rng.choice((1, 2, 3, 9, self.session.channel_max))

    def _open_channel(self) -> None:
        unopened = [n for n in range(1, 5) if n not in self.opened]
        if unopened and self.rng.random() < 0.97:
            number = self.rng.choice(unopened)
        else:
            number = self.rng.randint(1, 4)  # a second channel.open
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
        if self.rng.random() < 0.3:  # a confused client: close-ok as well
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
        channel = self.channel()
        size = rng.choice((0, 1, 10, 100, 1000, rng.randint(0, 3 * self.session.frame_max)))
        body = rng.randbytes(min(size, 8)) * (size // 8 + 1)
        body = body[:size]
        self.add(
            method_frame(
                channel,
                commands.Basic.Publish,
                exchange=rng.choice(EXCHANGES).decode(),
                routing_key=rng.choice(ROUTING_KEYS).decode(),
                mandatory=rng.random() < 0.3,
                immediate=rng.random() < 0.02,
            ),
            (2, channel, content_header(size, properties(rng))),
        )
        piece = self.session.frame_max - 8
        if rng.random() < 0.3:
            piece = rng.randint(1, piece)
        for start in range(0, size, piece):
            self.add((3, channel, body[start : start + piece]))
        self.published += 1

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
                prefetch_size=0 if rng.random() < 0.9 else 10,
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
        if cls is not commands.Basic.Ack:
            fields["requeue"] = rng.random() < 0.5
        self.add(method_frame(self.channel(), cls, **fields))

    def _recover(self) -> None:
        cls = self.rng.choice((commands.Basic.Recover, commands.Basic.RecoverAsync))
        self.add(method_frame(self.channel(), cls, requeue=self.rng.random() < 0.5))

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

    def _misc(self) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            self.add(method_frame(self.channel(), commands.Channel.Flow, active=rng.random() < 0.5))
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
}


def start_ok_payload(client_properties: list[Entry]) -> bytes:
    method = make_method(
        commands.Connection.StartOk,
        client_properties={},
        mechanism="PLAIN",
        response="\0guest\0guest",
        locale="en_US",
    )
    payload = method_payload(method)
    # client_properties is the first field: swap pamqp's empty table for the typed one
    return payload[:4] + table(client_properties) + payload[8:]


def client_session(rng: random.Random, commands_count: int | None = None) -> ClientSession:
    count = commands_count if commands_count is not None else rng.randint(1, 30)
    return SessionWriter(rng).write(count)


def serialise(pieces: list[Piece]) -> bytes:
    return b"".join(p if isinstance(p, bytes) else frame_bytes(*p) for p in pieces)
