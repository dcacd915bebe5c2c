"""Consumers: consume / cancel, tags, exclusivity, cancel notifications, round-robin, qos."""

from __future__ import annotations

from typing import Any

from ..registry import scenario
from ..runner import Run
from ..wire import M, Wire
from .common import brief, deliveries, fill, passive, publish


def _queue(run: Run, w: Wire, channel: int = 1) -> str:
    q = run.queue()
    w.ok(channel, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    return q


@scenario()
def consume_and_deliver(run: Run) -> Any:
    """A server-generated tag; deliveries carry tag, delivery tag, exchange and key."""
    w = run.raw()
    q = _queue(run, w)
    consume_ok = w.call(1, M.basic_consume(q))
    fill(w, q, b"m0", b"m1")
    return {"consume_ok": consume_ok, "deliveries": deliveries(w, 2, channel=1)}


@scenario()
def consume_missing_queue(run: Run) -> Any:
    """basic.consume on a missing queue: 404."""
    w = run.raw()
    return w.call(1, M.basic_consume(run.queue()))


@scenario()
def exclusive_consumer_conflicts(run: Run) -> Any:
    """An exclusive consumer on a queue that has consumers, and any consumer on a queue that
    has an exclusive one: 403 in exclusive use."""
    w = run.raw()
    w.open(2)
    busy, taken = _queue(run, w), _queue(run, w)
    w.ok(1, M.basic_consume(busy, "a"), "Basic.ConsumeOk")
    w.ok(1, M.basic_consume(taken, "b", exclusive=True), "Basic.ConsumeOk")
    return [
        w.attempt(2, M.basic_consume(busy, "c", exclusive=True)),
        w.attempt(2, M.basic_consume(taken, "d")),
    ]


@scenario()
def duplicate_consumer_tag(run: Run) -> Any:
    """The same tag twice on a channel: connection.close 530; on another channel: fine."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w)
    w.ok(1, M.basic_consume(q, "dup"), "Basic.ConsumeOk")
    return [w.call(2, M.basic_consume(q, "dup")), w.call(1, M.basic_consume(q, "dup"))]


@scenario()
def cancel(run: Run) -> Any:
    """cancel-ok echoes the tag (also for unknown tags); nowait cancels send nothing."""
    w = run.raw()
    q = _queue(run, w)
    w.ok(1, M.basic_consume(q, "c1"), "Basic.ConsumeOk")
    w.ok(1, M.basic_consume(q, "c2"), "Basic.ConsumeOk")
    out = [w.call(1, M.basic_cancel("c1")), w.call(1, M.basic_cancel("nope"))]
    w.m(1, M.basic_cancel("c2", nowait=True))
    w.m(1, M.basic_cancel("other", nowait=True))
    return [*out, w.probe(1), passive(w, q)]


@scenario()
def consume_nowait(run: Run) -> Any:
    """basic.consume nowait: no consume-ok, deliveries still come."""
    w = run.raw()
    q = _queue(run, w)
    w.m(1, M.basic_consume(q, "quiet", nowait=True))
    probe = w.probe(1)
    fill(w, q, b"m0")
    return [probe, deliveries(w, 1, channel=1)]


@scenario()
def unacked_stay_after_cancel(run: Run) -> Any:
    """After cancel, deliveries remain unacked and can still be acked."""
    w = run.raw()
    q = _queue(run, w)
    w.ok(1, M.basic_consume(q, "c"), "Basic.ConsumeOk")
    fill(w, q, b"m0", b"m1")
    deliveries(w, 2, channel=1)
    w.ok(1, M.basic_cancel("c"), "Basic.CancelOk")
    before = passive(w, q)
    w.m(1, M.basic_ack(2, multiple=True))
    return [before, w.probe(1), passive(w, q)]


def _delete_under_consumer(run: Run, deleting_channel: int) -> Any:
    w = run.raw()
    w.open(2)
    q = run.queue()
    w.ok(1, M.queue_declare(q), "Queue.DeclareOk")
    w.ok(1, M.basic_consume(q, "c1"), "Basic.ConsumeOk")
    fill(w, q, b"m0")
    deliveries(w, 1, channel=1)
    w.m(deleting_channel, M.queue_delete(q))
    frames = [w.reply(), w.reply()]
    w.m(1, M.basic_ack(1))
    return frames, w.probe(1)


@scenario()
def cancel_notification_on_queue_delete(run: Run) -> Any:
    """Deleting a queue under a consumer (from another channel): basic.cancel (nowait) to
    the consumer; its unacked delivery can still be acked.  (The order of cancel and the
    deleter's delete-ok varies in RabbitMQ: compared as a set.)"""
    frames, probe = _delete_under_consumer(run, 2)
    return {"frames": sorted(frames, key=lambda f: f["ch"]), "after_ack": probe}


@scenario()
def cancel_notification_same_channel(run: Run) -> Any:
    """Deleting a queue from the consumer's own channel: delete-ok, then basic.cancel."""
    frames, probe = _delete_under_consumer(run, 1)
    return {"frames": frames, "after_ack": probe}


@scenario()
def no_cancel_notification_without_capability(run: Run) -> Any:
    """A client that did not advertise consumer_cancel_notify gets no basic.cancel."""
    w = run.raw(client_properties={"product": "plain"})
    w.open(2)
    q = run.queue()
    w.ok(1, M.queue_declare(q), "Queue.DeclareOk")
    w.ok(1, M.basic_consume(q, "c1"), "Basic.ConsumeOk")
    return [w.call(2, M.queue_delete(q)), w.probe(1)]


@scenario()
def round_robin(run: Run) -> Any:
    """Two consumers on one queue take turns."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w)
    w.ok(1, M.basic_consume(q, "a"), "Basic.ConsumeOk")
    w.ok(2, M.basic_consume(q, "b"), "Basic.ConsumeOk")
    fill(w, q, *[f"m{i}".encode() for i in range(6)])
    got = deliveries(w, 3, channel=1) + deliveries(w, 3, channel=2)
    return sorted([d["body"], d["consumer_tag"], d["delivery_tag"]] for d in got)


def _prefetch(run: Run, steps: list[Any], per_queue: int = 4) -> Any:
    """Run qos/consume ``steps`` on channel 1 (a step is a qos payload or a consumer tag,
    each tag consuming its own queue), publish ``per_queue`` messages to each queue in turn,
    and report how many each consumer got and how many are left ready."""
    w = run.raw()
    w.open(2)
    queues = {}
    for step in steps:
        if isinstance(step, bytes):
            w.ok(1, step, "Basic.QosOk")
        else:
            queues[step] = _queue(run, w)
            w.ok(1, M.basic_consume(queues[step], step), "Basic.ConsumeOk")
    for i in range(per_queue):
        for q in queues.values():
            publish(w, "", q, f"m{i}".encode())
    ready = {tag: passive(w, q, 2)[0] for tag, q in queues.items()}
    total = sum(per_queue - n for n in ready.values())
    got = deliveries(w, total, channel=1)
    counts = {tag: sum(1 for d in got if d["consumer_tag"] == tag) for tag in queues}
    return {"delivered": counts, "ready": ready, "next": w.probe(1)}


@scenario()
def prefetch_per_consumer(run: Run) -> Any:
    """qos(2, global=false) limits each consumer to 2 unacked."""
    return _prefetch(run, [M.basic_qos(count=2), "a", "b"])


@scenario()
def prefetch_global(run: Run) -> Any:
    """qos(3, global=true) limits the whole channel to 3 unacked."""
    return _prefetch(run, [M.basic_qos(count=3, global_=True), "a", "b"])


@scenario()
def prefetch_both(run: Run) -> Any:
    """Per-consumer 1 and channel-wide 3 together."""
    return _prefetch(run, [M.basic_qos(count=3, global_=True), M.basic_qos(count=1), "a", "b"])


@scenario()
def prefetch_applies_to_later_consumers(run: Run) -> Any:
    """A qos change applies to consumers created after it, not to existing ones."""
    return _prefetch(run, [M.basic_qos(count=1), "a", M.basic_qos(count=3), "b"])


@scenario()
def ack_frees_prefetch(run: Run) -> Any:
    """With prefetch 1, each ack releases the next delivery."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w)
    w.ok(1, M.basic_qos(count=1), "Basic.QosOk")
    w.ok(1, M.basic_consume(q, "c"), "Basic.ConsumeOk")
    fill(w, q, b"m0", b"m1", b"m2")
    out = []
    for _ in range(3):
        (d,) = deliveries(w, 1, channel=1)
        out.append([brief(d), passive(w, q, 2)])
        w.m(1, M.basic_ack(d["delivery_tag"]))
    return [*out, w.probe(1)]


@scenario()
def no_ack_consumer_ignores_prefetch(run: Run) -> Any:
    """A no-ack consumer gets everything, whatever the prefetch."""
    w = run.raw()
    q = _queue(run, w)
    w.ok(1, M.basic_qos(count=1), "Basic.QosOk")
    w.ok(1, M.basic_consume(q, "c", no_ack=True, no_local=True), "Basic.ConsumeOk")
    fill(w, q, b"m0", b"m1", b"m2")
    got = [brief(d) for d in deliveries(w, 3, channel=1)]
    w.open(2)
    return [*got, passive(w, q, 2)]


@scenario()
def nack_requeue_to_consumer(run: Run) -> Any:
    """A nacked delivery comes back to the consumer, redelivered, with a new tag."""
    w = run.raw()
    q = _queue(run, w)
    w.ok(1, M.basic_qos(count=1), "Basic.QosOk")
    w.ok(1, M.basic_consume(q, "c"), "Basic.ConsumeOk")
    fill(w, q, b"m0", b"m1")
    (first,) = deliveries(w, 1, channel=1)
    w.m(1, M.basic_nack(first["delivery_tag"]))
    (again,) = deliveries(w, 1, channel=1)
    w.m(1, M.basic_reject(again["delivery_tag"], requeue=False))
    (last,) = deliveries(w, 1, channel=1)
    return [brief(first), brief(again), brief(last)]
