"""Runs fuzz cases against ``ConnectionSession`` in-process, as a transport would drive it.

One case: a seeded client session (``sessions``), mutated (``mutators``), cut into reads and
fed to a fresh broker (the harness's ``SessionBroker``) and session; between reads the
``ManualClock`` moves now and then and, in some cases, a resource alarm is raised and later
cleared; a quarter of the cases have a well-behaved ``Bystander`` connection on the same
broker.  The output is collected after each read, as a transport's flush would, and checked
as it comes (``checks.OutputMonitor``).

Then the probe: a session that is neither closed nor closing must still answer (the rest of
a handshake and a channel.open on a free channel get their replies, then connection.close
its close-ok); a half-read frame is first completed with zeros, which must end the
connection.  Last, the connection is dropped and must leave nothing behind.  An exception
out of the session, an error logged with a traceback, or a case that runs for
CASE_CPU_LIMIT seconds of CPU (a hang) is a finding too.

A case is named ``"<seed>:<index>"``: that string seeds everything in it, so ``replay``
repeats it exactly.
"""

from __future__ import annotations

import random
import re
import signal
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from types import FrameType

from pamqp import commands

from amqpbroker.protocol.framing import FrameReader
from amqpbroker.session.connection import ConnectionSession
from amqpbroker.session.states import State
from amqpbroker.testing.harness import SessionBroker

from .bystander import Bystander
from .checks import CHANNEL_OPEN_OK, CONNECTION_CLOSE_OK, OutputMonitor, captured_log, leaks
from .mutators import chunks, mutate
from .sessions import client_session
from .wire import Frame, connection_close, frame_bytes, handshake_frames, method_frame

PEER = "127.0.0.1:40000"  # loopback: guest may log in
TICK_OUTPUT_LIMIT = 4 << 20  # octets one read may make the broker queue for the socket
AMPLIFICATION = 64  # output octets per input octet, beyond a fixed allowance
AMPLIFICATION_ALLOWANCE = 1 << 20
CLOCK_STEPS = (0.001, 0.5, 5.0, 61.0, 3600.0)
CASE_CPU_LIMIT = 10.0  # seconds of CPU (not wall: the machine may be busy) a case may take

# What completes a handshake a case left unfinished, by the state it left it in.
_HANDSHAKE = handshake_frames()
_HANDSHAKE_REST: dict[State, list[Frame]] = {
    State.AWAIT_START_OK: _HANDSHAKE,
    State.AWAIT_TUNE_OK: _HANDSHAKE[1:],
    State.AWAIT_OPEN: _HANDSHAKE[2:],
}
_CONNECTION_CLOSE = frame_bytes(*connection_close())


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
            self.broker.access,
            peer=PEER,
            alarm=self.broker.alarm,
            write_now=self._write_now,
        )
        self.monitor = OutputMonitor()
        self.problems: list[tuple[str, str]] = []
        self.unread = 0  # octets fed while the session did not read (input paused)
        self.bystander: Bystander | None = None
        if self.rng.random() < 0.25:
            self.bystander = Bystander(self.broker, self._call, PEER)

    def run(self) -> list[Finding]:
        try:
            if self.bystander is not None:
                self.bystander.start()
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
            self._check_input_buffer(data)
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

    def _check_input_buffer(self, read: bytes) -> None:
        """A session that reads holds at most one incomplete frame, and one closing (it reads
        for its close-ok) at most the rest of the input that made it close besides: the last
        read and what was fed while it did not read (a transport would have stopped)."""
        session = self.session
        if session.input_paused:
            self.unread += len(read)
            return
        limit = session.frame_max + 8
        if session.state is State.CLOSING:
            limit += self.unread + len(read)
        self.unread = 0
        if session.state not in (State.OPEN, State.CLOSING):
            return
        held = _pending_input(session)
        if held > limit:
            self.problems.append(("growth", f"{held} octets of input held (no frame ends)"))

    # -- after the case -----------------------------------------------------------------------

    def _probe(self) -> None:
        """The session is closed, closing, paused, or it still answers."""
        session = self.session
        if session.closed or session.closing or session.input_paused:
            return
        state = session.state
        if state is State.AWAIT_HEADER or _pending_input(session):
            # complete whatever is half-read: zeros make a bad frame end (or a bad header)
            self._send(b"\x00" * (session.frame_max + 8))
            if not (session.closed or session.closing):
                self.problems.append(("liveness", f"a bad frame end left it {state.value}"))
            return
        rest = _HANDSHAKE_REST.get(state, [])
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
                self.problems.append(("liveness", f"channel.open unanswered ({state.value})"))
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
            self.problems.extend(self.bystander.check())


def _pending_input(session: ConnectionSession) -> int:
    """Octets read but not yet handled (the session's frame reader is private: a test's
    peek, not an interface)."""
    reader: FrameReader = getattr(session, "_reader")  # noqa: B009
    return reader.buffered


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
    with captured_log() as capture:
        return _run_logged(case, capture.take)


class CaseHang(BaseException):
    """A case ran past CASE_CPU_LIMIT (BaseException: the case's own handlers let it by)."""


def _hang(_signal: int, _frame: FrameType | None) -> None:
    raise CaseHang


def _run_logged(case: str, logged: Callable[[], list[str]]) -> list[Finding]:
    """The case's findings, a hang (on platforms with a CPU timer) and what it logged."""
    timer = getattr(signal, "ITIMER_VIRTUAL", None)
    if timer is not None:
        previous = signal.signal(signal.SIGVTALRM, _hang)
        signal.setitimer(timer, CASE_CPU_LIMIT)
    try:
        findings = CaseRun(case).run()
    except CaseHang as hang:
        where = _innermost_broker_frame(hang)
        findings = [Finding(case, "hang", f"over {CASE_CPU_LIMIT} s of CPU at {where}", [])]
    finally:
        if timer is not None:
            signal.setitimer(timer, 0)
            signal.signal(signal.SIGVTALRM, previous)
    return findings + [Finding(case, "log", line, []) for line in logged()]


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
    start = time.perf_counter()
    next_progress = start + progress_every
    with captured_log() as capture:
        for case in case_names(seed):
            if cases is not None and report.cases >= cases:
                break
            now = time.perf_counter()
            if seconds is not None and now - start >= seconds:
                break
            findings = _run_logged(case, capture.take)
            report.cases += 1
            for finding in findings:
                on_finding(finding, report.add(finding))
            if now >= next_progress:
                report.seconds = now - start
                on_progress(report)
                next_progress = now + progress_every
    report.seconds = time.perf_counter() - start
    return report


__all__ = ["CaseRun", "Finding", "Report", "fuzz", "run_case"]
