"""The durable store: definitions, a shared message store, and one index per durable queue.

Theory of operation (layout under the data directory):
  definitions.log        vhosts (with description and tags), users, permissions, topic
                         permissions, runtime and global parameters (policies among them),
                         durable exchanges, queues and bindings, as a replayable log
  clean-shutdown         there while no broker runs, if the last one stopped cleanly
  messages/NNNNNNNN.seg  message records; a message routed to several queues is written once
  queues/<id>/NNNNNNNN.idx  per durable queue: enqueue (seq -> message ref, and the expiry as
                            wall-clock ms if it has one), delivered, removed (these two as
                            runs of consecutive seqs, one record a run)

Everything is appended through the group-commit writer; the loop only assigns offsets.  A
loop tick's records go into one numbered batch (``batch_number``), handed over at the end of
the tick; a publisher confirm waits for its message's batch, with one callback per batch.
Delivered and removed events wait for the end of the tick (or a gap in the seqs) as runs.
A message's location (segment, offset, size) is known as soon as it is appended, so queues
can page it out while the bytes are still on their way to disk; reads go through the writer
thread after the writes before them, so they always find their bytes.

Space comes back in three ways.  A message segment is deleted once no queue holds any message
in it.  A closed segment that is mostly dead is compacted: the messages queues still hold
are copied to the current segment, each queue's index records the move, and the old segment
goes once nothing (such as an unacked delivery) refers to it any more.  And a queue's index
is itself segmented: its oldest index segment is deleted once every message it enqueued has
left the queue (only the oldest, so no later record refers to it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from amqpbroker.core.exchanges import Exchange
from amqpbroker.core.message import Message
from amqpbroker.core.ports import (
    Clock,
    Paging,
    StoredBinding,
    StoredEnvelope,
    StoredExchange,
    StoredQueue,
    StoreRef,
    wall_ms,
)

from .clean_shutdown import mark_clean
from .codec import (
    DELIVERED,
    MOVED,
    REMOVED,
    decode_message,
    encode_arguments,
    encode_definition,
    encode_enqueue,
    encode_expiring_enqueue,
    enqueue_record,
    message_record,
    seq_run_record,
)
from .queue_index import QueueIndex, queue_directory_name
from .records import encode_record, read_records_at, segment_name
from .writer import Batch, Callback, GroupCommitWriter

log = logging.getLogger(__name__)

SEGMENT_SIZE = 64 * 1024 * 1024
# A closed segment is compacted once less than this share of its bytes is still live, and
# still is after a delay: a backlog being drained empties its segments by itself.
COMPACT_BELOW = 0.1
COMPACT_DELAY = 30.0
INDEX_SEGMENT_ENTRIES = 100_000


class EventLoop(Protocol):
    """What the store needs of the event loop its callers run on (an asyncio loop has it):
    running a callback once the work of the current tick is done (the tick's batch goes
    to the writer then), and handing one over from the writer thread."""

    def call_soon(self, callback: Callback, /) -> object: ...
    def call_soon_threadsafe(self, callback: Callback, /) -> object: ...


class DurableStore:
    """Implements ``core.ports.Store[Message]`` on a data directory (see the module docstring).

    ``paging``: how durable queues page out to it (how many messages each keeps in memory,
    how many it reads back at a time); the store is what makes paging possible, so it
    carries the setting to every queue built on it, declared or recovered."""

    def __init__(
        self,
        data_dir: Path,
        *,
        fsync: bool = True,
        segment_size: int = SEGMENT_SIZE,
        compact_delay: float = COMPACT_DELAY,
        paging: Paging | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.paging = paging or Paging()
        self.segment_size = segment_size
        self.compact_delay = compact_delay
        self._fsync = fsync
        self._writer: GroupCommitWriter | None = None
        self._loop: EventLoop | None = None
        self._clock: Clock | None = None  # times compaction
        self._batch = Batch()
        self.batch_number = 1  # of the batch being filled (see ``flush``)
        self._flush_scheduled = False
        self.segment = 1  # the message segment being appended to
        self.segment_offset = 0
        # The current segment's chunk list in the batch being filled (None: look it up,
        # after a flush or a new segment).
        self._message_chunks: list[bytes] | None = None  # see _write_message
        self._with_runs: list[QueueIndex] = []  # indexes with pending runs
        self.live_in_segment: dict[int, int] = {}
        self.live_bytes: dict[int, int] = {}  # per segment, counting every reference
        self.segment_bytes: dict[int, int] = {}  # bytes written to each segment
        self._compacting: set[int] = set()
        self.indexes: dict[StoredQueue, QueueIndex] = {}
        self.replaying = False  # recovery re-declares definitions it read: not written again

    # -- life cycle -----------------------------------------------------------------------------

    @property
    def definitions_path(self) -> Path:
        return self.data_dir / "definitions.log"

    def message_path(self, segment: int) -> Path:
        return self.data_dir / "messages" / segment_name(segment, "seg")

    def start(self, loop: EventLoop, clock: Clock) -> None:
        """Start writing (after recovery): batches are handed over at the end of each of
        ``loop``'s ticks, and compaction waits ``compact_delay`` seconds of ``clock``."""
        self._loop = loop
        self._clock = clock
        self._writer = GroupCommitWriter(loop.call_soon_threadsafe, fsync=self._fsync)

    def close(self) -> None:
        """Write everything pending and stop the writer (blocks: call at shutdown); the
        shutdown was clean if every write succeeded (``clean_shutdown``)."""
        if self._writer is not None:
            self.flush()
            self._writer.close()
            if not self._writer.failures:
                mark_clean(self.data_dir, fsync=self._fsync)
            self._writer = None

    def flush(self) -> None:
        """Hand this tick's records to the writer thread as one batch; records and
        ``when_durable`` callbacks from now on go into the next (``batch_number``)."""
        self._flush_scheduled = False
        if self._writer is None:
            return
        if self._with_runs:
            self._append_runs()
        if self._batch:
            batch, self._batch = self._batch, Batch()
            self.batch_number += 1
            self._message_chunks = None
            self._writer.submit(batch)

    def _dirty(self) -> None:
        if not self._flush_scheduled and self._loop is not None:
            self._flush_scheduled = True
            self._loop.call_soon(self.flush)

    def _append(self, path: Path, payload: bytes) -> None:
        self._batch.append(path, encode_record(payload))
        self._dirty()

    # -- definitions ----------------------------------------------------------------------------

    def _definition(self, op: str, **fields: Any) -> None:
        if not self.replaying:
            self._append(self.definitions_path, encode_definition(op, **fields))

    def vhost_added(self, name: str, description: str = "", tags: tuple[str, ...] = ()) -> None:
        self._definition("vhost", vhost=name, description=description, tags=list(tags))

    def vhost_deleted(self, name: str) -> None:
        self._definition("vhost.delete", vhost=name)

    def access_changed(self, op: str, fields: dict[str, Any]) -> None:
        """A user, permission or topic permission changed (``AccessControl``'s journal)."""
        self._definition(op, **fields)

    def parameters_changed(self, op: str, fields: dict[str, Any]) -> None:
        """A parameter, global parameter or policy changed (``RuntimeParameters``' journal)."""
        self._definition(op, **fields)

    def exchange_declared(self, exchange: StoredExchange) -> None:
        self._definition(
            "exchange",
            vhost=exchange.vhost,
            name=exchange.name,
            type=exchange.type_name,
            auto_delete=exchange.auto_delete,
            internal=exchange.internal,
            arguments=encode_arguments(exchange.arguments),
        )

    def exchange_deleted(self, exchange: StoredExchange) -> None:
        self._definition("exchange.delete", vhost=exchange.vhost, name=exchange.name)

    def queue_declared(self, queue: StoredQueue) -> None:
        index = self.index_for(queue)
        self._definition(
            "queue",
            vhost=queue.vhost,
            name=queue.name,
            auto_delete=queue.auto_delete,
            arguments=encode_arguments(queue.arguments),
            directory=index.directory.name,
        )

    def queue_deleted(self, queue: StoredQueue) -> None:
        self._definition("queue.delete", vhost=queue.vhost, name=queue.name)
        index = self.indexes.pop(queue, None)
        if index is not None:
            index.runs.clear()  # its files go: nothing more to append to them
            self._batch.deletes.extend(
                index.path(n) for n in range(index.oldest_file, index.segment + 1)
            )
            self._dirty()

    def binding_added(self, binding: StoredBinding) -> None:
        self._definition("binding", **self._binding_fields(binding))

    def binding_removed(self, binding: StoredBinding) -> None:
        self._definition("binding.delete", **self._binding_fields(binding))

    @staticmethod
    def _binding_fields(binding: StoredBinding) -> dict[str, Any]:
        destination = binding.destination
        return {
            "vhost": destination.vhost,
            "source": binding.source,
            "destination": destination.name,
            "destination_kind": "exchange" if isinstance(destination, Exchange) else "queue",
            "routing_key": binding.routing_key,
            "arguments": encode_arguments(binding.raw_arguments or {}),
        }

    # -- messages -------------------------------------------------------------------------------

    def index_for(self, queue: StoredQueue, directory_name: str | None = None) -> QueueIndex:
        """The queue's index; a new queue gets a directory of its own (never reused, so the
        writer may delete a dead queue's files after the writes of the same batch)."""
        index = self.indexes.get(queue)
        if index is None:
            name = directory_name or queue_directory_name(queue.vhost, queue.name)
            index = self.indexes[queue] = QueueIndex(self.data_dir / "queues" / name)
        return index

    def enqueued(self, queue: StoredQueue, envelope: StoredEnvelope[Message]) -> None:
        message = envelope.message
        ref = message.store_ref
        if ref is None:
            ref = message.store_ref = self._write_message(message)
        self.hold(ref)
        index = self.indexes.get(queue) or self.index_for(queue)
        if envelope.expires_at is None:
            record = enqueue_record(envelope.seq, ref)
        else:
            expiry = wall_ms(queue.clock, envelope.expires_at)
            record = encode_record(encode_expiring_enqueue(envelope.seq, ref, expiry))
        self._append_index(index, record)
        index.note_enqueue(envelope.seq)

    def _append_index(self, index: QueueIndex, record: bytes) -> None:
        """Append an encoded record to the queue's index (the hot path: the chunk list of
        the index's file in this batch is looked up once per batch)."""
        if index.entries_in_segment >= INDEX_SEGMENT_ENTRIES:
            index.segment += 1
            index.entries_in_segment = 0
        index.entries_in_segment += 1
        if index.chunks_batch != self.batch_number or index.chunks_segment != index.segment:
            index.chunks = self._chunks(index.path(index.segment))
            index.chunks_batch, index.chunks_segment = self.batch_number, index.segment
        index.chunks.append(record)

    def _chunks(self, path: Path) -> list[bytes]:
        """The list of what this batch appends to ``path`` (the batch is now dirty)."""
        self._dirty()
        return self._batch.chunks(path)

    def _write_message(self, message: Message) -> StoreRef:
        head, body = message_record(message)
        size = len(head) + len(body)
        if self.segment_offset and self.segment_offset + size > self.segment_size:
            self._close_segment()
        ref = StoreRef(self.segment, self.segment_offset, size)
        self.segment_offset += size
        self.segment_bytes[self.segment] = self.segment_offset
        chunks = self._message_chunks
        if chunks is None:
            chunks = self._message_chunks = self._chunks(self.message_path(self.segment))
        chunks.append(head)
        chunks.append(body)
        return ref

    def _close_segment(self) -> None:
        finished = self.segment
        self.segment += 1
        self.segment_offset = 0
        self._message_chunks = None
        if self.live_in_segment.get(finished, 0) <= 0:
            self._delete_segment(finished)

    def hold(self, ref: StoreRef) -> None:
        segment = ref.segment
        self.live_in_segment[segment] = self.live_in_segment.get(segment, 0) + 1
        self.live_bytes[segment] = self.live_bytes.get(segment, 0) + ref.size

    def _release(self, ref: StoreRef) -> None:
        segment = ref.segment
        left = self.live_in_segment.get(segment, 0) - 1
        self.live_in_segment[segment] = left
        self.live_bytes[segment] = self.live_bytes.get(segment, 0) - ref.size
        if segment == self.segment:
            return
        if left <= 0:
            self._delete_segment(segment)
        elif (
            segment not in self._compacting
            and self._mostly_dead(segment)
            and self._clock is not None
        ):
            self._compacting.add(segment)
            clock = self._clock
            clock.call_at(clock.now() + self.compact_delay, partial(self._compact, segment))

    def _mostly_dead(self, segment: int) -> bool:
        return self.live_bytes.get(segment, 0) < self.segment_bytes.get(segment, 0) * COMPACT_BELOW

    def _delete_segment(self, segment: int) -> None:
        self.live_in_segment.pop(segment, None)
        self.live_bytes.pop(segment, None)
        self.segment_bytes.pop(segment, None)
        self._batch.deletes.append(self.message_path(segment))
        self._dirty()

    def delivered(self, queue: StoredQueue, envelope: StoredEnvelope[Message]) -> None:
        index = self.indexes.get(queue)
        if index is not None:
            self._note_event(index, DELIVERED, envelope.seq)

    def removed(self, queue: StoredQueue, seqs: list[int], refs: list[StoreRef]) -> None:
        for ref in refs:
            self._release(ref)
        index = self.indexes.get(queue)
        if index is None:  # the queue was deleted; its index went with it
            return
        for seq in seqs:
            self._note_event(index, REMOVED, seq)
        if index.note_removed(seqs):
            dead = index.dead_files()
            if dead:
                self._batch.deletes.extend(dead)

    def _note_event(self, index: QueueIndex, kind: bytes, seq: int) -> None:
        """A DELIVERED or REMOVED event: it extends the index's run of that kind, or ends
        it (the run's record is appended) and starts the next.  The order of these events
        among themselves and after the enqueues does not matter to recovery, so holding
        them back until the flush is safe; the flush appends them to the same batch."""
        run = index.runs.get(kind)
        if run is None:
            if not index.runs:
                self._with_runs.append(index)
                self._dirty()
            index.runs[kind] = [seq, seq]
        elif seq == run[1] + 1:
            run[1] = seq
        else:
            self._append_index(index, seq_run_record(kind, run[0], run[1]))
            run[0] = run[1] = seq

    def _append_runs(self) -> None:
        for index in self._with_runs:
            for kind, (first, last) in index.runs.items():
                self._append_index(index, seq_run_record(kind, first, last))
            index.runs.clear()
        self._with_runs.clear()

    # -- compaction -----------------------------------------------------------------------------

    def _holders(self, segment: int) -> list[tuple[StoredQueue, int, StoreRef, object]]:
        """Every (queue, seq, ref, place) still referring to ``segment`` (unacked deliveries
        are not seen: they keep the segment until acked)."""
        return [
            (queue, seq, ref, place)
            for queue in self.indexes
            for seq, ref, place in queue.ready.stored_in_segment(segment)
        ]

    def _compact(self, segment: int) -> None:
        if segment not in self.live_in_segment or not self._mostly_dead(segment):
            self._compacting.discard(segment)
            return
        holders = self._holders(segment)
        if not holders:
            self._compacting.discard(segment)
            return
        refs = sorted({ref for _, _, ref, _ in holders})
        self.read(refs, partial(self._move_out, segment, refs))

    def _move_out(self, segment: int, refs: list[StoreRef], messages: list[Message] | None) -> None:
        """Copy the still-held messages of ``segment`` forward and point their holders there."""
        self._compacting.discard(segment)
        if messages is None:
            return
        read = dict(zip(refs, messages, strict=True))
        moved: dict[StoreRef, StoreRef] = {}
        for queue, seq, ref, place in self._holders(segment):  # who holds them *now*
            message = read.get(ref)
            index = self.indexes.get(queue)
            if message is None or index is None:
                continue  # became held after the read started (requeued): it stays
            new_ref = moved.get(ref)
            if new_ref is None:
                new_ref = moved[ref] = self._write_message(message)
            queue.ready.move_stored(place, new_ref)
            self._append_index(index, encode_record(encode_enqueue(seq, new_ref, MOVED)))
            self.hold(new_ref)
            self._release(ref)
        log.info("compacted segment %d: %d messages moved", segment, len(moved))

    def when_durable(self, callback: Callable[[], None]) -> None:
        self._batch.callbacks.append(callback)
        self._dirty()

    def read(self, refs: list[StoreRef], callback: Callable[[list[Message] | None], None]) -> None:
        self._batch.reads.append((partial(self.read_now, refs), callback))
        self._dirty()

    def read_now(self, refs: list[StoreRef]) -> list[Message]:
        """Read messages from their segments (called on the writer thread, or at start-up)."""
        messages = []
        by_segment: dict[int, list[tuple[int, int]]] = {}
        for segment, offset, size in refs:
            by_segment.setdefault(segment, []).append((offset, size))
        payloads: dict[tuple[int, int], bytes] = {}
        for segment, spans in by_segment.items():
            for (offset, _), payload in zip(
                spans, read_records_at(self.message_path(segment), spans), strict=True
            ):
                payloads[(segment, offset)] = payload
        for segment, offset, _ in refs:
            messages.append(decode_message(payloads[(segment, offset)]))
        return messages
