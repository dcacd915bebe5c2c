"""The statistics sampler's timer: a round of ``core.sampler`` every interval.

Every ``interval`` seconds a round starts over the broker's objects as they are then
(queues, exchanges, channels, connections), sampled a chunk per loop tick so that 10,000
queues never hold the loop for long; the round ends with the totals (vhosts, overview,
churn, queue totals), read in one step so that a channel closing between chunks is counted
once.  Rounds run on the loop's own time, whatever clock times the broker's messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator

from amqpbroker.core.broker import BrokerState
from amqpbroker.core.ports import Clock
from amqpbroker.core.queue import Queue
from amqpbroker.core.sampler import SAMPLE_INTERVAL, Group, StatsSampler
from amqpbroker.core.stats import (
    exchange_counts,
    overview_counts,
    queue_counts,
    queue_totals,
    record_totals,
)
from amqpbroker.session.channel import Channel
from amqpbroker.session.connection import ConnectionSession


def sampled_groups(state: BrokerState, sessions: Iterable[ConnectionSession]) -> list[Group]:
    """What one round samples: every queue, exchange, connection and channel."""
    vhosts = list(state.vhosts.values())
    sessions = list(sessions)
    return [
        ([q for vhost in vhosts for q in vhost.queues.values()], queue_counts),
        ([x for vhost in vhosts for x in vhost.exchanges.values()], exchange_counts),
        (sessions, ConnectionSession.message_counts),
        (list(_channels(sessions)), Channel.message_counts),
    ]


def sample_totals(state: BrokerState, sessions: Iterable[ConnectionSession], clock: Clock) -> None:
    """The totals, in one step (``core.stats.record_totals``)."""
    by_vhost: dict[int, list[tuple[int, ...]]] = {id(v): [] for v in state.vhosts.values()}
    orphans: list[tuple[int, ...]] = []
    for channel in _channels(sessions):
        by_vhost.get(id(channel.vhost), orphans).append(channel.message_counts())
    vhosts = [(vhost, by_vhost[id(vhost)]) for vhost in state.vhosts.values()]
    record_totals(state.stats, vhosts, orphans, _queues(state), clock.now(), clock.wall())


def totals_now(
    state: BrokerState, sessions: Iterable[ConnectionSession]
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, int, int]]:
    """The overview's counts now: message_stats, churn and queue totals (in
    ``core.stats`` ``OVERVIEW_FIELDS``, ``CHURN_FIELDS``, ``QUEUE_TOTALS_FIELDS`` order)."""
    live = [channel.message_counts() for channel in _channels(sessions)]
    queues = _queues(state)
    stats = state.stats
    return overview_counts(stats, live, queues), stats.churn_counts(), queue_totals(queues)


def _queues(state: BrokerState) -> list[Queue]:
    return [queue for vhost in state.vhosts.values() for queue in vhost.queues.values()]


def _channels(sessions: Iterable[ConnectionSession]) -> Iterator[Channel]:
    for session in sessions:
        yield from session.channels.values()


class StatsTimer:
    """Runs a sampling round every ``interval`` seconds on the running loop."""

    def __init__(
        self,
        state: Callable[[], BrokerState],
        sessions: Callable[[], Iterable[ConnectionSession]],
        clock: Clock,
        interval: float = SAMPLE_INTERVAL,
    ) -> None:
        """``state`` and ``sessions``: the broker's state and its connections' sessions as
        they are at each round (a restart replaces the state)."""
        self._state = state
        self._sessions = sessions
        self._clock = clock
        self.interval = interval
        self.sampler = StatsSampler(clock)
        self._handle: asyncio.Handle | None = None

    def start(self) -> None:
        """Sample every ``interval`` seconds from now on (an interval of 0 or less: never)."""
        if self._handle is None and self.interval > 0:
            self._handle = asyncio.get_running_loop().call_later(self.interval, self._round)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def sample_now(self) -> None:
        """A whole round at once, now (an embedded broker's test power)."""
        state, sessions = self._state(), self._sessions()
        self.sampler.sample_all(sampled_groups(state, sessions))
        sample_totals(state, sessions, self._clock)

    def _round(self) -> None:
        loop = asyncio.get_running_loop()
        self._handle = loop.call_later(self.interval, self._round)  # (a late round skips one)
        if self.sampler.in_round:
            return
        self.sampler.begin(sampled_groups(self._state(), self._sessions()))
        self._step()

    def _step(self) -> None:
        if self._handle is None:  # stopped
            return
        if self.sampler.step():
            sample_totals(self._state(), self._sessions(), self._clock)
        else:
            asyncio.get_running_loop().call_soon(self._step)
