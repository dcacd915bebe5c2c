"""Heartbeats of one connection, as a state machine the transport drives.

Theory of operation (RabbitMQ's): once tune-ok settles an interval, the transport calls
``tick`` every half interval (``period``) and acts on the answer.  Each tick we send a
heartbeat if we have written nothing for half an interval; every second tick checks the
peer.  A check that finds no byte from the peer since the previous one counts as silent;
two silent checks in a row drop the connection, so a silent client goes after two to three
intervals.  While the transport does not read the socket (input paused) the peer's
heartbeats wait unread, so the peer counts as heard.  While heartbeats are muted broker-wide
(a test playing a hung broker) nothing is sent or expected, and the silence starts afresh
once they resume.

Pure: the caller passes the time (its wire clock's ``now``) and reports the traffic
(``received``, ``sent``).
"""

from __future__ import annotations

import enum


class Beat(enum.Enum):
    """What the transport does after a tick."""

    WAIT = "nothing to do: tick again after a period"
    SEND = "write a heartbeat frame, then tick again after a period"
    DROP = "the peer fell silent: drop the connection (and tick no more)"


class Heartbeat:
    """One connection's heartbeat bookkeeping."""

    __slots__ = ("_heard", "_last_sent", "_silent_checks", "_ticks", "interval")

    def __init__(self, now: float) -> None:
        self.interval = 0  # seconds; 0 until ``start``
        self._last_sent = now
        self._heard = True  # a byte came from the peer since the last check
        self._silent_checks = 0
        self._ticks = 0

    def start(self, interval: int) -> None:
        """Tune-ok settled ``interval`` seconds (not 0): ticks begin."""
        self.interval = interval

    @property
    def period(self) -> float:
        """Seconds between ticks."""
        return self.interval / 2

    def received(self) -> None:
        """Bytes came from the peer."""
        self._heard = True

    def sent(self, now: float) -> None:
        """Bytes went to the peer."""
        self._last_sent = now

    def tick(self, now: float, reading_paused: bool = False, muted: bool = False) -> Beat:
        if muted:
            self._heard = True
            self._silent_checks = 0
            return Beat.WAIT
        self._ticks += 1
        if reading_paused:  # the peer's heartbeats wait unread in the socket
            self._heard = True
        if self._ticks % 2 == 0:
            self._silent_checks = 0 if self._heard else self._silent_checks + 1
            self._heard = False
            if self._silent_checks >= 2:
                return Beat.DROP
        if now - self._last_sent >= self.period:
            self._last_sent = now
            return Beat.SEND
        return Beat.WAIT
