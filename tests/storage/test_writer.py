"""The group-commit writer: batched fsyncs, callbacks after the data, reads after writes."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from amqpbroker.storage import writer as writer_module
from amqpbroker.storage.writer import Batch, GroupCommitWriter

TIMEOUT = 10.0


@pytest.fixture
def fsync_log(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every fsync the writer makes, in order: (path, the file's size when it was synced)."""
    events: list[tuple[str, int]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        events.append((os.readlink(f"/proc/self/fd/{fd}"), os.fstat(fd).st_size))

    monkeypatch.setattr(writer_module.os, "fsync", fsync)
    return events


@pytest.fixture
async def writer() -> AsyncIterator[GroupCommitWriter]:
    w = GroupCommitWriter(asyncio.get_running_loop().call_soon_threadsafe)
    yield w
    await asyncio.to_thread(w.close)


async def hold_writer(writer: GroupCommitWriter) -> threading.Event:
    """Park the writer thread (inside a read) until the returned event is set, so batches
    submitted meanwhile queue up and are taken as one group."""
    parked, gate = threading.Event(), threading.Event()

    def park() -> None:
        parked.set()
        gate.wait(TIMEOUT)

    batch = Batch()
    batch.reads.append((park, lambda _: None))
    writer.submit(batch)
    assert await asyncio.to_thread(parked.wait, TIMEOUT)
    return gate


def future_callback(
    loop: asyncio.AbstractEventLoop,
) -> tuple[asyncio.Future[None], Callable[[], None]]:
    done: asyncio.Future[None] = loop.create_future()
    return done, lambda: done.set_result(None)


async def test_one_fsync_serves_every_batch_waiting(
    tmp_path: Path, writer: GroupCommitWriter, fsync_log: list[tuple[str, int]]
) -> None:
    loop = asyncio.get_running_loop()
    path = tmp_path / "segment"
    gate = await hold_writer(writer)
    callbacks_run: list[int] = []
    futures = []
    for i in range(200):
        batch = Batch()
        batch.append(path, f"record {i}\n".encode())
        done, set_done = future_callback(loop)
        batch.callbacks.append(lambda i=i, set_done=set_done: (callbacks_run.append(i), set_done()))
        writer.submit(batch)
        futures.append(done)
    gate.set()
    await asyncio.wait_for(asyncio.gather(*futures), TIMEOUT)
    assert callbacks_run == list(range(200)), "callbacks run once each, in submission order"
    assert path.read_text() == "".join(f"record {i}\n" for i in range(200))
    assert writer.batches_written == 201
    assert [target for target, _ in fsync_log] == [str(path), str(tmp_path)], fsync_log
    assert writer.fsyncs == 1


async def test_each_touched_file_is_fsynced_once_per_group(
    tmp_path: Path, writer: GroupCommitWriter, fsync_log: list[tuple[str, int]]
) -> None:
    loop = asyncio.get_running_loop()
    gate = await hold_writer(writer)
    files = [tmp_path / "a" / "1.seg", tmp_path / "b" / "1.idx", tmp_path / "c.log"]
    done, set_done = future_callback(loop)
    for i in range(30):
        batch = Batch()
        batch.append(files[i % 3], b"x" * i)
        if i == 29:
            batch.callbacks.append(set_done)
        writer.submit(batch)
    gate.set()
    await asyncio.wait_for(done, TIMEOUT)
    fsynced = [target for target, _ in fsync_log]
    # The message segment and its directory first (nothing may point at bytes not yet
    # durable), then the other files and their directories: each once.
    segment, others = files[0], files[1:]
    assert fsynced[:2] == [str(segment), str(segment.parent)]
    assert sorted(fsynced[2:4]) == sorted(str(f) for f in others)
    assert sorted(fsynced[4:]) == sorted(str(f.parent) for f in others)
    assert writer.fsyncs == 3


async def test_callbacks_run_only_after_their_data_is_fsynced(
    tmp_path: Path, writer: GroupCommitWriter, fsync_log: list[tuple[str, int]]
) -> None:
    loop = asyncio.get_running_loop()
    path = tmp_path / "messages" / "00000001.seg"
    synced_sizes: list[int] = []  # the file's size at each of its fsyncs, when the callbacks ran
    futures = []
    for i in range(50):
        batch = Batch()
        batch.append(path, b"%05d" % i)
        done, set_done = future_callback(loop)

        def callback(set_done: Callable[[], None] = set_done) -> None:
            fsynced = [size for target, size in fsync_log if target == str(path)]
            synced_sizes.append(max(fsynced, default=0))
            set_done()

        batch.callbacks.append(callback)
        writer.submit(batch)
        futures.append(done)
        if i % 7 == 0:
            await asyncio.sleep(0)  # let the writer take some alone and others in groups
    await asyncio.wait_for(asyncio.gather(*futures), TIMEOUT)
    assert len(synced_sizes) == 50
    for i, size in enumerate(synced_sizes):
        assert size >= 5 * (i + 1), f"callback {i} ran before its record was fsynced"


async def test_callback_without_writes_waits_for_earlier_writes(
    tmp_path: Path, writer: GroupCommitWriter
) -> None:
    """when_durable with nothing new to write still waits for what was submitted before."""
    loop = asyncio.get_running_loop()
    path = tmp_path / "f"
    first = Batch()
    first.append(path, b"earlier")
    writer.submit(first)
    done, set_done = future_callback(loop)
    seen: list[bytes] = []
    barrier = Batch()
    barrier.callbacks.append(lambda: (seen.append(path.read_bytes()), set_done()))
    writer.submit(barrier)
    await asyncio.wait_for(done, TIMEOUT)
    assert seen == [b"earlier"]


async def test_reads_see_every_write_before_them(tmp_path: Path, writer: GroupCommitWriter) -> None:
    loop = asyncio.get_running_loop()
    path = tmp_path / "seg"
    results: list[asyncio.Future[Any]] = []
    for i in range(20):
        batch = Batch()
        batch.append(path, b"<%d>" % i)
        result: asyncio.Future[Any] = loop.create_future()
        batch.reads.append((path.read_bytes, result.set_result))  # same batch: after its write
        writer.submit(batch)
        results.append(result)
    values = await asyncio.wait_for(asyncio.gather(*results), TIMEOUT)
    for i, value in enumerate(values):
        assert value.startswith(b"".join(b"<%d>" % j for j in range(i + 1)))


async def test_delete_then_append_starts_a_fresh_file(
    tmp_path: Path, writer: GroupCommitWriter
) -> None:
    loop = asyncio.get_running_loop()
    path = tmp_path / "seg"
    batch = Batch()
    batch.append(path, b"old")
    writer.submit(batch)
    batch = Batch()
    batch.deletes.append(path)
    exists: asyncio.Future[bool] = loop.create_future()
    batch.reads.append((path.exists, exists.set_result))
    writer.submit(batch)
    assert await asyncio.wait_for(exists, TIMEOUT) is False
    batch = Batch()
    batch.append(path, b"new")
    done, set_done = future_callback(loop)
    batch.callbacks.append(set_done)
    writer.submit(batch)
    await asyncio.wait_for(done, TIMEOUT)
    assert path.read_bytes() == b"new"


async def test_close_finishes_everything_submitted(tmp_path: Path) -> None:
    w = GroupCommitWriter(asyncio.get_running_loop().call_soon_threadsafe)
    path = tmp_path / "f"
    for i in range(100):
        batch = Batch()
        batch.append(path, b"%d," % i)
        w.submit(batch)
    await asyncio.to_thread(w.close)
    assert path.read_bytes() == b"".join(b"%d," % i for i in range(100))


async def test_fsync_can_be_turned_off(tmp_path: Path, fsync_log: list[tuple[str, int]]) -> None:
    w = GroupCommitWriter(asyncio.get_running_loop().call_soon_threadsafe, fsync=False)
    done, set_done = future_callback(asyncio.get_running_loop())
    batch = Batch()
    batch.append(tmp_path / "f", b"data")
    batch.callbacks.append(set_done)
    w.submit(batch)
    await asyncio.wait_for(done, TIMEOUT)
    await asyncio.to_thread(w.close)
    assert (tmp_path / "f").read_bytes() == b"data"
    assert w.fsyncs == 0
    assert fsync_log == []


async def test_empty_batch_is_falsy() -> None:
    assert not Batch()
    batch = Batch()
    batch.callbacks.append(lambda: None)
    assert batch
