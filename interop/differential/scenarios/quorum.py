"""Quorum queues: the arguments each queue type refuses, x-delivery-count on redeliveries,
x-delivery-limit, and where returned messages go.

RabbitMQ applies quorum-queue operations asynchronously (Raft): a published message, a
returned one, a closed channel's unacked ones appear a moment later.  So messages are read
by polling basic.get with a deadline, counts are polled until they settle, and "nothing came
back" is shown by a witness published after the return on the same channel (a channel's
commands reach the queue in order, and a returned message goes to the back of the queue).

Deliveries are shown with their content header octet for octet as well as the layout of the
headers table (each key with its type octet), so the type of x-delivery-count (long), the
order of the keys (sorted) and every other property byte are compared.
"""

from __future__ import annotations

from typing import Any

from amqpbroker.testing.polling import settle

from ..registry import scenario
from ..runner import Run
from ..wire import M, T, Wire, properties
from .common import publish
from .dlx import counts_until, described, take

PUBLISHER = 3  # a confirm-mode channel for witnesses that must follow a return in order

CLASSIC_UNSUPPORTED = {
    "x-initial-cluster-size": 3,
    "x-stream-max-segment-size-bytes": 1000,
    "x-max-age": "1D",
    "x-queue-leader-locator": "client-local",
    "x-dead-letter-strategy": "at-most-once",
    "x-delivery-limit": 5,
    "x-quorum-initial-group-size": 3,
    "x-max-in-memory-bytes": 1000,
    "x-max-in-memory-length": 10,
}
QUORUM_UNSUPPORTED = {
    "x-queue-version": 2,
    "x-initial-cluster-size": 3,
    "x-stream-max-segment-size-bytes": 1000,
    "x-max-age": "1D",
    "x-queue-master-locator": "client-local",
    "x-queue-mode": "lazy",
    "x-max-priority": 5,
}
QUORUM = {"x-queue-type": "quorum"}
HEADERS = {"zz": 1, "aa": "text", "x-delivery-count": T("I", 99), "mm": T("l", 7)}


# -- helpers -----------------------------------------------------------------------------------
def _declare(w: Wire, q: str, args: dict[str, Any], **flags: Any) -> str:
    """The reply to a queue.declare (the channel reopened if the broker closed it)."""
    got = w.attempt(1, M.queue_declare(q, args=args, **flags))
    return str(got.get("reply_text") or got.get("method"))


def _quorum(run: Run, w: Wire, **args: Any) -> str:
    q = run.queue()
    w.ok(1, M.queue_declare(q, durable=True, args={**QUORUM, **args}), "Queue.DeclareOk")
    return q


def _get(w: Wire, q: str, channel: int = 1, *, no_ack: bool = False) -> Any:
    """basic.get until a message comes (described, headers octet for octet) or the deadline."""
    w.raw_headers = True
    got = settle(
        lambda: w.call(channel, M.basic_get(q, no_ack=no_ack)),
        lambda got: got.get("method") != "Basic.GetEmpty",
    )
    if got.get("method") == "Basic.GetOk":
        return {**described(got), "octets": got["header_octets"]}
    return got if got.get("method") != "Basic.GetEmpty" else "deadline"


def _brief(got: Any) -> Any:
    """[body, x-delivery-count, redelivered] of a described get-ok or delivery."""
    if not isinstance(got, dict) or "body" not in got:
        return got
    headers = got.get("props", {}).get("headers", {})
    return [got["body"], headers.get("x-delivery-count"), got.get("redelivered")]


def _drain(w: Wire, q: str) -> list[Any]:
    """No-ack gets until the queue is empty: [body, x-delivery-count] of each."""
    out = []
    while True:
        got = w.call(1, M.basic_get(q, no_ack=True))
        if got.get("method") != "Basic.GetOk":
            return out
        out.append([got["body"], got["header"]["props"]["headers"]["x-delivery-count"]])


def _confirming(w: Wire, channel: int = PUBLISHER) -> None:
    w.open(channel)
    w.ok(channel, M.confirm_select(), "Confirm.SelectOk")


def _fill(w: Wire, q: str, *bodies: str) -> None:
    for body in bodies:
        publish(w, "", q, body.encode())


def _count(w: Wire, q: str, expected: int) -> Any:
    """Wait until ``q`` holds ``expected`` ready messages; the last count seen."""
    return counts_until(w, q, lambda count: count == expected)[-1]


def _dead_letter_target(run: Run, w: Wire) -> tuple[str, str]:
    """(exchange, queue): a fanout exchange and the classic queue bound to it."""
    dead = run.queue()
    w.ok(1, M.queue_declare(dead, exclusive=True), "Queue.DeclareOk")
    x = run.exchange()
    w.ok(1, M.exchange_declare(x, "fanout"), "Exchange.DeclareOk")
    w.ok(1, M.queue_bind(dead, x, ""), "Queue.BindOk")
    return x, dead


# -- arguments each queue type refuses ---------------------------------------------------------
@scenario()
def unsupported_classic_arguments(run: Run) -> Any:
    """A classic queue refuses quorum and stream arguments (406, after value checks): each
    alone; all at once in either order (the first in the table is named); with an explicit
    x-queue-type classic; for a server-named queue; with an invalid value of a supported
    argument."""
    w = run.raw()
    out: dict[str, Any] = {}
    for key, value in CLASSIC_UNSUPPORTED.items():
        out[key] = _declare(w, run.queue(), {key: value})
    out["all"] = _declare(w, run.queue(), CLASSIC_UNSUPPORTED)
    out["all reversed"] = _declare(w, run.queue(), dict(reversed(CLASSIC_UNSUPPORTED.items())))
    explicit = {"x-queue-type": "classic", "x-delivery-limit": 1}
    out["explicit classic"] = _declare(w, run.queue(), explicit)
    out["server-named"] = _declare(w, "", {"x-delivery-limit": 1}, exclusive=True)
    bad_value = {"x-delivery-limit": 1, "x-max-length": -1}
    out["bad value first"] = _declare(w, run.queue(), bad_value)
    # Unsupported arguments' values are not checked.
    out["bad unsupported value"] = _declare(w, run.queue(), {"x-max-in-memory-length": -1})
    return out


@scenario()
def unsupported_quorum_arguments(run: Run) -> Any:
    """A quorum queue refuses classic and stream arguments: each alone; all at once in
    either order (the first in the table is named); before the durable, exclusive and
    auto-delete checks, after the value checks of its own arguments (the values of refused
    ones are not checked)."""
    w = run.raw()
    out: dict[str, Any] = {}
    for key, value in QUORUM_UNSUPPORTED.items():
        out[key] = _declare(w, run.queue(), {**QUORUM, key: value}, durable=True)
    out["all"] = _declare(w, run.queue(), {**QUORUM, **QUORUM_UNSUPPORTED}, durable=True)
    reverse = dict(reversed(QUORUM_UNSUPPORTED.items()))
    out["all reversed"] = _declare(w, run.queue(), {**QUORUM, **reverse}, durable=True)
    priority = {**QUORUM, "x-max-priority": 5}
    out["non-durable"] = _declare(w, run.queue(), priority)
    out["exclusive"] = _declare(w, run.queue(), priority, durable=True, exclusive=True)
    out["auto-delete"] = _declare(w, run.queue(), priority, durable=True, auto_delete=True)
    bad = {**priority, "x-max-length": -1}
    out["bad value first"] = _declare(w, run.queue(), bad, durable=True)
    for value in (500, "high"):
        refused = {**QUORUM, "x-max-priority": value}
        out[f"priority {value}"] = _declare(w, run.queue(), refused, durable=True)
    return out


@scenario()
def redeclare_compares_the_type_arguments(run: Run) -> Any:
    """On redeclare only the arguments of the existing queue's type are compared (in that
    type's order) and refused arguments are not checked: a classic queue ignores
    x-delivery-limit, a quorum queue x-max-priority."""
    w = run.raw()
    classic = run.queue()
    w.ok(1, M.queue_declare(classic, durable=True), "Queue.DeclareOk")
    out: dict[str, Any] = {}
    for key, value in {**CLASSIC_UNSUPPORTED, "x-queue-version": 2}.items():
        out[f"classic {key}"] = _declare(w, classic, {key: value}, durable=True)
    out["classic to quorum"] = _declare(w, classic, {**QUORUM, "x-max-priority": 1}, durable=True)
    quorum = _quorum(run, w, **{"x-delivery-limit": 5})
    limit = {**QUORUM, "x-delivery-limit": 5}
    for key, value in {**QUORUM_UNSUPPORTED, "x-message-ttl": 1000}.items():
        out[f"quorum {key}"] = _declare(w, quorum, {**limit, key: value}, durable=True)
    for value in (6, "5"):
        changed = {**QUORUM, "x-delivery-limit": value}
        out[f"quorum limit {value}"] = _declare(w, quorum, changed, durable=True)
    out["quorum without limit"] = _declare(w, quorum, QUORUM, durable=True)
    out["quorum untyped"] = _declare(w, quorum, {"x-delivery-limit": 5}, durable=True)
    out["quorum non-durable"] = _declare(w, quorum, limit)
    ordered = {**limit, "x-message-ttl": 5, "x-expires": 100000}
    out["quorum order"] = _declare(w, quorum, ordered, durable=True)
    return out


# -- x-delivery-count --------------------------------------------------------------------------
@scenario()
def delivery_count_on_get(run: Run) -> Any:
    """basic.get always adds x-delivery-count (a long, 0 the first time), replacing the
    publisher's and sorting the table; a message without headers (or without properties)
    gains them; after a nack the count is 1 and the message redelivered."""
    w = run.raw()
    q = _quorum(run, w)
    flags, props = properties(content_type="text/plain", headers=HEADERS, priority=3)
    publish(w, "", q, b"rich", flags=flags, props=props)
    flags, props = properties(message_id="mid", timestamp=1700000000)
    publish(w, "", q, b"no headers", flags=flags, props=props)
    publish(w, "", q, b"bare")
    first = [_get(w, q) for _ in range(3)]
    w.m(1, M.basic_nack(0, multiple=True, requeue=True))
    again = [_get(w, q, no_ack=True) for _ in range(3)]
    return {"first": first, "again": again}


@scenario()
def delivery_count_on_deliver(run: Run) -> Any:
    """A consumer's first delivery is untouched (the publisher's own x-delivery-count
    included); after reject, nack and basic.recover each redelivery carries the count."""
    w = run.raw()
    w.open(2)
    w.raw_headers = True
    q = _quorum(run, w)
    flags, props = properties(headers=HEADERS, app_id="app")
    publish(w, "", q, b"m1", flags=flags, props=props)
    w.ok(2, M.basic_qos(count=1), "Basic.QosOk")
    w.ok(2, M.basic_consume(q, "c"), "Basic.ConsumeOk")
    seen = []
    for settlement in (
        M.basic_reject(1, requeue=True),
        M.basic_nack(2, requeue=True),
        M.basic_recover(True),
        M.basic_ack(4),
    ):
        got = w.reply(channel=2)
        seen.append({**described(got), "octets": got.get("header_octets")})
        w.m(2, settlement)
        if settlement == M.basic_recover(True):
            w.reply(channel=2)  # recover-ok
    return seen


# -- where returned messages go ----------------------------------------------------------------
@scenario()
def returns_go_to_the_back(run: Run) -> Any:
    """nack, reject and basic.recover put a message behind the others (in the order of
    the return), each with its count raised."""
    w = run.raw()
    w.open(2)
    q = _quorum(run, w)
    _fill(w, q, "m1", "m2", "m3", "m4")
    for _ in range(3):
        _get(w, q, 2)
    w.m(2, M.basic_nack(3, requeue=True))
    w.m(2, M.basic_reject(1, requeue=True))
    w.ok(2, M.basic_recover(True), "Basic.RecoverOk")
    return {"settled": _count(w, q, 4), "order": _drain(w, q)}


@scenario()
def channel_close_returns_to_the_front(run: Run) -> Any:
    """A closed channel's unacked messages go back to the front, grouped as RabbitMQ's
    queue knows their takers: each basic.get by its delivery tag as text, each consumer by
    its tag, sorted as bytes; a cancelled consumer's messages stay with the channel."""
    w = run.raw()
    w.open(2)
    q = _quorum(run, w)
    _fill(w, q, *(f"m{i}" for i in range(1, 17)))
    w.ok(2, M.basic_qos(count=1), "Basic.QosOk")
    gets = [_get(w, q, 2)["body"] for _ in range(11)]  # delivery tags 1..11
    consumed = []
    for tag in ("0", "2x", "\x01", "kept"):
        w.ok(2, M.basic_consume(q, tag), "Basic.ConsumeOk")
        consumed.append(w.reply(channel=2)["body"])
    w.ok(2, M.basic_cancel("kept"), "Basic.CancelOk")
    w.ok(2, M.channel_close(), "Channel.CloseOk")
    return {
        "gets": gets,
        "consumed": consumed,
        "settled": _count(w, q, 16),
        "order": _drain(w, q),
    }


@scenario()
def nack_multiple_order(run: Run) -> Any:
    """nack multiple returns basic.get deliveries first (in delivery order), then each
    consumer's (consumers sorted by tag as bytes), all to the back."""
    w = run.raw()
    w.open(2)
    q = _quorum(run, w)
    _fill(w, q, *(f"m{i}" for i in range(1, 17)))
    w.ok(2, M.basic_qos(count=1), "Basic.QosOk")
    for _ in range(11):
        _get(w, q, 2)
    for tag in ("0", "2x", "\x01"):
        w.ok(2, M.basic_consume(q, tag), "Basic.ConsumeOk")
        w.reply(channel=2)
        w.ok(2, M.basic_cancel(tag), "Basic.CancelOk")
    w.m(2, M.basic_nack(0, multiple=True, requeue=True))
    return {"settled": _count(w, q, 16), "order": _drain(w, q)}


# -- x-delivery-limit --------------------------------------------------------------------------
@scenario()
def delivery_limit_dead_letters(run: Run) -> Any:
    """x-delivery-limit 2: delivered with counts 0, 1, 2, then dead-lettered with reason
    delivery_limit (x-death as for other reasons, no x-delivery-count)."""
    w = run.raw()
    x, dead = _dead_letter_target(run, w)
    q = _quorum(run, w, **{"x-delivery-limit": 2, "x-dead-letter-exchange": x})
    flags, props = properties(headers={"b": 1, "a": 2}, expiration="60000")
    publish(w, "", q, b"m1", flags=flags, props=props)
    seen = []
    for _ in range(3):
        seen.append(_brief(_get(w, q)))
        w.m(1, M.basic_nack(0, multiple=True, requeue=True))
    return {"seen": seen, "dead": take(w, dead), "left": _count(w, q, 0)}


@scenario()
def delivery_limit_values(run: Run) -> Any:
    """Without a dead-letter exchange the message is dropped: limit 0 after one delivery,
    limit -1 on its first return; a float limit compares as a number, a string or a table
    is no limit.  A consumer nacks the message (three times at most), and each nack is
    followed by a witness: the message is gone once a witness arrives without it."""
    w = run.raw()
    _confirming(w)
    out: dict[str, Any] = {}
    for name, limit in (
        ("0", 0),
        ("-1", -1),
        ("1.5", T("d", 1.5)),
        ("string", "1"),
        ("table", {"a": 1}),
    ):
        q = _quorum(run, w, **{"x-delivery-limit": limit})
        _fill(w, q, "m")
        arrived = _returned_until_gone(w, q)
        # (where a requeued message falls among the witnesses is a race in a loaded
        # RabbitMQ: what is compared is the message's deliveries and the witnesses' count)
        out[name] = {
            "deliveries": [item for item in arrived if item != "witness"],
            "witnesses": arrived.count("witness"),
        }
    return out


def _returned_until_gone(w: Wire, q: str, channel: int = PUBLISHER, nacks: int = 3) -> Any:
    """Consume ``q`` on ``channel``: nack 'm' (publishing a witness after each nack) until
    ``nacks`` is spent, then ack it; stop once every witness has arrived.  What arrived:
    [body, x-delivery-count, redelivered] of each 'm', 'witness' for each witness."""
    w.raw_headers = True
    tag = f"r-{q}"
    w.ok(channel, M.basic_consume(q, tag), "Basic.ConsumeOk")
    seen: list[Any] = []
    pending = 0  # witnesses published and not yet delivered
    while len(seen) < 12:
        got = w.reply(channel=channel)
        if got.get("method") == "Basic.Ack":  # a witness's confirm
            continue
        if got.get("method") != "Basic.Deliver":
            return [*seen, got]
        if got["body"] == "witness":
            w.m(channel, M.basic_ack(got["delivery_tag"]))
            seen.append("witness")
            pending -= 1
            if pending == 0:
                break
            continue
        seen.append(_brief(described(got)))
        if nacks == 0:
            w.m(channel, M.basic_ack(got["delivery_tag"]))
            continue
        nacks -= 1
        w.m(channel, M.basic_nack(got["delivery_tag"], requeue=True))
        w.publish(channel, "", q, b"witness")
        pending += 1
    w.m(channel, M.basic_cancel(tag))
    while w.reply(channel=channel).get("method") == "Basic.Ack":
        pass  # (the cancel-ok follows)
    return seen


@scenario()
def channel_close_counts_and_limits(run: Run) -> Any:
    """A channel closing with unacked messages returns them with their count raised, and
    the delivery limit applies: with limit 0 they are dead-lettered (reason delivery_limit)."""
    w = run.raw()
    x, dead = _dead_letter_target(run, w)
    counted = _quorum(run, w)
    limited = _quorum(run, w, **{"x-delivery-limit": 0, "x-dead-letter-exchange": x})
    _fill(w, counted, "c1")
    _fill(w, limited, "l1")
    w.open(2)
    taken = [_brief(_get(w, counted, 2)), _brief(_get(w, limited, 2))]
    w.ok(2, M.channel_close(), "Channel.CloseOk")
    return {
        "taken": taken,
        "counted": _count(w, counted, 1),
        "again": _brief(_get(w, counted, no_ack=True)),
        "dead": take(w, dead),
        "limited": _count(w, limited, 0),
    }
