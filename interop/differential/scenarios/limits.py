"""Length limits and queue expiry: x-max-length and x-max-length-bytes with each x-overflow
behaviour (drop-head, reject-publish, reject-publish-dlx), what counts toward a limit, and
x-expires (what keeps an unused queue alive).

Publishes go through a confirm-mode channel (``common.publish``), so each observation
includes the basic.ack / basic.nack a full queue produces.  Whether a queue still exists is
probed with a mandatory publish through the default exchange (a basic.return once it is
gone): unlike a passive declare or a basic.get, publishing does not count as using a queue
for x-expires.  Expiry is polled up to a deadline; a queue's staying alive is shown against
a witness queue declared right after it with the same x-expires.
"""

from __future__ import annotations

import time
from typing import Any

from amqpbroker.testing.polling import settle

from ..registry import scenario
from ..runner import Run
from ..wire import M, Wire, properties
from .common import fill, get_all, passive, publish
from .dlx import counts_until, take


def _queue(run: Run, w: Wire, exclusive: bool = True, **args: Any) -> str:
    q = run.queue()
    w.ok(1, M.queue_declare(q, exclusive=exclusive, args=args or None), "Queue.DeclareOk")
    return q


def _confirms(w: Wire, q: str, *bodies: bytes, **publish_args: Any) -> list[Any]:
    """Publish each body to ``q`` (confirmed): the methods that came back for each."""
    return [
        [got.get("method") for got in publish(w, "", q, body, **publish_args)] for body in bodies
    ]


def _body(got: Any) -> Any:
    """The body of a described message, or what came instead ('deadline')."""
    return got["body"] if isinstance(got, dict) and "body" in got else got


def _dead_lettered_to(run: Run, w: Wire) -> tuple[str, str]:
    """(exchange, queue): a fanout exchange with one queue bound."""
    dead = _queue(run, w)
    x = run.exchange()
    w.ok(1, M.exchange_declare(x, "fanout"), "Exchange.DeclareOk")
    w.ok(1, M.queue_bind(dead, x, ""), "Queue.BindOk")
    return x, dead


# -- drop-head -----------------------------------------------------------------------------
@scenario()
def drop_head_max_length(run: Run) -> Any:
    """x-max-length 2: five publishes all acked; the two newest remain."""
    w = run.raw()
    q = _queue(run, w, **{"x-max-length": 2})
    acks = _confirms(w, q, b"m1", b"m2", b"m3", b"m4", b"m5")
    return [acks, passive(w, q), get_all(w, q, no_ack=True)]


@scenario()
def drop_head_max_length_bytes(run: Run) -> Any:
    """x-max-length-bytes 10 counts body bytes: four 4-byte bodies leave two; a body of
    exactly 10 bytes leaves itself alone; an 11-byte body is dropped itself."""
    w = run.raw()
    out = []
    for bodies in (
        (b"aaaa", b"bbbb", b"cccc", b"dddd"),
        (b"aaaa", b"0123456789"),
        (b"aaaa", b"0123456789a"),
    ):
        q = _queue(run, w, **{"x-max-length-bytes": 10})
        out.append([_confirms(w, q, *bodies), passive(w, q), get_all(w, q, no_ack=True)])
    return out


@scenario()
def max_length_bytes_ignores_properties(run: Run) -> Any:
    """x-max-length-bytes 4: a 4-byte body with large headers fits; one more byte does not."""
    w = run.raw()
    q = _queue(run, w, **{"x-max-length-bytes": 4})
    flags, props = properties(headers={"padding": "x" * 1000}, message_id="m" * 200)
    fill(w, q, b"abcd", flags=flags, props=props)
    kept = passive(w, q)
    fill(w, q, b"e")
    return [kept, passive(w, q), get_all(w, q, no_ack=True)]


@scenario()
def both_limits(run: Run) -> Any:
    """x-max-length 3 and x-max-length-bytes 6: whichever is reached first drops the head."""
    w = run.raw()
    q = _queue(run, w, **{"x-max-length": 3, "x-max-length-bytes": 6})
    fill(w, q, b"1", b"22", b"333")
    first = passive(w, q)
    fill(w, q, b"4")
    return [first, get_all(w, q, no_ack=True)]


@scenario()
def max_length_zero(run: Run) -> Any:
    """x-max-length 0: drop-head acks and drops (dead-lettering as maxlen with a DLX);
    reject-publish nacks."""
    w = run.raw()
    x, dead = _dead_lettered_to(run, w)
    drop = _queue(run, w, **{"x-max-length": 0, "x-dead-letter-exchange": x})
    reject = _queue(run, w, **{"x-max-length": 0, "x-overflow": "reject-publish"})
    return {
        "drop_head": [_confirms(w, drop, b"m"), passive(w, drop), take(w, dead)],
        "reject_publish": [_confirms(w, reject, b"m"), passive(w, reject)],
    }


@scenario()
def drop_head_unacked_not_counted(run: Run) -> Any:
    """x-max-length 1 (DLX): an unacked message does not count; requeued, it comes back
    beyond the limit and drop-head applies at once (the requeued head goes, as maxlen)."""
    w = run.raw()
    w.open(2)
    x, dead = _dead_lettered_to(run, w)
    q = _queue(run, w, **{"x-max-length": 1, "x-dead-letter-exchange": x})
    fill(w, q, b"m1")
    got = w.call(2, M.basic_get(q))["body"]
    fill(w, q, b"m2")
    with_unacked = passive(w, q)
    fill(w, q, b"m3")
    w.m(2, M.basic_nack(1, requeue=True))
    # basic.get on the nacking channel is ordered after the nack.
    after_requeue = get_all(w, q, channel=2, no_ack=True)
    arrived = counts_until(w, dead, lambda count: count == 2)[-1]
    return {
        "got": got,
        "with_unacked": with_unacked,
        "after_requeue": after_requeue,
        "arrived": arrived,
        "dead": [_body(take(w, dead)), _body(take(w, dead)), passive(w, dead)],
    }


@scenario()
def drop_head_requeue_over_limit(run: Run) -> Any:
    """x-max-length 2 (DLX): two unacked and two ready; requeuing the two puts four in a
    queue of two: the requeued ones, now at the head, are dropped as maxlen."""
    w = run.raw()
    w.open(2)
    x, dead = _dead_lettered_to(run, w)
    q = _queue(run, w, **{"x-max-length": 2, "x-dead-letter-exchange": x})
    fill(w, q, b"m1", b"m2")
    w.call(2, M.basic_get(q))
    w.call(2, M.basic_get(q))
    fill(w, q, b"m3", b"m4")
    w.m(2, M.basic_nack(0, multiple=True, requeue=True))
    after_requeue = get_all(w, q, channel=2, no_ack=True)
    arrived = counts_until(w, dead, lambda count: count == 2)[-1]
    return {
        "after_requeue": after_requeue,
        "arrived": arrived,
        "dead": [take(w, dead), _body(take(w, dead)), passive(w, dead)],
    }


@scenario()
def reject_publish_requeue_over_limit(run: Run) -> Any:
    """reject-publish, x-max-length 1: a requeued message takes the queue beyond its limit
    (nothing is dropped); publishes are nacked until it is back under."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w, **{"x-max-length": 1, "x-overflow": "reject-publish"})
    fill(w, q, b"m1")
    w.call(2, M.basic_get(q))
    accepted = _confirms(w, q, b"m2")
    w.m(2, M.basic_nack(1, requeue=True))
    contents = w.call(2, M.basic_get(q))  # ordered after the nack
    return {
        "accepted": accepted,
        "head": [contents.get("body"), contents.get("message_count")],
        "full": _confirms(w, q, b"m3"),
        "contents": get_all(w, q, no_ack=True),
    }


# -- reject-publish ------------------------------------------------------------------------
@scenario()
def reject_publish_nacks(run: Run) -> Any:
    """x-overflow reject-publish, x-max-length 2: the third publish is nacked and not
    enqueued; after one is taken, a publish is acked again."""
    w = run.raw()
    q = _queue(run, w, **{"x-max-length": 2, "x-overflow": "reject-publish"})
    first = _confirms(w, q, b"m1", b"m2", b"m3")
    w.call(1, M.basic_get(q, no_ack=True))
    again = _confirms(w, q, b"m4", b"m5")
    return [first, again, get_all(w, q, no_ack=True)]


@scenario()
def reject_publish_frames(run: Run) -> Any:
    """The confirm frames themselves: ack, then nack (delivery tag, multiple, requeue)."""
    w = run.raw()
    q = _queue(run, w, **{"x-max-length": 1, "x-overflow": "reject-publish"})
    return [publish(w, "", q, b"m1"), publish(w, "", q, b"m2"), publish(w, "", q, b"m3")]


@scenario()
def reject_publish_bytes(run: Run) -> Any:
    """reject-publish with x-max-length-bytes 5: 'abc' and 'de' fit, 'f' does not, a body
    larger than the limit never does."""
    w = run.raw()
    q = _queue(run, w, **{"x-max-length-bytes": 5, "x-overflow": "reject-publish"})
    acks = _confirms(w, q, b"abc", b"de", b"f")
    big = _queue(run, w, **{"x-max-length-bytes": 5, "x-overflow": "reject-publish"})
    return [acks, get_all(w, q, no_ack=True), _confirms(w, big, b"123456"), passive(w, big)]


@scenario()
def reject_publish_without_confirms(run: Run) -> Any:
    """Without confirms a rejected publish is dropped silently; the channel stays open."""
    w = run.raw()
    q = _queue(run, w, **{"x-max-length": 1, "x-overflow": "reject-publish"})
    for body in (b"m1", b"m2", b"m3"):
        w.publish(1, "", q, body)
    return [w.probe(1)["method"], get_all(w, q, no_ack=True)]


@scenario()
def reject_publish_mandatory(run: Run) -> Any:
    """A mandatory publish to a full reject-publish queue: nacked, not returned."""
    w = run.raw()
    q = _queue(run, w, **{"x-max-length": 1, "x-overflow": "reject-publish"})
    fill(w, q, b"m1")
    return publish(w, "", q, b"m2", mandatory=True)


@scenario()
def reject_publish_one_of_two_queues(run: Run) -> Any:
    """A fanout to a full reject-publish queue and an open one: the publisher gets a nack;
    the open queue has the message."""
    w = run.raw()
    full = _queue(run, w, **{"x-max-length": 1, "x-overflow": "reject-publish"})
    other = _queue(run, w)
    x = run.exchange()
    w.ok(1, M.exchange_declare(x, "fanout"), "Exchange.DeclareOk")
    for q in (full, other):
        w.ok(1, M.queue_bind(q, x, ""), "Queue.BindOk")
    first = [f.get("method") for f in publish(w, x, "", b"m1")]
    second = [f.get("method") for f in publish(w, x, "", b"m2")]
    return [first, second, get_all(w, full, no_ack=True), get_all(w, other, no_ack=True)]


@scenario()
def reject_publish_unacked_not_counted(run: Run) -> Any:
    """reject-publish, x-max-length 2: with both messages unacked, two more are accepted;
    once the unacked are requeued the queue holds four and further publishes are nacked."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w, **{"x-max-length": 2, "x-overflow": "reject-publish"})
    fill(w, q, b"m1", b"m2")
    w.call(2, M.basic_get(q))
    w.call(2, M.basic_get(q))
    with_unacked = _confirms(w, q, b"m3", b"m4", b"m5")
    w.ok(2, M.channel_close(), "Channel.CloseOk")
    settle(lambda: passive(w, q)[0], lambda count: count == 4)
    return {
        "with_unacked": with_unacked,
        "requeued": passive(w, q),
        "then": _confirms(w, q, b"m6"),
        "contents": get_all(w, q, no_ack=True),
    }


@scenario()
def reject_publish_in_transaction(run: Run) -> Any:
    """A transactional publish to a full reject-publish queue: commit-ok, not enqueued."""
    w = run.raw()
    q = _queue(run, w, **{"x-max-length": 1, "x-overflow": "reject-publish"})
    w.ok(1, M.tx_select(), "Tx.SelectOk")
    w.publish(1, "", q, b"m1")
    w.publish(1, "", q, b"m2")
    commit = w.attempt(1, M.tx_commit())
    return [commit, get_all(w, q, no_ack=True)]


@scenario()
def reject_publish_does_not_dead_letter(run: Run) -> Any:
    """reject-publish with a DLX: the refused message is not dead-lettered (the first
    arrival is a message rejected later from the same queue)."""
    w = run.raw()
    x, dead = _dead_lettered_to(run, w)
    q = _queue(
        run, w, **{"x-max-length": 1, "x-overflow": "reject-publish", "x-dead-letter-exchange": x}
    )
    acks = _confirms(w, q, b"kept", b"refused")
    w.call(1, M.basic_get(q))
    w.m(1, M.basic_reject(1, requeue=False))
    first = take(w, dead)
    reason = first["props"]["headers"]["x-death"][0]["reason"]
    return [acks, first["body"], reason, passive(w, dead)]


@scenario()
def reject_publish_dlx(run: Run) -> Any:
    """x-overflow reject-publish-dlx: the refused message is nacked and dead-lettered (reason
    maxlen); the queue keeps the old one."""
    w = run.raw()
    x, dead = _dead_lettered_to(run, w)
    q = _queue(
        run,
        w,
        **{"x-max-length": 1, "x-overflow": "reject-publish-dlx", "x-dead-letter-exchange": x},
    )
    flags, props = properties(expiration="60000", headers={"h": "v"})
    acks = _confirms(w, q, b"kept", b"refused", flags=flags, props=props)
    return {"acks": acks, "dead": take(w, dead), "queue": get_all(w, q, no_ack=True)}


@scenario()
def reject_publish_dlx_without_dlx(run: Run) -> Any:
    """reject-publish-dlx without a DLX: nacked like reject-publish."""
    w = run.raw()
    q = _queue(run, w, **{"x-max-length": 1, "x-overflow": "reject-publish-dlx"})
    return [_confirms(w, q, b"m1", b"m2"), get_all(w, q, no_ack=True)]


# -- x-expires -----------------------------------------------------------------------------
def _exists(w: Wire, q: str) -> bool:
    """Does ``q`` exist? A mandatory publish to it through the default exchange (a publish
    is not a use of the queue): returned if not."""
    replies = publish(w, "", q, b"probe", mandatory=True)
    return not any(f.get("method") == "Basic.Return" for f in replies)


def _until_gone(w: Wire, q: str, action: Any = None) -> str:
    """Poll until ``q`` is gone (running ``action`` between probes): 'gone' or 'deadline'."""

    def gone() -> bool:
        if not _exists(w, q):
            return True
        if action is not None:
            action()
        return False

    return "gone" if settle(gone) else "deadline"


def _expiring(run: Run, w: Wire, ms: int, channel: int = 1) -> str:
    q = run.queue()
    w.ok(channel, M.queue_declare(q, args={"x-expires": ms}), "Queue.DeclareOk")
    return q


@scenario()
def expires_unused_queue(run: Run) -> Any:
    """x-expires 200: the unused queue (with messages and a binding) is deleted, not before
    its time; then 404 and the binding is gone."""
    w = run.raw()
    started = time.monotonic()
    q = _expiring(run, w, 200)
    x = run.exchange()
    w.ok(1, M.exchange_declare(x, "fanout"), "Exchange.DeclareOk")
    w.ok(1, M.queue_bind(q, x, ""), "Queue.BindOk")
    fill(w, q, b"m1")
    gone = _until_gone(w, q)
    return {
        "gone": gone,
        "not_early": time.monotonic() - started >= 0.19,
        "passive": passive(w, q),
        "via_binding": [f.get("method") for f in publish(w, x, "", b"m", mandatory=True)],
    }


def _kept_alive(run: Run, w: Wire, ms: int, use: Any) -> dict[str, Any]:
    """Declare q, then a witness w with the same x-expires; run ``use(q)`` until the witness
    is gone: is q still there?  Then stop: is q deleted in the end?"""
    q = _expiring(run, w, ms)
    witness = _expiring(run, w, ms)
    witness_gone = _until_gone(w, witness, lambda: use(q))
    alive = _exists(w, q)
    return {"witness": witness_gone, "alive": alive, "later": _until_gone(w, q)}


@scenario()
def expires_basic_get_resets(run: Run) -> Any:
    """basic.get (even on an empty queue) counts as use: the queue outlives its witness."""
    w = run.raw()
    w.open(2)
    return _kept_alive(run, w, 400, lambda q: w.call(2, M.basic_get(q, no_ack=True)))


@scenario()
def expires_redeclare_resets(run: Run) -> Any:
    """A redeclare counts as use: the queue outlives its witness."""
    w = run.raw()
    w.open(2)

    def redeclare(q: str) -> None:
        w.ok(2, M.queue_declare(q, args={"x-expires": 400}), "Queue.DeclareOk")

    return _kept_alive(run, w, 400, redeclare)


@scenario()
def expires_passive_declare_resets(run: Run) -> Any:
    """A passive declare counts as use too: the queue outlives its witness."""
    w = run.raw()
    w.open(2)
    return _kept_alive(run, w, 400, lambda q: passive(w, q, channel=2))


@scenario()
def expires_publish_does_not_reset(run: Run) -> Any:
    """Publishing to a queue every 10 ms does not keep it: it is deleted anyway."""
    w = run.raw()
    q = _expiring(run, w, 200)
    return _until_gone(w, q, lambda: fill(w, q, b"m"))


@scenario()
def expires_purge_does_not_reset(run: Run) -> Any:
    """Purging a queue every 10 ms does not keep it: it is deleted anyway."""
    w = run.raw()
    q = _expiring(run, w, 200)
    return _until_gone(w, q, lambda: w.call(1, M.queue_purge(q)))


@scenario()
def expires_consumer_keeps_alive(run: Run) -> Any:
    """A consumer keeps the queue alive past its witness; after basic.cancel it expires."""
    w = run.raw()
    w.open(2)
    q = _expiring(run, w, 200)
    witness = _expiring(run, w, 200)
    w.ok(2, M.basic_consume(q, "c", no_ack=True), "Basic.ConsumeOk")
    witness_gone = _until_gone(w, witness)
    alive = _exists(w, q)
    w.m(2, M.basic_cancel("c"))
    while w.reply(channel=2).get("method") == "Basic.Deliver":
        pass  # (the probes, delivered to the consumer)
    still = _exists(w, q)
    later = _until_gone(w, q)
    return {"witness": witness_gone, "alive": alive, "after_cancel": still, "later": later}


@scenario()
def expires_consumer_channel_closed(run: Run) -> Any:
    """The consuming channel closes: the queue expires from then on."""
    w = run.raw()
    w.open(2)
    q = _expiring(run, w, 200)
    witness = _expiring(run, w, 200)
    w.ok(2, M.basic_consume(q, "c", no_ack=True), "Basic.ConsumeOk")
    witness_gone = _until_gone(w, witness)
    w.m(2, M.channel_close())
    while w.reply(channel=2).get("method") == "Basic.Deliver":
        pass
    return {"witness": witness_gone, "later": _until_gone(w, q), "passive": passive(w, q)}


# -- clients -------------------------------------------------------------------------------
@scenario()
def pika_reject_publish(run: Run) -> Any:
    """pika (confirm mode): the nacked publish raises NackError."""
    import pika.exceptions  # noqa: PLC0415

    conn = run.pika()
    ch = conn.channel()
    ch.confirm_delivery()
    q = ch.queue_declare(
        run.queue(), exclusive=True, arguments={"x-max-length": 1, "x-overflow": "reject-publish"}
    ).method.queue
    ch.basic_publish("", q, b"m1")
    try:
        ch.basic_publish("", q, b"m2")
        second = "acked"
    except pika.exceptions.NackError as exc:
        second = [type(exc).__name__, [m.body for m in exc.messages]]
    count = ch.queue_declare(q, passive=True).method.message_count
    return [second, count]


@scenario()
async def aio_pika_reject_publish(run: Run) -> Any:
    """aio-pika: the nacked publish raises DeliveryError carrying the Basic.Nack."""
    import aio_pika  # noqa: PLC0415
    import aio_pika.exceptions  # noqa: PLC0415

    conn = await run.aio()
    ch = await conn.channel()
    q = await ch.declare_queue(
        run.queue(), exclusive=True, arguments={"x-max-length": 1, "x-overflow": "reject-publish"}
    )
    await ch.default_exchange.publish(aio_pika.Message(b"m1"), routing_key=q.name)
    try:
        await ch.default_exchange.publish(aio_pika.Message(b"m2"), routing_key=q.name)
        second: Any = "acked"
    except aio_pika.exceptions.DeliveryError as exc:
        second = [type(exc).__name__, type(exc.frame).__name__]
    declared = await ch.declare_queue(q.name, passive=True)
    return [second, declared.declaration_result.message_count]
