"""Priority queues (x-max-priority), single active consumer (x-single-active-consumer) and
consumer priorities (x-priority on basic.consume).

Observations are kept timing-independent:

- several consumers whose relative order matters share one channel (each with its own
  prefetch, set by basic.qos before its basic.consume), so their deliveries come in the order
  the queue handed them out; consumers on different channels are compared per consumer tag;
- that a consumer got nothing is shown by accounting (all published messages were seen
  elsewhere) or by the queue's message_count after a confirm, never by waiting for silence;
- acks that must reach the queue before the next publish are followed by a basic.get on the
  acking channel (RabbitMQ orders it after them), on a queue with nothing waiting.
"""

from __future__ import annotations

import random
import time
from typing import Any

from amqpbroker.testing.polling import DEADLINE, settle

from ..registry import scenario
from ..runner import Run
from ..wire import M, T, Wire, properties
from .common import fill, passive

SAC = {"x-single-active-consumer": True}


# -- helpers -------------------------------------------------------------------------------
def _queue(run: Run, w: Wire, args: dict[str, Any] | None = None, channel: int = 1) -> str:
    q = run.queue()
    w.ok(channel, M.queue_declare(q, exclusive=True, args=args), "Queue.DeclareOk")
    return q


def _prio(max_priority: Any) -> dict[str, Any]:
    return {"x-max-priority": max_priority}


def _send(w: Wire, q: str, *messages: tuple[str, int | None]) -> None:
    """Confirmed publishes of (body, priority property or None for none)."""
    for body, priority in messages:
        if priority is None:
            fill(w, q, body.encode())
        else:
            flags, props = properties(priority=priority)
            fill(w, q, body.encode(), flags=flags, props=props)


def _short(got: dict[str, Any]) -> list[Any]:
    """[body, priority property (None if absent), redelivered] of a delivery or get-ok."""
    priority = got.get("header", {}).get("props", {}).get("priority")
    return [got.get("body"), priority, got.get("redelivered")]


def _get_all(w: Wire, q: str, channel: int = 1) -> list[Any]:
    """basic.get (no-ack) until empty: [body, priority, redelivered, message_count] each."""
    out: list[Any] = []
    while len(out) < 600:
        got = w.call(channel, M.basic_get(q, no_ack=True))
        if got.get("method") != "Basic.GetOk":
            out.append(got.get("method"))
            return out
        out.append([*_short(got), got["message_count"]])
    raise AssertionError("queue never ran empty")


def _collect(w: Wire, count: int, channel: int | None = None) -> list[dict[str, Any]]:
    """The next ``count`` deliveries (on ``channel``, or any); stops at the deadline or at any
    other frame, which is then the last entry."""
    out: list[dict[str, Any]] = []
    end = time.monotonic() + DEADLINE
    while len(out) < count:
        got = w.reply(max(0.0, end - time.monotonic()), channel=channel)
        out.append(got)
        if got.get("method") != "Basic.Deliver":
            break
    return out


def _log(frames: list[dict[str, Any]]) -> list[Any]:
    """[consumer tag, body] of each delivery (other frames as they are)."""
    return [
        [f["consumer_tag"], f["body"]] if f.get("method") == "Basic.Deliver" else f for f in frames
    ]


def _by_consumer(frames: list[dict[str, Any]], tags: list[str]) -> dict[str, Any]:
    """Deliveries grouped by consumer tag (order within a tag kept): [body, redelivered]."""
    out: dict[str, Any] = {tag: [] for tag in tags}
    for f in frames:
        if f.get("method") == "Basic.Deliver":
            out.setdefault(f["consumer_tag"], []).append([f["body"], f["redelivered"]])
        else:
            out.setdefault("other", []).append(f)
    return out


def _consume(
    w: Wire,
    channel: int,
    q: str,
    tag: str,
    *,
    prefetch: int | None = None,
    priority: Any = None,
    no_ack: bool = False,
) -> None:
    if prefetch is not None:
        _ok_past_deliveries(w, channel, M.basic_qos(count=prefetch), "Basic.QosOk")
    args = None if priority is None else {"x-priority": priority}
    payload = M.basic_consume(q, tag, no_ack=no_ack, args=args)
    _ok_past_deliveries(w, channel, payload, "Basic.ConsumeOk")


def _ok_past_deliveries(w: Wire, channel: int, payload: bytes, expect: str) -> None:
    """``w.ok``, on a channel where deliveries to an earlier consumer may come first: those
    are kept for the next reads, in order."""
    w.m(channel, payload)
    early = []
    while (got := w.reply(DEADLINE, channel=channel)).get("method") == "Basic.Deliver":
        early.append(got)
    if got.get("method") != expect:
        raise AssertionError(f"set-up step expected {expect}, got {got}")
    w._held.extend(early)  # read again by the next w.reply


def _settle(w: Wire, channel: int, q: str) -> list[Any]:
    """A basic.get on ``channel``: RabbitMQ handles it after that channel's acks.  Returns
    anything that came on the channel before get-empty (nothing, when all is as expected)."""
    w.m(channel, M.basic_get(q))
    extra: list[Any] = []
    while True:
        got = w.reply(DEADLINE, channel=channel)
        if got.get("method") == "Basic.GetEmpty":
            return extra
        extra.append(got)
        if got.get("method") != "Basic.Deliver":
            return extra


def _count(w: Wire, q: str) -> int:
    got = w.call(1, M.queue_declare(q, passive=True))
    if got.get("method") != "Queue.DeclareOk":
        raise AssertionError(f"passive declare of {q}: {got}")
    return int(got["message_count"])


def _count_until(w: Wire, q: str, wanted: int) -> list[Any]:
    """Poll message_count until it is ``wanted``: the distinct counts seen."""
    seen: list[Any] = []

    def count() -> int:
        current = _count(w, q)
        if not seen or seen[-1] != current:
            seen.append(current)
        return current

    return seen if settle(count, lambda c: c == wanted) == wanted else [*seen, "deadline"]


# -- priority queues -----------------------------------------------------------------------
@scenario()
def priority_order(run: Run) -> Any:
    """x-max-priority 10: highest first, FIFO within a priority; none is 0; above the maximum
    counts as the maximum; the property is delivered as published; get-ok counts all."""
    w = run.raw()
    q = _queue(run, w, _prio(10))
    _send(
        w,
        q,
        ("a", 1),
        ("b", 7),
        ("none", None),
        ("c", 1),
        ("d", 10),
        ("zero", 0),
        ("e", 7),
        ("big", 200),
        ("f", 3),
        ("g", 10),
        ("none2", None),
    )
    return [passive(w, q), _get_all(w, q)]


@scenario()
def priority_levels(run: Run) -> Any:
    """x-max-priority 0, 1, 2, 5 and 255: priorities 0..max+2 (octets) twice, shuffled with
    a fixed seed; 0 is a FIFO queue."""
    w = run.raw()
    out = []
    for max_priority in (0, 1, 2, 5, 255):
        q = _queue(run, w, _prio(max_priority))
        priorities = list(range(min(max_priority + 3, 256))) * 2
        random.Random(max_priority).shuffle(priorities)
        _send(w, q, *[(f"m{i}", p) for i, p in enumerate(priorities)])
        out.append([row[0] for row in _get_all(w, q)])
    return out


@scenario()
def no_max_priority_ignores_priorities(run: Run) -> Any:
    """Without x-max-priority the property is carried but ignored: FIFO."""
    w = run.raw()
    q = _queue(run, w)
    _send(w, q, ("a", None), ("b", 3), ("c", 9), ("d", 0))
    return _get_all(w, q)


@scenario()
def max_priority_argument_widths(run: Run) -> Any:
    """x-max-priority 3 in every integer width orders by priority; redeclaring with another
    width of the same value is equivalent."""
    w = run.raw()
    out = []
    for kind in ("b", "B", "s", "u", "I", "i", "l"):
        q = _queue(run, w, _prio(T(kind, 3)))
        _send(w, q, ("low", 1), ("high", 5), ("mid", 2), ("max", 3))
        redeclare = w.attempt(1, M.queue_declare(q, exclusive=True, args=_prio(T("l", 3))))
        out.append([kind, [row[0] for row in _get_all(w, q)], redeclare.get("method")])
    return out


@scenario()
def max_priority_bounds(run: Run) -> Any:
    """0 and 255 are accepted (in any width); -1, 256 and larger are 406."""
    w = run.raw()
    values = [0, 255, T("B", 255), T("s", 0), -1, T("b", -1), 256, T("s", 256), T("l", 2**40)]
    return [w.attempt(1, M.queue_declare(run.queue(), args=_prio(v))) for v in values]


@scenario()
def max_priority_invalid_types(run: Run) -> Any:
    """A non-integer x-max-priority: 406 "expected integer, got <type>"."""
    w = run.raw()
    values: list[Any] = [
        "5",
        b"5",
        True,
        None,
        T("d", 5.0),
        T("f", 5.0),
        T("D", (0, 5)),
        T("T", 5),
        {"a": 1},
        [5],
    ]
    return [w.attempt(1, M.queue_declare(run.queue(), args=_prio(v))) for v in values]


@scenario()
def requeue_returns_to_place(run: Run) -> Any:
    """Taken b(3) d(3) a(1) c(1) and requeued (a, c, d, b): back in the original order,
    redelivered, ahead of e(1)."""
    w = run.raw()
    q = _queue(run, w, _prio(5))
    _send(w, q, *zip("abcde", [1, 3, 1, 3, 1], strict=True))
    taken = [w.call(1, M.basic_get(q)) for _ in range(4)]
    for index in (2, 3, 1, 0):
        w.m(1, M.basic_nack(taken[index]["delivery_tag"]))
    return [[_short(t) for t in taken], _get_all(w, q)]


@scenario()
def requeue_among_later_arrivals(run: Run) -> Any:
    """b(3) d(3) a(1) taken; f(1), g(3) published; a multiple nack: g behind b and d, a
    ahead of c, e and f."""
    w = run.raw()
    q = _queue(run, w, _prio(5))
    _send(w, q, *zip("abcde", [1, 3, 1, 3, 1], strict=True))
    taken = [w.call(1, M.basic_get(q)) for _ in range(3)]
    _send(w, q, ("f", 1), ("g", 3))
    w.m(1, M.basic_nack(taken[-1]["delivery_tag"], multiple=True))
    return [[_short(t) for t in taken], _get_all(w, q)]


@scenario()
def requeue_above_max_and_reject(run: Run) -> Any:
    """A priority-9 message in a max-5 queue, rejected with requeue, returns ahead of the
    later 5; a plain (FIFO) requeue of equal priorities behaves as in a classic queue."""
    w = run.raw()
    q = _queue(run, w, _prio(5))
    _send(w, q, ("nine", 9), ("five", 5), ("one", 1))
    got = w.call(1, M.basic_get(q))
    w.m(1, M.basic_reject(got["delivery_tag"]))
    first = _get_all(w, q)
    q2 = _queue(run, w, _prio(5))
    _send(w, q2, *[(b, 2) for b in "abcd"])
    tags = [w.call(1, M.basic_get(q2))["delivery_tag"] for _ in range(3)]
    w.m(1, M.basic_nack(tags[1]))
    w.m(1, M.basic_nack(tags[2]))
    return [first, _get_all(w, q2)]


@scenario()
def requeue_on_channel_close(run: Run) -> Any:
    """A consumer's five unacked deliveries, requeued by closing its channel: back by
    priority, FIFO within one, all redelivered."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w, _prio(9))
    _consume(w, 2, q, "c")
    _send(w, q, ("x1", 1), ("x9", 9), ("x5", 5), ("y0", 0), ("y5", 5))
    delivered = [_short(d) for d in _collect(w, 5, channel=2)]
    closed = w.call(2, M.channel_close())
    return [delivered, closed, _count_until(w, q, 5)[-1], _get_all(w, q)]


@scenario()
def consumer_with_capacity_gets_publish_order(run: Run) -> Any:
    """A consumer that can take every message gets them as published: priorities only
    order what waits."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w, _prio(9))
    _consume(w, 2, q, "c", no_ack=True)
    _send(w, q, ("x1", 1), ("x9", 9), ("x5", 5))
    return [_short(d) for d in _collect(w, 3, channel=2)]


@scenario()
def consumer_backlog_in_priority_order(run: Run) -> Any:
    """A prefetch-1 consumer on a backlog gets the highest first; a higher one published
    while it works overtakes the rest."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w, _prio(9))
    _send(w, q, ("p1", 1), ("p2", 2), ("p3", 3))
    _consume(w, 2, q, "c", prefetch=1)
    got = _collect(w, 1, channel=2)
    _send(w, q, ("p9", 9))
    for _ in range(3):
        w.m(2, M.basic_ack(got[-1]["delivery_tag"]))
        got += _collect(w, 1, channel=2)
    return [_short(d) for d in got]


# -- single active consumer ----------------------------------------------------------------
def _sac_consumers(w: Wire, q: str, specs: list[tuple[str, dict[str, Any]]]) -> dict[str, int]:
    """One consumer per channel (2, 3, ...): {tag: channel}."""
    channels = {}
    for offset, (tag, options) in enumerate(specs):
        channel = 2 + offset
        w.open(channel)
        _consume(w, channel, q, tag, **options)
        channels[tag] = channel
    return channels


@scenario()
def sac_only_first_receives(run: Run) -> Any:
    """Three consumers: the first gets all four messages; declare-ok counts three."""
    w = run.raw()
    q = _queue(run, w, SAC)
    _sac_consumers(w, q, [("a", {}), ("b", {}), ("c", {})])
    count = passive(w, q)
    _send(w, q, *[(f"m{i}", None) for i in range(4)])
    return [count, _by_consumer(_collect(w, 4), ["a", "b", "c"])]


@scenario()
def sac_false_is_round_robin(run: Run) -> Any:
    """x-single-active-consumer false: an ordinary queue."""
    w = run.raw()
    q = _queue(run, w, {"x-single-active-consumer": False})
    _sac_consumers(w, q, [("a", {}), ("b", {})])
    _send(w, q, *[(f"m{i}", None) for i in range(4)])
    return _by_consumer(_collect(w, 4), ["a", "b"])


@scenario()
def sac_cancel_takeover(run: Run) -> Any:
    """The active consumer cancels: the next registered takes over; cancelling an inactive
    one changes nothing; declare-ok counts the remaining consumers."""
    w = run.raw()
    q = _queue(run, w, SAC)
    channels = _sac_consumers(w, q, [("a", {}), ("b", {}), ("c", {})])
    _send(w, q, ("m0", None))
    frames = _collect(w, 1)
    cancel = w.call(channels["a"], M.basic_cancel("a"))
    after_cancel = passive(w, q)
    _send(w, q, ("m1", None), ("m2", None))
    frames += _collect(w, 2)
    w.ok(channels["c"], M.basic_cancel("c"), "Basic.CancelOk")
    _send(w, q, ("m3", None))
    frames += _collect(w, 1)
    return [cancel, after_cancel, passive(w, q), _by_consumer(frames, ["a", "b", "c"])]


@scenario()
def sac_channel_close_takeover(run: Run) -> Any:
    """The active consumer (prefetch 1) holds n0, n1 and n2 wait (the next consumer gets
    nothing); its channel closes: the next gets n0 (redelivered), n1, n2."""
    w = run.raw()
    q = _queue(run, w, SAC)
    channels = _sac_consumers(w, q, [("a", {"prefetch": 1}), ("b", {})])
    _send(w, q, ("n0", None), ("n1", None), ("n2", None))
    first = _collect(w, 1)
    waiting = passive(w, q)
    closed = w.call(channels["a"], M.channel_close())
    return [_by_consumer(first, ["a", "b"]), waiting, closed, _by_consumer(_collect(w, 3), ["b"])]


@scenario()
def sac_prefetch_keeps_queue(run: Run) -> Any:
    """The active consumer at its prefetch limit keeps the queue: acks release the next
    message to it, never to the other consumer."""
    w = run.raw()
    q = _queue(run, w, SAC)
    channels = _sac_consumers(w, q, [("a", {"prefetch": 1}), ("b", {})])
    _send(w, q, ("m0", None), ("m1", None), ("m2", None))
    frames = _collect(w, 1)
    waiting = passive(w, q)
    for _ in range(2):
        w.m(channels["a"], M.basic_ack(frames[-1]["delivery_tag"]))
        frames += _collect(w, 1)
    return [waiting, _by_consumer(frames, ["a", "b"])]


@scenario()
def sac_registration_order(run: Run) -> Any:
    """Four no-ack consumers, the active one cancelled after each message: a, b, c, d."""
    w = run.raw()
    q = _queue(run, w, SAC)
    tags = ["a", "b", "c", "d"]
    channels = _sac_consumers(w, q, [(t, {"no_ack": True}) for t in tags])
    order = []
    for i in range(4):
        _send(w, q, (f"m{i}", None))
        got = _collect(w, 1)
        order.append(_log(got))
        if got[-1].get("method") != "Basic.Deliver":
            break
        active = got[-1]["consumer_tag"]
        w.ok(channels[active], M.basic_cancel(active), "Basic.CancelOk")
    return order


def _sac_priority_takeover(run: Run, close: bool) -> Any:
    w = run.raw()
    q = _queue(run, w, SAC)
    specs = [("a", 0), ("b", 0), ("c", 10), ("d", 10), ("e", None), ("f", 5)]
    channels = _sac_consumers(w, q, [(t, {"priority": p, "no_ack": True}) for t, p in specs])
    order = []
    for i in range(len(specs)):
        _send(w, q, (f"m{i}", None))
        got = _collect(w, 1)
        order.append(_log(got))
        if got[-1].get("method") != "Basic.Deliver":
            break
        active = got[-1]["consumer_tag"]
        if close:
            w.ok(channels[active], M.channel_close(), "Channel.CloseOk")
        else:
            w.ok(channels[active], M.basic_cancel(active), "Basic.CancelOk")
    return order


@scenario()
def sac_priority_takeover_on_cancel(run: Run) -> Any:
    """x-priority 0, 0, 10, 10, none, 5 (in that order): the first is active; on each cancel
    the highest priority takes over, the earliest registered among equals."""
    return _sac_priority_takeover(run, close=False)


@scenario()
def sac_priority_takeover_on_close(run: Run) -> Any:
    """As sac_priority_takeover_on_cancel, the active consumer's channel closing instead."""
    return _sac_priority_takeover(run, close=True)


@scenario()
def sac_requeued_to_highest_priority(run: Run) -> Any:
    """The active consumer's channel closes with an unacked delivery: it goes, redelivered,
    to the highest-priority consumer, not the next registered."""
    w = run.raw()
    q = _queue(run, w, SAC)
    channels = _sac_consumers(w, q, [("a", {}), ("b", {}), ("c", {"priority": 5})])
    _send(w, q, ("m0", None))
    first = _collect(w, 1)
    w.ok(channels["a"], M.channel_close(), "Channel.CloseOk")
    return [_log(first), _by_consumer(_collect(w, 1), ["b", "c"])]


@scenario()
def sac_basic_get(run: Run) -> Any:
    """basic.get takes the next waiting message while the active consumer is full."""
    w = run.raw()
    q = _queue(run, w, SAC)
    _sac_consumers(w, q, [("a", {"prefetch": 1}), ("b", {})])
    _send(w, q, ("g0", None), ("g1", None), ("g2", None))
    first = _collect(w, 1)
    get = w.call(1, M.basic_get(q, no_ack=True))
    return [_log(first), _short(get), get.get("message_count"), passive(w, q)]


@scenario()
def sac_cancel_while_blocked(run: Run) -> Any:
    """The active consumer, at its prefetch limit, cancels: the two waiting messages stay
    (no dispatch on cancel); requeueing its delivery hands all three to the next consumer.
    (Publishing in between crashes RabbitMQ 3.10.8's queue process; not done here.)"""
    w = run.raw()
    q = _queue(run, w, SAC)
    channels = _sac_consumers(w, q, [("a", {"prefetch": 1}), ("b", {})])
    _send(w, q, ("k0", None), ("k1", None), ("k2", None))
    first = _collect(w, 1)
    cancel = w.call(channels["a"], M.basic_cancel("a"))
    waiting = passive(w, q)
    w.m(channels["a"], M.basic_nack(first[-1]["delivery_tag"]))
    return [_log(first), cancel, waiting, _by_consumer(_collect(w, 3), ["b"])]


@scenario()
def sac_exclusive_consume(run: Run) -> Any:
    """basic.consume exclusive on a single-active-consumer queue: 403 in exclusive use, on an
    idle queue and on one with a consumer; an ordinary consume still works after."""
    w = run.raw()
    w.open(2)
    w.open(3)
    q = _queue(run, w, SAC)
    idle = w.attempt(2, M.basic_consume(q, "x", exclusive=True))
    first = w.attempt(1, M.basic_consume(q, "a"))
    busy = w.attempt(2, M.basic_consume(q, "y", exclusive=True))
    plain = w.attempt(2, M.basic_consume(q, "b"))
    return [idle, first, busy, plain, passive(w, q, 3)]


# -- consumer priorities -------------------------------------------------------------------
@scenario()
def consumer_priority_capacity(run: Run) -> Any:
    """low (no limit) first, high (x-priority 10, prefetch 2): high gets two, low the rest;
    after high acks one, the next goes to high, the ones after to low."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w)
    _consume(w, 2, q, "low", prefetch=0)
    _consume(w, 2, q, "high", prefetch=2, priority=10)
    _send(w, q, *[(f"m{i}", None) for i in range(5)])
    first = _collect(w, 5, channel=2)
    w.m(2, M.basic_ack(first[0]["delivery_tag"]))
    settled = _settle(w, 2, q)
    _send(w, q, *[(f"m{i}", None) for i in range(5, 8)])
    return [_log(first), settled, _log(_collect(w, 3, channel=2))]


@scenario()
def consumer_priority_round_robin(run: Run) -> Any:
    """Two consumers at x-priority 5 take turns; the one at 0 gets nothing."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w)
    _consume(w, 2, q, "h1", priority=5)
    _consume(w, 2, q, "low")
    _consume(w, 2, q, "h2", priority=5)
    _send(w, q, *[(f"m{i}", None) for i in range(6)])
    return _log(_collect(w, 6, channel=2))


@scenario()
def consumer_priority_negative(run: Run) -> Any:
    """-5 (no limit), default (prefetch 2), -1 (prefetch 1): default, default, -1, -5, -5."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w)
    _consume(w, 2, q, "minus5", priority=-5)
    _consume(w, 2, q, "default", prefetch=2)
    _consume(w, 2, q, "minus1", prefetch=1, priority=-1)
    _send(w, q, *[(f"m{i}", None) for i in range(5)])
    return _log(_collect(w, 5, channel=2))


@scenario()
def consumer_priority_zero_and_absent(run: Run) -> Any:
    """x-priority 0 and no x-priority are one level: they take turns."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w)
    _consume(w, 2, q, "none")
    _consume(w, 2, q, "zero", priority=0)
    _send(w, q, *[(f"m{i}", None) for i in range(4)])
    return _log(_collect(w, 4, channel=2))


@scenario()
def consumer_priority_prefilled(run: Run) -> Any:
    """Four waiting: low (prefetch 1) registers first and takes m0, high (prefetch 1) m1;
    low's ack comes first: m2 to low (high is full), then high's: m3 to high."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w)
    _send(w, q, *[(f"m{i}", None) for i in range(4)])
    _consume(w, 2, q, "low", prefetch=1)
    _consume(w, 2, q, "high", prefetch=1, priority=1)
    first = _collect(w, 2, channel=2)
    for frame in first:
        w.m(2, M.basic_ack(frame["delivery_tag"]))
    return _log(first + _collect(w, 2, channel=2))


@scenario()
def consumer_rotation_new_joins_at_back(run: Run) -> Any:
    """a and b get a, b, a; c joins behind the rotation (b, a): b, a, c, b, a, c."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w)
    _consume(w, 2, q, "a")
    _consume(w, 2, q, "b")
    _send(w, q, *[(f"m{i}", None) for i in range(3)])
    first = _collect(w, 3, channel=2)
    _consume(w, 2, q, "c")
    _send(w, q, *[(f"m{i}", None) for i in range(3, 9)])
    return _log(first + _collect(w, 6, channel=2))


@scenario()
def consumer_rotation_blocked_rejoins_at_back(run: Run) -> Any:
    """a, b, c (prefetch 1) get m0..m2; a and c ack: m3 to a; m4: b is full and leaves the
    rotation, c takes it; b acks (rejoining at the back), then a and c: a, c, b."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w)
    for tag in ("a", "b", "c"):
        _consume(w, 2, q, tag, prefetch=1)
    _send(w, q, *[(f"m{i}", None) for i in range(3)])
    got = _collect(w, 3, channel=2)
    tags = {f["body"]: f["delivery_tag"] for f in got}

    def ack(*bodies: str) -> list[Any]:
        for body in bodies:
            w.m(2, M.basic_ack(tags[body]))
        return _settle(w, 2, q)

    extra = ack("m0", "m2")
    for body in ("m3", "m4"):
        _send(w, q, (body, None))
        got += _collect(w, 1, channel=2)
        tags.update({f["body"]: f["delivery_tag"] for f in got if "body" in f})
    extra += ack("m1", "m3", "m4")
    _send(w, q, *[(f"m{i}", None) for i in range(5, 8)])
    return [_log(got + _collect(w, 3, channel=2)), extra]


@scenario()
def consumer_rotation_after_cancel(run: Run) -> Any:
    """a, b, c take turns; b cancels after m1: c, a, c, a."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w)
    for tag in ("a", "b", "c"):
        _consume(w, 2, q, tag)
    _send(w, q, ("m0", None), ("m1", None))
    got = _collect(w, 2, channel=2)
    w.ok(2, M.basic_cancel("b"), "Basic.CancelOk")
    _send(w, q, *[(f"m{i}", None) for i in range(2, 6)])
    return _log(got + _collect(w, 4, channel=2))


@scenario()
def consumer_priority_on_priority_queue(run: Run) -> Any:
    """A priority queue's backlog to prioritised consumers: the high consumer (prefetch 1)
    gets the highest message, the low one the next."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w, _prio(5))
    _send(w, q, ("p1", 1), ("p5", 5), ("p3", 3))
    _consume(w, 2, q, "high", prefetch=1, priority=2)
    _consume(w, 2, q, "low", prefetch=1)
    return _log(_collect(w, 2, channel=2))


@scenario()
def consumer_priority_argument_widths(run: Run) -> Any:
    """x-priority as short, long-long, byte, unsigned int: compared by value (each consumer
    prefetch 1): s10, l5, default, b-1, I-100000."""
    w = run.raw()
    w.open(2)
    q = _queue(run, w)
    _consume(w, 2, q, "b-1", prefetch=1, priority=T("b", -1))
    _consume(w, 2, q, "default", prefetch=1)
    _consume(w, 2, q, "I-100000", prefetch=1, priority=T("I", -100000))
    _consume(w, 2, q, "l5", prefetch=1, priority=T("l", 5))
    _consume(w, 2, q, "s10", prefetch=1, priority=T("s", 10))
    _consume(w, 2, q, "big", prefetch=1, priority=T("l", 2**40))
    _send(w, q, *[(f"m{i}", None) for i in range(6)])
    return _log(_collect(w, 6, channel=2))


@scenario()
def consumer_priority_invalid_types(run: Run) -> Any:
    """A non-integer x-priority: 406 naming the queue."""
    w = run.raw()
    q = _queue(run, w)
    values: list[Any] = ["1", b"1", True, None, T("d", 1.0), T("D", (1, 15)), {"a": 1}, [1]]
    w.open(2)
    return [
        w.attempt(2, M.basic_consume(q, f"c{i}", args={"x-priority": value}))
        for i, value in enumerate(values)
    ]


# -- clients -------------------------------------------------------------------------------
@scenario()
def pika_priority_queue(run: Run) -> Any:
    """pika: x-max-priority 5, priorities none, 2, 9, 5, 2 via basic_get."""
    import pika  # noqa: PLC0415

    conn = run.pika()
    ch = conn.channel()
    ch.confirm_delivery()
    q = ch.queue_declare(run.queue(), exclusive=True, arguments={"x-max-priority": 5}).method.queue
    for body, priority in [("a", None), ("b", 2), ("c", 9), ("d", 5), ("e", 2)]:
        ch.basic_publish("", q, body.encode(), pika.BasicProperties(priority=priority))
    out = []
    while True:
        method, props, body = ch.basic_get(q, auto_ack=True)
        if method is None:
            return out
        out.append([body.decode(), props.priority, method.message_count])


@scenario()
async def aio_pika_single_active_and_priorities(run: Run) -> Any:
    """aio-pika: on a single-active-consumer queue the x-priority 10 consumer takes over
    from the first when it cancels; the third (priority 0) gets nothing."""
    import asyncio  # noqa: PLC0415

    import aio_pika  # noqa: PLC0415

    conn = await run.aio()
    ch = await conn.channel()
    q = await ch.declare_queue(run.queue(), exclusive=True, arguments=SAC)
    log: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    tags = {}
    for label, priority in (("first", 0), ("second", 0), ("high", 10)):

        async def on_message(message: Any, label: str = label) -> None:
            await log.put((label, message.body))

        tags[label] = await q.consume(on_message, no_ack=True, arguments={"x-priority": priority})
    await ch.default_exchange.publish(aio_pika.Message(b"m0"), routing_key=q.name)
    first = await asyncio.wait_for(log.get(), DEADLINE)
    await q.cancel(tags[first[0]])
    await ch.default_exchange.publish(aio_pika.Message(b"m1"), routing_key=q.name)
    second = await asyncio.wait_for(log.get(), DEADLINE)
    declared = await ch.declare_queue(q.name, passive=True)
    count = declared.declaration_result.consumer_count
    return [[first[0], first[1].decode()], [second[0], second[1].decode()], count]
