"""Start-up: rebuild durable state from the data directory.

Theory of operation: the definitions log is replayed into the core (vhosts first, then
durable exchanges, queues, bindings between durable ends) and into the ``AccessControl``
(users, permissions: ``access_log``), and rewritten compactly.

Each durable queue's index segments are replayed (enqueue, delivered, removed)
to find the messages still in it; those go back into the queue as paged-out entries —
message bodies are not read until delivered — with their expiry, stored as wall-clock time
and turned back into the clock's time base; after an unclean shutdown every one of them counts
as delivered (``clean_shutdown``), and is recorded so.  Message segments no live message
refers to are deleted.  Only then does the broker listen; once the store writes again,
``BrokerState.recovered`` lets each queue drop (or dead-letter) what expired while the
broker was down.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amqpbroker.access.control import AccessControl
from amqpbroker.core.broker import BrokerState
from amqpbroker.core.ports import StoreRef, epoch_at
from amqpbroker.core.queue import Queue
from amqpbroker.core.vhost import VirtualHost
from amqpbroker.policies.parameters import RuntimeParameters

from .access_log import AccessDefinitions
from .clean_shutdown import take_clean_mark
from .codec import (
    DELIVERED,
    ENQUEUE,
    MOVED,
    REMOVED,
    decode_arguments,
    decode_definition,
    decode_index_entry,
    decode_run,
    encode_definition,
    encode_seq_event,
    seq_run_record,
)
from .parameters_log import ParameterDefinitions
from .queue_index import QueueIndex
from .records import encode_record, read_records
from .store import DurableStore

log = logging.getLogger(__name__)

PROGRESS_EVERY = 1_000_000  # index entries between progress lines


@dataclass
class RecoveryReport:
    exchanges: int = 0
    queues: int = 0
    bindings: int = 0
    messages: int = 0
    users: int = 0
    seconds: float = 0.0


def recover(
    store: DurableStore,
    broker: BrokerState,
    access: AccessControl | None = None,
    parameters: RuntimeParameters | None = None,
) -> RecoveryReport:
    """Load ``store.data_dir`` into ``broker``, a ``BrokerState`` built on ``store`` (the
    queues it restores record into their vhost's store), users and permissions into
    ``access``, and parameters and policies into ``parameters`` (neither journalling to the
    store yet).  Blocking file I/O: run it before serving."""
    started = time.monotonic()
    report = RecoveryReport()
    clean = take_clean_mark(store.data_dir)
    definitions = _replay_definitions(store.definitions_path)
    queues = _apply_definitions(definitions, broker, store, report)
    if access is not None:
        definitions.access.apply(access)
    if parameters is not None:
        definitions.parameters.apply(parameters)
    report.users = len(definitions.access.users)
    _rewrite_definitions(store, definitions)
    known_dirs = set()
    sizes = _segment_sizes(store)
    for queue in queues:
        index = store.index_for(queue)
        known_dirs.add(index.directory.name)
        report.messages += _recover_queue(store, queue, index, sizes, clean=clean)
    _remove_unknown_queue_dirs(store.data_dir / "queues", known_dirs)
    _collect_segments(store)
    report.seconds = time.monotonic() - started
    log.info(
        "recovered %d exchanges, %d queues, %d bindings, %d messages in %.3f s",
        report.exchanges,
        report.queues,
        report.bindings,
        report.messages,
        report.seconds,
    )
    if not clean and report.messages:
        log.info(
            "the last shutdown was not clean: the %d recovered messages count as delivered "
            "(redelivered=true)",
            report.messages,
        )
    return report


# -- definitions ----------------------------------------------------------------------------------


@dataclass
class Definitions:
    exchanges: dict[tuple[str, str], dict[str, Any]]
    queues: dict[tuple[str, str], dict[str, Any]]
    bindings: dict[tuple[Any, ...], dict[str, Any]]
    vhosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    access: AccessDefinitions = field(default_factory=AccessDefinitions)
    parameters: ParameterDefinitions = field(default_factory=ParameterDefinitions)


def _binding_key(entry: dict[str, Any]) -> tuple[Any, ...]:
    arguments = entry["arguments"]
    return (
        entry["vhost"],
        entry["source"],
        entry["destination_kind"],
        entry["destination"],
        entry["routing_key"],
        arguments["table"],
    )


def _replay_definitions(path: Path) -> Definitions:
    definitions = Definitions({}, {}, {})
    if not path.exists():
        return definitions
    for _, payload in read_records(path):
        entry = decode_definition(payload)
        op = entry.pop("op")
        key = (entry.get("vhost", "/"), entry.get("name", ""))
        if definitions.access.replay(op, entry) or definitions.parameters.replay(op, entry):
            continue
        if op == "vhost":
            definitions.vhosts[key[0]] = entry
        elif op == "vhost.delete":
            _drop_vhost(definitions, key[0])
        elif op == "exchange":
            definitions.exchanges[key] = entry
        elif op == "exchange.delete":
            definitions.exchanges.pop(key, None)
            _drop_bindings(definitions, key[0], "exchange", key[1])
        elif op == "queue":
            definitions.queues[key] = entry
        elif op == "queue.delete":
            definitions.queues.pop(key, None)
            _drop_bindings(definitions, key[0], "queue", key[1])
        elif op == "binding":
            definitions.bindings[_binding_key(entry)] = entry
        elif op == "binding.delete":
            definitions.bindings.pop(_binding_key(entry), None)
    return definitions


def _drop_vhost(definitions: Definitions, vhost: str) -> None:
    """Everything in a deleted vhost goes with it (its deletions were also recorded one by
    one; this holds even if they were not)."""
    definitions.vhosts.pop(vhost, None)
    definitions.access.drop_vhost(vhost)
    definitions.parameters.drop_vhost(vhost)
    for table in (definitions.exchanges, definitions.queues, definitions.bindings):
        for key in [k for k, entry in table.items() if entry["vhost"] == vhost]:
            del table[key]


def _drop_bindings(definitions: Definitions, vhost: str, kind: str, name: str) -> None:
    for key, entry in list(definitions.bindings.items()):
        if entry["vhost"] != vhost:
            continue
        if (kind == "exchange" and entry["source"] == name) or (
            entry["destination_kind"] == kind and entry["destination"] == name
        ):
            del definitions.bindings[key]


def _apply_definitions(
    definitions: Definitions, broker: BrokerState, store: DurableStore, report: RecoveryReport
) -> list[Queue]:
    store.replaying = True  # the core's declarations must not be written again
    try:
        for vhost_name, entry in definitions.vhosts.items():
            restored = broker.add_vhost(vhost_name)
            restored.description = entry.get("description", "")
            restored.tags = tuple(entry.get("tags", ()))
        for (vhost_name, name), entry in definitions.exchanges.items():
            vhost = broker.add_vhost(vhost_name)
            if name in vhost.exchanges:
                continue
            vhost.declare_exchange(
                name,
                entry["type"],
                passive=False,
                durable=True,
                auto_delete=entry["auto_delete"],
                internal=entry["internal"],
                arguments=decode_arguments(entry["arguments"]),
            )
            report.exchanges += 1
        queues = []
        for (vhost_name, name), entry in definitions.queues.items():
            queue = broker.add_vhost(vhost_name).restore_queue(
                name,
                auto_delete=entry["auto_delete"],
                arguments=decode_arguments(entry["arguments"]),
            )
            queues.append(queue)
            store.index_for(queue, entry.get("directory"))
            report.queues += 1
        for entry in definitions.bindings.values():
            if _restore_binding(broker.add_vhost(entry["vhost"]), entry):
                report.bindings += 1
        return queues
    finally:
        store.replaying = False


def _restore_binding(vhost: VirtualHost, entry: dict[str, Any]) -> bool:
    source = vhost.exchanges.get(entry["source"])
    names = vhost.queues if entry["destination_kind"] == "queue" else vhost.exchanges
    destination = names.get(entry["destination"])
    if source is None or destination is None:
        return False
    vhost.bind(
        entry["source"], destination, entry["routing_key"], decode_arguments(entry["arguments"])
    )
    return True


def _rewrite_definitions(store: DurableStore, definitions: Definitions) -> None:
    """Replace the log by one declaration per surviving definition (atomically)."""
    path = store.definitions_path
    records = [encode_record(encode_definition("vhost", **e)) for e in definitions.vhosts.values()]
    records += definitions.access.records()
    records += definitions.parameters.records()
    records += [
        encode_record(encode_definition("exchange", **e)) for e in definitions.exchanges.values()
    ]
    records += [encode_record(encode_definition("queue", **e)) for e in definitions.queues.values()]
    records += [
        encode_record(encode_definition("binding", **e)) for e in definitions.bindings.values()
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_suffix(".new")
    with fresh.open("wb") as handle:
        handle.write(b"".join(records))
        handle.flush()
        os.fsync(handle.fileno())
    fresh.replace(path)


# -- queue indexes --------------------------------------------------------------------------------


def _segment_sizes(store: DurableStore) -> dict[int, int]:
    directory = store.data_dir / "messages"
    if not directory.exists():
        return {}
    return {int(path.stem): path.stat().st_size for path in directory.glob("*.seg")}


@dataclass(slots=True)
class LiveEntry:
    """A message the index replay found still in the queue (so far)."""

    ref: StoreRef  # where its record is (the latest MOVED entry's, after compaction)
    delivered: bool  # it went out unacknowledged: it comes back redelivered
    index_segment: int  # the index segment that enqueued it
    expiry: int | None  # wall-clock ms since the epoch, if it expires


def _recover_queue(
    store: DurableStore, queue: Queue, index: QueueIndex, sizes: dict[int, int], *, clean: bool
) -> int:
    """Restore the queue's messages; after an unclean shutdown every one of them counts
    as delivered (see ``clean_shutdown``), and that is recorded before anything is served."""
    files = sorted(index.directory.glob("*.idx")) if index.directory.exists() else []
    live, first_enqueued = _replay_index(queue, index, files)
    per_segment: dict[int, list[int]] = {}
    lost = []
    now_delivered = []  # not recorded as delivered, and the shutdown was unclean
    epoch = epoch_at(queue.clock)  # stored expiries are wall-clock ms since the epoch
    for seq in sorted(live):
        entry = live[seq]
        segment, offset, size = entry.ref
        if offset + size > sizes.get(segment, 0):
            lost.append(seq)  # its index entry reached the disk, the message never did
            continue
        if not (clean or entry.delivered):
            entry.delivered = True
            now_delivered.append(seq)
        expires_at = None if entry.expiry is None else epoch + entry.expiry / 1000
        queue.restore(seq, entry.ref, entry.delivered, expires_at)
        store.hold(entry.ref)
        per_segment.setdefault(entry.index_segment, []).append(seq)
    _restore_index_segments(index, files, per_segment, first_enqueued)
    if lost:
        log.warning(
            "%s: %d messages whose write was cut short by a crash are gone "
            "(none of them had been confirmed)",
            queue,
            len(lost),
        )
    _append_events(index, lost, now_delivered)
    return len(live) - len(lost)


def _replay_index(
    queue: Queue, index: QueueIndex, files: list[Path]
) -> tuple[dict[int, LiveEntry], dict[int, int]]:
    """Replay the index ``files`` in order: the messages still in the queue by seq, and
    the first seq each index segment enqueued.  Leaves ``index`` at the last segment."""
    live: dict[int, LiveEntry] = {}
    first_enqueued: dict[int, int] = {}  # index segment -> first seq it enqueued
    if files:
        index.oldest_file = int(files[0].stem)
    entries_seen = 0
    for path in files:
        number = int(path.stem)
        count = 0
        for _, payload in read_records(path):
            count += 1
            run = decode_run(payload)
            if run is not None:
                _replay_run(live, *run)
                continue
            kind, seq, ref, expiry = decode_index_entry(payload)
            if kind == ENQUEUE and ref is not None:
                live[seq] = LiveEntry(ref, False, number, expiry)
                first_enqueued.setdefault(number, seq)
            elif kind == DELIVERED and seq in live:
                live[seq].delivered = True
            elif kind == MOVED and seq in live and ref is not None:
                live[seq].ref = ref
            elif kind == REMOVED:
                live.pop(seq, None)
        entries_seen += count
        index.segment, index.entries_in_segment = number, count
        if entries_seen >= PROGRESS_EVERY:
            log.info("recovering %s: %d index entries read", queue, entries_seen)
            entries_seen = 0
    return live, first_enqueued


def _replay_run(live: dict[int, LiveEntry], kind: bytes, seqs: range) -> None:
    """A DELIVERED or REMOVED run: the event for each of its seqs."""
    if kind == REMOVED:
        for seq in seqs:
            live.pop(seq, None)
        return
    for seq in seqs:
        entry = live.get(seq)
        if entry is not None:
            entry.delivered = True


def _append_events(index: QueueIndex, removed: list[int], delivered: list[int]) -> None:
    """Record that ``removed`` are gone, so the next start does not find them again, and
    that ``delivered`` (ascending) count as delivered from now on, even if this broker
    stops cleanly before it delivers them."""
    records = [encode_record(encode_seq_event(REMOVED, seq)) for seq in removed]
    records += [seq_run_record(DELIVERED, first, last) for first, last in _runs(delivered)]
    if not records:
        return
    path = index.path(index.segment)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as handle:
        handle.write(b"".join(records))
        handle.flush()
        os.fsync(handle.fileno())
    index.entries_in_segment += len(records)


def _runs(seqs: list[int]) -> list[tuple[int, int]]:
    """Ascending ``seqs`` as runs of consecutive numbers: (first, last) each."""
    runs: list[tuple[int, int]] = []
    for seq in seqs:
        if runs and runs[-1][1] == seq - 1:
            runs[-1] = (runs[-1][0], seq)
        else:
            runs.append((seq, seq))
    return runs


def _restore_index_segments(
    index: QueueIndex,
    files: list[Path],
    per_segment: dict[int, list[int]],
    first_enqueued: dict[int, int],
) -> None:
    """Rebuild which index segments are still needed; delete leading ones that are not.

    Only segments that enqueued something are tracked (removals are counted against them);
    others are kept while anything older lives, and collected at a later start.
    """
    for path in files:
        number = int(path.stem)
        live = len(per_segment.get(number, ()))
        if not live and not index.segments and number != index.segment:
            path.unlink(missing_ok=True)  # nothing live in it, nothing older left
            index.oldest_file = number + 1
            continue
        if number in first_enqueued:
            index.segments.append(number)
            index.first_seqs.append(first_enqueued[number])
            index.live.append(live)


def _remove_unknown_queue_dirs(queues_dir: Path, known: set[str]) -> None:
    if not queues_dir.exists():
        return
    for directory in queues_dir.iterdir():
        if directory.name not in known:
            shutil.rmtree(directory, ignore_errors=True)


def _collect_segments(store: DurableStore) -> None:
    """Delete unreferenced message segments; new messages go to a fresh segment."""
    messages_dir = store.data_dir / "messages"
    numbers = (
        sorted(int(p.stem) for p in messages_dir.glob("*.seg")) if messages_dir.exists() else []
    )
    for number in numbers:
        path = store.message_path(number)
        if store.live_in_segment.get(number, 0) <= 0:
            path.unlink(missing_ok=True)
        else:
            store.segment_bytes[number] = path.stat().st_size
    store.segment = (numbers[-1] + 1) if numbers else 1
    store.segment_offset = 0
