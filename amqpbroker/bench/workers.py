"""The load generator's worker processes: one connection each, publishing or consuming.

Theory of operation: the parent starts ``worker_main`` in a new process (forkserver) with a
spec, the shared ``Board`` and its row there.  The worker connects, prepares (confirm.select,
basic.qos), marks itself READY and waits for the parent to write its START and STOP times.
At START a publisher sends until STOP (or until its count); a consumer subscribes and counts
what arrives.  Each then waits for FINISH, keeping the connection open (confirms and
deliveries still arrive), sends its result dict through its pipe, and closes.  Every 100 ms
the worker copies its counters to the board for the parent's progress line.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass
from multiprocessing.connection import Connection
from time import monotonic_ns, process_time_ns
from typing import Any

import uvloop
from pamqp import commands

from . import board as cells
from .board import Board
from .client import Client
from .messages import STAMP, PublishTemplate
from .stats import LatencyHistogram, SequenceCheck, Window

# Each wake-up of a worker costs CPU, and e has 100 workers: poll the board every 50 ms and
# report counters every 100 ms (the window's marks are taken on the data path anyway).
_POLL = 0.05
_REPORT = 0.1
_SEND_BUFFER = 128 * 1024  # the kernel doubles it
_MIN_SLEEP = 0.001  # the loop's timer resolution: shorter sleeps would spin


@dataclass(frozen=True)
class PublisherSpec:
    url: str
    publisher_id: int
    exchange: str
    routing_key: str
    body_size: int
    persistent: bool = False
    confirm_window: int = 0  # most unconfirmed publishes; 0: no confirms
    rate: float = 0  # messages per second; 0: as fast as the broker takes them
    count: int = 0  # stop after this many; 0: at the STOP time


@dataclass(frozen=True)
class ConsumerSpec:
    url: str
    consumer_id: int
    queue: str
    publishers: int  # publisher ids are 0 .. publishers - 1
    feeds: tuple[int, ...] = (0,)  # the publishers whose messages reach this queue
    no_ack: bool = True
    prefetch: int = 0
    expect: int = 0  # close the window when this many have arrived; 0: at the STOP time


WorkerSpec = PublisherSpec | ConsumerSpec


def worker_main(spec: WorkerSpec, board: Board, slot: int, pipe: Connection) -> None:
    """Process entry point: run the worker, send its result (or its error) to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers end
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            result = runner.run(_work(spec, board, slot))
    except Exception as error:  # reported, and raised again by the parent
        board.put(slot, cells.STATE, cells.FAILED)
        pipe.send({"error": f"{type(error).__name__}: {error}"})
    else:
        pipe.send(result)
    finally:
        pipe.close()


async def _work(spec: WorkerSpec, board: Board, slot: int) -> dict[str, Any]:
    role: Publishing | Consuming
    if isinstance(spec, PublisherSpec):
        name = f"bench publisher {spec.publisher_id}"
        client = await Client.connect(spec.url, name, send_buffer=_SEND_BUFFER)
        role = Publishing(spec, client)
    else:
        client = await Client.connect(spec.url, f"bench consumer {spec.consumer_id}")
        role = Consuming(spec, client)
    client.listener = role
    await role.prepare()
    board.put(slot, cells.STATE, cells.READY)
    reporter = asyncio.get_running_loop().create_task(_report(board, slot, role))
    try:
        await _wait_for(board, slot, cells.START, client)
        role.window.start, role.window.stop = (
            board.get(slot, cells.START),
            board.get(slot, cells.STOP),
        )
        await asyncio.sleep(max(0, role.window.start - monotonic_ns()) / 1e9)
        role.window.observe(max(monotonic_ns(), role.window.start), role.window_count())
        board.put(slot, cells.STATE, cells.RUNNING)
        await role.run()
        _publish_counters(board, slot, role)  # final, before DONE: the parent counts on them
        board.put(slot, cells.STATE, cells.DONE)
        await _wait_for(board, slot, cells.FINISH, client)
    finally:
        reporter.cancel()
    result = role.result()
    await client.close()
    return result


async def _wait_for(board: Board, slot: int, cell: int, client: Client) -> None:
    while not board.get(slot, cell):
        if client.error is not None:
            raise client.error
        await asyncio.sleep(_POLL)


async def _report(board: Board, slot: int, role: Publishing | Consuming) -> None:
    while True:
        stop = board.get(slot, cells.STOP)
        if stop and (not role.window.stop or stop < role.window.stop):
            role.window.stop = stop  # the parent stopped us early
        role.window.observe(monotonic_ns(), role.window_count())
        _publish_counters(board, slot, role)
        await asyncio.sleep(_REPORT)


def _publish_counters(board: Board, slot: int, role: Publishing | Consuming) -> None:
    board.put(slot, cells.SENT, role.sent)
    board.put(slot, cells.SETTLED, role.settled)
    board.put(slot, cells.RECEIVED, role.received)
    board.put(slot, cells.CPU, process_time_ns())


class Publishing:
    """Publishes pre-encoded messages: as fast as the broker reads them, at a fixed rate, or
    with at most ``confirm_window`` unconfirmed."""

    def __init__(self, spec: PublisherSpec, client: Client) -> None:
        self.spec = spec
        self.client = client
        self.template = PublishTemplate(
            spec.publisher_id, spec.exchange, spec.routing_key, spec.body_size, spec.persistent
        )
        self.window = Window()
        self.sent = self.settled = self.nacked = self.received = 0
        self._confirmed_upto = 0  # every tag up to this one is settled
        self._settled_early: set[int] = set()  # single confirms above it
        self._room = asyncio.Event()

    async def prepare(self) -> None:
        if self.spec.confirm_window:
            await self.client.call(commands.Confirm.Select(), commands.Confirm.SelectOk)

    def window_count(self) -> int:
        return self.settled if self.spec.confirm_window else self.sent

    async def run(self) -> None:
        batch = self.template.batch_size()
        while True:
            now = monotonic_ns()
            stop = self.window.stop
            if stop and now >= stop:
                break
            allowed = self._allowed(now, batch)
            if allowed < 0:
                break
            if allowed == 0:
                await self._pause(now)
                continue
            self.client.write(self.template.batch(self.sent, allowed, now))
            self.sent += allowed
            await self.client.flow(self.window.stop)
        self.window.close(monotonic_ns(), self.window_count())

    def _allowed(self, now: int, batch: int) -> int:
        """How many to send now; -1 when the count is reached."""
        spec = self.spec
        allowed = batch
        if spec.count:
            if self.sent >= spec.count:
                return -1
            allowed = min(allowed, spec.count - self.sent)
        if spec.confirm_window:
            allowed = min(allowed, spec.confirm_window - (self.sent - self.settled))
        if spec.rate:
            due = int((now - self.window.start) * spec.rate / 1e9) + 1 - self.sent
            allowed = min(allowed, due)
        return max(allowed, 0)

    async def _pause(self, now: int) -> None:
        """Until the next message is due, the confirm window has room, or STOP."""
        spec, stop = self.spec, self.window.stop
        wake = stop or 0
        if spec.rate:
            due = self.window.start + int(self.sent * 1e9 / spec.rate)
            wake = min(wake, due) if wake else due
        timeout = max(0, wake - now) / 1e9 if wake else None
        if spec.confirm_window and self.sent - self.settled >= spec.confirm_window:
            self._room.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._room.wait(), timeout)
        else:
            await asyncio.sleep(max(timeout or 0, _MIN_SLEEP))

    def result(self) -> dict[str, Any]:
        return {
            "role": "publisher",
            "id": self.spec.publisher_id,
            "sent": self.sent,
            "settled": self.settled,
            "nacked": self.nacked,
            "window": self.window.marks,
            "cpu_percent": self.window.cpu_percent(),
        }

    # -- Listener -------------------------------------------------------------------------------

    def data_started(self, now: int) -> None:
        self.window.observe(now, self.window_count())

    def delivered(self, delivery_tag: int, buffer: bytearray, offset: int, now: int) -> None:
        pass

    def confirmed(self, delivery_tag: int, multiple: bool, ack: bool) -> None:
        newly = self._settle(delivery_tag, multiple)
        self.settled += newly
        if not ack:
            self.nacked += newly
        self._room.set()

    def _settle(self, tag: int, multiple: bool) -> int:
        """How many publishes this confirm settles that were not settled before."""
        upto = self._confirmed_upto
        if tag <= upto or tag in self._settled_early:
            return 0
        if multiple:
            early = {t for t in self._settled_early if t <= tag}
            self._settled_early -= early
            self._confirmed_upto = tag
            return tag - upto - len(early)
        if tag == upto + 1:
            upto = tag
            while upto + 1 in self._settled_early:
                upto += 1
                self._settled_early.discard(upto)
            self._confirmed_upto = upto
        else:
            self._settled_early.add(tag)
        return 1

    def data_ended(self) -> None:
        pass


class Consuming:
    """Subscribes at START and checks every delivery's stamp: latency, order, duplicates."""

    def __init__(self, spec: ConsumerSpec, client: Client) -> None:
        self.spec = spec
        self.client = client
        self.window = Window()
        self.latency = LatencyHistogram()
        self.check = SequenceCheck(spec.publishers)
        self.sent = self.settled = self.received = 0
        self.first_ns = self.last_ns = 0
        self._now = 0
        self._received_before = 0  # at the start of the chunk
        self._run_latency = self._run_length = 0  # equal latencies not yet recorded
        self._acks: list[int] = []

    async def prepare(self) -> None:
        if self.spec.prefetch:
            qos = commands.Basic.Qos(prefetch_count=self.spec.prefetch)
            await self.client.call(qos, commands.Basic.QosOk)

    def window_count(self) -> int:
        return self.received

    async def run(self) -> None:
        consume = commands.Basic.Consume(queue=self.spec.queue, no_ack=self.spec.no_ack)
        await self.client.call(consume, commands.Basic.ConsumeOk)

    def result(self) -> dict[str, Any]:
        if self.spec.expect:
            self.window.close(self.last_ns or monotonic_ns(), self.received)
        return {
            "role": "consumer",
            "id": self.spec.consumer_id,
            "received": self.received,
            "latency": self.latency.to_dict(),
            "check": self.check.to_dict(),
            "window": self.window.marks,
            "cpu_percent": self.window.cpu_percent(),
            "first_ns": self.first_ns,
            "last_ns": self.last_ns,
        }

    # -- Listener -------------------------------------------------------------------------------

    def data_started(self, now: int) -> None:
        self._now = now
        self._received_before = self.received
        self.window.observe(now, self.received)

    def delivered(self, delivery_tag: int, buffer: bytearray, offset: int, now: int) -> None:
        publisher, sequence, sent_at = STAMP.unpack_from(buffer, offset)
        self.received += 1
        # A chunk's messages share ``now`` and a publisher's batch shares ``sent_at``: record
        # runs of equal latencies at once.
        latency = now - sent_at
        if latency == self._run_latency:
            self._run_length += 1
        else:
            self._record_run()
            self._run_latency, self._run_length = latency, 1
        expected = self.check.next
        if expected[publisher] == sequence:
            expected[publisher] = sequence + 1
        else:
            self.check.irregular(publisher, sequence)
        if not self.spec.no_ack:
            self._acks.append(delivery_tag)

    def confirmed(self, delivery_tag: int, multiple: bool, ack: bool) -> None:
        pass

    def _record_run(self) -> None:
        if self._run_length:
            self.latency.record(self._run_latency, self._run_length)
            self._run_length = 0

    def data_ended(self) -> None:
        self._record_run()
        if self._acks:
            self.client.ack(self._acks)
            self._acks.clear()
        if self.received > self._received_before:
            self.last_ns = self._now
            self.first_ns = self.first_ns or self._now
            expect = self.spec.expect
            if expect and self.received >= expect and "stop_ns" not in self.window.marks:
                self.window.close(self._now, self.received)
