"""Policies and operator policies taking effect on queues and exchanges (RabbitMQ 3.10.8).

Each key set by a policy, by an operator policy, by both, and against a conflicting
x-argument, on classic and quorum queues (the precedence table of
``shared/research/rabbitmq-surface.md`` §2: min, argument wins, policy wins); changes to a queue
that already holds messages; removing a policy; priority, apply-to, unanchored patterns, a
policy skipped for a key its queue type does not support; alternate-exchange by policy.

Policies are vhost-wide on a shared reference broker, so every pattern is anchored on one of
the run's own names (``^d-<token>-q3$``) or contains the run token.  Most policies are set
before the queue is declared, so the queue starts with them; a change to an existing queue is
observed by polling its count with a deadline.  Whether a message expired, or a queue did,
is decided against a witness with the same short TTL made after it (``dlx.wait_past``), so no
scenario sleeps for a fixed time.

Every scenario is ``pending`` until policies take effect on amqpbroker's queues (issue 15,
branch pol-apply); to un-pend, drop ``pending=PENDING`` from those that are then equal (the
test fails with "now equal: remove pending=" for each).
"""

from __future__ import annotations

import re
from typing import Any

from amqpbroker.testing.polling import settle

from ..registry import scenario
from ..runner import Run
from ..wire import M, Wire
from .common import PUBLISHER_CHANNEL, get_all, passive, publish
from .dlx import counts_until, described, wait_past

PENDING = "issue 15: policies are stored but do not yet take effect on queues (branch pol-apply)"
QUORUM = {"x-queue-type": "quorum"}
SHORT = 200  # ms: a TTL or expiry that passes during the scenario
LONG = 600_000  # ms: one that does not


# -- set-up --------------------------------------------------------------------------------
def _only(name: str) -> str:
    """A pattern matching exactly ``name``."""
    return f"^{re.escape(name)}$"


def _policy(run: Run, target: str, definition: dict[str, Any], **options: Any) -> str:
    """A policy (``operator=True``: an operator policy) applying to ``target`` only."""
    return run.admin.set_policy(run.name("p"), _only(target), definition, **options)


def _declare(
    run: Run, w: Wire, quorum: bool, args: dict[str, Any] | None = None, q: str | None = None
) -> str:
    """A queue of the chosen type (classic: exclusive; quorum: durable, deleted at the end),
    named ``q`` (one of ``run.queue()``'s) or a new name."""
    q = q or run.queue()
    args = {**(QUORUM if quorum else {}), **(args or {})}
    flags = {"durable": True} if quorum else {"exclusive": True}
    w.ok(1, M.queue_declare(q, args=args or None, **flags), "Queue.DeclareOk")
    return q


def _queue_with(
    run: Run,
    w: Wire,
    quorum: bool,
    *,
    policy: dict[str, Any] | None = None,
    operator: dict[str, Any] | None = None,
    args: dict[str, Any] | None = None,
    name: str | None = None,
) -> str:
    """A queue (named ``name``, one of ``run.queue()``'s, or a new name) declared after a
    policy and an operator policy naming it were set."""
    q = name or run.queue()
    if policy:
        _policy(run, q, policy, apply_to="queues")
    if operator:
        _policy(run, q, operator, apply_to="queues", operator=True)
    return _declare(run, w, quorum, args, q)


def _acks(w: Wire, q: str, *bodies: bytes) -> list[Any]:
    return [publish(w, "", q, body)[-1]["method"] for body in bodies]


def _fanout_to(run: Run, w: Wire) -> tuple[str, str]:
    """(exchange, queue): a fanout exchange with one classic queue bound."""
    dead = _declare(run, w, False)
    x = run.exchange()
    w.ok(1, M.exchange_declare(x, "fanout"), "Exchange.DeclareOk")
    w.ok(1, M.queue_bind(dead, x, ""), "Queue.BindOk")
    return x, dead


def _length(run: Run, w: Wire, quorum: bool, bodies: int = 5, **sources: Any) -> Any:
    """Publish ``bodies`` one-octet messages: the acks' methods and what stays (drop-head)."""
    q = _queue_with(run, w, quorum, **sources)
    acks = _acks(w, q, *(str(n).encode() for n in range(1, bodies + 1)))
    return {"acks": acks, "kept": _bodies(w, q)}


def _bodies(w: Wire, q: str) -> list[Any]:
    """The bodies basic.get takes from ``q`` until it is empty."""
    return [got[0] if isinstance(got, list) else got for got in get_all(w, q, no_ack=True)]


def _expired(run: Run, w: Wire, quorum: bool, **sources: Any) -> Any:
    """One message; once a witness with the SHORT TTL has expired: the queue's count."""
    q = _queue_with(run, w, quorum, **sources)
    publish(w, "", q, b"m")
    wait_past(run, w, SHORT)
    return settle(lambda: passive(w, q)[0], lambda count: count == 0, timeout=3.0)


def _gone(run: Run, w: Wire, quorum: bool, **sources: Any) -> Any:
    """Whether the (unused) queue expired, decided once a witness of its type with x-expires
    SHORT made after it has gone (quorum queues expire on a periodic tick, the older queue's
    first).  Probes must not count as using the queue: on classic queues a passive declare
    does (it is a redeclare), a publish does not; on quorum queues a publish does (every
    command marks it active), a passive declare does not."""
    q = _queue_with(run, w, quorum, **sources)
    witness = _declare(run, w, quorum, {"x-expires": SHORT})

    def exists(name: str) -> bool:
        return passive(w, name)[0] != 404 if quorum else _routable(w, name)

    settle(lambda: exists(witness), lambda there: not there)
    return "there" if settle(lambda: exists(q), lambda there: not there, timeout=3.0) else "gone"


def _routable(w: Wire, q: str) -> bool:
    """Whether a mandatory publish to ``q`` through the default exchange is routed."""
    replies = publish(w, "", q, b"probe", mandatory=True)
    return replies[0].get("method") != "Basic.Return"


# -- numeric keys: policy, operator policy, both, against an argument ------------------------
def _max_length_sources(run: Run, quorum: bool) -> Any:
    w = run.raw()
    key = "max-length"
    return {
        "policy 2": _length(run, w, quorum, policy={key: 2}),
        "operator 2": _length(run, w, quorum, operator={key: 2}),
        "policy 3, operator 2": _length(run, w, quorum, policy={key: 3}, operator={key: 2}),
        "policy 2, operator 3": _length(run, w, quorum, policy={key: 2}, operator={key: 3}),
        "arg 3, policy 2": _length(run, w, quorum, policy={key: 2}, args={"x-max-length": 3}),
        "arg 2, policy 3": _length(run, w, quorum, policy={key: 3}, args={"x-max-length": 2}),
        "arg 2, operator 4": _length(run, w, quorum, operator={key: 4}, args={"x-max-length": 2}),
    }


@scenario(pending=PENDING)
def max_length_sources_classic(run: Run) -> Any:
    """max-length on a classic queue from a policy, an operator policy, both, and against
    x-max-length: the smallest applies (drop-head keeps the newest)."""
    return _max_length_sources(run, quorum=False)


@scenario(pending=PENDING)
def max_length_sources_quorum(run: Run) -> Any:
    """max-length on a quorum queue from each source: the smallest applies."""
    return _max_length_sources(run, quorum=True)


def _max_length_bytes_sources(run: Run, quorum: bool) -> Any:
    w = run.raw()
    key = "max-length-bytes"
    return {
        "policy 2": _length(run, w, quorum, policy={key: 2}),
        "operator 2": _length(run, w, quorum, operator={key: 2}),
        "policy 3, operator 1": _length(run, w, quorum, policy={key: 3}, operator={key: 1}),
        "arg 3, policy 2": _length(run, w, quorum, policy={key: 2}, args={"x-max-length-bytes": 3}),
        "arg 1, policy 3": _length(run, w, quorum, policy={key: 3}, args={"x-max-length-bytes": 1}),
    }


@scenario(pending=PENDING)
def max_length_bytes_sources_classic(run: Run) -> Any:
    """max-length-bytes on a classic queue from each source: the smallest applies."""
    return _max_length_bytes_sources(run, quorum=False)


@scenario(pending=PENDING)
def max_length_bytes_sources_quorum(run: Run) -> Any:
    """max-length-bytes on a quorum queue from each source: the smallest applies."""
    return _max_length_bytes_sources(run, quorum=True)


def _message_ttl_sources(run: Run, quorum: bool) -> Any:
    w = run.raw()
    key = "message-ttl"
    return {
        "policy short": _expired(run, w, quorum, policy={key: SHORT}),
        "operator short": _expired(run, w, quorum, operator={key: SHORT}),
        "policy long, operator short": _expired(
            run, w, quorum, policy={key: LONG}, operator={key: SHORT}
        ),
        "arg short, policy long": _expired(
            run, w, quorum, policy={key: LONG}, args={"x-message-ttl": SHORT}
        ),
        "arg long, policy short": _expired(
            run, w, quorum, policy={key: SHORT}, args={"x-message-ttl": LONG}
        ),
        "arg long, policy long": _expired(
            run, w, quorum, policy={key: LONG}, args={"x-message-ttl": LONG}
        ),
    }


@scenario(pending=PENDING)
def message_ttl_sources_classic(run: Run) -> Any:
    """message-ttl on a classic queue from each source: the shortest applies (count 0 once
    a witness with the short TTL expired; 1 when every TTL is long)."""
    return _message_ttl_sources(run, quorum=False)


@scenario(pending=PENDING)
def message_ttl_sources_quorum(run: Run) -> Any:
    """message-ttl on a quorum queue from each source: the shortest applies."""
    return _message_ttl_sources(run, quorum=True)


def _expires_sources(run: Run, quorum: bool) -> Any:
    w = run.raw()
    key = "expires"
    return {
        "policy short": _gone(run, w, quorum, policy={key: SHORT}),
        "operator short": _gone(run, w, quorum, operator={key: SHORT}),
        "policy long, operator short": _gone(
            run, w, quorum, policy={key: LONG}, operator={key: SHORT}
        ),
        "arg short, policy long": _gone(
            run, w, quorum, policy={key: LONG}, args={"x-expires": SHORT}
        ),
        "arg long, policy short": _gone(
            run, w, quorum, policy={key: SHORT}, args={"x-expires": LONG}
        ),
    }


@scenario(pending=PENDING)
def expires_sources_classic(run: Run) -> Any:
    """expires on a classic queue from each source: the shortest applies."""
    return _expires_sources(run, quorum=False)


@scenario(pending=PENDING)
def expires_sources_quorum(run: Run) -> Any:
    """expires on a quorum queue: the policy's value wins over x-expires even when longer."""
    return _expires_sources(run, quorum=True)


def _delivery_limit(run: Run, w: Wire, **sources: Any) -> Any:
    """Reject (requeue) the one message until it is gone: the redelivered flag of each
    delivery.  Gets, rejects and witnesses share the confirm channel, so a witness published
    after a reject reaches the queue after the message's return (or its drop)."""
    q = _queue_with(run, w, True, **sources)
    publish(w, "", q, b"m")
    seen: list[Any] = []
    for _ in range(6):
        got = _past_witnesses(w, q)
        if got.get("method") != "Basic.GetOk":
            seen.append(got.get("method"))
            break
        seen.append(got["redelivered"])
        w.m(PUBLISHER_CHANNEL, M.basic_reject(got["delivery_tag"], requeue=True))
        publish(w, "", q, b"witness")
    return seen


def _past_witnesses(w: Wire, q: str) -> dict[str, Any]:
    """basic.get on the confirm channel, acking witnesses, until the message or get-empty."""
    while True:
        got = w.call(PUBLISHER_CHANNEL, M.basic_get(q))
        if got.get("body") != "witness":
            return got
        w.m(PUBLISHER_CHANNEL, M.basic_ack(got["delivery_tag"]))


@scenario(pending=PENDING)
def delivery_limit_sources_quorum(run: Run) -> Any:
    """delivery-limit on a quorum queue from each source: the smallest applies; past it the
    message is dropped."""
    w = run.raw()
    key = "delivery-limit"
    return {
        "policy 1": _delivery_limit(run, w, policy={key: 1}),
        "operator 1": _delivery_limit(run, w, operator={key: 1}),
        "policy 3, operator 1": _delivery_limit(run, w, policy={key: 3}, operator={key: 1}),
        "arg 1, policy 3": _delivery_limit(run, w, policy={key: 3}, args={"x-delivery-limit": 1}),
        "arg 3, policy 1": _delivery_limit(run, w, policy={key: 1}, args={"x-delivery-limit": 3}),
    }


# -- overflow and dead-lettering: argument wins on classic, policy wins (overflow) on quorum -
def _overflow(run: Run, w: Wire, quorum: bool, **sources: Any) -> Any:
    """Three publishes into a queue whose max-length is 1 (by policy): acks or nacks, what
    stays, and what was dead-lettered (the policy's dead-letter-exchange, if any)."""
    x, dead = _fanout_to(run, w)
    policy = {"max-length": 1, "dead-letter-exchange": x, **sources.pop("policy", {})}
    q = _queue_with(run, w, quorum, policy=policy, **sources)
    acks = _acks(w, q, b"1", b"2", b"3")
    return {"acks": acks, "kept": _bodies(w, q), "dead": _dead_bodies(w, dead)}


def _dead_bodies(w: Wire, dead: str) -> list[Any]:
    """What reached ``dead`` (at most the two refused or dropped messages): its bodies once
    both arrived, or after a bounded wait when fewer did."""
    settle(lambda: passive(w, dead)[0], lambda count: count >= 2, timeout=3.0)
    return _bodies(w, dead)


def _overflow_sources(run: Run, quorum: bool) -> Any:
    w = run.raw()
    return {
        "policy reject-publish": _overflow(run, w, quorum, policy={"overflow": "reject-publish"}),
        "policy reject-publish-dlx": _overflow(
            run, w, quorum, policy={"overflow": "reject-publish-dlx"}
        ),
        "policy drop-head": _overflow(run, w, quorum, policy={"overflow": "drop-head"}),
        "arg drop-head, policy reject-publish": _overflow(
            run, w, quorum, policy={"overflow": "reject-publish"}, args={"x-overflow": "drop-head"}
        ),
        "arg reject-publish, policy drop-head": _overflow(
            run, w, quorum, policy={"overflow": "drop-head"}, args={"x-overflow": "reject-publish"}
        ),
    }


@scenario(pending=PENDING)
def overflow_sources_classic(run: Run) -> Any:
    """overflow by policy on a classic queue (max-length 1 and a DLX by the same policy):
    nacks for reject-publish, dead-lettering for drop-head and reject-publish-dlx; x-overflow
    wins over the policy."""
    return _overflow_sources(run, quorum=False)


@scenario(pending=PENDING)
def overflow_sources_quorum(run: Run) -> Any:
    """overflow by policy on a quorum queue: the policy wins over x-overflow; reject-publish
    lets one message past the limit; reject-publish-dlx acts as drop-head (all acked, the
    oldest dead-lettered)."""
    return _overflow_sources(run, quorum=True)


def _dead_letter(run: Run, w: Wire, quorum: bool, policy: dict[str, Any], **args: Any) -> Any:
    """A message rejected (requeue=false) from a queue with these dead-letter settings by
    policy and by argument ('policy-x' / 'arg-x' name two direct exchanges, each with a queue
    bound on 'k' and one on the original routing key): the x-death of what each dead queue
    got (None: nothing)."""
    q = run.queue()
    pairs = {who: _direct_pair(run, w, q) for who in ("policy-x", "arg-x")}
    exchanges = {who: pair[0] for who, pair in pairs.items()}
    policy = {k: exchanges.get(v, v) for k, v in policy.items()}
    args = {k: exchanges.get(v, v) for k, v in args.items()}
    _queue_with(run, w, quorum, policy=policy, args=args, name=q)
    publish(w, "", q, b"m")
    got = settle(lambda: w.call(1, M.basic_get(q)), lambda g: g.get("method") == "Basic.GetOk")
    w.m(1, M.basic_reject(got["delivery_tag"], requeue=False))
    dead = {
        f"{who} {'k' if key == 'k' else 'original key'}": queue
        for who, pair in pairs.items()
        for key, queue in pair[1].items()
    }
    settle(lambda: sum(passive(w, d)[0] for d in dead.values()), lambda total: total > 0)
    return {label: _death(w, queue) for label, queue in dead.items()}


def _death(w: Wire, q: str) -> Any:
    """The x-death header of the message in ``q`` (None when it is empty)."""
    w.raw_headers = True
    got = w.call(1, M.basic_get(q, no_ack=True))
    if got.get("method") != "Basic.GetOk":
        return None
    return described(got)["props"].get("headers", {}).get("x-death")


def _direct_pair(run: Run, w: Wire, original_key: str) -> tuple[str, dict[str, str]]:
    """A direct exchange with one queue bound on 'k' and one on ``original_key``."""
    x = run.exchange()
    w.ok(1, M.exchange_declare(x, "direct"), "Exchange.DeclareOk")
    queues = {}
    for key in ("k", original_key):
        queues[key] = _declare(run, w, False)
        w.ok(1, M.queue_bind(queues[key], x, key), "Queue.BindOk")
    return x, queues


def _dead_letter_sources(run: Run, quorum: bool) -> Any:
    w = run.raw()
    dlx, dlrk = "dead-letter-exchange", "dead-letter-routing-key"
    return {
        "policy exchange": _dead_letter(run, w, quorum, {dlx: "policy-x"}),
        "policy exchange and key": _dead_letter(run, w, quorum, {dlx: "policy-x", dlrk: "k"}),
        "arg exchange, policy exchange": _dead_letter(
            run, w, quorum, {dlx: "policy-x"}, **{"x-dead-letter-exchange": "arg-x"}
        ),
        "arg exchange, policy key": _dead_letter(
            run, w, quorum, {dlrk: "k"}, **{"x-dead-letter-exchange": "arg-x"}
        ),
    }


@scenario(pending=PENDING)
def dead_letter_sources_classic(run: Run) -> Any:
    """dead-letter-exchange and -routing-key by policy on a classic queue: the arguments win
    key by key (an argument DLX combines with a policy's routing key)."""
    return _dead_letter_sources(run, quorum=False)


@scenario(pending=PENDING)
def dead_letter_sources_quorum(run: Run) -> Any:
    """dead-letter-exchange and -routing-key by policy on a quorum queue: as on classic."""
    return _dead_letter_sources(run, quorum=True)


# -- changes to a queue that already holds messages -----------------------------------------
def _lowered_max_length(run: Run, quorum: bool) -> Any:
    w = run.raw()
    x, dead = _fanout_to(run, w)
    q = _declare(run, w, quorum, {"x-dead-letter-exchange": x})
    _acks(w, q, b"1", b"2", b"3", b"4", b"5")
    _policy(run, q, {"max-length": 2}, apply_to="queues")
    counts = counts_until(w, q, lambda count: count == 2)
    settle(lambda: passive(w, dead)[0], lambda count: count >= 3)
    w.raw_headers = True
    deaths = []
    for _ in range(3):
        got = w.call(1, M.basic_get(dead, no_ack=True))
        x_death = described(got).get("props", {}).get("headers", {}).get("x-death", [{}])
        deaths.append([got.get("body"), x_death[0].get("reason")])
    w.raw_headers = False
    return {"counts": counts[-1:], "dead": deaths, "kept": _bodies(w, q)}


@scenario(pending=PENDING)
def lowered_max_length_classic(run: Run) -> Any:
    """A max-length 2 policy set on a classic queue holding five messages: the three oldest
    are dropped at once, dead-lettered (reason maxlen) by the queue's DLX."""
    return _lowered_max_length(run, quorum=False)


@scenario(pending=PENDING)
def lowered_max_length_quorum(run: Run) -> Any:
    """A max-length 2 policy set on a quorum queue holding five messages: the oldest three
    dead-lettered as maxlen (RabbitMQ's dead queue receives them newest first: 3, 2, 1)."""
    return _lowered_max_length(run, quorum=True)


def _new_ttl(run: Run, quorum: bool) -> Any:
    w = run.raw()
    q = _declare(run, w, quorum)
    _acks(w, q, b"old1", b"old2")
    _policy(run, q, {"message-ttl": SHORT}, apply_to="queues")
    _acks(w, q, b"new")
    wait_past(run, w, SHORT)
    return {"count": passive(w, q)[0], "gets": _bodies(w, q)}


@scenario(pending=PENDING)
def new_ttl_leaves_queued_classic(run: Run) -> Any:
    """A message-ttl policy set on a classic queue: the messages already queued stay; one
    published after it expires once it reaches the head."""
    return _new_ttl(run, quorum=False)


@scenario(pending=PENDING)
def new_ttl_leaves_queued_quorum(run: Run) -> Any:
    """A message-ttl policy set on a quorum queue: as on classic."""
    return _new_ttl(run, quorum=True)


def _removed(run: Run, quorum: bool) -> Any:
    w = run.raw()
    q = _queue_with(run, w, quorum, policy={"max-length": 1}, args={"x-max-length": 3})
    before = _acks(w, q, b"1", b"2", b"3")
    after_set = passive(w, q)[0]
    run.admin.clear_policy(run.admin.policy_names()[-1])
    _acks(w, q, b"4", b"5", b"6")
    return {"acks": before, "with policy": after_set, "without": _bodies(w, q)}


@scenario(pending=PENDING)
def removed_policy_classic(run: Run) -> Any:
    """max-length 1 by policy over x-max-length 3 on a classic queue; once the policy is
    cleared the argument's limit applies again."""
    return _removed(run, quorum=False)


@scenario(pending=PENDING)
def removed_policy_quorum(run: Run) -> Any:
    """The same on a quorum queue."""
    return _removed(run, quorum=True)


@scenario(pending=PENDING)
def replaced_policy_raises_limit(run: Run) -> Any:
    """A max-length 1 policy replaced (same name) by max-length 3: later publishes keep up
    to three."""
    w = run.raw()
    q = _queue_with(run, w, False, policy={"max-length": 1})
    first = _acks(w, q, b"1", b"2")
    name = run.admin.policy_names()[-1]
    run.admin.set_policy(name, _only(q), {"max-length": 3}, apply_to="queues")
    _acks(w, q, b"3", b"4", b"5", b"6")
    return {"acks": first, "kept": _bodies(w, q)}


@scenario(pending=PENDING)
def dead_letter_policy_on_existing_queue(run: Run) -> Any:
    """A dead-letter-exchange policy set while a message is unacked: rejecting it afterwards
    dead-letters it (reason rejected)."""
    w = run.raw()
    x, dead = _fanout_to(run, w)
    q = _declare(run, w, False)
    publish(w, "", q, b"m")
    got = w.call(1, M.basic_get(q))
    _policy(run, q, {"dead-letter-exchange": x}, apply_to="queues")
    w.m(1, M.basic_reject(got["delivery_tag"], requeue=False))
    settle(lambda: passive(w, dead)[0], lambda count: count > 0)
    return {"dead": _death(w, dead), "queue": passive(w, q)}


# -- which policy applies -------------------------------------------------------------------
@scenario(pending=PENDING)
def priority_and_apply_to(run: Run) -> Any:
    """Two policies match one queue: the higher priority applies, unless it applies to
    exchanges only; keys of two policies never merge."""
    w = run.raw()
    out = {}
    q = run.queue()
    run.admin.set_policy(run.name("p"), _only(q), {"max-length": 3}, priority=1)
    run.admin.set_policy(run.name("p"), _only(q), {"max-length": 1}, priority=2)
    out["higher priority wins"] = _length(run, w, False, name=q)
    q = run.queue()
    run.admin.set_policy(run.name("p"), _only(q), {"max-length": 3}, priority=1)
    run.admin.set_policy(
        run.name("p"), _only(q), {"max-length": 1}, priority=5, apply_to="exchanges"
    )
    out["exchanges-only skipped"] = _length(run, w, False, name=q)
    q = run.queue()
    run.admin.set_policy(run.name("p"), _only(q), {"max-length-bytes": 2}, priority=2)
    run.admin.set_policy(run.name("p"), _only(q), {"max-length": 1}, priority=1)
    out["no merging"] = _length(run, w, False, name=q)
    return out


@scenario(pending=PENDING)
def unanchored_pattern(run: Run) -> Any:
    """A pattern is an unanchored regular expression: 'tail' matches a name containing it
    anywhere; a name without it is left alone."""
    w = run.raw()
    matched = run.name("q-head-tail-end")
    other = run.name("q-other")
    run.admin.set_policy(run.name("p"), f"{run.token}-q-head-tai", {"max-length": 1})
    return {
        "containing": _length(run, w, False, 3, name=matched),
        "not containing": _length(run, w, False, 3, name=other),
    }


@scenario(pending=PENDING)
def unfit_key_skips_policy(run: Run) -> Any:
    """A policy with a key the queue type does not support is skipped for that queue (the
    next by priority applies): delivery-limit on classic, queue-mode on quorum."""
    w = run.raw()
    out = {}
    for quorum, unfit in ((False, {"delivery-limit": 5}), (True, {"queue-mode": "lazy"})):
        q = run.queue()
        run.admin.set_policy(run.name("p"), _only(q), {"max-length": 1, **unfit}, priority=2)
        run.admin.set_policy(run.name("p"), _only(q), {"max-length": 3}, priority=1)
        out["quorum" if quorum else "classic"] = _length(run, w, quorum, name=q)
    return out


# -- exchanges -------------------------------------------------------------------------------
@scenario(pending=PENDING)
def alternate_exchange_policy(run: Run) -> Any:
    """alternate-exchange by policy takes unroutable messages; an exchange's own
    alternate-exchange argument wins over the policy's."""
    w = run.raw()
    (by_policy, policy_q), (by_arg, arg_q) = _fanout_to(run, w), _fanout_to(run, w)
    plain, with_arg = run.exchange(), run.exchange()
    for x in (plain, with_arg):
        run.admin.set_policy(
            run.name("p"), _only(x), {"alternate-exchange": by_policy}, apply_to="exchanges"
        )
    w.ok(1, M.exchange_declare(plain, "direct"), "Exchange.DeclareOk")
    args = {"alternate-exchange": by_arg}
    w.ok(1, M.exchange_declare(with_arg, "direct", args=args), "Exchange.DeclareOk")
    publish(w, plain, "nowhere", b"plain")
    publish(w, with_arg, "nowhere", b"with-arg")
    return {"policy's": _bodies(w, policy_q), "argument's": _bodies(w, arg_q)}
