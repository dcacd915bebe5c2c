"""The heartbeat state machine, driven the way the transport drives it, on a ManualClock."""

from __future__ import annotations

import pytest

from amqpbroker.core.ports import ManualClock
from amqpbroker.session.heartbeat import Beat, Heartbeat


class Driver:
    """What the transport does: arm a tick every period, act on its answer."""

    def __init__(self, interval: int) -> None:
        self.clock = ManualClock()
        self.heartbeat = Heartbeat(self.clock.now())
        self.heartbeat.start(interval)
        self.sent: list[float] = []  # when heartbeats went out
        self.dropped_at: float | None = None
        self.reading_paused = False
        self.muted = False
        self._arm()

    def _arm(self) -> None:
        self.clock.call_at(self.clock.now() + self.heartbeat.period, self._tick)

    def _tick(self) -> None:
        now = self.clock.now()
        beat = self.heartbeat.tick(now, self.reading_paused, self.muted)
        if beat is Beat.DROP:
            self.dropped_at = now
            return
        if beat is Beat.SEND:
            self.sent.append(now)
        self._arm()

    def peer_talks_every(self, seconds: float, until: float) -> None:
        while self.clock.now() + seconds <= until:
            self.clock.advance(seconds)
            self.heartbeat.received()
        self.clock.advance(until - self.clock.now())


def test_the_period_is_half_the_interval() -> None:
    heartbeat = Heartbeat(0.0)
    heartbeat.start(10)
    assert heartbeat.period == 5.0


def test_an_idle_connection_sends_a_heartbeat_every_half_interval() -> None:
    driver = Driver(10)
    driver.peer_talks_every(1.0, until=20.0)
    assert driver.sent == [5.0, 10.0, 15.0, 20.0]
    assert driver.dropped_at is None


def test_no_heartbeat_while_we_write_other_frames() -> None:
    driver = Driver(10)
    for _ in range(20):
        driver.clock.advance(1.0)
        driver.heartbeat.sent(driver.clock.now())
        driver.heartbeat.received()
    assert driver.sent == []
    assert driver.dropped_at is None


def test_a_silent_peer_is_dropped_after_two_silent_checks() -> None:
    driver = Driver(10)
    driver.clock.advance(60.0)
    # Checks every second tick (10 s): the one at 10 s still counts the handshake's bytes,
    # those at 20 s and 30 s find silence.
    assert driver.dropped_at == 30.0


def test_a_peer_that_falls_silent_goes_after_two_to_three_intervals() -> None:
    driver = Driver(10)
    driver.peer_talks_every(1.0, until=12.0)
    driver.clock.advance(60.0)
    assert driver.dropped_at is not None
    assert 20.0 <= driver.dropped_at - 12.0 <= 30.0


def test_a_peer_heard_once_per_check_is_kept() -> None:
    driver = Driver(10)
    driver.peer_talks_every(9.0, until=100.0)
    assert driver.dropped_at is None


def test_a_peer_whose_input_is_not_read_counts_as_heard() -> None:
    driver = Driver(10)
    driver.reading_paused = True  # e.g. a blocked publisher: its heartbeats wait unread
    driver.clock.advance(100.0)
    assert driver.dropped_at is None
    assert len(driver.sent) == 20  # we keep sending ours


def test_muted_heartbeats_neither_send_nor_drop() -> None:
    driver = Driver(10)
    driver.muted = True
    driver.clock.advance(100.0)
    assert driver.sent == []
    assert driver.dropped_at is None


def test_the_silence_starts_afresh_when_heartbeats_are_unmuted() -> None:
    driver = Driver(10)
    driver.muted = True
    driver.clock.advance(100.0)
    driver.muted = False
    driver.clock.advance(15.0)
    assert driver.dropped_at is None
    driver.clock.advance(30.0)
    assert driver.dropped_at is not None


@pytest.mark.parametrize("interval", [1, 2, 60])
def test_sending_depends_on_what_we_wrote_last(interval: int) -> None:
    heartbeat = Heartbeat(0.0)
    heartbeat.start(interval)
    heartbeat.received()
    half = interval / 2
    heartbeat.sent(half - 0.25)
    assert heartbeat.tick(half) is Beat.WAIT
    assert heartbeat.tick(half - 0.25 + half) is Beat.SEND
