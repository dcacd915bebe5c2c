"""Message expiry across restarts, without a network.

Like RabbitMQ's classic queue index, each queue-index enqueue record of a message that can
expire keeps its expiry as an absolute wall-clock time (ms since the epoch); recovery turns
it back into the clock's own time base, so a message expires at the same moment whatever
happened in between.  Records written before expiries were stored (the plain 25-byte
enqueue, still written for messages without one) read back as never expiring.

Each lifetime gets a ``ManualClock`` whose monotonic time starts somewhere else (as a new
process's would) and whose wall clock continues where the previous one stopped, plus the
downtime.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pytest
from storeutil import Node, bodies, eventually, index_dir, make_message, records, take

from amqpbroker.core.message import Message
from amqpbroker.core.ports import ManualClock, Paging, epoch_at, wall_ms
from amqpbroker.storage.codec import (
    DELIVERED,
    ENQUEUE,
    MOVED,
    decode_index_entry,
    encode_enqueue,
    encode_expiring_enqueue,
)
from amqpbroker.storage.records import encode_record

WALL = 1_700_000_000.0  # the first lifetime's wall clock at its start
# The enqueue record before expiries were stored: b"E", seq, segment, offset, size.
OLD_ENQUEUE = struct.Struct(">cQIQI")


def expiring(body: bytes, ttl_ms: int) -> Message:
    """A persistent message published with ``expiration`` (as the session parses it)."""
    message = make_message(body, expiration=str(ttl_ms))
    message.ttl = ttl_ms
    return message


def lifetime(
    open_node: Callable[..., Node], *, monotonic: float, wall: float, **store_options: Any
) -> Node:
    return open_node(clock=ManualClock(start=monotonic, wall_start=wall), **store_options)


def clock_of(node: Node) -> ManualClock:
    clock = node.state.clock
    assert isinstance(clock, ManualClock)
    return clock


# -- records --------------------------------------------------------------------------------------


def test_expiring_enqueue_round_trip() -> None:
    payload = encode_expiring_enqueue(7, (3, 4096, 1100), 1_700_000_012_345)
    assert decode_index_entry(payload) == (ENQUEUE, 7, (3, 4096, 1100), 1_700_000_012_345)


def test_enqueue_without_expiry_keeps_the_old_layout() -> None:
    payload = encode_enqueue(7, (3, 4096, 1100))
    assert payload == OLD_ENQUEUE.pack(b"E", 7, 3, 4096, 1100)
    assert decode_index_entry(payload) == (ENQUEUE, 7, (3, 4096, 1100), None)
    moved = encode_enqueue(7, (5, 0, 1100), MOVED)
    assert decode_index_entry(moved) == (MOVED, 7, (5, 0, 1100), None)


async def test_old_format_records_recover_as_never_expiring(
    open_node: Callable[..., Node],
) -> None:
    """A data dir written before expiries were stored: its messages come back, in order,
    with their flags, and do not expire."""
    node = lifetime(open_node, monotonic=10.0, wall=WALL)
    q = node.declare_queue("q", arguments={"x-message-ttl": 1000})
    for i in range(3):
        node.publish("", make_message(b"%d" % i))
    await take(q, ack=False)  # 0: delivered, not acked
    await node.close()
    (path,) = index_dir(node.store.data_dir, "q").glob("*.idx")
    old = []
    for payload in records(path):
        kind, seq, ref, expiry = decode_index_entry(payload)
        assert kind in (ENQUEUE, DELIVERED)
        if kind == ENQUEUE:
            assert ref is not None and expiry is not None, "the new code stores the TTL"
        written = payload if kind == DELIVERED else OLD_ENQUEUE.pack(ENQUEUE, seq, *ref)
        old.append(encode_record(written))
    path.write_bytes(b"".join(old))

    node = lifetime(open_node, monotonic=0.0, wall=WALL + 3600)
    q = node.vhost.queue("q")
    clock_of(node).advance(3600)
    back = [await take(q) for _ in range(3)]
    assert [(e.message.body, e.redelivered, e.expires_at) for e in back] == [
        (b"0", True, None),
        (b"1", False, None),
        (b"2", False, None),
    ]


# -- recovery -------------------------------------------------------------------------------------


async def test_expiry_is_restored_in_the_new_clock_time_base(
    open_node: Callable[..., Node],
) -> None:
    """Whatever the new clock's monotonic start, each message (paged-out beyond the window,
    delivered and unacked, requeued) expires at the same wall-clock moment as before."""
    node = lifetime(open_node, monotonic=500.0, wall=WALL, paging=Paging(window=4, refill_batch=3))
    q = node.declare_queue("q", arguments={"x-message-ttl": 60_000})
    sent = [
        expiring(b"%d" % i, 10_000 + 1000 * i) if i % 3 else make_message(b"%d" % i)
        for i in range(12)
    ]
    for i, message in enumerate(sent):
        clock_of(node).advance(0.25 if i else 0)
        node.publish("", message)
    expected_wall = [WALL + 0.25 * i + (10 + i if i % 3 else 60) for i in range(12)]
    first = await take(q, ack=False)  # delivered, unacked: comes back redelivered
    second = await take(q, ack=False)
    q.requeue([second])  # requeued before the stop: keeps its expiry
    assert (first.message.body, second.message.body) == (b"0", b"1")
    await node.close()

    downtime = 2.5
    node = lifetime(
        open_node,
        monotonic=7.0,
        wall=WALL + 0.25 * 11 + downtime,
        paging=Paging(window=4, refill_batch=3),
    )
    q = node.vhost.queue("q")
    back = [await take(q) for _ in range(12)]
    assert bodies(back) == [b"%d" % i for i in range(12)]
    base = 7.0 - (WALL + 0.25 * 11 + downtime)  # this clock's time at the epoch
    for envelope, wall in zip(back, expected_wall, strict=True):
        assert envelope.expires_at == pytest.approx(base + wall, abs=0.001), envelope.message.body
    assert [e.redelivered for e in back[:2]] == [True, True]


async def test_what_expired_while_down_is_dead_lettered_once_recovered(
    open_node: Callable[..., Node],
) -> None:
    node = lifetime(open_node, monotonic=100.0, wall=WALL)
    node.declare_exchange("dlx", "fanout")
    dead = node.declare_queue("dead")
    node.vhost.bind("dlx", dead, "", {})
    q = node.declare_queue("q", arguments={"x-dead-letter-exchange": "dlx"})
    for name, ttl in (("a", 1000), ("b", 2000), ("c", 30_000), ("d", 1000)):
        node.publish("", expiring(name.encode(), ttl))
    await node.close()

    node = lifetime(open_node, monotonic=0.0, wall=WALL + 10)
    q, dead = node.vhost.queue("q"), node.vhost.queue("dead")
    await eventually(node, lambda: dead.message_count == 2, "a and b dead-lettered")
    # d expired too, but behind a live head it waits, as RabbitMQ's does
    assert q.message_count == 2
    assert bodies([await take(dead) for _ in range(2)]) == [b"a", b"b"]

    clock_of(node).advance(19.9)
    assert q.message_count == 2, "c lives until its own moment"
    clock_of(node).advance(0.2)  # the recovered head's expiry was timed
    await eventually(node, lambda: dead.message_count == 2, "c and d dead-lettered")
    assert q.message_count == 0
    assert bodies([await take(dead) for _ in range(2)]) == [b"c", b"d"]


async def test_a_queue_whose_head_never_expires_reads_nothing_at_recovery(
    open_node: Callable[..., Node],
) -> None:
    node = lifetime(open_node, monotonic=0.0, wall=WALL)
    q = node.declare_queue("q")
    node.publish("", make_message(b"forever"))
    node.publish("", expiring(b"soon", 1000))
    await node.close()
    node = lifetime(open_node, monotonic=0.0, wall=WALL + 10)
    q = node.vhost.queue("q")
    assert list(q.ready.in_memory()) == [], "recovery reads no bodies"
    assert q.message_count == 2


def test_wall_clock_conversions_round_trip() -> None:
    clock = ManualClock(start=42.0, wall_start=WALL)
    assert wall_ms(clock, 52.5) == round((WALL + 10.5) * 1000)
    assert epoch_at(clock) + wall_ms(clock, 52.5) / 1000 == pytest.approx(52.5, abs=1e-6)
