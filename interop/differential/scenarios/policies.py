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
from .common import eventually_gone, get_all, passive, publish
from .dlx import counts_until, take, wait_past

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
) -> str:
    """A queue declared after a policy and an operator policy naming it were set."""
    q = run.queue()
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
    return counts_until(w, q, lambda count: count == 0)[-1] if quorum else _settled(w, q)


def _settled(w: Wire, q: str) -> Any:
    """The count, given a moment (bounded) to drop to 0 if the head has expired."""
    return settle(lambda: passive(w, q)[0], lambda count: count == 0, timeout=2.0)


def _gone(run: Run, w: Wire, quorum: bool, **sources: Any) -> Any:
    """Whether the (unused) queue expired, decided once a witness with x-expires SHORT made
    after it has gone."""
    q = _queue_with(run, w, quorum, **sources)
    witness = _declare(run, w, False, {"x-expires": SHORT})
    eventually_gone(w, witness)
    return settle(lambda: passive(w, q), lambda got: got[0] == 404, timeout=2.0)


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
    """Reject (requeue) the one message until it is gone: the redelivered flags seen."""
    q = _queue_with(run, w, True, **sources)
    publish(w, "", q, b"m")
    seen: list[Any] = []
    for _ in range(6):
        got = settle(
            lambda: w.call(1, M.basic_get(q)), lambda got: got.get("method") != "Basic.GetEmpty"
        )
        if got.get("method") != "Basic.GetOk":
            seen.append(got.get("method"))
            break
        seen.append(got["redelivered"])
        w.m(1, M.basic_reject(got["delivery_tag"], requeue=True))
    return {"gets": seen, "count": counts_until(w, q, lambda count: count == 0)[-1]}


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
