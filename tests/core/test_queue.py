"""Queue: ordering, requeue in original position, round-robin dispatch and prefetch limits.

The sink here is a fake of the session's channel: it records deliveries and, like the
channel, counts each consumer's unacked messages.
"""

from __future__ import annotations

from amqpbroker.core.consumers import Consumer
from amqpbroker.core.message import Envelope, Message
from amqpbroker.core.ports import Clock, ManualClock, StoreRef
from amqpbroker.core.queue import Queue


class FakeSink:
    """A channel stand-in: has_capacity / deliver / consumer_cancelled (the consumer
    counts its unacked deliveries itself)."""

    def __init__(self, capacity: bool = True) -> None:
        self.capacity = capacity
        self.delivered: list[tuple[str, bytes]] = []
        self.envelopes: list[Envelope] = []
        self.cancelled: list[str] = []
        self.on_deliver = None

    def has_capacity(self) -> bool:
        return self.capacity

    def deliver(self, consumer: Consumer[Queue], envelope: Envelope) -> None:
        self.delivered.append((consumer.tag, envelope.message.body))
        self.envelopes.append(envelope)
        if self.on_deliver is not None:
            self.on_deliver(envelope)

    def consumer_cancelled(self, consumer: Consumer[Queue]) -> None:
        self.cancelled.append(consumer.tag)


def make_queue(name: str = "q", clock: Clock | None = None) -> Queue:
    return Queue(
        name, "/", durable=False, exclusive_owner=None, auto_delete=False, arguments={}, clock=clock
    )


def message(body: bytes) -> Message:
    return Message("", "q", b"\x00\x01q", b"\x00\x3c\x00\x00" + bytes(10), body)


def consumer(
    queue: Queue,
    sink: FakeSink,
    tag: str,
    *,
    prefetch: int = 0,
    no_ack: bool = False,
    exclusive: bool = False,
) -> Consumer[Queue]:
    return Consumer(
        tag,
        bytes((len(tag),)) + tag.encode(),
        queue,
        sink,
        no_ack=no_ack,
        exclusive=exclusive,
        prefetch=prefetch,
        arguments={},
    )


def fill(queue: Queue, count: int) -> None:
    for index in range(1, count + 1):
        queue.enqueue(message(f"m{index}".encode()))


def bodies(queue: Queue) -> list[bytes]:
    return [envelope.message.body for envelope in queue.ready.in_memory()]


def test_messages_keep_publish_order():
    queue = make_queue()
    fill(queue, 3)
    assert queue.message_count == 3
    assert bodies(queue) == [b"m1", b"m2", b"m3"]
    assert [queue.get().message.body for _ in range(3)] == [b"m1", b"m2", b"m3"]
    assert queue.get() is None


def test_sequence_numbers_increase():
    queue = make_queue()
    fill(queue, 3)
    assert [envelope.seq for envelope in queue.ready.in_memory()] == [1, 2, 3]


def test_requeue_restores_original_order_and_marks_redelivered():
    queue = make_queue()
    fill(queue, 5)
    taken = [queue.get() for _ in range(3)]  # m1 m2 m3
    queue.requeue([taken[2], taken[0]])  # out of order on purpose
    assert bodies(queue) == [b"m1", b"m3", b"m4", b"m5"]
    assert [e.redelivered for e in queue.ready.in_memory()] == [True, True, False, False]
    queue.requeue([taken[1]])
    assert bodies(queue) == [b"m1", b"m2", b"m3", b"m4", b"m5"]


def test_requeue_merges_behind_earlier_redeliveries():
    queue = make_queue()
    fill(queue, 5)
    taken = [queue.get() for _ in range(4)]  # m1..m4, m5 ready
    queue.requeue([taken[0]])  # ready: m1 m5
    queue.requeue([taken[3], taken[1]])  # m2 and m4 go between m1 and m5
    assert bodies(queue) == [b"m1", b"m2", b"m4", b"m5"]


def test_requeue_into_an_empty_queue():
    queue = make_queue()
    fill(queue, 2)
    taken = [queue.get(), queue.get()]
    queue.requeue(list(reversed(taken)))
    assert bodies(queue) == [b"m1", b"m2"]


def test_requeue_to_a_deleted_queue_drops_the_messages():
    queue = make_queue()
    fill(queue, 1)
    envelope = queue.get()
    queue.deleted = True
    queue.requeue([envelope])
    assert queue.message_count == 0


def test_purge_empties_and_counts():
    queue = make_queue()
    fill(queue, 4)
    assert queue.purge() == 4
    assert queue.message_count == 0
    assert queue.purge() == 0


def test_round_robin_over_consumers():
    queue = make_queue()
    sink = FakeSink()
    for tag in ("c1", "c2", "c3"):
        queue.add_consumer(consumer(queue, sink, tag))
    fill(queue, 7)
    assert [tag for tag, _ in sink.delivered] == ["c1", "c2", "c3", "c1", "c2", "c3", "c1"]
    assert [body for _, body in sink.delivered] == [f"m{i}".encode() for i in range(1, 8)]
    assert queue.message_count == 0


def test_new_consumer_receives_the_backlog():
    queue = make_queue()
    fill(queue, 3)
    sink = FakeSink()
    queue.add_consumer(consumer(queue, sink, "c1"))
    assert [body for _, body in sink.delivered] == [b"m1", b"m2", b"m3"]
    assert queue.had_consumers


def test_removing_a_consumer_keeps_the_ring_fair():
    queue = make_queue()
    sink = FakeSink()
    c1, c2, c3 = (consumer(queue, sink, tag) for tag in ("c1", "c2", "c3"))
    for c in (c1, c2, c3):
        queue.add_consumer(c)
    fill(queue, 1)  # c1 served, c2 is next
    queue.remove_consumer(c1)
    fill(queue, 2)
    assert [tag for tag, _ in sink.delivered] == ["c1", "c2", "c3"]


def test_removing_the_next_consumer_passes_its_turn_on():
    queue = make_queue()
    sink = FakeSink()
    c1, c2, c3 = (consumer(queue, sink, tag) for tag in ("c1", "c2", "c3"))
    for c in (c1, c2, c3):
        queue.add_consumer(c)
    fill(queue, 1)  # c1 served, c2 is next
    queue.remove_consumer(c2)
    queue.remove_consumer(c2)  # removing twice is harmless
    fill(queue, 2)
    assert [tag for tag, _ in sink.delivered] == ["c1", "c3", "c1"]
    assert len(queue.consumers) == 2


def test_prefetch_limits_unacked_deliveries():
    queue = make_queue()
    sink = FakeSink()
    limited = consumer(queue, sink, "c1", prefetch=2)
    queue.add_consumer(limited)
    fill(queue, 5)
    assert len(sink.delivered) == 2
    assert not limited.can_take()
    assert queue.message_count == 3
    limited.unacked -= 1  # an ack
    assert limited.can_take()
    queue.dispatch()
    assert [body for _, body in sink.delivered] == [b"m1", b"m2", b"m3"]
    assert queue.message_count == 2


def test_prefetch_zero_is_unlimited():
    queue = make_queue()
    sink = FakeSink()
    queue.add_consumer(consumer(queue, sink, "c1", prefetch=0))
    fill(queue, 50)
    assert len(sink.delivered) == 50


def test_no_ack_consumers_ignore_prefetch():
    queue = make_queue()
    sink = FakeSink()
    c = consumer(queue, sink, "c1", prefetch=1, no_ack=True)
    c.unacked = 5
    assert c.can_take()
    queue.add_consumer(c)
    fill(queue, 3)
    assert len(sink.delivered) == 3


def test_blocked_consumers_are_skipped():
    queue = make_queue()
    busy, free = FakeSink(), FakeSink()
    queue.add_consumer(consumer(queue, busy, "limited", prefetch=1))
    queue.add_consumer(consumer(queue, free, "free"))
    fill(queue, 4)
    assert [tag for tag, _ in busy.delivered] == ["limited"]
    assert [body for _, body in free.delivered] == [b"m2", b"m3", b"m4"]


def test_channel_without_capacity_gets_nothing():
    queue = make_queue()
    sink = FakeSink(capacity=False)
    c = consumer(queue, sink, "c1")
    assert not c.can_take()
    queue.add_consumer(c)
    fill(queue, 2)
    assert sink.delivered == []
    assert queue.message_count == 2
    sink.capacity = True
    queue.dispatch()
    assert [body for _, body in sink.delivered] == [b"m1", b"m2"]


def test_requeue_dispatches_to_waiting_consumers():
    queue = make_queue()
    fill(queue, 2)
    taken = [queue.get(), queue.get()]
    sink = FakeSink()
    queue.add_consumer(consumer(queue, sink, "c1"))
    queue.requeue(taken)
    assert [body for _, body in sink.delivered] == [b"m1", b"m2"]
    assert all(envelope.redelivered for envelope in sink.envelopes)


def test_enqueue_during_delivery_is_not_reentrant_but_still_delivered():
    queue = make_queue()
    sink = FakeSink()
    queue.add_consumer(consumer(queue, sink, "c1"))
    seen: list[bytes] = []

    def publish_follow_up(envelope: Envelope) -> None:
        seen.append(envelope.message.body)
        if envelope.message.body == b"m1":
            queue.enqueue(message(b"follow-up"))

    sink.on_deliver = publish_follow_up
    fill(queue, 2)
    assert seen == [b"m1", b"follow-up", b"m2"]


def test_exclusive_consumer_flag():
    queue = make_queue()
    sink = FakeSink()
    queue.add_consumer(consumer(queue, sink, "c1"))
    assert not queue.has_exclusive_consumer()
    queue.add_consumer(consumer(queue, sink, "c2", exclusive=True))
    assert queue.has_exclusive_consumer()


def test_exclusive_queue_knows_its_owner():
    owner = object()
    queue = Queue("q", "/", durable=False, exclusive_owner=owner, auto_delete=False, arguments={})
    assert queue.exclusive
    assert not make_queue().exclusive


class TickingClock(ManualClock):
    """Real clocks (the loop's, in ms) can move between two readings: this one moves a
    microsecond at every reading."""

    def now(self) -> float:
        self._now += 1e-6
        return self._now


def test_ttl_zero_goes_to_a_waiting_consumer_even_when_the_clock_ticks_meanwhile():
    queue = Queue(
        "q",
        "/",
        durable=False,
        exclusive_owner=None,
        auto_delete=False,
        arguments={"x-message-ttl": 0},
        clock=TickingClock(),
    )
    sink = FakeSink()
    queue.add_consumer(consumer(queue, sink, "c", no_ack=True))
    queue.enqueue(message(b"now"), dispatch=False)
    queue.dispatch()
    assert sink.delivered == [("c", b"now")]


def test_published_counts_publishes_only() -> None:
    """A queue's ``publish`` statistic is its sequence number, less what recovery restored
    and what dead-lettering brought; a publish refused by reject-publish still counts."""
    queue = Queue(
        "q",
        "/",
        durable=True,
        exclusive_owner=None,
        auto_delete=False,
        arguments={"x-max-length": 2, "x-overflow": "reject-publish"},
    )
    queue.restore(7, StoreRef(0, 0, 10), False, None)
    assert queue.published == 0
    assert queue.enqueue(Message("", "q", b"", b"", b"1"))
    queue.counters.dead_lettered_in += 1  # (the vhost's dead-lettering counts it so)
    queue.enqueue(Message("", "q", b"", b"", b"2"))
    assert not queue.enqueue(Message("", "q", b"", b"", b"3"))  # refused: full
    assert queue.published == 2
