"""The two timers a queue runs: when its head message expires, and when it expires itself.

``HeadTimer`` follows the expiry time of whatever message is at the head (message TTL): the
queue tells it that time after every change at the head, and it keeps one timer armed for
it, moved only when the time changes.  ``IdleTimer`` is x-expires: the queue says when it is
used (``touch``), and once it has been unused that long (and still is idle: no consumers,
not deleted) the timer calls ``expire``.  A timer that falls due early (the queue was used
since it was armed) arms itself again for the rest.
"""

from __future__ import annotations

from collections.abc import Callable

from .ports import Clock, Timer


class HeadTimer:
    """One timer, kept armed for the head message's expiry."""

    __slots__ = ("_at", "_clock", "_fire", "_timer")

    def __init__(self, clock: Clock, fire: Callable[[], None]) -> None:
        self._clock = clock
        self._fire = fire
        self._timer: Timer | None = None
        self._at = 0.0

    def follow(self, at: float | None) -> None:
        """The head now expires at ``at`` (None: never, or no head)."""
        if at is None or (self._timer is not None and self._at == at):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._at = at
        self._timer = self._clock.call_at(at, self._fired)

    def _fired(self) -> None:
        self._timer = None
        self._fire()


class IdleTimer:
    """x-expires: ``expire()`` once unused for ``ms`` milliseconds while ``idle()``."""

    __slots__ = ("_clock", "_expire", "_idle", "_last_used", "_timer", "ms")

    def __init__(
        self,
        clock: Clock,
        ms: int | None,
        *,
        expire: Callable[[], None],
        idle: Callable[[], bool],
    ) -> None:
        self._clock = clock
        self._expire = expire
        self._idle = idle
        self._timer: Timer | None = None
        self._last_used = clock.now()
        self.ms = ms
        self.touch()

    def touch(self) -> None:
        """The queue was used (declared, read, left by its last consumer)."""
        self._last_used = self._clock.now()
        if self.ms is not None and self._timer is None:
            self._timer = self._clock.call_at(self._last_used + self.ms / 1000, self._due)

    def rearm(self, ms: int | None) -> None:
        """A new x-expires (None: none): counted from now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.ms = ms
        self.touch()

    def _due(self) -> None:
        self._timer = None
        if self.ms is None or not self._idle():
            return  # (a queue in use is touched again when its last consumer leaves)
        due = self._last_used + self.ms / 1000
        if self._clock.now() < due:
            self._timer = self._clock.call_at(due, self._due)
        else:
            self._expire()
