"""Group commit: one thread appends to files and fsyncs them in batches.

Theory of operation: the event loop never touches files.  During a loop tick the store
collects the bytes to append per file and the callbacks that must wait for them; ``flush``
hands that over as one ``Batch``.  The writer thread takes every batch waiting (one, or many
under load), writes each file's bytes, fsyncs each touched file once, and only then sends
the batches' callbacks back to the loop (``hand_back``, the loop's ``call_soon_threadsafe``).
So one fsync serves every record written since the last, and a callback runs only after
everything submitted before it is on disk.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO

from amqpbroker.core.message import Message

log = logging.getLogger(__name__)

Callback = Callable[[], None]
# Runs a callback on the event loop's thread, soon; safe to call from another thread.
HandBack = Callable[[Callback], object]
# A read for the thread, after the writes before it, and where its result goes on the loop
# (the messages, or None if the read failed).
Read = tuple[Callable[[], list[Message]], Callable[[list[Message] | None], None]]
DATA_SUFFIX = ".seg"  # message segments: written before anything that refers to them


@dataclass(slots=True)
class Batch:
    """Everything one loop tick asked the disk to do, in order."""

    appends: dict[Path, list[bytes]] = field(default_factory=dict)
    deletes: list[Path] = field(default_factory=list)
    callbacks: list[Callback] = field(default_factory=list)
    reads: list[Read] = field(default_factory=list)  # after the writes: they see them

    def append(self, path: Path, data: bytes) -> None:
        self.chunks(path).append(data)

    def chunks(self, path: Path) -> list[bytes]:
        """What this batch appends to ``path``, in order (a list to append to)."""
        chunks = self.appends.get(path)
        if chunks is None:
            chunks = self.appends[path] = []
        return chunks

    def __bool__(self) -> bool:
        return bool(self.appends or self.deletes or self.callbacks or self.reads)


class GroupCommitWriter:
    """The store's only writer; ``submit`` never blocks."""

    def __init__(self, hand_back: HandBack, *, fsync: bool = True) -> None:
        self._hand_back = hand_back
        self._fsync = fsync
        self._queue: queue.SimpleQueue[Batch | None] = queue.SimpleQueue()
        self._files: dict[Path, BinaryIO] = {}
        self._new_dirs: set[Path] = set()
        self._thread = threading.Thread(target=self._run, name="amqpbroker-writer", daemon=True)
        self.batches_written = 0
        self.fsyncs = 0
        self.failures = 0  # groups whose writing failed (durable state may be incomplete)
        self._thread.start()

    def submit(self, batch: Batch) -> None:
        self._queue.put(batch)

    def close(self) -> None:
        """Finish everything submitted, then stop (blocks: call off the loop or at shutdown)."""
        self._queue.put(None)
        self._thread.join()

    # -- the thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batches = [self._queue.get()]
            while True:
                try:
                    batches.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stopping = None in batches
            work = [b for b in batches if b is not None]
            try:
                callbacks = self._write(work)
            except OSError:
                log.exception("writing the store failed; durable state may be incomplete")
                self.failures += 1
                callbacks = []
            if callbacks:
                self._hand_back(partial(_run_all, callbacks))
            for batch in work:
                for read, deliver in batch.reads:
                    self._hand_back(partial(deliver, _attempt(read)))
        for handle in self._files.values():
            handle.close()
        self._files.clear()

    def _write(self, batches: list[Batch]) -> list[Callback]:
        """Data files first, then the files that point into them, then deletes.

        Message segments are written and fsynced before any index or log record of the same
        group reaches the OS, so no record can point at bytes a crash lost; a file is only
        removed once what replaced it (a compacted copy, a removal record) is on disk.
        Deleted paths are never reused.
        """
        appends = _merged_appends(batches)
        for data_first in (True, False):
            touched: dict[Path, BinaryIO] = {}
            for path, chunks in appends.items():
                if (path.suffix == DATA_SUFFIX) == data_first:
                    handle = self._handle(path)
                    handle.write(b"".join(chunks))
                    touched[path] = handle
            self._sync(touched)
        for batch in batches:
            for path in batch.deletes:
                closing = self._files.pop(path, None)
                if closing is not None:
                    closing.close()
                path.unlink(missing_ok=True)
        self.batches_written += len(batches)
        return [callback for batch in batches for callback in batch.callbacks]

    def _sync(self, touched: dict[Path, BinaryIO]) -> None:
        for handle in touched.values():
            handle.flush()
            if self._fsync:
                os.fsync(handle.fileno())
                self.fsyncs += 1
        if self._fsync:
            for directory in self._new_dirs:  # make new files' directory entries durable
                fsync_directory(directory)
        self._new_dirs.clear()

    def _handle(self, path: Path) -> BinaryIO:
        handle = self._files.get(path)
        if handle is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                self._new_dirs.add(path.parent)
            handle = self._files[path] = path.open("ab")
        return handle


def _merged_appends(batches: list[Batch]) -> dict[Path, list[bytes]]:
    """Each file's appends across the group, in order: one write per file, since every
    system call lets the loop's thread take the GIL and the writer wait to get it back."""
    if len(batches) == 1:
        return batches[0].appends
    merged: dict[Path, list[bytes]] = {}
    for batch in batches:
        for path, chunks in batch.appends.items():
            if path in merged:
                merged[path] += chunks
            else:
                merged[path] = list(chunks)
    return merged


def _attempt(read: Callable[[], list[Message]]) -> list[Message] | None:
    """A read's result, or None when the store could not give it (logged)."""
    try:
        return read()
    except Exception:
        log.exception("reading messages back from the store failed")
        return None


def fsync_directory(directory: Path) -> None:
    """Make a directory's entries (files created, renamed or removed) durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _run_all(callbacks: list[Callback]) -> None:
    for callback in callbacks:
        callback()
