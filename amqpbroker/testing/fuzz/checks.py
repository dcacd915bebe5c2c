"""What must hold after every fuzz case, and the monitor that watches the broker's output.

The reply codes allowed are read from ``amqpbroker.errors`` (the catalogue of the codes
RabbitMQ uses): channel.close carries a channel-level (soft) code, connection.close a
connection-level (hard) one, and the reply text starts with that code's name.  After it sent
connection.close the broker sends nothing but close-ok; after channel.close, nothing on that
channel but close-ok until it is opened again.  Frames stay within the negotiated frame_max.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from amqpbroker import errors
from amqpbroker.core.broker import BrokerState

from .wire import MalformedOutput, OutFrame, OutputReader

CONNECTION_CLOSE = (10, 50)
CONNECTION_CLOSE_OK = (10, 51)
CHANNEL_OPEN_OK = (20, 11)
CHANNEL_CLOSE = (20, 40)
CHANNEL_CLOSE_OK = (20, 41)
BASIC_RETURN = (60, 50)
RETURN_CODES = frozenset({312})  # NO_ROUTE: RabbitMQ 3 refuses immediate, so never 313
FRAME_TYPES = frozenset({1, 2, 3, 8})


def _error_classes() -> list[type[errors.AMQPError]]:
    found: list[type[errors.AMQPError]] = [errors.AMQPError]
    for cls in found:
        found.extend(cls.__subclasses__())
    return found


def _codes(connection_level: bool) -> dict[int, frozenset[str]]:
    names: dict[int, set[str]] = {}
    for cls in _error_classes():
        # (a class without its own code is an abstract base: ChannelError)
        if cls.connection_level is connection_level and "reply_code" in vars(cls):
            names.setdefault(cls.reply_code, set()).add(cls.reply_name)
    return {code: frozenset(found) for code, found in names.items()}


CHANNEL_CODES = _codes(connection_level=False)
CONNECTION_CODES = _codes(connection_level=True)


@dataclass(slots=True)
class OutputMonitor:
    """Reads the broker's output of one case and records what breaks the rules."""

    frame_max: int = 131072
    reader: OutputReader = field(default_factory=OutputReader)
    problems: list[str] = field(default_factory=list)
    frames: list[OutFrame] = field(default_factory=list)
    connection_closed: bool = False
    closed_channels: set[int] = field(default_factory=set)
    total: int = 0

    def feed(self, data: bytes) -> list[OutFrame]:
        self.total += len(data)
        try:
            frames = self.reader.feed(data)
        except MalformedOutput as error:
            self.problems.append(f"malformed output: {error}")
            return []
        for frame in frames:
            self._check(frame)
        self.frames.extend(frames)
        return frames

    def _check(self, frame: OutFrame) -> None:
        ids = frame.ids
        if frame.frame_type not in FRAME_TYPES:
            self.problems.append(f"frame type {frame.frame_type}")
        if len(frame.payload) + 8 > self.frame_max:
            self.problems.append(f"a frame of {len(frame.payload)} octets over frame_max")
        if self.connection_closed and ids != CONNECTION_CLOSE_OK:
            self.problems.append(f"{ids} on channel {frame.channel} after connection.close")
        if frame.channel in self.closed_channels:
            if ids == CHANNEL_OPEN_OK:
                self.closed_channels.discard(frame.channel)
            elif ids != CHANNEL_CLOSE_OK:
                self.problems.append(f"{ids} on channel {frame.channel} after channel.close")
        if ids == CONNECTION_CLOSE:
            self.connection_closed = True
            self._check_reply(frame, CONNECTION_CODES, "connection.close")
        elif ids == CHANNEL_CLOSE:
            self.closed_channels.add(frame.channel)
            self._check_reply(frame, CHANNEL_CODES, "channel.close")
        elif ids == BASIC_RETURN and frame.reply_code not in RETURN_CODES:
            self.problems.append(f"basic.return with reply code {frame.reply_code}")

    def _check_reply(self, frame: OutFrame, codes: dict[int, frozenset[str]], what: str) -> None:
        code, text = frame.reply_code, frame.reply_text
        names = codes.get(code)
        if names is None:
            self.problems.append(f"{what} with reply code {code}: {text[:80]!r}")
        elif not any(text.startswith(name.encode()) for name in names):
            self.problems.append(f"{what} {code} with reply text {text[:80]!r}")

    def answered(self, channel: int, ids: tuple[int, int], since: int) -> bool:
        """Whether a frame ``ids`` on ``channel`` came after the first ``since`` frames."""
        return any(f.channel == channel and f.ids == ids for f in self.frames[since:])


def leaks(broker: BrokerState, owner: object, others: frozenset[str] = frozenset()) -> list[str]:
    """What a connection, once gone, must not leave behind in the broker (``others``: the
    consumer tags of the connections still there)."""
    found = []
    for vhost in broker.vhosts.values():
        for queue in vhost.queues.values():
            if queue.exclusive_owner is owner:
                found.append(f"exclusive queue {queue.name!r} outlived its connection")
            kept = [c.tag for c in queue.consumers if c.tag not in others]
            if kept:
                found.append(f"queue {queue.name!r} kept consumer(s) {kept}")
    if broker.reply_consumers:
        found.append(f"{len(broker.reply_consumers)} direct reply-to consumer(s) kept")
    return found


class LogCapture(logging.Handler):
    """Records of the broker's loggers that a client's mistake must never cause: errors, and
    anything carrying a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)

    def take(self) -> list[str]:
        found = [f"logged {r.levelname}: {r.getMessage()[:200]}" for r in self.records]
        self.records.clear()
        return found


@contextmanager
def captured_log() -> Iterator[LogCapture]:
    """The broker's log captured (INFO and below not even formatted: they cost time)."""
    capture = LogCapture()
    logger = logging.getLogger("amqpbroker")
    level = logger.level
    logger.addHandler(capture)
    logger.setLevel(logging.WARNING)
    try:
        yield capture
    finally:
        logger.removeHandler(capture)
        logger.setLevel(level)
