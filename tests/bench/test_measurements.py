"""The load generator's measuring parts, without a broker: frames, stamps, statistics."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from pamqp import commands
from pamqp.header import ContentHeader

from amqpbroker.bench.client import Client
from amqpbroker.bench.compare import OURS, THEIRS, comparison
from amqpbroker.bench.messages import STAMP, PublishTemplate
from amqpbroker.bench.stats import (
    LatencyHistogram,
    SequenceCheck,
    Window,
    bucket_floor,
    bucket_of,
    integrity,
    latency_percentiles,
)
from amqpbroker.bench.workers import PublisherSpec, Publishing
from amqpbroker.core.message import routing_bytes
from amqpbroker.protocol.fastcodec import encode_confirm, encode_deliver, short_str
from amqpbroker.protocol.framing import FrameReader
from amqpbroker.protocol.methods import decode_method


def test_a_batch_of_publishes_carries_consecutive_stamps() -> None:
    template = PublishTemplate(7, "ex", "key", 32, persistent=True)
    frames = list(FrameReader(131072).feed(bytes(template.batch(100, 3, now=123456789))))
    assert [f[0] for f in frames] == [1, 2, 3] * 3
    publish = decode_method(frames[0][2])
    assert isinstance(publish, commands.Basic.Publish)
    assert (publish.exchange, publish.routing_key) == ("ex", "key")
    header = ContentHeader()
    header.unmarshal(frames[1][2])
    assert (header.body_size, header.properties.delivery_mode) == (32, 2)
    stamps = [STAMP.unpack_from(body) for _, _, body in frames[2::3]]
    assert stamps == [(7, 100, 123456789), (7, 101, 123456789), (7, 102, 123456789)]


def test_histogram_buckets_stay_within_one_percent() -> None:
    for micros in [*range(3000), 10**5, 123_456_789, 2**50 + 12345]:
        floor = bucket_floor(bucket_of(micros))
        assert floor <= micros <= floor * 1.01 + 1


def test_percentiles_over_merged_histograms() -> None:
    first, second = LatencyHistogram(), LatencyHistogram()
    for micros in range(1, 1001):  # 1 ms .. 1000 ms, split over two consumers
        (first if micros % 2 else second).record(micros * 1_000_000)
    figures = latency_percentiles([first.to_dict(), second.to_dict()])
    assert figures["latency_p50_ms"] == pytest.approx(500, rel=0.01)
    assert figures["latency_p95_ms"] == pytest.approx(950, rel=0.01)
    assert figures["latency_p99_ms"] == pytest.approx(990, rel=0.01)
    assert figures["latency_max_ms"] == 1000


def test_no_samples_no_percentiles() -> None:
    assert latency_percentiles([LatencyHistogram().to_dict()])["latency_p99_ms"] is None


def receive(check: SequenceCheck, publisher: int, sequences: list[int]) -> None:
    for sequence in sequences:
        if check.next[publisher] == sequence:
            check.next[publisher] = sequence + 1
        else:
            check.irregular(publisher, sequence)


def test_sequence_check_tells_lost_duplicated_and_reordered_apart() -> None:
    check = SequenceCheck(2)
    receive(check, 0, [0, 1, 3, 2, 2, 6, 7])  # 2 late, 2 again, 4 and 5 never
    receive(check, 1, [0, 1, 2])
    verdict = integrity([(check.to_dict(), [0, 1])], sent=[9, 3], drained=True)
    assert (verdict.lost, verdict.duplicated, verdict.reordered) == (2 + 1, 1, 1)


def test_a_drain_cut_short_leaves_the_tail_undelivered_not_lost() -> None:
    check = SequenceCheck(1)
    receive(check, 0, [0, 1, 2])
    verdict = integrity([(check.to_dict(), [0])], sent=[10], drained=False)
    assert (verdict.lost, verdict.undelivered) == (0, 7)


def test_window_counts_at_its_boundaries_however_late_it_is_told() -> None:
    window = Window(start=1000, stop=2000)
    window.observe(900, 0)
    window.observe(1500, 5)  # the first chunk after start: 5 had come before it
    window.observe(2600, 42)  # the first after stop
    window.observe(3000, 50)
    assert (window.marks["start_ns"], window.marks["stop_ns"]) == (1000, 2000)
    assert window.counted() == 37


def test_out_of_order_confirms_settle_each_publish_once() -> None:
    async def settle() -> int:
        publishing = Publishing(PublisherSpec("amqp://", 0, "", "q", 16), Client())
        for tag, multiple in [(2, False), (4, False), (1, False), (6, True), (3, False)]:
            publishing.confirmed(tag, multiple, ack=True)
        return publishing.settled

    assert asyncio.run(settle()) == 6


class Deliveries:
    def __init__(self) -> None:
        self.seen: list[tuple[int, tuple[Any, ...]]] = []

    def data_started(self, now: int) -> None:
        pass

    def delivered(self, delivery_tag: int, buffer: bytearray, offset: int, now: int) -> None:
        self.seen.append((delivery_tag, STAMP.unpack_from(buffer, offset)))

    def confirmed(self, delivery_tag: int, multiple: bool, ack: bool) -> None:
        self.seen.append((delivery_tag, ("confirm", multiple, ack)))

    def data_ended(self) -> None:
        pass


def test_the_client_reads_deliveries_split_anywhere() -> None:
    header = ContentHeader(0, 20, commands.Basic.Properties()).marshal()
    ctag, routing = short_str("ctag"), routing_bytes("", "q")

    def body(tag: int) -> bytes:
        return STAMP.pack(3, tag * 10, tag) + bytes(6)

    stream = b"".join(
        encode_deliver(1, ctag, tag, False, routing, header, body(tag), 4096) for tag in range(1, 6)
    )
    stream += encode_confirm(1, 9, multiple=True)

    async def read() -> list[tuple[int, tuple[Any, ...]]]:
        client = Client()
        client.listener = listener = Deliveries()
        rest = stream
        while rest:
            cut = random.randint(1, 40)
            client.data_received(rest[:cut])
            rest = rest[cut:]
        return listener.seen

    expected = [(tag, (3, tag * 10, tag)) for tag in range(1, 6)] + [(9, ("confirm", True, True))]
    for _ in range(20):
        assert asyncio.run(read()) == expected


def test_comparison_takes_medians_and_checks_targets() -> None:
    runs = {
        ("a", OURS): [{"consume_rate": r, "loadgen_cpu_max_pct": 30} for r in (90, 100, 300)],
        ("a", THEIRS): [{"consume_rate": r, "loadgen_cpu_max_pct": 40} for r in (50, 200, 210)],
        ("f", OURS): [{"latency_p99_ms": 3.0}, {"error": "boom"}],
        ("f", THEIRS): [{"latency_p99_ms": 2.0}],
    }
    rows = {(r["scenario"], r["figure"]): r for r in comparison(runs, ["a", "f"], [OURS, THEIRS])}
    consume = rows[("a", "consume msg/s")]
    assert (consume[OURS], consume[THEIRS]) == (100, 200)
    assert (consume["ratio"], consume["met"], consume["target"]) == (0.5, "NO", ">=1x")
    p99 = rows[("f", "latency p99 ms")]
    assert (p99["ratio"], p99["met"], p99["failed_runs"]) == (1.5, "NO", 1)
