"""Dead-lettering: x-dead-letter-exchange and x-dead-letter-routing-key on reject, nack,
expiry and max-length; the x-death header and the x-first-death-* headers as RabbitMQ writes
them (values, wire types and key order); repeated deaths; cycles; a missing DLX.

Dead-lettered messages are read with ``basic.get`` and described with the layout of their
headers table (every key with its type octet, nested tables and arrays included), so the
wire types of ``count`` (long), ``time`` (timestamp) and the rest are compared, not only
the decoded values.  The one thing that legitimately differs between two runs, the x-death
``time`` values, becomes ``<recent>`` when it is within ten minutes of the scenario's clock.

Dead-lettering is asynchronous in RabbitMQ: arrivals are polled with a deadline; "nothing
arrived" is shown by a later message that did arrive, or by a tap queue that receives every
copy (cycle detection is per target queue).
"""

from __future__ import annotations

import datetime
import struct
import time
from typing import Any

from amqpbroker.testing.polling import DEADLINE, settle, settle_async, wait_until

from ..registry import scenario
from ..runner import Run
from ..wire import M, T, Wire, properties
from .common import fill, get_all, passive, publish

RECENT = 600.0  # seconds: an x-death time closer than this to now is "<recent>"


# -- describing dead-lettered messages -----------------------------------------------------
_SIZES = {"t": 1, "b": 1, "B": 1, "s": 2, "u": 2, "I": 4, "i": 4, "l": 8, "L": 8}
_SIZES.update({"f": 4, "d": 8, "D": 5, "T": 8, "V": 0})


def _value_layout(data: bytes, pos: int) -> tuple[str, int]:
    """The type of the value at ``pos`` ('S', 'l', 'A[S,S]', 'F{count:l,...}') and its end."""
    kind = chr(data[pos])
    pos += 1
    if kind in _SIZES:
        return kind, pos + _SIZES[kind]
    (size,) = struct.unpack(">I", data[pos : pos + 4])
    start, end = pos + 4, pos + 4 + size
    if kind == "F":
        return "F{" + ",".join(_table_layout(data[start:end])) + "}", end
    if kind == "A":
        items, at = [], start
        while at < end:
            item, at = _value_layout(data, at)
            items.append(item)
        return "A[" + ",".join(items) + "]", end
    return kind, end


def _table_layout(data: bytes) -> list[str]:
    """'key:type' of each entry of a table's contents, in wire order."""
    out, pos = [], 0
    while pos < len(data):
        size = data[pos]
        key = data[pos + 1 : pos + 1 + size].decode("utf-8", "replace")
        layout, pos = _value_layout(data, pos + 1 + size)
        out.append(f"{key}:{layout}")
    return out


def headers_layout(octets: bytes) -> list[str] | None:
    """The layout of the headers table in a content header's octets (None: no headers)."""
    (flags,) = struct.unpack(">H", octets[12:14])
    if not flags & 0x2000:
        return None
    pos = 14
    for bit in (0x8000, 0x4000):  # content_type, content_encoding come first
        if flags & bit:
            pos += 1 + octets[pos]
    (size,) = struct.unpack(">I", octets[pos : pos + 4])
    return _table_layout(octets[pos + 4 : pos + 4 + size])


def _time(value: Any) -> Any:
    """An x-death time as ``<recent>`` if it is a timestamp near now; else as it came."""
    if isinstance(value, dict) and "timestamp" in value:
        stamp = datetime.datetime.fromisoformat(value["timestamp"])
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=datetime.UTC)
        if abs(stamp.timestamp() - time.time()) < RECENT:
            return "<recent>"
    return value


def _normalise_deaths(headers: Any) -> Any:
    if not isinstance(headers, dict) or not isinstance(headers.get("x-death"), list):
        return headers
    deaths = []
    for death in headers["x-death"]:
        if isinstance(death, dict) and "time" in death:
            deaths.append({**death, "time": _time(death["time"])})
        else:
            deaths.append(death)
    return {**headers, "x-death": deaths}


def described(got: dict[str, Any]) -> dict[str, Any]:
    """A get-ok or delivery (read with ``raw_headers``): fields, properties with x-death
    times normalised, the headers' layout, the body."""
    out = {k: v for k, v in got.items() if k not in ("header_octets", "header", "ch")}
    if "header" in got:
        props = dict(got["header"]["props"])
        if "headers" in props:
            props["headers"] = _normalise_deaths(props["headers"])
        out["props"] = props
    if "header_octets" in got:
        out["layout"] = headers_layout(bytes.fromhex(got["header_octets"]))
    return out


def take(w: Wire, q: str, channel: int = 1, deadline: float = DEADLINE) -> Any:
    """basic.get (no-ack) on ``q`` until a message comes (described) or the deadline."""
    w.raw_headers = True
    got = settle(
        lambda: w.call(channel, M.basic_get(q, no_ack=True)),
        lambda got: got.get("method") != "Basic.GetEmpty",
        timeout=deadline,
    )
    if got.get("method") == "Basic.GetOk":
        return described(got)
    return got if got.get("method") != "Basic.GetEmpty" else "deadline"


def counts_until(w: Wire, q: str, done: Any, channel: int = 1) -> list[Any]:
    """Poll message_count until ``done(count)``: the distinct counts seen ('deadline' added
    if it never happened)."""
    seen: list[Any] = []

    def count() -> Any:
        current = passive(w, q, channel)[0]
        if not seen or seen[-1] != current:
            seen.append(current)
        return current

    return seen if done(settle(count, done)) else [*seen, "deadline"]


def wait_past(run: Run, w: Wire, ttl_ms: int) -> None:
    """Return once a witness message with this TTL, published now, has expired."""
    witness = _queue(run, w, **{"x-message-ttl": ttl_ms})
    fill(w, witness, b"witness")
    if counts_until(w, witness, lambda count: count == 0)[-1] != 0:
        raise AssertionError("the witness never expired")
    w.ok(1, M.queue_delete(witness), "Queue.DeleteOk")


# -- set-up --------------------------------------------------------------------------------
def _declare(w: Wire, q: str, **args: Any) -> str:
    """An exclusive queue named ``q`` with these arguments."""
    w.ok(1, M.queue_declare(q, exclusive=True, args=args or None), "Queue.DeclareOk")
    return q


def _queue(run: Run, w: Wire, **args: Any) -> str:
    return _declare(w, run.queue(), **args)


def _fanout(run: Run, w: Wire, *queues: str) -> str:
    x = run.exchange()
    w.ok(1, M.exchange_declare(x, "fanout", auto_delete=False), "Exchange.DeclareOk")
    for q in queues:
        w.ok(1, M.queue_bind(q, x, ""), "Queue.BindOk")
    return x


def _dlx_pair(run: Run, w: Wire, **args: Any) -> tuple[str, str]:
    """(queue, dead): ``queue`` dead-letters through a fanout exchange into ``dead``."""
    dead = _queue(run, w)
    x = _fanout(run, w, dead)
    return _queue(run, w, **{"x-dead-letter-exchange": x, **args}), dead


RICH = {
    "content_type": "text/plain",
    "content_encoding": "utf-8",
    "headers": {"zz": 1, "aa": "text", "mm": T("l", 7), "x-custom": [1, "two"]},
    "delivery_mode": 2,
    "priority": 3,
    "correlation_id": "corr",
    "reply_to": "replies",
    "expiration": "60000",
    "message_id": "mid",
    "timestamp": 1700000000,
    "type": "kind",
    "app_id": "app",
}


# -- reasons -------------------------------------------------------------------------------
@scenario()
def reject_dead_letters(run: Run) -> Any:
    """basic.reject requeue=false: the message goes to the DLX with its properties intact but
    expiration removed, headers gaining x-death (reason rejected, original-expiration) and
    x-first-death-*; published via a direct exchange with key 'k'."""
    w = run.raw()
    q, dead = _dlx_pair(run, w)
    x = run.exchange()
    w.ok(1, M.exchange_declare(x, "direct"), "Exchange.DeclareOk")
    w.ok(1, M.queue_bind(q, x, "k"), "Queue.BindOk")
    flags, props = properties(**RICH)
    publish(w, x, "k", b"rich", flags=flags, props=props)
    got = w.call(1, M.basic_get(q))
    w.m(1, M.basic_reject(1, requeue=False))
    return {"got": got["body"], "dead": take(w, dead), "left": passive(w, q)}


@scenario()
def reject_without_headers(run: Run) -> Any:
    """A message without properties: the dead-lettered one has only headers."""
    w = run.raw()
    q, dead = _dlx_pair(run, w)
    fill(w, q, b"bare")
    w.call(1, M.basic_get(q))
    w.m(1, M.basic_reject(1, requeue=False))
    return take(w, dead)


@scenario()
def nack_dead_letters(run: Run) -> Any:
    """A consumer's nack multiple requeue=false, then a reject: all three dead-lettered in
    order, each with reason rejected."""
    w = run.raw()
    w.open(2)
    q, dead = _dlx_pair(run, w)
    w.ok(2, M.basic_consume(q, "c"), "Basic.ConsumeOk")
    fill(w, q, b"m1", b"m2", b"m3")
    for _ in range(3):
        w.reply(channel=2)
    w.m(2, M.basic_nack(2, multiple=True, requeue=False))
    w.m(2, M.basic_reject(3, requeue=False))
    arrived = counts_until(w, dead, lambda count: count == 3)[-1]
    return [arrived, *[take(w, dead) for _ in range(3)], passive(w, q)]


@scenario()
def requeue_is_not_dead_lettering(run: Run) -> Any:
    """nack and reject with requeue=true, and a closed channel's unacked messages: back in
    the queue, nothing dead-lettered; a later reject requeue=false is the first arrival."""
    w = run.raw()
    w.open(2)
    q, dead = _dlx_pair(run, w)
    fill(w, q, b"m1", b"m2", b"m3")
    for _ in range(3):
        w.call(2, M.basic_get(q))
    w.m(2, M.basic_nack(1, requeue=True))
    w.m(2, M.basic_reject(2, requeue=True))
    w.ok(2, M.channel_close(), "Channel.CloseOk")
    back = counts_until(w, q, lambda count: count == 3)[-1]
    w.call(1, M.basic_get(q))
    w.m(1, M.basic_reject(1, requeue=False))
    first = take(w, dead)
    return {"back": back, "first_dead": first["body"], "dead_left": passive(w, dead)}


@scenario()
def expired_dead_letters(run: Run) -> Any:
    """Expiry: reason expired; original-expiration only when the message had an expiration
    (queue TTL alone: none; queue TTL 100 with expiration 60000: '60000')."""
    w = run.raw()
    out = []
    for ttl, expiration in ((100, None), (None, "100"), (100, "60000")):
        args = {} if ttl is None else {"x-message-ttl": ttl}
        q, dead = _dlx_pair(run, w, **args)
        flags, props = properties(expiration=expiration) if expiration else (0, b"")
        fill(w, q, b"dies", flags=flags, props=props)
        out.append(take(w, dead))
    return out


@scenario()
def maxlen_dead_letters(run: Run) -> Any:
    """x-max-length 1 (drop-head): the two oldest of three are dead-lettered, reason maxlen,
    in order; the newest stays."""
    w = run.raw()
    q, dead = _dlx_pair(run, w, **{"x-max-length": 1})
    fill(w, q, b"m1", b"m2", b"m3")
    arrived = counts_until(w, dead, lambda count: count == 2)[-1]
    return {
        "arrived": arrived,
        "dead": [take(w, dead), take(w, dead)],
        "queue": get_all(w, q, no_ack=True),
    }


@scenario()
def delete_and_purge_do_not_dead_letter(run: Run) -> Any:
    """Messages purged or in a deleted queue are not dead-lettered."""
    w = run.raw()
    q1, dead = _dlx_pair(run, w)
    x = _fanout(run, w, dead)
    q2 = _queue(run, w, **{"x-dead-letter-exchange": x})
    fill(w, q1, b"purged")
    fill(w, q2, b"deleted")
    purged = w.call(1, M.queue_purge(q1))
    deleted = w.call(1, M.queue_delete(q2))
    fill(w, q1, b"later")
    w.call(1, M.basic_get(q1))
    w.m(1, M.basic_reject(1, requeue=False))
    return [purged, deleted, take(w, dead)["body"], passive(w, dead)]


# -- routing of dead-lettered messages -----------------------------------------------------
@scenario()
def dead_letter_routing_key(run: Run) -> Any:
    """Without x-dead-letter-routing-key the original key ('k') routes the dead-lettered
    message; with it, that key ('dlrk'); x-death routing-keys is ['k'] either way."""
    w = run.raw()
    by_k, by_dlrk = _queue(run, w), _queue(run, w)
    dlx = run.exchange()
    w.ok(1, M.exchange_declare(dlx, "direct"), "Exchange.DeclareOk")
    w.ok(1, M.queue_bind(by_k, dlx, "k"), "Queue.BindOk")
    w.ok(1, M.queue_bind(by_dlrk, dlx, "dlrk"), "Queue.BindOk")
    plain = _queue(run, w, **{"x-dead-letter-exchange": dlx})
    keyed = _queue(run, w, **{"x-dead-letter-exchange": dlx, "x-dead-letter-routing-key": "dlrk"})
    src = run.exchange()
    w.ok(1, M.exchange_declare(src, "direct"), "Exchange.DeclareOk")
    for q in (plain, keyed):
        w.ok(1, M.queue_bind(q, src, "k"), "Queue.BindOk")
    publish(w, src, "k", b"m")
    for q, tag in ((plain, 1), (keyed, 2)):
        w.call(1, M.basic_get(q))
        w.m(1, M.basic_reject(tag, requeue=False))
    return {
        "by_k": take(w, by_k),
        "by_dlrk": take(w, by_dlrk),
        "left": [passive(w, by_k), passive(w, by_dlrk)],
    }


@scenario()
def dead_letter_to_default_exchange(run: Run) -> Any:
    """x-dead-letter-exchange '' with x-dead-letter-routing-key naming a queue."""
    w = run.raw()
    dead = _queue(run, w)
    q = _queue(run, w, **{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead})
    fill(w, q, b"m")
    w.call(1, M.basic_get(q))
    w.m(1, M.basic_reject(1, requeue=False))
    return take(w, dead)


@scenario()
def dead_letter_cc_header(run: Run) -> Any:
    """A message published with a CC header: x-death routing-keys lists the CC keys too; the
    original keys route it (CC kept) without x-dead-letter-routing-key; with it, the CC header
    is removed."""
    w = run.raw()
    seen_k, seen_cc, seen_dlrk = _queue(run, w), _queue(run, w), _queue(run, w)
    dlx = run.exchange()
    w.ok(1, M.exchange_declare(dlx, "direct"), "Exchange.DeclareOk")
    for q, key in ((seen_k, "k"), (seen_cc, "cc"), (seen_dlrk, "dlrk")):
        w.ok(1, M.queue_bind(q, dlx, key), "Queue.BindOk")
    plain = _queue(run, w, **{"x-dead-letter-exchange": dlx})
    keyed = _queue(run, w, **{"x-dead-letter-exchange": dlx, "x-dead-letter-routing-key": "dlrk"})
    src = run.exchange()
    w.ok(1, M.exchange_declare(src, "direct"), "Exchange.DeclareOk")
    w.ok(1, M.queue_bind(plain, src, "k"), "Queue.BindOk")
    w.ok(1, M.queue_bind(keyed, src, "k"), "Queue.BindOk")
    flags, props = properties(headers={"CC": ["cc"]})
    publish(w, src, "k", b"m", flags=flags, props=props)
    got = []
    for q in (plain, keyed):
        reply = w.call(1, M.basic_get(q))
        got.append(reply.get("method"))
        if reply.get("method") == "Basic.GetOk":
            w.m(1, M.basic_reject(reply["delivery_tag"], requeue=False))
    return {
        "got": got,
        "k": take(w, seen_k),
        "cc": take(w, seen_cc),
        "dlrk": take(w, seen_dlrk),
        "left": [passive(w, q) for q in (seen_k, seen_cc, seen_dlrk)],
    }


@scenario()
def dlx_missing_drops_silently(run: Run) -> Any:
    """A DLX that does not exist: the rejected message is dropped, the channel stays open;
    once the exchange exists, the next reject is the only arrival."""
    w = run.raw()
    x = run.exchange()
    q = _queue(run, w, **{"x-dead-letter-exchange": x})
    fill(w, q, b"lost", b"found")
    w.call(1, M.basic_get(q))
    w.m(1, M.basic_reject(1, requeue=False))
    after = [w.probe(1)["method"], passive(w, q)]
    dead = _queue(run, w)
    w.ok(1, M.exchange_declare(x, "fanout"), "Exchange.DeclareOk")
    w.ok(1, M.queue_bind(dead, x, ""), "Queue.BindOk")
    w.call(1, M.basic_get(q))
    w.m(1, M.basic_reject(2, requeue=False))
    return {"after": after, "dead": take(w, dead)["body"], "dead_left": passive(w, dead)}


@scenario()
def dlx_unroutable_drops_silently(run: Run) -> Any:
    """A DLX with no binding for the message: dropped; expiry and maxlen alike."""
    w = run.raw()
    x = run.exchange()
    w.ok(1, M.exchange_declare(x, "direct"), "Exchange.DeclareOk")
    q = _queue(run, w, **{"x-dead-letter-exchange": x, "x-max-length": 1})
    t = _queue(run, w, **{"x-dead-letter-exchange": x, "x-message-ttl": 100})
    fill(w, q, b"m1", b"m2")
    fill(w, t, b"t1")
    w.call(1, M.basic_get(q))
    w.m(1, M.basic_reject(1, requeue=False))
    return [w.probe(1)["method"], passive(w, q), counts_until(w, t, lambda c: c == 0)[-1]]


# -- repeated deaths and cycles ------------------------------------------------------------
@scenario()
def repeated_rejects_count(run: Run) -> Any:
    """A queue dead-lettering to itself (DLX '' and the original key): each reject brings the
    message back, one x-death entry whose count goes 1, 2, 3; rejection never counts as a
    cycle."""
    w = run.raw()
    q = _queue(run, w, **{"x-dead-letter-exchange": ""})
    fill(w, q, b"m")
    w.raw_headers = True
    seen = []
    for tag in (1, 2, 3):
        got = w.call(1, M.basic_get(q))
        if got.get("method") != "Basic.GetOk":
            seen.append(got)
            break
        w.m(1, M.basic_reject(tag, requeue=False))
        back = counts_until(w, q, lambda count: count == 1)[-1]
        seen.append([described(got) if tag > 1 else got["body"], back])
    return [*seen, take(w, q)]


@scenario()
def repeated_deaths_move_first(run: Run) -> Any:
    """A rejects into B (and a tap), B (TTL 100) expires into A, twice round: the entry of
    the latest death moves first with its count incremented; x-first-death-* stay."""
    w = run.raw()
    a, b, tap = run.queue(), run.queue(), _queue(run, w)
    to_a, to_b = run.exchange(), run.exchange()
    for x in (to_a, to_b):
        w.ok(1, M.exchange_declare(x, "fanout"), "Exchange.DeclareOk")
    for q, args in (
        (a, {"x-dead-letter-exchange": to_b}),
        (b, {"x-dead-letter-exchange": to_a, "x-message-ttl": 100}),
    ):
        w.ok(1, M.queue_declare(q, exclusive=True, args=args), "Queue.DeclareOk")
    for q, x in ((a, to_a), (b, to_b), (tap, to_b)):
        w.ok(1, M.queue_bind(q, x, ""), "Queue.BindOk")
    fill(w, a, b"m")
    w.raw_headers = True
    stages = []
    for _ in range(3):
        got = _get_eventually(w, a)
        w.m(1, M.basic_reject(got["delivery_tag"], requeue=False))
        stages.append({"a": described(got), "tap": take(w, tap)})
    return stages


@scenario()
def ttl_self_cycle_dropped(run: Run) -> Any:
    """A (TTL 100) dead-letters through a fanout to itself and a tap: on expiry the tap gets
    the message once, A does not (a cycle without a rejection)."""
    w = run.raw()
    a, tap = run.queue(), _queue(run, w)
    x = run.exchange()
    w.ok(1, M.exchange_declare(x, "fanout"), "Exchange.DeclareOk")
    _declare(w, a, **{"x-dead-letter-exchange": x, "x-message-ttl": 100})
    w.ok(1, M.queue_bind(a, x, ""), "Queue.BindOk")
    w.ok(1, M.queue_bind(tap, x, ""), "Queue.BindOk")
    fill(w, a, b"m")
    tapped = counts_until(w, tap, lambda count: count > 0)[-1]
    wait_past(run, w, 300)
    return {"tapped": tapped, "a": passive(w, a), "tap": [passive(w, tap), take(w, tap)]}


@scenario()
def ttl_self_cycle_default_exchange(run: Run) -> Any:
    """A (TTL 100) with DLX '' and no routing key: its expired message would go back to A
    itself; it is dropped."""
    w = run.raw()
    a = _queue(run, w, **{"x-dead-letter-exchange": "", "x-message-ttl": 100})
    fill(w, a, b"m")
    emptied = counts_until(w, a, lambda count: count == 0)[-1]
    wait_past(run, w, 300)
    return [emptied, passive(w, a), w.call(1, M.basic_get(a, no_ack=True))]


@scenario()
def ttl_two_queue_cycle_dropped(run: Run) -> Any:
    """A (TTL 100) -> B (TTL 100) -> A, with a tap on each hop: A -> B happens, B -> A is a
    cycle (dropped for A, the tap still gets it), and nothing more."""
    w = run.raw()
    a, b, tap_b, tap_a = run.queue(), run.queue(), _queue(run, w), _queue(run, w)
    to_a, to_b = run.exchange(), run.exchange()
    for x in (to_a, to_b):
        w.ok(1, M.exchange_declare(x, "fanout"), "Exchange.DeclareOk")
    for q, x in ((a, to_b), (b, to_a)):
        args = {"x-dead-letter-exchange": x, "x-message-ttl": 100}
        w.ok(1, M.queue_declare(q, exclusive=True, args=args), "Queue.DeclareOk")
    for q, x in ((a, to_a), (tap_a, to_a), (b, to_b), (tap_b, to_b)):
        w.ok(1, M.queue_bind(q, x, ""), "Queue.BindOk")
    fill(w, a, b"m")
    reached = counts_until(w, tap_a, lambda count: count > 0)[-1]
    wait_past(run, w, 300)
    return {
        "reached": reached,
        "counts": [passive(w, q) for q in (a, b, tap_a, tap_b)],
        "tap_b": take(w, tap_b),
        "tap_a": take(w, tap_a),
    }


@scenario()
def cycle_with_reject_continues(run: Run) -> Any:
    """A (TTL 100) expires into B; a client rejects from B into A; A expires into B again:
    not a cycle, since a rejection is in it; x-death then shows A/expired count 2 first."""
    w = run.raw()
    a, b = run.queue(), run.queue()
    to_a, to_b = run.exchange(), run.exchange()
    for x in (to_a, to_b):
        w.ok(1, M.exchange_declare(x, "fanout"), "Exchange.DeclareOk")
    _declare(w, a, **{"x-dead-letter-exchange": to_b, "x-message-ttl": 100})
    _declare(w, b, **{"x-dead-letter-exchange": to_a})
    w.ok(1, M.queue_bind(a, to_a, ""), "Queue.BindOk")
    w.ok(1, M.queue_bind(b, to_b, ""), "Queue.BindOk")
    fill(w, a, b"m")
    w.raw_headers = True
    first = _get_eventually(w, b)
    w.m(1, M.basic_reject(first["delivery_tag"], requeue=False))
    second = _get_eventually(w, b)
    w.m(1, M.basic_reject(second["delivery_tag"], requeue=False))
    third = _get_eventually(w, b)
    return [described(first), described(second), described(third)]


@scenario()
def self_cycle_reject_then_expire(run: Run) -> Any:
    """A (TTL 300) dead-letters to itself and a tap: rejected, it comes back (and the tap gets
    a copy); when it then expires, A's newest death is an expiry in A: dropped for A."""
    w = run.raw()
    a, tap = run.queue(), _queue(run, w)
    x = run.exchange()
    w.ok(1, M.exchange_declare(x, "fanout"), "Exchange.DeclareOk")
    _declare(w, a, **{"x-dead-letter-exchange": x, "x-message-ttl": 300})
    w.ok(1, M.queue_bind(a, x, ""), "Queue.BindOk")
    w.ok(1, M.queue_bind(tap, x, ""), "Queue.BindOk")
    fill(w, a, b"m")
    got = w.call(1, M.basic_get(a))
    w.m(1, M.basic_reject(1, requeue=False))
    back = counts_until(w, a, lambda count: count == 1)[-1]
    gone = counts_until(w, a, lambda count: count == 0)[-1]
    tapped = counts_until(w, tap, lambda count: count == 2)[-1]
    wait_past(run, w, 300)
    return {
        "got": got["body"],
        "back": back,
        "gone": gone,
        "tapped": tapped,
        "a": passive(w, a),
        "tap": [take(w, tap), take(w, tap), passive(w, tap)],
    }


def _get_eventually(w: Wire, q: str, channel: int = 1) -> dict[str, Any]:
    """basic.get (with ack) until a message comes; fails the scenario at the deadline."""
    return wait_until(
        lambda: (got := w.call(channel, M.basic_get(q))).get("method") == "Basic.GetOk" and got,
        f"an arrival in {q}",
    )


# -- x-death already in the headers -------------------------------------------------------
@scenario()
def client_supplied_x_death(run: Run) -> Any:
    """A message published with an x-death array (as a client republishing a dead letter
    would) but no x-first-death-*; another with x-death of the wrong type (a string)."""
    w = run.raw()
    q, dead = _dlx_pair(run, w)
    earlier = {
        "count": T("l", 4),
        "reason": "expired",
        "queue": "elsewhere",
        "time": T("T", 1700000000),
        "exchange": "ex",
        "routing-keys": ["rk"],
    }
    out = []
    for headers in (
        {"x-death": [earlier]},
        {"x-death": [{**earlier, "queue": q, "reason": "rejected"}]},
        {"x-death": "not an array", "x-first-death-queue": "kept"},
    ):
        flags, props = properties(headers=headers)
        fill(w, q, b"m", flags=flags, props=props)
        got = w.call(1, M.basic_get(q))
        w.m(1, M.basic_reject(got["delivery_tag"], requeue=False))
        out.append(take(w, dead))
    return out


# -- clients -------------------------------------------------------------------------------
@scenario()
def pika_x_death(run: Run) -> Any:
    """pika: the decoded x-death of a rejected message (Python types shown)."""
    import pika  # noqa: PLC0415

    conn = run.pika()
    ch = conn.channel()
    ch.confirm_delivery()
    dead = ch.queue_declare(run.queue(), exclusive=True).method.queue
    q = ch.queue_declare(
        run.queue(),
        exclusive=True,
        arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead},
    ).method.queue
    ch.basic_publish("", q, b"m", pika.BasicProperties(expiration="60000", headers={"h": 1}))
    method, _props, _body = ch.basic_get(q)
    ch.basic_reject(method.delivery_tag, requeue=False)
    method, props, body = settle(
        lambda: ch.basic_get(dead, auto_ack=True), lambda got: got[0] is not None
    )
    headers = props.headers
    deaths = [
        {k: [type(v).__name__, v if k != "time" else "<time>"] for k, v in d.items()}
        for d in headers["x-death"]
    ]
    return {
        "keys": list(headers),
        "deaths": deaths,
        "first": {k: v for k, v in headers.items() if k.startswith("x-first")},
        "expiration": props.expiration,
        "body": body.decode(),
    }


@scenario()
async def aio_pika_x_death(run: Run) -> Any:
    """aio-pika: nack(requeue=False) dead-letters; the decoded x-death with Python types."""

    import aio_pika  # noqa: PLC0415

    conn = await run.aio()
    ch = await conn.channel()
    dead = await ch.declare_queue(run.queue(), exclusive=True)
    q = await ch.declare_queue(
        run.queue(),
        exclusive=True,
        arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead.name},
    )
    await ch.default_exchange.publish(aio_pika.Message(b"m"), routing_key=q.name)
    got = await q.get()
    await got.nack(requeue=False)
    message = await settle_async(lambda: dead.get(no_ack=True, fail=False))
    if message is None:
        return "nothing dead-lettered"
    headers = message.headers
    deaths = [
        {k: [type(v).__name__, v if k != "time" else "<time>"] for k, v in d.items()}
        for d in headers["x-death"]
    ]
    return {"keys": list(headers), "deaths": deaths, "body": message.body.decode()}
