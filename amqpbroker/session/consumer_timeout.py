"""``consumer_timeout``: a delivery left unacknowledged longer closes its channel, with
RabbitMQ 3.10's 406.

Nothing is stamped per delivery.  As RabbitMQ's channel tick does, a sweep every
``sweep_interval`` looks at each channel's oldest unacknowledged delivery tag (``unacked`` is
kept in tag order): a tag first seen at a sweep starts its watch, and a tag still the oldest
``timeout`` after the sweep that first saw it is overdue.  The delivery is at least that old
(it was there when first seen), so a channel is never closed early, and at most one interval
late.  Time is the broker's clock (a ``ManualClock`` in tests, the virtual clock of an
embedded broker).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from amqpbroker.core.ports import Clock, Timer
from amqpbroker.errors import AMQPError, PreconditionFailed

from .channel import Channel, ChannelState


class ChannelOwner(Protocol):
    """What a sweep needs of a connection (``ConnectionSession``)."""

    @property
    def channels(self) -> dict[int, Channel]: ...

    def close_channel_by_broker(self, chan: Channel, error: AMQPError) -> None: ...


def sweep_interval(timeout_ms: int) -> float:
    """Seconds between sweeps: a tenth of the timeout, within [0.1 s, 60 s]."""
    return min(60.0, max(0.1, timeout_ms / 10_000))


def timed_out(channel: int, timeout_ms: int) -> PreconditionFailed:
    return PreconditionFailed(
        f"delivery acknowledgement on channel {channel} timed out. "
        f"Timeout value used: {timeout_ms} ms. This timeout value can be configured, "
        "see consumers doc guide to learn more"
    )


def overdue(chan: Channel, now: float, timeout: float) -> bool:
    """Watch ``chan``'s oldest unacknowledged delivery; True once it is overdue."""
    if not chan.unacked:
        chan.ack_watch = None
        return False
    oldest = next(iter(chan.unacked))
    watch = chan.ack_watch
    if watch is None or watch[0] != oldest:
        chan.ack_watch = (oldest, now)
        return False
    return now - watch[1] >= timeout


def sweep(sessions: Iterable[ChannelOwner], now: float, timeout_ms: int) -> None:
    """One sweep over every open channel of ``sessions``."""
    timeout = timeout_ms / 1000
    for session in sessions:
        for chan in list(session.channels.values()):
            if chan.state is ChannelState.OPEN and overdue(chan, now, timeout):
                session.close_channel_by_broker(chan, timed_out(chan.number, timeout_ms))


class ConsumerTimeouts:
    """The sweeps, scheduled on ``clock`` every ``sweep_interval(timeout_ms)``."""

    def __init__(
        self,
        clock: Clock,
        sessions: Callable[[], Iterable[ChannelOwner]],
        timeout_ms: int,
    ) -> None:
        self._clock = clock
        self._sessions = sessions
        self.timeout_ms = timeout_ms
        self.interval = sweep_interval(timeout_ms)
        self._timer: Timer | None = None

    def start(self) -> None:
        self._timer = self._clock.call_at(self._clock.now() + self.interval, self._tick)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick(self) -> None:
        sweep(self._sessions(), self._clock.now(), self.timeout_ms)
        self.start()
