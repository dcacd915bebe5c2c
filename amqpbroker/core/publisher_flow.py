"""Publisher flow control: a queue far behind its consumers holds its publishers back.

Theory of operation.  While a queue with consumers holds more than FLOW_HIGH ready
messages, the connections publishing into it are not read until it is under FLOW_LOW
again: publishers cannot outrun consumers without bound (RabbitMQ's credit flow has that
effect), and on a small machine a publisher flat out would otherwise take the CPU its
consumers need.  A queue without consumers never holds publishers back, and neither does
one whose consumers delivered nothing for FLOW_STALL seconds of a hold (stuck consumers:
the queue then takes publishes freely, as RabbitMQ's does, until it delivers again).

The queue owns one ``PublisherFlow`` and tells it what it sees (how many messages it holds,
whether it has consumers, whether it delivered); the session's connection is the publisher
that waits for its ``resume``.
"""

from __future__ import annotations

from collections.abc import Callable

from .ports import Clock, Timer

FLOW_HIGH = 2000
FLOW_LOW = 1000
FLOW_STALL = 5.0


class PublisherFlow:
    """The publishers one queue holds back, and whether its consumers are stuck."""

    __slots__ = ("_clock", "_progress", "_stalled", "_timer", "_waiters")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._waiters: dict[object, Callable[[], None]] = {}  # publisher -> resume
        self._timer: Timer | None = None  # FLOW_STALL, while publishers are held
        self._stalled = False  # consumers delivered nothing for FLOW_STALL: hold nobody
        self._progress = False  # a delivery since the FLOW_STALL timer was armed

    @property
    def holding(self) -> bool:
        return bool(self._waiters)

    def holds(self, ready: int, consumers: bool) -> bool:
        """Whether a publisher that just routed a message here should wait."""
        return ready > FLOW_HIGH and consumers and not self._stalled

    def hold(self, publisher: object, resume: Callable[[], None]) -> None:
        """``resume()`` once the queue no longer holds publishers back."""
        self._waiters[publisher] = resume
        if self._timer is None:
            self._arm_stall_timer()

    def forget(self, publisher: object) -> None:
        self._waiters.pop(publisher, None)

    def dispatched(self, delivered: bool, ready: int, consumers: bool) -> None:
        """The queue dispatched (``delivered``: at least one message went out)."""
        if delivered:
            self._progress = True
            self._stalled = False
        if self._waiters:
            self.release(ready, consumers)

    def release(self, ready: int, consumers: bool) -> None:
        """Let the publishers go if the queue caught up (or lost its consumers, or they
        are stuck)."""
        if ready < FLOW_LOW or not consumers or self._stalled:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            waiting = list(self._waiters.values())
            self._waiters.clear()
            for resume in waiting:
                resume()

    def _arm_stall_timer(self) -> None:
        self._progress = False
        self._timer = self._clock.call_at(self._clock.now() + FLOW_STALL, self._stall_check)

    def _stall_check(self) -> None:
        self._timer = None
        if not self._waiters:
            return
        if self._progress:  # slow, not stuck: keep holding
            self._arm_stall_timer()
            return
        self._stalled = True
        self.release(0, False)
