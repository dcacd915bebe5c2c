"""Runs fuzz cases against ``ConnectionSession`` in-process, as a transport would drive it.

One case: a seeded client session (``sessions``), mutated (``mutators``), cut into reads and
fed to a fresh broker state and session with a ``ManualClock`` that moves now and then
between reads; the output is collected after each read and checked as it comes
(``checks.OutputMonitor``).  Then the probe: a session that is neither closed nor closing
must still answer (the rest of a handshake and a channel.open on a free channel get their
replies, then connection.close its close-ok); a half-read frame is first completed with
zeros, which must end the connection.  Last, the connection is dropped and must leave
nothing behind.  An exception out of the session, or an error logged with a traceback, is a
finding too.  A case is named ``"<seed>:<index>"``: that string seeds everything in it, so
``replay`` repeats it exactly.
"""

from __future__ import annotations

import logging
import random
import re
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial

from pamqp import commands

from amqpbroker.protocol.framing import PROTOCOL_HEADER
from amqpbroker.session.connection import ConnectionSession
from amqpbroker.testing.harness import SessionBroker

from .checks import (
    CHANNEL_OPEN_OK,
    CONNECTION_CLOSE_OK,
    LogCapture,
    OutputMonitor,
    leaks,
)
from .mutators import chunks, mutate
from .sessions import client_session, start_ok_payload
from .wire import Frame, frame_bytes, method_frame

PEER = "127.0.0.1:40000"  # loopback: guest may log in
TICK_OUTPUT_LIMIT = 4 << 20  # octets one read may make the broker queue for the socket
AMPLIFICATION = 64  # output octets per input octet, beyond a fixed allowance
AMPLIFICATION_ALLOWANCE = 1 << 20
CLOCK_STEPS = (0.001, 0.5, 5.0, 61.0, 3600.0)

# What completes a handshake a case left unfinished, by the state it left it in.
_START_OK: Frame = (1, 0, start_ok_payload([]))
_TUNE_OK = method_frame(
    0, commands.Connection.TuneOk, channel_max=2047, frame_max=131072, heartbeat=0
)
_OPEN = method_frame(0, commands.Connection.Open, virtual_host="/")
_HANDSHAKE_REST: dict[str, tuple[Frame, ...]] = {
    "awaiting connection.start-ok": (_START_OK, _TUNE_OK, _OPEN),
    "awaiting connection.tune-ok": (_TUNE_OK, _OPEN),
    "awaiting connection.open": (_OPEN,),
}
_CONNECTION_CLOSE = frame_bytes(
    *method_frame(
        0, commands.Connection.Close, reply_code=200, reply_text="", class_id=0, method_id=0
    )
)


@dataclass(slots=True)
class Finding:
    """A broken rule: the case that breaks it (replay with its name), what, and how."""

    case: str
    kind: str
    detail: str
    mutations: list[str]

    @property
    def signature(self) -> str:
        """The finding without its numbers: cases that break the same rule the same way."""
        return f"{self.kind}: {re.sub(r'[0-9]+', 'N', self.detail.splitlines()[0])[:160]}"


class _Failed(Exception):
    """The case stops at its first exception out of the session (already recorded)."""


class CaseRun:
    """One case: build it from its name, run it, list what broke."""

    def __init__(self, case: str) -> None:
        self.case = case
        self.rng = random.Random(case)
        client = client_session(self.rng)
        self.data, self.mutations = mutate(self.rng, client)
        self.reads = chunks(self.rng, self.data)
        # a resource alarm raised before one read and cleared before another (or the probe)
        self.alarm_reads = sorted(self.rng.sample(range(len(self.reads) + 1), 2))
        if self.rng.random() < 0.9:
            self.alarm_reads = []
        self.broker = SessionBroker()
        self.session = ConnectionSession(
            self.broker.state,
            self.broker.users,
            peer=PEER,
            alarm=self.broker.alarm,
            write_now=self._write_now,
        )
        self.monitor = OutputMonitor()
        self.problems: list[tuple[str, str]] = []
        self.bystander = Bystander(self) if self.rng.random() < 0.25 else None

    def run(self) -> list[Finding]:
        try:
            self._feed()
            self._probe()
            self._drop()
        except _Failed:
            pass
        return [Finding(self.case, kind, detail, self.mutations) for kind, detail in self.problems]

    # -- driving the session ----------------------------------------------------------------

    def _call(self, what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception as error:
            where = _innermost_broker_frame(error)
            summary = f"{type(error).__name__} in {what} at {where}: {error}"[:300]
            details = "".join(traceback.format_exception(error))
            self.problems.append(("exception", f"{summary}\n{details}"))
            raise _Failed from error

    def _write_now(self) -> None:  # the transport's early write in the middle of a tick
        self._collect_output(self.session.take_output())

    def _send(self, data: bytes) -> None:
        self._call("receive_data", lambda: self.session.receive_data(data))
        self._flush()

    def _flush(self) -> None:
        """What the transport does at the end of a loop tick."""
        self._call("resume_deferred_input", self.session.resume_deferred_input)
        output: list[bytes] = []
        self._call("data_to_send", lambda: output.append(self.session.data_to_send()))
        self._collect_output(output[0])
        if self.bystander is not None:
            self.bystander.flush()

    def _collect_output(self, data: bytes) -> None:
        if len(data) > TICK_OUTPUT_LIMIT:
            self.problems.append(("growth", f"{len(data)} octets of output in one tick"))
        self.monitor.frame_max = self.session.frame_max
        self.monitor.feed(data)

    def _feed(self) -> None:
        rng = self.rng
        for index, data in enumerate(self.reads):
            self._alarm(index)
            self._send(data)
            if rng.random() < 0.15:
                self._call(
                    "clock.advance", partial(self.broker.clock.advance, rng.choice(CLOCK_STEPS))
                )
                self._flush()
            self._check_input_buffer()
        self._alarm(len(self.reads))
        allowed = AMPLIFICATION * len(self.data) + AMPLIFICATION_ALLOWANCE
        if self.monitor.total > allowed:
            self.problems.append(
                ("growth", f"{self.monitor.total} octets out for {len(self.data)} in")
            )

    def _alarm(self, index: int) -> None:
        if not self.alarm_reads:
            return
        if index == self.alarm_reads[0]:
            self.broker.block_publishers()
        if index == self.alarm_reads[1] or index == len(self.reads):
            self.broker.alarm.reason = None
            self._call("alarm_cleared", self.session.alarm_cleared)
            self._flush()

    def _check_input_buffer(self) -> None:
        """An open session that reads holds at most one incomplete frame."""
        session = self.session
        if session.state.value != "open" or session.input_paused:
            return
        held = _pending_input(session)
        if held > session.frame_max + 8:
            self.problems.append(("growth", f"{held} octets of input held (no frame ends)"))

    # -- after the case -----------------------------------------------------------------------

    def _probe(self) -> None:
        """The session is closed, closing, paused, or it still answers."""
        session = self.session
        if session.closed or session.closing or session.input_paused:
            return
        state = session.state.value
        if state == "awaiting protocol header" or _pending_input(session):
            # complete whatever is half-read: zeros make a bad frame end (or a bad header)
            self._send(b"\x00" * (session.frame_max + 8))
            if not (session.closed or session.closing):
                self.problems.append(("liveness", f"a bad frame end left the session {state}"))
            return
        rest = _HANDSHAKE_REST.get(state, ())
        self._send(b"".join(frame_bytes(*frame) for frame in rest))
        if session.closed or session.closing or session.input_paused:
            return
        free = next((n for n in range(1, session.channel_max + 1) if n not in session.channels), 0)
        if free and len(session.channels) < session.channel_max:
            seen = len(self.monitor.frames)
            self._send(frame_bytes(*method_frame(free, commands.Channel.Open)))
            if not self.monitor.answered(free, CHANNEL_OPEN_OK, seen) and not (
                session.closed or session.closing or session.input_paused
            ):
                self.problems.append(("liveness", f"channel.open unanswered while {state}"))
                return
        if session.closed or session.closing or session.input_paused:
            return
        seen = len(self.monitor.frames)
        self._send(_CONNECTION_CLOSE)
        if not self.monitor.answered(0, CONNECTION_CLOSE_OK, seen) or not session.closed:
            self.problems.append(("liveness", "connection.close unanswered"))

    def _drop(self) -> None:
        self._call("connection_lost", self.session.connection_lost)
        others = Bystander.CONSUMERS if self.bystander else frozenset()
        for leak in leaks(self.broker.state, self.session, others):
            self.problems.append(("leak", leak))
        self.problems.extend(("output", problem) for problem in self.monitor.problems)
        if self.bystander is not None:
            self.bystander.check()


class Bystander:
    """A well-behaved second connection on the same broker: it consumes from q0 and from an
    exclusive queue of its own bound to amq.fanout.  Whatever the fuzzed connection did, it
    still answers afterwards, its queue is still there, and it too leaves nothing behind."""

    QUEUE = "bystander"
    CONSUMERS = frozenset({"bystander-q0", "bystander-own"})

    def __init__(self, run: CaseRun) -> None:
        self.run = run
        broker = run.broker
        self.session = ConnectionSession(broker.state, broker.users, peer=PEER, alarm=broker.alarm)
        self.monitor = OutputMonitor()
        capabilities = [(b"consumer_cancel_notify", b"t", True)]
        start_ok = (1, 1, start_ok_payload([(b"capabilities", b"F", capabilities)]))
        frames = [
            (start_ok[0], 0, start_ok[2]),
            _TUNE_OK,
            _OPEN,
            method_frame(1, commands.Channel.Open),
            method_frame(1, commands.Queue.Declare, queue="q0"),
            method_frame(1, commands.Queue.Declare, queue=self.QUEUE, exclusive=True),
            method_frame(1, commands.Queue.Bind, queue=self.QUEUE, exchange="amq.fanout"),
            method_frame(1, commands.Basic.Consume, queue="q0", consumer_tag="bystander-q0"),
            method_frame(1, commands.Basic.Consume, queue=self.QUEUE, consumer_tag="bystander-own"),
        ]
        self.send(PROTOCOL_HEADER + b"".join(frame_bytes(*frame) for frame in frames))

    def send(self, data: bytes) -> None:
        self.run._call("bystander receive_data", lambda: self.session.receive_data(data))
        self.flush()

    def flush(self) -> None:
        output: list[bytes] = []
        self.run._call("bystander data_to_send", lambda: output.append(self.session.data_to_send()))
        self.monitor.feed(output[0])

    def check(self) -> None:
        """It answers a channel.open and a passive declare of its queue, then closes."""
        problems = self.run.problems
        seen = len(self.monitor.frames)
        self.send(
            frame_bytes(*method_frame(2, commands.Channel.Open))
            + frame_bytes(*method_frame(2, commands.Queue.Declare, queue=self.QUEUE, passive=True))
            + _CONNECTION_CLOSE
        )
        answers = [(f.channel, f.ids) for f in self.monitor.frames[seen:] if f.frame_type == 1]
        expected = [(2, CHANNEL_OPEN_OK), (2, (50, 11)), (0, CONNECTION_CLOSE_OK)]
        if [a for a in answers if a in expected] != expected:
            problems.append(("bystander", f"the other connection answered {answers}"))
        self.run._call("bystander connection_lost", self.session.connection_lost)
        problems.extend(("leak", leak) for leak in leaks(self.run.broker.state, self.session))
        problems.extend(("bystander", problem) for problem in self.monitor.problems)


def _pending_input(session: ConnectionSession) -> int:
    """Octets read but not yet handled (the session's frame reader is private: a test's
    peek, not an interface)."""
    reader = getattr(session, "_reader", None)
    return len(getattr(reader, "_buffer", b""))


def _innermost_broker_frame(error: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "amqpbroker" in f.filename]
    if not frames:
        return "?"
    last = frames[-1]
    return f"{last.filename.rsplit('amqpbroker/', 1)[-1]}:{last.lineno} ({last.name})"


@dataclass(slots=True)
class Report:
    """A run's count, rate and findings (first case per signature, and how many)."""

    cases: int = 0
    seconds: float = 0.0
    findings: dict[str, list[Finding]] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.cases / self.seconds if self.seconds else 0.0

    def add(self, finding: Finding) -> bool:
        """Record ``finding``; True when its signature is new."""
        same = self.findings.setdefault(finding.signature, [])
        same.append(finding) if len(same) < 20 else None
        return len(same) == 1


def run_case(case: str) -> list[Finding]:
    """Run one case with the broker's log captured; its findings."""
    capture = LogCapture()
    logger = logging.getLogger("amqpbroker")
    logger.addHandler(capture)
    try:
        findings = CaseRun(case).run()
    finally:
        logger.removeHandler(capture)
    findings += [Finding(case, "log", line, []) for line in capture.take()]
    return findings


def case_names(seed: int, start: int = 0) -> Iterator[str]:
    index = start
    while True:
        yield f"{seed}:{index}"
        index += 1


def fuzz(
    seed: int,
    cases: int | None = None,
    seconds: float | None = None,
    on_finding: Callable[[Finding, bool], None] = lambda finding, new: None,
    on_progress: Callable[[Report], None] = lambda report: None,
    progress_every: float = 10.0,
) -> Report:
    """Run cases ``seed:0``, ``seed:1``... until ``cases`` ran or ``seconds`` passed."""
    report = Report()
    capture = LogCapture()
    logger = logging.getLogger("amqpbroker")
    level = logger.level
    logger.addHandler(capture)
    logger.setLevel(logging.WARNING)  # info lines cost time and say nothing here
    start = time.perf_counter()
    next_progress = start + progress_every
    try:
        for case in case_names(seed):
            if cases is not None and report.cases >= cases:
                break
            now = time.perf_counter()
            if seconds is not None and now - start >= seconds:
                break
            findings = CaseRun(case).run()
            findings += [Finding(case, "log", line, []) for line in capture.take()]
            report.cases += 1
            for finding in findings:
                on_finding(finding, report.add(finding))
            if now >= next_progress:
                report.seconds = now - start
                on_progress(report)
                next_progress = now + progress_every
    finally:
        logger.removeHandler(capture)
        logger.setLevel(level)
    report.seconds = time.perf_counter() - start
    return report


__all__ = ["CaseRun", "Finding", "Report", "fuzz", "run_case"]
