"""core.sampler: rates over each object's own interval, idleness, rounds in chunks."""

from __future__ import annotations

from amqpbroker.core.ports import ManualClock
from amqpbroker.core.sampler import Sample, StatsSampler


class Counted:
    def __init__(self) -> None:
        self.count = 0
        self.sample = Sample(1, wall=100.0, at=0.0)


def read(obj: Counted) -> tuple[int]:
    return (obj.count,)


def test_rate_is_the_change_per_second_since_the_last_sampling() -> None:
    sample = Sample(2, wall=100.0, at=0.0)
    sample.record((10, 0), now=5.0, wall=105.0)
    assert sample.rates == (2.0, 0.0) and sample.idle_since is None
    sample.record((10, 0), now=7.0, wall=107.0)
    assert sample.rates == (0.0, 0.0) and sample.idle_since == 105.0
    sample.record((10, 0), now=7.0, wall=107.0)  # no time passed: the rates stand
    assert sample.rates == (0.0, 0.0)


def test_never_sampled_before_gives_no_rate() -> None:
    sample = Sample(1, wall=None)
    sample.record((4,), now=3.0, wall=3.0)
    assert sample.rates == (0.0,) and sample.idle_since is None
    sample.record((4,), now=4.0, wall=4.0)
    assert sample.idle_since == 3.0


def test_a_round_goes_a_chunk_at_a_time() -> None:
    clock = ManualClock()
    sampler = StatsSampler(clock, chunk=2)
    objects = [Counted() for _ in range(5)]
    for obj in objects:
        obj.count = 10
    clock.advance(5)
    sampler.begin([(objects[:3], read), ([], read), (objects[3:], read)])
    steps = 1
    while not sampler.step():
        assert sampler.in_round
        clock.advance(1)  # each chunk at its own time
        steps += 1
    assert steps == 3 and sampler.rounds == 1 and not sampler.in_round
    assert [obj.sample.rates[0] for obj in objects] == [2.0, 2.0, 10 / 6, 10 / 6, 10 / 7]


def test_an_empty_round_is_complete_at_once() -> None:
    sampler = StatsSampler(ManualClock())
    sampler.begin([])
    assert not sampler.in_round and sampler.step() and sampler.rounds == 1
