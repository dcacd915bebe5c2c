"""Message TTL: x-message-ttl and the expiration property (the lower wins), removal of expired
messages at the head only, requeued messages keeping their expiry, TTL 0, and the 406s for bad
expiration values.

Nothing here waits a fixed time.  Expiry is observed by polling passive declares up to a
deadline; to know that a message *behind* the head has expired without seeing it leave, a
witness — a message with the same TTL, published after it to a queue of its own — is polled
until it is gone.  What a broker only does when it gets round to it is observed after a
round trip that RabbitMQ orders after it (a basic.get on the same channel).
"""

from __future__ import annotations

from typing import Any

from amqpbroker.testing.polling import DEADLINE, settle, settle_async

from ..registry import scenario
from ..runner import Run
from ..wire import M, T, Wire, properties
from .common import deliveries, fill, passive


def _queue(run: Run, w: Wire, ttl: Any = None, channel: int = 1) -> str:
    q = run.queue()
    args = None if ttl is None else {"x-message-ttl": ttl}
    w.ok(channel, M.queue_declare(q, exclusive=True, args=args), "Queue.DeclareOk")
    return q


def _expiring(w: Wire, q: str, body: bytes, expiration: str) -> None:
    """A confirmed publish with the expiration property."""
    flags, props = properties(expiration=expiration)
    fill(w, q, body, flags=flags, props=props)


def _count(w: Wire, q: str, channel: int = 1) -> int:
    got = w.call(channel, M.queue_declare(q, passive=True))
    if got.get("method") != "Queue.DeclareOk":
        raise AssertionError(f"passive declare of {q}: {got}")
    return int(got["message_count"])


def _counts_until(w: Wire, q: str, done: Any, channel: int = 1) -> list[Any]:
    """Poll message_count until ``done(count)``: the distinct counts seen, in order (with
    'deadline' appended if it never happened)."""
    seen: list[Any] = []

    def count() -> int:
        current = _count(w, q, channel)
        if not seen or seen[-1] != current:
            seen.append(current)
        return current

    return seen if done(settle(count, done)) else [*seen, "deadline"]


def _until_empty(w: Wire, q: str, channel: int = 1) -> Any:
    """Poll until the queue has no ready messages; its last passive declare-ok counts."""
    seen = _counts_until(w, q, lambda count: count == 0, channel)
    return passive(w, q, channel) if seen[-1] == 0 else seen


def _wait_past(run: Run, w: Wire, ttl_ms: int) -> None:
    """Return once every message confirmed before this call with a TTL of at most ``ttl_ms``
    has expired (a witness with that TTL has left its queue)."""
    witness = _queue(run, w, ttl_ms)
    fill(w, witness, b"witness")
    seen = _counts_until(w, witness, lambda count: count == 0)
    if seen[-1] != 0:
        raise AssertionError(f"the witness never expired: {seen}")
    w.ok(1, M.queue_delete(witness), "Queue.DeleteOk")


def _marker_first(w: Wire, q: str, channel: int = 2) -> Any:
    """A consumer starting now, then a marker published: its first delivery (the marker,
    if nothing expired was handed out)."""
    w.open(channel)
    w.ok(channel, M.basic_consume(q, "late", no_ack=True), "Basic.ConsumeOk")
    fill(w, q, b"marker")
    return deliveries(w, 1, channel=channel)[0]


# -- expiry --------------------------------------------------------------------------------
@scenario()
def queue_ttl_expires(run: Run) -> Any:
    """x-message-ttl 100: the count drops to 0, basic.get is empty, a consumer gets nothing
    of it."""
    w = run.raw()
    q = _queue(run, w, 100)
    fill(w, q, b"m1", b"m2", b"m3")
    return {
        "emptied": _until_empty(w, q),
        "get": w.call(1, M.basic_get(q, no_ack=True)),
        "consumer": _marker_first(w, q),
    }


@scenario()
def message_expiration_expires(run: Run) -> Any:
    """expiration '100': the count drops to 0, basic.get is empty, a consumer gets nothing
    of it."""
    w = run.raw()
    q = _queue(run, w)
    _expiring(w, q, b"m1", "100")
    _expiring(w, q, b"m2", "100")
    return {
        "emptied": _until_empty(w, q),
        "get": w.call(1, M.basic_get(q, no_ack=True)),
        "consumer": _marker_first(w, q),
    }


@scenario()
def delivered_before_expiry(run: Run) -> Any:
    """Unexpired messages are delivered with their expiration property as published."""
    w = run.raw()
    q = _queue(run, w, 60000)
    _expiring(w, q, b"m1", "60000")
    _expiring(w, q, b"m2", "+060000")
    fill(w, q, b"m3")
    return [w.call(1, M.basic_get(q, no_ack=True)) for _ in range(4)]


@scenario()
def lower_ttl_wins(run: Run) -> Any:
    """x-message-ttl 100 with expiration 60000, and 60000 with 100: both gone at 100 ms."""
    w = run.raw()
    out = []
    for queue_ttl, expiration in ((100, "60000"), (60000, "100")):
        q = _queue(run, w, queue_ttl)
        _expiring(w, q, b"m", expiration)
        out.append([_until_empty(w, q), w.call(1, M.basic_get(q, no_ack=True))])
    return out


@scenario()
def ttl_argument_integer_widths(run: Run) -> Any:
    """x-message-ttl as short, long-long, byte and unsigned int: each expires messages."""
    w = run.raw()
    out = []
    for kind in ("s", "l", "b", "i"):
        q = _queue(run, w, T(kind, 100))
        fill(w, q, b"m")
        out.append(_until_empty(w, q))
    return out


# -- removal at the head -------------------------------------------------------------------
@scenario()
def expired_behind_live_head(run: Run) -> Any:
    """An expired message behind a live head is counted until the head is taken; then it is
    gone at once (already in the get-ok's message_count), and never handed out."""
    w = run.raw()
    q = _queue(run, w)
    fill(w, q, b"live")
    _expiring(w, q, b"dead", "100")
    _wait_past(run, w, 100)
    return {
        "before": passive(w, q),
        "get": w.call(1, M.basic_get(q, no_ack=True)),
        "after": passive(w, q),
        "get_again": w.call(1, M.basic_get(q, no_ack=True)),
    }


@scenario()
def get_ok_count_skips_expired(run: Run) -> Any:
    """live, dead (expired), live2: the get-ok for 'live' counts only 'live2'."""
    w = run.raw()
    q = _queue(run, w)
    fill(w, q, b"live")
    _expiring(w, q, b"dead", "100")
    fill(w, q, b"live2")
    _wait_past(run, w, 100)
    return [passive(w, q)] + [w.call(1, M.basic_get(q, no_ack=True)) for _ in range(3)]


@scenario()
def purge_and_delete_count_expired(run: Run) -> Any:
    """purge-ok and delete-ok count an expired message that has not reached the head."""
    w = run.raw()
    purged, deleted = _queue(run, w), _queue(run, w)
    for q in (purged, deleted):
        fill(w, q, b"live")
        _expiring(w, q, b"dead", "100")
    _wait_past(run, w, 100)
    return [w.call(1, M.queue_purge(purged)), w.call(1, M.queue_delete(deleted))]


@scenario()
def expired_leaves_with_longer_lived_head(run: Run) -> Any:
    """'b' (100 ms) behind 'a' (300 ms): counted until 'a' expires, then both leave at once."""
    w = run.raw()
    q = _queue(run, w)
    _expiring(w, q, b"a", "300")
    _expiring(w, q, b"b", "100")
    _wait_past(run, w, 100)
    return _counts_until(w, q, lambda count: count < 2)


@scenario()
def expired_behind_unacked_delivery(run: Run) -> Any:
    """A consumer at its prefetch limit: the message waiting behind expires at the head of the
    ready messages and is not delivered after the ack."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w)
    w.ok(2, M.basic_qos(count=1), "Basic.QosOk")
    w.ok(2, M.basic_consume(q, "c"), "Basic.ConsumeOk")
    fill(w, q, b"live")
    _expiring(w, q, b"dead", "100")
    delivered = deliveries(w, 1, channel=2)
    _wait_past(run, w, 100)
    emptied = _until_empty(w, q)
    w.m(2, M.basic_ack(1))
    return {
        "delivered": delivered,
        "emptied": emptied,
        "after_ack": w.call(2, M.basic_get(q, no_ack=True)),
    }


# -- requeue keeps the expiry --------------------------------------------------------------
@scenario()
def requeue_after_expiry_get(run: Run) -> Any:
    """basic.get, wait past the TTL, nack with requeue: the message is gone."""
    w = run.raw()
    q = _queue(run, w, 100)
    fill(w, q, b"m1")
    got = w.call(1, M.basic_get(q))
    _wait_past(run, w, 100)
    w.m(1, M.basic_nack(1, requeue=True))
    return [got, w.call(1, M.basic_get(q, no_ack=True)), passive(w, q)]


@scenario()
def requeue_after_expiry_consumer(run: Run) -> Any:
    """A consumer's unacked delivery, past its TTL, nacked and rejected with requeue: not
    redelivered, not in the queue."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w, 100)
    w.ok(2, M.basic_consume(q, "c"), "Basic.ConsumeOk")
    fill(w, q, b"m1", b"m2")
    delivered = deliveries(w, 2, channel=2)
    _wait_past(run, w, 100)
    w.m(2, M.basic_nack(1, requeue=True))
    w.m(2, M.basic_reject(2, requeue=True))
    # On the consumer's channel: a redelivery would arrive before this get's reply.
    return [delivered, w.call(2, M.basic_get(q, no_ack=True)), passive(w, q)]


@scenario()
def requeue_on_channel_close_after_expiry(run: Run) -> Any:
    """Unacked 'dies' (expired) and 'lives' requeued by closing the consumer's channel: only
    'lives' comes back, redelivered."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w)
    w.ok(2, M.basic_consume(q, "c"), "Basic.ConsumeOk")
    _expiring(w, q, b"dies", "100")
    fill(w, q, b"lives")
    delivered = deliveries(w, 2, channel=2)
    _wait_past(run, w, 100)
    closed = w.call(2, M.channel_close())
    seen = _counts_until(w, q, lambda count: count != 0)
    return {
        "delivered": delivered,
        "closed": closed,
        "final_count": seen[-1],
        "two_seen": 2 in seen,
        "get": w.call(1, M.basic_get(q, no_ack=True)),
    }


@scenario()
def requeue_before_expiry(run: Run) -> Any:
    """Requeued before its TTL (1 s): back in the queue, redelivered; later it expires."""
    w = run.raw()
    q = _queue(run, w, 1000)
    fill(w, q, b"m1")
    got = w.call(1, M.basic_get(q))
    w.m(1, M.basic_reject(1, requeue=True))
    # Ordered after the reject (a passive declare is not, in RabbitMQ): it is back.
    again = w.call(1, M.basic_get(q))
    w.m(1, M.basic_reject(2, requeue=True))
    # RabbitMQ answers a passive declare ahead of a pending reject: wait for it to be back.
    back = _counts_until(w, q, lambda count: count != 0)[-1]
    return [got, again, back, _until_empty(w, q)]


# -- TTL 0 ---------------------------------------------------------------------------------
@scenario()
def ttl_zero_waiting_consumer(run: Run) -> Any:
    """x-message-ttl 0 with a consumer waiting: delivered."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w, 0)
    w.ok(2, M.basic_consume(q, "c", no_ack=True), "Basic.ConsumeOk")
    fill(w, q, b"now")
    return deliveries(w, 1, channel=2)


@scenario()
def ttl_zero_no_consumer(run: Run) -> Any:
    """x-message-ttl 0 without a consumer: dropped at once."""
    w = run.raw()
    q = _queue(run, w, 0)
    fill(w, q, b"nobody")
    return [passive(w, q), w.call(1, M.basic_get(q, no_ack=True))]


@scenario()
def ttl_zero_consumer_at_limit(run: Run) -> Any:
    """x-message-ttl 0, consumer with prefetch 1: the first is delivered, the second (the
    consumer being full) dropped."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w, 0)
    w.ok(2, M.basic_qos(count=1), "Basic.QosOk")
    w.ok(2, M.basic_consume(q, "c"), "Basic.ConsumeOk")
    fill(w, q, b"taken")
    delivered = deliveries(w, 1, channel=2)
    fill(w, q, b"dropped")
    count = passive(w, q)
    w.m(2, M.basic_ack(1))
    return [delivered, count, w.call(2, M.basic_get(q, no_ack=True))]


@scenario()
def expiration_zero(run: Run) -> Any:
    """expiration '0' with a consumer at prefetch 1: the first delivered, the second dropped,
    a message without expiration waits."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w)
    w.ok(2, M.basic_qos(count=1), "Basic.QosOk")
    w.ok(2, M.basic_consume(q, "c"), "Basic.ConsumeOk")
    _expiring(w, q, b"taken", "0")
    delivered = deliveries(w, 1, channel=2)
    _expiring(w, q, b"dropped", "0")
    fill(w, q, b"waits")
    return [delivered, passive(w, q), w.call(1, M.basic_get(q, no_ack=True))]


# -- expiration values ---------------------------------------------------------------------
def _publish_expiration(run: Run, value: str | bytes) -> Any:
    """Publish with this expiration: the 406 channel.close, or (accepted) a probe's reply."""
    w = run.raw()
    q = _queue(run, w)
    flags, props = properties(expiration=value)
    w.publish(1, "", q, b"x", flags=flags, props=props)
    return w.probe(1)


BAD_EXPIRATIONS: list[str | bytes] = [
    "",
    " 5",
    "-",
    "\uff11\uff12",
    "1.5",
    "100abc",
    "5 ",
    "0x10",
    '5"q',
    "5\\",
    "5\u00e9",
    "5\u0100",
    b"5\xff",
    b"5\x01",
    "5\n",
    "315360000001",
    "9" * 18,
    "9" * 19,
    "9" * 22,
]


@scenario()
def invalid_expiration_values(run: Run) -> Any:
    """Expiration values RabbitMQ rejects: 406 no_integer, leftover_string (the leftover
    octets printed by Erlang's ~p: a quoted, escaped string if printable Latin-1, else a list
    of integers), value_too_large (wrapped by ~p from 19 digits)."""
    return [_publish_expiration(run, value) for value in BAD_EXPIRATIONS]


@scenario()
def accepted_expiration_values(run: Run) -> Any:
    """A sign, leading zeros, -0 and up to ten years (315360000000 ms) are accepted."""
    return [
        _publish_expiration(run, value)
        for value in ("+5", "-0", "00100", "4294967296", "315360000000")
    ]


# -- clients -------------------------------------------------------------------------------
@scenario()
def pika_queue_and_message_ttl(run: Run) -> Any:
    """pika: x-message-ttl and expiration expire messages; basic_get sees an empty queue."""
    import pika  # noqa: PLC0415

    conn = run.pika()
    ch = conn.channel()
    ch.confirm_delivery()
    out = []
    for ttl, expiration in ((100, None), (None, "100")):
        args = {} if ttl is None else {"x-message-ttl": ttl}
        q = ch.queue_declare(run.queue(), exclusive=True, arguments=args).method.queue
        ch.basic_publish("", q, b"m", pika.BasicProperties(expiration=expiration))
        count = settle(
            lambda q=q: ch.queue_declare(q, passive=True).method.message_count,
            lambda count: count == 0,
        )
        out.append([count, ch.basic_get(q, auto_ack=True)[0]])
    return out


@scenario()
async def aio_pika_requeue_after_expiry(run: Run) -> Any:
    """aio-pika: a consumed message nacked with requeue after its TTL is gone."""
    import asyncio  # noqa: PLC0415

    import aio_pika  # noqa: PLC0415

    conn = await run.aio()
    ch = await conn.channel()
    q = await ch.declare_queue(run.queue(), exclusive=True, arguments={"x-message-ttl": 100})
    witness = await ch.declare_queue(run.queue(), exclusive=True, arguments={"x-message-ttl": 100})
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    await q.consume(inbox.put)
    await ch.default_exchange.publish(aio_pika.Message(b"m1"), routing_key=q.name)
    first = await asyncio.wait_for(inbox.get(), DEADLINE)
    await ch.default_exchange.publish(aio_pika.Message(b"w"), routing_key=witness.name)

    async def witness_count() -> int:
        declared = await ch.declare_queue(witness.name, passive=True)
        return int(declared.declaration_result.message_count or 0)

    await settle_async(witness_count, lambda count: count == 0)
    await first.nack(requeue=True)
    after = await q.get(no_ack=True, fail=False)
    declared = await ch.declare_queue(q.name, passive=True)  # a round trip more for the inbox
    count = declared.declaration_result.message_count
    return [first.body.decode(), first.redelivered, after, count, inbox.qsize()]


@scenario()
async def aio_pika_ttl_zero_consumer(run: Run) -> Any:
    """aio-pika: x-message-ttl 0 delivers to a waiting consumer."""
    import asyncio  # noqa: PLC0415

    import aio_pika  # noqa: PLC0415

    conn = await run.aio()
    ch = await conn.channel()
    q = await ch.declare_queue(run.queue(), exclusive=True, arguments={"x-message-ttl": 0})
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    await q.consume(inbox.put, no_ack=True)
    await ch.default_exchange.publish(aio_pika.Message(b"now"), routing_key=q.name)
    try:
        got = await asyncio.wait_for(inbox.get(), 5.0)
    except TimeoutError:
        return "nothing delivered"
    return [got.body.decode(), got.redelivered]
