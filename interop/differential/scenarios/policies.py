"""Policies and operator policies taking effect on queues, key by key (RabbitMQ 3.10.8).

Each key set by a policy, by an operator policy, by both, and against a conflicting
x-argument, on classic and quorum queues (the precedence table of
``shared/research/rabbitmq-surface.md`` §2: min, argument wins, policy wins).  Policies are
set before the queue is declared, so the queue starts with them (``policy_changes`` covers
changes to existing queues).  Operator policies refuse overflow and dead-lettering keys, so
those are compared between policies and arguments only.
"""

from __future__ import annotations

from typing import Any

from amqpbroker.testing.polling import settle

from ..registry import scenario
from ..runner import Run
from ..wire import M, Wire
from .common import PUBLISHER_CHANNEL, passive, publish
from .policy_steps import (
    LONG,
    SHORT,
    confirmed,
    death,
    declare,
    drain,
    expired,
    fanout_to,
    gone,
    length,
    queue_with,
)


# -- numeric keys: policy, operator policy, both, against an argument ------------------------
def _max_length_sources(run: Run, quorum: bool) -> Any:
    w = run.raw()
    key = "max-length"
    return {
        "policy 2": length(run, w, quorum, policy={key: 2}),
        "operator 2": length(run, w, quorum, operator={key: 2}),
        "policy 3, operator 2": length(run, w, quorum, policy={key: 3}, operator={key: 2}),
        "policy 2, operator 3": length(run, w, quorum, policy={key: 2}, operator={key: 3}),
        "arg 3, policy 2": length(run, w, quorum, policy={key: 2}, args={"x-max-length": 3}),
        "arg 2, policy 3": length(run, w, quorum, policy={key: 3}, args={"x-max-length": 2}),
        "arg 2, operator 4": length(run, w, quorum, operator={key: 4}, args={"x-max-length": 2}),
    }


@scenario()
def max_length_sources_classic(run: Run) -> Any:
    """max-length on a classic queue from a policy, an operator policy, both, and against
    x-max-length: the smallest applies (drop-head keeps the newest)."""
    return _max_length_sources(run, quorum=False)


@scenario()
def max_length_sources_quorum(run: Run) -> Any:
    """max-length on a quorum queue from each source: the smallest applies."""
    return _max_length_sources(run, quorum=True)


def _max_length_bytes_sources(run: Run, quorum: bool) -> Any:
    w = run.raw()
    key = "max-length-bytes"
    return {
        "policy 2": length(run, w, quorum, policy={key: 2}),
        "operator 2": length(run, w, quorum, operator={key: 2}),
        "policy 3, operator 1": length(run, w, quorum, policy={key: 3}, operator={key: 1}),
        "arg 3, policy 2": length(run, w, quorum, policy={key: 2}, args={"x-max-length-bytes": 3}),
        "arg 1, policy 3": length(run, w, quorum, policy={key: 3}, args={"x-max-length-bytes": 1}),
    }


@scenario()
def max_length_bytes_sources_classic(run: Run) -> Any:
    """max-length-bytes on a classic queue from each source: the smallest applies."""
    return _max_length_bytes_sources(run, quorum=False)


@scenario()
def max_length_bytes_sources_quorum(run: Run) -> Any:
    """max-length-bytes on a quorum queue from each source: the smallest applies."""
    return _max_length_bytes_sources(run, quorum=True)


def _message_ttl_sources(run: Run, quorum: bool) -> Any:
    w = run.raw()
    key = "message-ttl"
    return {
        "policy short": expired(run, w, quorum, policy={key: SHORT}),
        "operator short": expired(run, w, quorum, operator={key: SHORT}),
        "policy long, operator short": expired(
            run, w, quorum, policy={key: LONG}, operator={key: SHORT}
        ),
        "arg short, policy long": expired(
            run, w, quorum, policy={key: LONG}, args={"x-message-ttl": SHORT}
        ),
        "arg long, policy short": expired(
            run, w, quorum, policy={key: SHORT}, args={"x-message-ttl": LONG}
        ),
        "arg long, policy long": expired(
            run, w, quorum, policy={key: LONG}, args={"x-message-ttl": LONG}
        ),
    }


@scenario()
def message_ttl_sources_classic(run: Run) -> Any:
    """message-ttl on a classic queue from each source: the shortest applies (count 0 once
    a witness with the short TTL expired; 1 when every TTL is long)."""
    return _message_ttl_sources(run, quorum=False)


@scenario()
def message_ttl_sources_quorum(run: Run) -> Any:
    """message-ttl on a quorum queue from each source: the shortest applies."""
    return _message_ttl_sources(run, quorum=True)


def _expires_sources(run: Run, quorum: bool) -> Any:
    key = "expires"
    cases = {
        "policy short": {"policy": {key: SHORT}},
        "operator short": {"operator": {key: SHORT}},
        "policy long, operator short": {"policy": {key: LONG}, "operator": {key: SHORT}},
        "arg short, policy long": {"policy": {key: LONG}, "args": {"x-expires": SHORT}},
        "arg long, policy short": {"policy": {key: SHORT}, "args": {"x-expires": LONG}},
    }
    return gone(run, run.raw(), quorum, cases)


@scenario()
def expires_sources_classic(run: Run) -> Any:
    """expires on a classic queue from each source: the shortest applies."""
    return _expires_sources(run, quorum=False)


@scenario()
def expires_sources_quorum(run: Run) -> Any:
    """expires on a quorum queue: the policy's value wins over x-expires even when longer."""
    return _expires_sources(run, quorum=True)


def _delivery_limit(run: Run, w: Wire, **sources: Any) -> Any:
    """Reject (requeue) the one message until it is gone: the redelivered flag of each
    delivery.  Gets, rejects and witnesses share the confirm channel, so a witness published
    after a reject reaches the queue after the message's return (or its drop)."""
    q = queue_with(run, w, True, **sources)
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


@scenario()
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
    x, dead = fanout_to(run, w)
    policy = {"max-length": 1, "dead-letter-exchange": x, **sources.pop("policy", {})}
    q = queue_with(run, w, quorum, policy=policy, **sources)
    acks = confirmed(w, q, b"1", b"2", b"3")
    return {"acks": acks, "kept": drain(w, q), "dead": _dead_bodies(w, dead)}


def _dead_bodies(w: Wire, dead: str) -> list[Any]:
    """What reached ``dead`` (at most the two refused or dropped messages): its bodies once
    both arrived, or after a bounded wait when fewer did."""
    settle(lambda: passive(w, dead)[0], lambda count: count >= 2, timeout=3.0)
    return drain(w, dead)


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


@scenario()
def overflow_sources_classic(run: Run) -> Any:
    """overflow by policy on a classic queue (max-length 1 and a DLX by the same policy):
    nacks for reject-publish, dead-lettering for drop-head and reject-publish-dlx; x-overflow
    wins over the policy."""
    return _overflow_sources(run, quorum=False)


@scenario()
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
    queue_with(run, w, quorum, policy=policy, args=args, name=q)
    publish(w, "", q, b"m")
    got = settle(lambda: w.call(1, M.basic_get(q)), lambda g: g.get("method") == "Basic.GetOk")
    w.m(1, M.basic_reject(got["delivery_tag"], requeue=False))
    dead = {
        f"{who} {'k' if key == 'k' else 'original key'}": queue
        for who, pair in pairs.items()
        for key, queue in pair[1].items()
    }
    settle(lambda: sum(passive(w, d)[0] for d in dead.values()), lambda total: total > 0)
    return {label: death(w, queue) for label, queue in dead.items()}


def _direct_pair(run: Run, w: Wire, original_key: str) -> tuple[str, dict[str, str]]:
    """A direct exchange with one queue bound on 'k' and one on ``original_key``."""
    x = run.exchange()
    w.ok(1, M.exchange_declare(x, "direct"), "Exchange.DeclareOk")
    queues = {}
    for key in ("k", original_key):
        queues[key] = declare(run, w, False)
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


@scenario()
def dead_letter_sources_classic(run: Run) -> Any:
    """dead-letter-exchange and -routing-key by policy on a classic queue: the arguments win
    key by key (an argument DLX combines with a policy's routing key)."""
    return _dead_letter_sources(run, quorum=False)


@scenario()
def dead_letter_sources_quorum(run: Run) -> Any:
    """dead-letter-exchange and -routing-key by policy on a quorum queue: as on classic."""
    return _dead_letter_sources(run, quorum=True)
