"""basic: publish, get, ack / nack / reject, recover, qos errors, returns."""

from __future__ import annotations

from typing import Any

from amqpbroker.testing.polling import settle

from ..registry import scenario
from ..runner import Run
from ..wire import M, Wire
from .common import brief, deliveries, fill, get_all, passive


def _queue_with(run: Run, *bodies: bytes, channel: int = 1) -> tuple[Wire, str]:
    """A raw connection and an exclusive queue holding ``bodies``."""
    w = run.raw(channel)
    q = run.queue()
    w.ok(channel, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    fill(w, q, *bodies)
    return w, q


def _get_tags(w: Wire, q: str, count: int, channel: int = 1) -> None:
    for _ in range(count):
        w.ok(channel, M.basic_get(q), "Basic.GetOk")


@scenario()
def publish_to_missing_exchange(run: Run) -> Any:
    """basic.publish to a missing exchange: channel.close 404 (class 60.40)."""
    w = run.raw()
    w.publish(1, run.exchange(), "k", b"x")
    return w.reply(channel=1)


@scenario()
def publish_to_amq_default(run: Run) -> Any:
    """'amq.default' is not a name for the default exchange: 404."""
    w = run.raw()
    w.publish(1, "amq.default", "k", b"x")
    return w.reply(channel=1)


@scenario()
def publish_immediate(run: Run) -> Any:
    """immediate=true: connection.close 540 NOT_IMPLEMENTED."""
    w = run.raw()
    w.publish(1, "amq.direct", "k", b"x", immediate=True)
    return w.reply()


@scenario()
def publish_mandatory_unroutable(run: Run) -> Any:
    """mandatory and unroutable: basic.return 312 NO_ROUTE with the content; the channel
    stays open."""
    w = run.raw()
    w.publish(1, "amq.direct", f"nowhere-{run.token}", b"returned", mandatory=True)
    return [w.reply(channel=1), w.probe(1)]


@scenario()
def publish_unroutable_silently_dropped(run: Run) -> Any:
    """Unroutable without mandatory: dropped, nothing comes back."""
    w = run.raw()
    w.publish(1, "amq.direct", f"nowhere-{run.token}", b"dropped")
    return w.probe(1)


@scenario()
def get_empty_and_get_ok(run: Run) -> Any:
    """get-empty; get-ok with delivery tag, exchange, key and remaining message_count."""
    w, q = _queue_with(run)
    empty = w.call(1, M.basic_get(q))
    fill(w, q, b"m0", b"m1", b"m2")
    return {"empty": empty, "first": w.call(1, M.basic_get(q)), "rest": get_all(w, q)}


@scenario()
def get_missing_queue(run: Run) -> Any:
    """basic.get on a missing queue: 404."""
    w = run.raw()
    return w.call(1, M.basic_get(run.queue()))


@scenario()
def ack_unknown_tags(run: Run) -> Any:
    """ack / nack / reject of a tag never delivered: 406 unknown delivery tag (class.method
    of each)."""
    w = run.raw()
    return [
        w.attempt(1, M.basic_ack(1)),
        w.attempt(1, M.basic_nack(7)),
        w.attempt(1, M.basic_reject(7)),
        w.attempt(1, M.basic_ack(0)),
    ]


@scenario()
def ack_zero_multiple_with_nothing_outstanding(run: Run) -> Any:
    """ack(0, multiple) with nothing outstanding is fine."""
    w = run.raw()
    w.m(1, M.basic_ack(0, multiple=True))
    return w.probe(1)


@scenario()
def ack_twice(run: Run) -> Any:
    """The second ack of the same tag: 406."""
    w, q = _queue_with(run, b"a")
    _get_tags(w, q, 1)
    w.m(1, M.basic_ack(1))
    return w.call(1, M.basic_ack(1))


@scenario()
def ack_multiple_beyond_delivered(run: Run) -> Any:
    """ack(5, multiple) with tags 1 and 2 outstanding: 406 unknown delivery tag 5."""
    w, q = _queue_with(run, b"a", b"b")
    _get_tags(w, q, 2)
    return w.call(1, M.basic_ack(5, multiple=True))


@scenario()
def ack_multiple(run: Run) -> Any:
    """ack(2, multiple) acks 1 and 2: acking 1 again is 406; 3 is still ackable."""
    w, q = _queue_with(run, b"a", b"b", b"c")
    _get_tags(w, q, 3)
    w.m(1, M.basic_ack(2, multiple=True))
    w.m(1, M.basic_ack(3))
    return [w.probe(1), w.call(1, M.basic_ack(1))]


@scenario()
def ack_of_no_ack_get(run: Run) -> Any:
    """A tag delivered by a no-ack get cannot be acked: 406."""
    w, q = _queue_with(run, b"a")
    w.ok(1, M.basic_get(q, no_ack=True), "Basic.GetOk")
    return w.call(1, M.basic_ack(1))


@scenario()
def ack_on_another_channel(run: Run) -> Any:
    """Delivery tags are per channel: acking on another channel is 406."""
    w, q = _queue_with(run, b"a")
    w.open(2)
    _get_tags(w, q, 1)
    return w.call(2, M.basic_ack(1))


@scenario()
def nack_and_reject_requeue(run: Run) -> Any:
    """Requeued messages go back to their original position, redelivered."""
    w, q = _queue_with(run, b"m0", b"m1", b"m2", b"m3")
    _get_tags(w, q, 3)
    w.m(1, M.basic_nack(3))
    w.m(1, M.basic_reject(1))
    return get_all(w, q)


@scenario()
def nack_multiple_requeue(run: Run) -> Any:
    """nack(0, multiple, requeue) requeues everything outstanding, in order."""
    w, q = _queue_with(run, b"m0", b"m1", b"m2")
    _get_tags(w, q, 3)
    w.m(1, M.basic_nack(0, multiple=True))
    return [w.call(1, M.basic_get(q)), get_all(w, q)]


@scenario()
def reject_and_nack_without_requeue(run: Run) -> Any:
    """reject / nack with requeue=false drop the messages."""
    w, q = _queue_with(run, b"m0", b"m1", b"m2", b"m3")
    _get_tags(w, q, 3)
    w.m(1, M.basic_reject(1, requeue=False))
    w.m(1, M.basic_nack(3, multiple=True, requeue=False))
    return get_all(w, q)


@scenario()
def requeue_on_channel_close(run: Run) -> Any:
    """Unacked deliveries return to the queue, in order and redelivered, on channel close."""
    w, q = _queue_with(run, b"m0", b"m1", b"m2", b"m3")
    w.open(2)
    w.ok(2, M.basic_consume(q, "c"), "Basic.ConsumeOk")
    got = [brief(d) for d in deliveries(w, 4, channel=2)]
    w.m(2, M.basic_ack(2))
    w.ok(2, M.channel_close(), "Channel.CloseOk")
    return {"delivered": got, "after": get_all(w, q)}


@scenario()
def requeue_on_connection_close(run: Run) -> Any:
    """Unacked deliveries return on connection close (polled: RabbitMQ does it async)."""
    consumer = run.raw()
    q = run.queue()
    consumer.ok(1, M.queue_declare(q), "Queue.DeclareOk")
    fill(consumer, q, b"m0", b"m1", b"m2")
    _get_tags(consumer, q, 2)
    consumer.ok(0, M.connection_close(), "Connection.CloseOk")
    w = run.raw()
    settle(lambda: passive(w, q)[0], lambda count: count == 3)
    return get_all(w, q)


@scenario()
def recover_requeue_consumer(run: Run) -> Any:
    """basic.recover requeue=true: recover-ok, then redeliveries with new tags."""
    w, q = _queue_with(run, b"m0", b"m1")
    w.ok(1, M.basic_consume(q, "c"), "Basic.ConsumeOk")
    first = [brief(d) for d in deliveries(w, 2)]
    w.m(1, M.basic_recover(True))
    return {"first": first, "then": [w.reply(), *[brief(d) for d in deliveries(w, 2)]]}


@scenario()
def recover_requeue_get(run: Run) -> Any:
    """basic.recover after gets: the messages go back to the queue, redelivered."""
    w, q = _queue_with(run, b"m0", b"m1")
    _get_tags(w, q, 2)
    return [w.call(1, M.basic_recover(True)), get_all(w, q)]


@scenario()
def recover_without_requeue(run: Run) -> Any:
    """basic.recover requeue=false: connection.close 540."""
    w = run.raw()
    return w.call(1, M.basic_recover(False))


@scenario()
def recover_async(run: Run) -> Any:
    """basic.recover-async requeue=true: no reply; requeue=false: 540."""
    w = run.raw()
    w.m(1, M.basic_recover_async(True))
    return [w.probe(1), w.call(1, M.basic_recover_async(False))]


@scenario()
def qos_prefetch_size(run: Run) -> Any:
    """basic.qos prefetch_size != 0: connection.close 540."""
    w = run.raw()
    return w.call(1, M.basic_qos(size=1, count=5))


@scenario()
def qos_ok(run: Run) -> Any:
    """basic.qos with counts and global flags: qos-ok."""
    w = run.raw()
    return [
        w.call(1, M.basic_qos(count=65535, global_=True)),
        w.call(1, M.basic_qos(count=0)),
    ]
