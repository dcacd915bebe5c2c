"""The journey recorder (``core/journeys.py``): the ring, event numbers, ``since``, clearing,
the per-journey cap and the switch's log lines."""

from __future__ import annotations

from amqpbroker.config import BrokerConfig
from amqpbroker.core.broker import BrokerState
from amqpbroker.core.journeys import (
    EVENTS_MAX,
    JourneyRecorder,
    Party,
    Publication,
    switch_tracing,
)
from amqpbroker.core.ports import ManualClock
from amqpbroker.core.vhost import VirtualHost


def _recorder(size: int = 3) -> JourneyRecorder:
    recorder = JourneyRecorder("/", ManualClock(wall_start=1_700_000_000.5), size)
    recorder.on = True
    return recorder


def _start(recorder: JourneyRecorder, body: bytes = b"hello") -> object:
    return recorder.start(Publication("x", "k", Party("c", 1, "u"), b"", body))


def test_events_are_numbered_across_journeys_and_timed_in_epoch_ms():
    recorder = _recorder()
    first, second = _start(recorder), _start(recorder)
    first.add("routed", queues=["q"])
    second.add("routed", queues=[])
    first.add("acked", queue="q")
    assert [e["seq"] for e in first.events] == [1, 3]
    assert second.events == [{"seq": 2, "at": 1_700_000_000_500, "type": "routed", "queues": []}]
    assert recorder.latest == 3 and first.last_seq == 3


def test_the_ring_keeps_the_newest_and_since_answers_newest_first():
    recorder = _recorder(size=3)
    journeys = [_start(recorder) for _ in range(4)]
    for journey in journeys:
        journey.add("routed", queues=[])
    assert [j.id for j in recorder.journeys] == [2, 3, 4]
    assert [j.id for j in recorder.since(0)] == [4, 3, 2]
    journeys[1].add("acked", queue="q")  # an old journey changes: it is listed again
    assert [j.id for j in recorder.since(4)] == [2]
    assert [j.id for j in recorder.since(0, limit=2)] == [4, 3]


def test_nothing_is_recorded_while_off_or_past_the_cap():
    recorder = _recorder()
    journey = _start(recorder)
    for _ in range(EVENTS_MAX + 3):
        journey.add("requeued", queue="q", reason="recover")
    assert len(journey.events) == EVENTS_MAX
    recorder.on = False
    other = _start(recorder)
    other.add("routed", queues=[])
    assert other.events == []


def test_clear_forgets_and_detaches_journeys_still_travelling():
    recorder = _recorder()
    journey = _start(recorder)
    recorder.clear()
    journey.add("acked", queue="q")
    assert list(recorder.journeys) == [] and journey.events == []
    assert recorder.since(0) == []


def test_payload_keeps_the_first_256_octets():
    journey = _start(_recorder(), body=bytes(range(256)) * 2)
    assert journey.size == 512 and journey.payload == bytes(range(256))


def test_switch_tracing_says_what_rabbitmq_logs():
    vhost = VirtualHost("v1")
    assert switch_tracing(vhost, True) == "Enabling tracing for vhost 'v1'"
    assert vhost.tracing and vhost.journeys.on
    assert switch_tracing(vhost, True) == "Tracing is already enabled for vhost 'v1'"
    assert switch_tracing(vhost, False) == "Disabling tracing for vhost 'v1'"
    assert switch_tracing(vhost, False) == "Tracing is already disabled for vhost 'v1'"
    assert not vhost.tracing and not vhost.journeys.on


def test_tracing_follows_the_vhost_name_as_rabbitmq_keeps_it():
    """Recorded on 3.10.8: a traced vhost deleted and made again traces at once; a restart
    forgets tracing."""
    state = BrokerState(BrokerConfig())
    switch_tracing(state.add_vhost("v1"), True)
    state.delete_vhost("v1")
    assert state.add_vhost("v1").tracing
    switch_tracing(state.vhosts["/"], True)
    state.forget_transient()
    assert not state.vhosts["v1"].tracing and not state.vhosts["/"].tracing
    assert not state.vhosts["v1"].journeys.on
