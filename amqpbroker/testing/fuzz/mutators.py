"""Mutators: each breaks a seeded session in one way a faulty client or network might.

Frame-level mutators work on the list of frames (dropping, swapping, moving frames to other
channels, bad lengths and frame ends, unknown methods, bad field tables, oversized content);
byte-level ones on the serialised stream (bit flips, truncation, garbage after a valid
prefix).  ``mutate`` applies a few of them and returns the bytes with the names of what it
did, which a finding reports next to the seed that replays it.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable

from pamqp import commands

from amqpbroker.protocol.methods import AccessRequestOk, Method

from .sessions import ClientSession
from .wire import (
    Frame,
    Piece,
    content_header,
    field_value,
    frame_bytes,
    longstr,
    method_frame,
    method_payload,
    nested_tables,
    serialise,
    shortstr,
    table,
)

FrameMutator = Callable[[random.Random, ClientSession], None]
ByteMutator = Callable[[random.Random, bytes], bytes]


def _frame_index(rng: random.Random, session: ClientSession, after_handshake: bool = True) -> int:
    """A random frame's index (mostly after the handshake); -1 when there is none."""
    start = session.handshake_pieces if after_handshake and rng.random() < 0.9 else 1
    candidates = [
        i for i in range(start, len(session.pieces)) if isinstance(session.pieces[i], tuple)
    ]
    return rng.choice(candidates) if candidates else -1


def _frame(session: ClientSession, index: int) -> Frame:
    piece = session.pieces[index]
    assert isinstance(piece, tuple)
    return piece


def _insert(rng: random.Random, session: ClientSession, *pieces: Piece) -> None:
    at = rng.randint(min(session.handshake_pieces, len(session.pieces)), len(session.pieces))
    session.pieces[at:at] = pieces


def flip_payload_bits(rng: random.Random, session: ClientSession) -> None:
    index = _frame_index(rng, session)
    if index < 0:
        return
    kind, channel, payload = _frame(session, index)
    if payload:
        data = bytearray(payload)
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        session.pieces[index] = (kind, channel, bytes(data))


def truncate_payload(rng: random.Random, session: ClientSession) -> None:
    index = _frame_index(rng, session)
    if index >= 0:
        kind, channel, payload = _frame(session, index)
        session.pieces[index] = (kind, channel, payload[: rng.randint(0, max(0, len(payload) - 1))])


def wrong_length(rng: random.Random, session: ClientSession) -> None:
    """The frame's size field says more or less than its payload."""
    index = _frame_index(rng, session)
    if index >= 0:
        kind, channel, payload = _frame(session, index)
        size = max(
            0, len(payload) + rng.choice((-2, -1, 1, 2, 100, 5000, 2**31, 2**32 - 1 - len(payload)))
        )
        size &= 0xFFFFFFFF
        session.pieces[index] = struct.pack(">BHI", kind, channel, size) + payload + b"\xce"


def bad_frame_end(rng: random.Random, session: ClientSession) -> None:
    index = _frame_index(rng, session)
    if index >= 0:
        end = bytes((rng.choice((0, 0xCD, 0xCF, 0xFF, rng.randrange(256))),))
        session.pieces[index] = frame_bytes(*_frame(session, index))[:-1] + end


def drop_frame(rng: random.Random, session: ClientSession) -> None:
    index = _frame_index(rng, session)
    if index >= 0:
        del session.pieces[index]


def duplicate_frame(rng: random.Random, session: ClientSession) -> None:
    index = _frame_index(rng, session)
    if index >= 0:
        session.pieces.insert(rng.randint(index, len(session.pieces)), session.pieces[index])


def swap_frames(rng: random.Random, session: ClientSession) -> None:
    first, second = _frame_index(rng, session), _frame_index(rng, session)
    if first >= 0 and second >= 0:
        pieces = session.pieces
        pieces[first], pieces[second] = pieces[second], pieces[first]


def move_to_channel(rng: random.Random, session: ClientSession) -> None:
    """A frame on channel 0, a channel never opened, or another open one."""
    index = _frame_index(rng, session)
    if index >= 0:
        kind, _, payload = _frame(session, index)
        channel = rng.choice((0, 0, 1, 2, 5, session.channel_max, session.channel_max + 1, 65535))
        session.pieces[index] = (kind, channel, payload)


def retype_frame(rng: random.Random, session: ClientSession) -> None:
    index = _frame_index(rng, session)
    if index >= 0:
        _, channel, payload = _frame(session, index)
        kind = rng.choice((0, 1, 2, 3, 4, 8, 9, 65, 206, 255))
        session.pieces[index] = (kind, channel, payload)


def unknown_method(rng: random.Random, session: ClientSession) -> None:
    """A method frame with a class or method id the broker does not know (or one it sends)."""
    class_id, method_id = rng.choice(
        (
            (rng.randrange(65536), rng.randrange(65536)),
            (60, rng.choice((50, 60, 71, 72, 111, 120))),  # return, deliver, get-ok, ...
            (10, rng.choice((10, 20, 30, 41, 60, 61, 99))),
            (20, rng.choice((11, 21, 41, 99))),
            (50, 99),
            (90, 99),
            (85, 11),
            (40, 99),
        )
    )
    payload = struct.pack(">HH", class_id, method_id) + rng.randbytes(rng.randint(0, 16))
    _insert(rng, session, (1, rng.choice((0, 1, 1, 2)), payload))


def misplaced_method(rng: random.Random, session: ClientSession) -> None:
    """A valid method where it does not belong: handshake methods after open, server
    methods from the client, channel methods on channel 0."""
    channel = rng.choice((0, 1, 2, 7))
    options: list[Frame] = [
        method_frame(
            channel, commands.Connection.TuneOk, channel_max=10, frame_max=4096, heartbeat=0
        ),
        method_frame(channel, commands.Connection.Open, virtual_host="/"),
        method_frame(channel, commands.Connection.CloseOk),
        method_frame(channel, commands.Connection.Blocked, reason="x"),
        method_frame(channel, commands.Channel.OpenOk),
        method_frame(channel, commands.Channel.CloseOk),
        method_frame(channel, commands.Channel.FlowOk, active=True),
        method_frame(
            channel, commands.Queue.DeclareOk, queue="q", message_count=0, consumer_count=0
        ),
        method_frame(channel, commands.Basic.ConsumeOk, consumer_tag="c"),
        method_frame(channel, commands.Basic.QosOk),
        method_frame(channel, commands.Basic.GetEmpty),
        method_frame(channel, commands.Confirm.SelectOk),
        method_frame(channel, commands.Tx.SelectOk),
        method_frame(channel, AccessRequestOk),
        method_frame(
            channel,
            commands.Basic.Deliver,
            consumer_tag="c",
            delivery_tag=1,
            exchange="",
            routing_key="q",
        ),
        (8, channel, b""),
    ]
    _insert(rng, session, rng.choice(options))


def bad_table(rng: random.Random, session: ClientSession) -> None:
    """A declare, consume or publish whose field table is malformed."""
    entries = _bad_table_octets(rng)
    channel = rng.choice((1, 1, 2))
    kind = rng.randrange(3)
    if kind < 2:
        method: Method = (commands.Queue.Declare if kind else commands.Basic.Consume)(queue="q0")
        _insert(rng, session, (1, channel, method_payload(method, [])[:-4] + entries))
    else:
        publish = method_frame(channel, commands.Basic.Publish, exchange="", routing_key="q0")
        header = content_header(3, {"headers": entries})
        _insert(rng, session, publish, (2, channel, header), (3, channel, b"abc"))


def bad_headers_read(rng: random.Random, session: ClientSession) -> None:
    """A publish whose headers are malformed where the broker reads them: in an x-death it
    rewrites on dead-lettering, in a CC header, or matched by a headers exchange binding."""
    channel = rng.choice((1, 1, 2))
    table = _bad_table_octets(rng)
    array = rng.choice((table, longstr(b"F" + table)))  # entries as elements, or a bad table
    where = rng.randrange(3)
    declare, bind = commands.Queue.Declare, commands.Queue.Bind
    if where == 0:
        to_dead = [
            (b"x-dead-letter-exchange", b"S", b""),
            (b"x-dead-letter-routing-key", b"S", b"q1"),
        ]
        setup = [
            method_frame(channel, declare, queue="q1"),
            method_frame(channel, declare, queue="fz-dl", arguments=to_dead),
        ]
        exchange, key, headers = "", "fz-dl", longstr(shortstr(b"x-death") + b"A" + array)
    elif where == 1:
        match = [(b"x-match", b"S", b"any"), (b"k", b"S", b"v")]
        setup = [
            method_frame(channel, declare, queue="q0"),
            method_frame(channel, bind, queue="q0", exchange="amq.headers", arguments=match),
        ]
        exchange, key, headers = "amq.headers", "", table
    else:
        setup, exchange, key = [], "", "q0"
        headers = longstr(shortstr(rng.choice((b"CC", b"BCC"))) + b"A" + array)
    publish = method_frame(channel, commands.Basic.Publish, exchange=exchange, routing_key=key)
    dead_letter = [
        method_frame(channel, commands.Basic.Get, queue="fz-dl"),
        method_frame(channel, commands.Basic.Nack, delivery_tag=0, multiple=True, requeue=False),
    ]
    pieces: list[Piece] = [
        *setup,
        publish,
        (2, channel, content_header(1, {"headers": headers})),
        (3, channel, b"x"),
        *(dead_letter if where == 0 else []),
    ]
    _insert(rng, session, *pieces)


def _bad_table_octets(rng: random.Random) -> bytes:
    choice = rng.randrange(7)
    good = shortstr(b"k") + field_value(b"I", 1)
    if choice == 0:  # an unknown type tag
        return longstr(
            shortstr(b"k")
            + bytes((rng.choice(b"cCeEgGhHjJkKnNoOpPqQrRUvwWXyYzZ\x00\xff"),))
            + b"\x00" * 4
        )
    if choice == 1:  # the table's length runs past the end
        return struct.pack(">I", len(good) + rng.choice((1, 10, 2**31))) + good
    if choice == 2:  # the table's length stops inside an entry
        return struct.pack(">I", len(good) - rng.randint(1, len(good))) + good
    if choice == 3:  # deep nesting
        return nested_tables(rng.choice((50, 500, 5000, 20000)))
    if choice == 4:  # a string or array whose length runs past the end
        tag = rng.choice((b"S", b"x", b"A", b"F"))
        return longstr(shortstr(b"k") + tag + struct.pack(">I", rng.choice((5, 2**32 - 1))) + b"ab")
    if choice == 5:  # a key whose length runs past the end, or is not UTF-8; a timestamp
        # no datetime holds (valid AMQP: only a Python decoder minds)
        if rng.random() < 0.3:
            return table([(b"k", b"T", 2**64 - 1), (b"time", b"T", 2**63)])
        return longstr(rng.choice((b"\x09ab", b"\x02\xff\xfeI\x00\x00\x00\x01")))
    return longstr(rng.randbytes(rng.randint(0, 40)))  # noise


def oversized_content(rng: random.Random, session: ClientSession) -> None:
    """Bodies bigger than frame_max or than announced, huge announced sizes, stray content."""
    channel = rng.choice((1, 1, 2, 0, 9))
    publish = method_frame(channel, commands.Basic.Publish, exchange="", routing_key="q0")
    choice = rng.randrange(6)
    if choice == 0:  # a body frame over frame_max
        size = session.frame_max + rng.choice((-8, -7, 0, 1, 100))
        pieces: list[Piece] = [
            publish,
            (2, channel, content_header(size, {})),
            (3, channel, b"b" * size),
        ]
    elif choice == 1:  # a huge announced body, a little of it sent
        size = rng.choice((2**31, 2**63 - 1, 2**64 - 1, 10**9))
        pieces = [publish, (2, channel, content_header(size, {})), (3, channel, b"b" * 100)]
    elif choice == 2:  # more body than announced
        pieces = [
            publish,
            (2, channel, content_header(3, {})),
            (3, channel, b"b" * 10),
            (3, channel, b"more"),
        ]
    elif choice == 3:  # content without its method
        pieces = [(2, channel, content_header(3, {})), (3, channel, b"abc")]
    elif choice == 4:  # a header for another class, or a weight
        header = bytearray(content_header(3, {}))
        header[rng.choice((0, 1, 2, 3))] = rng.choice((0, 1, 10, 50, 255))
        pieces = [publish, (2, channel, bytes(header)), (3, channel, b"abc")]
    else:  # body frames of one publish on another channel
        pieces = [publish, (2, channel, content_header(3, {})), (3, channel ^ 1, b"abc")]
    _insert(rng, session, *pieces)


def bad_heartbeat(rng: random.Random, session: ClientSession) -> None:
    _insert(rng, session, (8, rng.choice((0, 1)), rng.randbytes(rng.randint(0, 4))))


FRAME_MUTATORS: dict[FrameMutator, int] = {
    flip_payload_bits: 6,
    truncate_payload: 3,
    wrong_length: 3,
    bad_frame_end: 2,
    drop_frame: 4,
    duplicate_frame: 3,
    swap_frames: 4,
    move_to_channel: 4,
    retype_frame: 2,
    unknown_method: 2,
    misplaced_method: 3,
    bad_table: 4,
    bad_headers_read: 3,
    oversized_content: 3,
    bad_heartbeat: 1,
}


def flip_stream_bits(rng: random.Random, data: bytes) -> bytes:
    octets = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        octets[rng.randrange(len(octets))] ^= 1 << rng.randrange(8)
    return bytes(octets)


def truncate_stream(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data))]


def garbage_after_prefix(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data))] + rng.randbytes(rng.randint(1, 200))


def splice_stream(rng: random.Random, data: bytes) -> bytes:
    """Octets removed, repeated or inserted somewhere in the stream."""
    at = rng.randrange(len(data))
    size = rng.randint(1, 16)
    roll = rng.random()
    if roll < 0.4:
        return data[:at] + data[at + size :]
    if roll < 0.7:
        return data[:at] + data[at : at + size] + data[at:]
    return data[:at] + rng.randbytes(size) + data[at:]


BYTE_MUTATORS: dict[ByteMutator, int] = {
    flip_stream_bits: 4,
    truncate_stream: 1,
    garbage_after_prefix: 2,
    splice_stream: 2,
}


def mutate(rng: random.Random, session: ClientSession) -> tuple[bytes, list[str]]:
    """The session's bytes after a few mutations (none for a few cases), and their names."""
    applied = []
    roll = rng.random()
    if roll < 0.75:
        mutators = list(FRAME_MUTATORS)
        chosen = rng.choices(
            mutators, [FRAME_MUTATORS[m] for m in mutators], k=rng.choice((1, 1, 2, 3))
        )
        for frame_mutator in chosen:
            frame_mutator(rng, session)
            applied.append(frame_mutator.__name__)
    data = serialise(session.pieces)
    if roll > 0.65 and data:
        byte_mutators = list(BYTE_MUTATORS)
        byte_mutator = rng.choices(byte_mutators, [BYTE_MUTATORS[m] for m in byte_mutators])[0]
        data = byte_mutator(rng, data)
        applied.append(byte_mutator.__name__)
    return data, applied


def chunks(rng: random.Random, data: bytes) -> list[bytes]:
    """The stream cut as socket reads might cut it: whole, in small pieces, or in large ones."""
    roll = rng.random()
    if roll < 0.4 or not data:
        return [data]
    top = 64 if roll < 0.7 else 4096
    top = max(top, len(data) // 64)  # at most a hundred reads or so: a case stays quick
    out = []
    at = 0
    while at < len(data):
        step = rng.randint(1, top)
        out.append(data[at : at + step])
        at += step
    return out
