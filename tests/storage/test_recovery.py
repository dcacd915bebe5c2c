"""Recovery and paging without a network: what a restart reads, repairs and refuses,
how a recovered backlog comes back from disk, and crash consistency — a kill at any point
of a write must keep every confirmed message.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from storeutil import (
    Node,
    bodies,
    drain,
    eventually,
    index_dir,
    make_message,
    records,
    restart,
    segments,
    take,
)

from amqpbroker.config import BrokerConfig
from amqpbroker.core.broker import BrokerState
from amqpbroker.core.ports import Paging
from amqpbroker.storage import recovery as recovery_module
from amqpbroker.storage.codec import (
    DELIVERED,
    ENQUEUE,
    REMOVED,
    decode_index_entry,
    decode_run,
)
from amqpbroker.storage.records import CorruptStore
from amqpbroker.storage.recovery import recover
from amqpbroker.storage.store import DurableStore
from amqpbroker.storage.writer import GroupCommitWriter

# -- recovery -------------------------------------------------------------------------------------


async def test_recovery_does_not_read_message_bodies(open_node: Callable[..., Node]) -> None:
    """Damage inside a stored body does not stop start-up: recovery reads only the indexes."""
    node = open_node()
    node.declare_queue("q")
    for i in range(3):
        node.publish("", make_message(b"body %d" % i))
    await node.close()
    segment = node.store.message_path(1)
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0xFF
    segment.write_bytes(bytes(data))
    node = open_node()
    assert node.vhost.queue("q").message_count == 3


async def test_recovery_logs_what_it_found_and_how_long_it_took(
    open_node: Callable[..., Node],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(recovery_module, "PROGRESS_EVERY", 10)
    caplog.set_level(logging.INFO, logger="amqpbroker.storage.recovery")
    node = open_node()
    node.declare_exchange("x", "fanout")
    node.vhost.bind("x", node.declare_queue("q"), "", {})
    for i in range(25):
        node.publish("x", make_message(b"%d" % i, exchange="x"))
    caplog.clear()
    node = await restart(node, open_node)
    messages = [r.getMessage() for r in caplog.records]
    assert any(
        re.fullmatch(r"recovering <Queue 'q' in '/'>: \d+ index entries read", m) for m in messages
    )
    (summary,) = [m for m in messages if m.startswith("recovered ")]
    assert summary.startswith("recovered 1 exchanges, 1 queues, 1 bindings, 25 messages in ")
    assert summary.endswith(" s")


@pytest.mark.parametrize("which", ["definitions", "index"])
async def test_recovery_truncates_a_torn_tail(
    open_node: Callable[..., Node], caplog: pytest.LogCaptureFixture, which: str
) -> None:
    caplog.set_level(logging.WARNING, logger="amqpbroker.storage.records")
    node = open_node()
    node.declare_queue("q")
    for i in range(3):
        node.publish("", make_message(b"%d" % i))
    await node.close()
    data_dir = node.store.data_dir
    if which == "definitions":
        path = node.store.definitions_path
    else:
        path = index_dir(data_dir, "q") / "00000001.idx"
    good = path.stat().st_size
    garbage = b"\xab\x51\x00\x00\x01\x00garbage"
    with path.open("ab") as handle:
        handle.write(garbage)
    node = open_node()
    assert bodies(await drain(node.vhost.queue("q"), 3)) == [b"0", b"1", b"2"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert (
        f"{path}: torn record at offset {good} (crash mid-write); truncating {len(garbage)} bytes"
        in warnings
    )
    await node.synced()
    caplog.clear()
    if which == "index":  # appended to again after the repair: still a clean file
        entries = records(path)
        assert [decode_index_entry(p)[:2] for p in entries[:3]] == [(ENQUEUE, s) for s in (1, 2, 3)]
        # then, the messages drained in one tick: their delivered and removed events as runs
        assert [decode_run(p) for p in entries[3:]] == [
            (DELIVERED, range(1, 4)),
            (REMOVED, range(1, 4)),
        ]
        assert not caplog.records


@pytest.mark.parametrize("which", ["definitions", "index"])
async def test_recovery_refuses_damage_in_the_middle(
    open_node: Callable[..., Node], which: str
) -> None:
    node = open_node()
    node.declare_queue("q")
    node.declare_queue("r")
    for i in range(3):
        node.publish("", make_message(b"%d" % i))
    await node.close()
    data_dir = node.store.data_dir
    if which == "definitions":
        path = node.store.definitions_path
    else:
        path = index_dir(data_dir, "q") / "00000001.idx"
    data = bytearray(path.read_bytes())
    data[12] ^= 0x01  # inside the first record's payload
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptStore, match=rf"{path}: damaged record at offset 0 followed by"):
        open_node()
    assert path.read_bytes() == bytes(data), "nothing was repaired or truncated"


# -- paging ---------------------------------------------------------------------------------------


async def test_backlog_beyond_the_window_lives_on_disk(
    open_node: Callable[..., Node],
) -> None:
    node = open_node(paging=Paging(window=8, refill_batch=3))
    q = node.declare_queue("q")
    expected = []
    for i in range(60):
        persistent = i % 5 != 0
        node.publish("", make_message(b"%d" % i, persistent=persistent))
        expected.append(b"%d" % i)
    assert q.message_count == 60
    assert len(list(q.ready.in_memory())) == 8, "only the window is held in memory"
    await node.synced()
    assert bodies(await drain(q, 60)) == expected
    node = await restart(node, open_node, paging=Paging(window=8, refill_batch=3))
    assert node.vhost.queue("q").message_count == 0


async def test_recovered_backlog_pages_in_through_the_window(
    open_node: Callable[..., Node],
) -> None:
    node = open_node(paging=Paging(window=8, refill_batch=3))
    node.declare_queue("q")
    for i in range(50):
        node.publish("", make_message(b"%d" % i))
    node = await restart(node, open_node, paging=Paging(window=8, refill_batch=3))
    q = node.vhost.queue("q")
    assert q.message_count == 50
    assert list(q.ready.in_memory()) == [], "recovery reads no bodies"
    assert bodies(await drain(q, 50)) == [b"%d" % i for i in range(50)]


async def test_a_recovered_priority_queue_delivers_by_priority(
    open_node: Callable[..., Node],
) -> None:
    """Messages read back from disk keep their priority (it is in their stored header)."""
    node = open_node()
    node.declare_queue("q", arguments={"x-max-priority": 5})
    for body, priority in ((b"low", 1), (b"high", 5), (b"none", 0), (b"mid", 3)):
        message = make_message(body, priority=priority)
        message.priority = priority  # (as the session reads it from the header on publish)
        node.publish("", message)
    node = await restart(node, open_node)
    q = node.vhost.queue("q")
    assert bodies(await drain(q, 4)) == [b"high", b"mid", b"low", b"none"]


# -- crash at every point ----------------------------------------------------------------------


class CrashPoints:
    """Copies of the data directory as a SIGKILL would leave it at each moment the writer
    thread touches a file: before and after every write, flush and unlink (what the process
    handed to the OS survives a kill; what sits in Python's buffers does not)."""

    def __init__(self, data_dir: Path, into: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.data_dir = data_dir
        self.into = into
        self.snapshots: list[Path] = []
        real_handle = GroupCommitWriter._handle
        real_unlink = Path.unlink
        points = self

        def watched_handle(writer: GroupCommitWriter, path: Path) -> Any:
            return WatchedFile(real_handle(writer, path), points.snapshot)

        def watched_unlink(path: Path, missing_ok: bool = False) -> None:
            if threading.current_thread().name == "amqpbroker-writer":
                points.snapshot()
                real_unlink(path, missing_ok=missing_ok)
                points.snapshot()
            else:
                real_unlink(path, missing_ok=missing_ok)

        monkeypatch.setattr(GroupCommitWriter, "_handle", watched_handle)
        monkeypatch.setattr(Path, "unlink", watched_unlink)

    def snapshot(self) -> None:
        target = self.into / f"crash-{len(self.snapshots):04d}"
        shutil.copytree(self.data_dir, target, ignore=shutil.ignore_patterns("LOCK"))
        self.snapshots.append(target)

    def recovered_bodies(self, snapshot: Path) -> list[bytes]:
        """What a broker restarted on ``snapshot`` would hold in queue 'q'."""
        store = DurableStore(snapshot)
        state = BrokerState(BrokerConfig(), store)
        recover(store, state)
        queue = state.vhost("/").queues["q"]
        refs = [ref for _, ref in queue.ready.stored_entries()]
        return [message.body for message in store.read_now(refs)]


class WatchedFile:
    """A file handle that runs ``check`` before and after every write and flush."""

    def __init__(self, handle: Any, check: Callable[[], None]) -> None:
        self._handle = handle
        self._check = check

    def write(self, data: bytes) -> int:
        self._check()
        written = int(self._handle.write(data))
        self._check()
        return written

    def flush(self) -> None:
        self._check()
        self._handle.flush()
        self._check()

    def fileno(self) -> int:
        return int(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()


async def test_a_crash_at_any_point_keeps_every_confirmed_message(
    open_node: Callable[..., Node], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """One tick with many acks (a large index write) and a new message: wherever a kill
    strikes while it is written, recovery finds every confirmed message, readable."""
    node = open_node()
    q = node.declare_queue("q")
    for i in range(600):
        node.publish("", make_message(b"%03d" % i))
    await node.synced()  # all 600 confirmed
    points = CrashPoints(node.store.data_dir, tmp_path, monkeypatch)
    for envelope in [await take(q, ack=False) for _ in range(500)]:
        q.forget([envelope])
    node.publish("", make_message(b"new"))
    await node.synced()
    assert len(points.snapshots) >= 4
    confirmed = [b"%03d" % i for i in range(500, 600)]
    for snapshot in points.snapshots:
        bodies = points.recovered_bodies(snapshot)
        assert bodies[-100:] == confirmed or bodies[-101:-1] == confirmed, snapshot.name


@pytest.mark.parametrize("ack_in_the_same_tick", [False, True], ids=["alone", "after-an-ack"])
async def test_a_crash_while_compacting_keeps_every_confirmed_message(
    open_node: Callable[..., Node],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    ack_in_the_same_tick: bool,
) -> None:
    """Compaction copies live messages to the current segment, records the move in the
    index and deletes the old segment.  A kill at any point must leave each message either
    at its old place or at its new one: the old segment may not go before the copy and the
    move record are on disk, and the move record may not reach the disk before the copy.
    ``after-an-ack``: a client's ack is handled in the same loop tick, just before the
    compaction's read comes back, so the index file is the first file that tick touches."""
    node = open_node(segment_size=16384, compact_delay=0)
    q = node.declare_queue("q")
    for i in range(45):
        node.publish("", make_message(b"%02d" % i + b"." * 1000))
    await node.synced()  # all 45 confirmed
    taken = [await take(q, ack=False) for _ in range(31)]
    late_acks = [taken[30]] if ack_in_the_same_tick else []  # 30 lives in segment 3
    real_read = DurableStore.read

    def read(store: DurableStore, refs: Any, callback: Callable[[Any], None]) -> None:
        def ack_then(messages: Any) -> None:
            if late_acks:
                q.forget([late_acks.pop()])
            callback(messages)

        real_read(store, refs, ack_then)

    monkeypatch.setattr(DurableStore, "read", read)
    points = CrashPoints(node.store.data_dir, tmp_path, monkeypatch)
    q.requeue([taken[7]])
    q.forget(taken[:7] + taken[8:30])
    data_dir = node.store.data_dir
    await eventually(node, lambda: "00000001.seg" not in segments(data_dir), "compaction")
    await node.synced()
    assert not late_acks
    must_survive = [b"07"] + [b"%02d" % i for i in range(31, 45)]
    for snapshot in points.snapshots:
        heads = {body[:2] for body in points.recovered_bodies(snapshot)}
        missing = [m for m in must_survive if m not in heads]
        assert not missing, f"a kill at {snapshot.name} loses confirmed messages {missing}"


# -- regressions: bugs these tests found -------------------------------------------------------


async def test_message_count_counts_messages_being_read_back(
    open_node: Callable[..., Node],
) -> None:
    """queue.declare-ok and get-ok report ``message_count``: it must not drop while a chunk
    of the backlog is on its way back from disk."""
    node = open_node(paging=Paging(window=4, refill_batch=2))
    node.declare_queue("q")
    for i in range(6):
        node.publish("", make_message(b"%d" % i))
    node = await restart(node, open_node, paging=Paging(window=4, refill_batch=2))
    q = node.vhost.queue("q")
    counts = []
    for _ in range(6):
        counts.append(q.message_count)
        await take(q)
    assert counts == [6, 5, 4, 3, 2, 1]


async def test_get_is_not_empty_while_the_last_messages_are_read_back(
    open_node: Callable[..., Node],
) -> None:
    """basic.get answers get-empty when ``head_ready()`` and ``get()`` returns None: that must
    not happen while stored messages are still being read back."""
    node = open_node(paging=Paging(window=4, refill_batch=2))
    node.declare_queue("q")
    for i in range(3):
        node.publish("", make_message(b"%d" % i))
    node = await restart(node, open_node, paging=Paging(window=4, refill_batch=2))
    q = node.vhost.queue("q")
    assert (await take(q)).message.body == b"0"
    assert (await take(q)).message.body == b"1"
    # message 2 exists: the broker must either have it ready or make basic.get wait for it
    assert not q.ready.head_ready() or q.get() is not None


async def test_new_messages_do_not_overtake_messages_being_read_back(
    open_node: Callable[..., Node],
) -> None:
    """FIFO: a message published while the backlog's last chunk is on its way back from disk
    must queue behind that chunk."""
    node = open_node(paging=Paging(window=4, refill_batch=2))
    node.declare_queue("q")
    for i in range(4):
        node.publish("", make_message(b"%d" % i))
    node = await restart(node, open_node, paging=Paging(window=4, refill_batch=2))
    q = node.vhost.queue("q")
    assert (await take(q)).message.body == b"0"  # 2 and 3 are being read now
    node.publish("", make_message(b"new"))
    assert bodies(await drain(q, 4)) == [b"1", b"2", b"3", b"new"]


async def test_a_torn_message_record_costs_only_that_message(
    open_node: Callable[..., Node],
) -> None:
    """A crash can leave a queue index entry whose message record was cut short (that
    message was never confirmed).  Recovery or the read-back must drop that one message,
    not the whole chunk read with it — and not log an error on every later start."""
    node = open_node()
    node.declare_queue("q")
    for i in range(5):
        node.publish("", make_message(b"message %d" % i))
    await node.close()
    segment = node.store.message_path(1)
    with segment.open("r+b") as handle:
        handle.truncate(segment.stat().st_size - 3)
    node = open_node()
    q = node.vhost.queue("q")
    got = [await take(q, timeout=2) for _ in range(4)]
    assert bodies(got) == [b"message %d" % i for i in range(4)]
