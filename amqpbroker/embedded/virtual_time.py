"""Embedded brokers' powers: virtual time.

``Broker(virtual_clock=True)`` (and ``BrokerThread(virtual_clock=True)``) run the broker's
message and queue timing on a clock that moves only when the test says so:
``broker.clock.advance(1800)`` and a message with a 30-minute TTL has expired (and been
dead-lettered) when the call returns.  The clock drives per-queue and per-message TTL
(``x-message-ttl``, ``expiration``), queue expiry (``x-expires``) and the times the broker
writes (x-death's ``time``); its wall clock starts at the real time.

Connection timing stays on real time: heartbeats, the handshake timeout and the close-ok
deadline.  Clients keep their own real clocks, and jumping an hour ahead in one call must
not look like an hour of silence from clients that had no chance to send a heartbeat;
making a client miss heartbeats is fault injection's business.
"""

from __future__ import annotations

import time

from amqpbroker.core.ports import Clock, ManualClock

from .powers import LoopAccess


def choose_clock(clock: Clock | None, virtual_clock: bool) -> Clock | None:
    """The clock an embedded broker runs on: ``clock`` if given, a fresh virtual one for
    ``virtual_clock=True``, else None (the event loop's)."""
    if not virtual_clock:
        return clock
    if clock is not None:
        raise ValueError("pass either clock= or virtual_clock=True, not both")
    return ManualClock(start=0.0, wall_start=time.time())


class BrokerClock:
    """``broker.clock``: the broker's time and, when it is virtual, the hand that moves it."""

    def __init__(self, powers: LoopAccess) -> None:
        self._powers = powers

    @property
    def _clock(self) -> Clock:
        return self._powers.server.clock

    @property
    def virtual(self) -> bool:
        """True when the clock moves only by ``advance``."""
        return isinstance(self._clock, ManualClock)

    def now(self) -> float:
        """The broker's monotonic time, in seconds."""
        return self._clock.now()

    def wall(self) -> float:
        """The broker's wall-clock time, in seconds since the epoch."""
        return self._clock.wall()

    def advance(self, seconds: float) -> None:
        """Move a virtual clock ``seconds`` ahead, running everything that falls due in
        order (expiring messages, dead-lettering them, deleting unused queues).  It runs on
        the broker's loop and returns when done: what expired is gone.  Deliveries it causes
        leave on the loop's next tick.  RuntimeError on a broker that runs on real time."""
        clock = self._clock
        if not isinstance(clock, ManualClock):
            raise RuntimeError("this broker runs on real time: start it with virtual_clock=True")
        if seconds < 0:
            raise ValueError(f"a clock cannot go back ({seconds} seconds)")
        self._powers._on_loop(clock.advance, seconds)


class VirtualTime(LoopAccess):
    """A virtual clock the test advances instead of waiting."""

    @property
    def clock(self) -> BrokerClock:
        """The broker's clock: ``broker.clock.advance(seconds)`` with ``virtual_clock=True``
        (or a ``ManualClock`` given as ``clock=``), ``broker.clock.now()`` always."""
        return BrokerClock(self)
