"""Rates and idle times from counters sampled every few seconds, as RabbitMQ's management.

Theory of operation.  RabbitMQ reports beside each counter ``X_details: {"rate": r}``: the
change per second over the last sampling interval (5 s by default, its
``collect_statistics_interval``; "basic" rates mode).  Counting stays on the hot path's
plain ints (``core.stats``); here a round reads every object's counters once per interval
and keeps, on the object's ``Sample``, the counts read, the rates over the interval before,
and whether anything changed: an object whose counters stand still is idle, since the
sample at which they last moved (``idle_since``, a wall-clock time; at first its
creation), as RabbitMQ's queues and channels report it.  Its resolution is the interval.

A round over 10,000 queues takes longer than the event loop should be held, so it goes a
chunk at a time (``step``); the caller (``server.stats_timer``) runs the chunks one loop
tick apart.  Each object's rate uses its own sampling times, so chunking does not skew it.
Nothing here does I/O: time comes from the ``Clock`` port.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from .ports import Clock

SAMPLE_INTERVAL = 5.0  # seconds (RabbitMQ's collect_statistics_interval, 5000 ms)
CHUNK = 500  # objects sampled per loop tick (a few ms)

Reader = Callable[[Any], Sequence[int]]


class Sample:
    """One object's counters at its last sampling, their rates, and its idleness."""

    __slots__ = ("active", "at", "changed_at", "counts", "rates")

    def __init__(self, width: int, wall: float | None, at: float | None = None) -> None:
        self.at = at  # clock time of the last sampling (None: never)
        self.counts: tuple[int, ...] = (0,) * width
        self.rates: tuple[float, ...] = (0.0,) * width
        self.active = False  # its counters moved in the last interval
        self.changed_at = wall  # wall time they were last seen moving (at first: creation)

    @property
    def idle_since(self) -> float | None:
        """Wall-clock time since which nothing changed; None while active (RabbitMQ omits
        ``idle_since`` then)."""
        return None if self.active else self.changed_at

    def record(self, counts: Sequence[int], now: float, wall: float) -> None:
        """The counters read at clock time ``now`` (wall-clock ``wall``)."""
        counts = tuple(counts)
        at, old = self.at, self.counts
        if at is not None and now > at:
            span = now - at
            self.rates = tuple(
                (new - before) / span for new, before in zip(counts, old, strict=True)
            )
        self.active = counts != old
        if self.active:
            self.changed_at = wall
        self.counts = counts
        self.at = now

    def rates_by_name(self, fields: Sequence[str]) -> dict[str, float]:
        """The rates by counter name (``fields``: the order the counts were read in)."""
        return dict(zip(fields, self.rates, strict=False))


class Sampled(Protocol):
    """An object with counters: its ``Sample`` is kept on it."""

    @property
    def sample(self) -> Sample: ...


Group = tuple[Sequence[Sampled], Reader]  # objects of one kind and what reads their counters


class StatsSampler:
    """Rounds of sampling: ``begin`` with what to sample, then ``step`` until it says done."""

    def __init__(self, clock: Clock, chunk: int = CHUNK) -> None:
        self.clock = clock
        self.chunk = chunk
        self._groups: list[Group] = []
        self._next = 0  # in the first group
        self.rounds = 0  # rounds completed

    @property
    def in_round(self) -> bool:
        return bool(self._groups)

    def begin(self, groups: Sequence[Group]) -> None:
        """Start a round over ``groups``: (objects, the function reading one's counters),
        the objects as they are now (a list each: copying a dict's values is cheap, and
        they may change before the round ends).  A round still under way is abandoned."""
        self._groups = [group for group in groups if group[0]]
        self._next = 0

    def step(self) -> bool:
        """Sample the next chunk of the round; True when the round is complete."""
        now, wall = self.clock.now(), self.clock.wall()
        budget = self.chunk
        while self._groups and budget:
            objects, read = self._groups[0]
            start = self._next
            end = min(start + budget, len(objects))
            for index in range(start, end):
                obj = objects[index]
                obj.sample.record(read(obj), now, wall)
            budget -= end - start
            if end < len(objects):
                self._next = end
                return False
            self._groups.pop(0)
            self._next = 0
        if self._groups:
            return False
        self.rounds += 1
        return True

    def sample_all(self, groups: Sequence[Group]) -> None:
        """A whole round at once (tests, small brokers)."""
        self.begin(groups)
        while not self.step():
            pass
