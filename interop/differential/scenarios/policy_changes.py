"""Policies changed on live queues and which policy applies (RabbitMQ 3.10.8).

A policy set on a queue that already holds messages (a lowered max-length drops the oldest,
dead-lettered as maxlen; a new TTL leaves queued messages alone), replaced, or removed;
priority (and ties), apply-to, unanchored patterns, a policy skipped for a key its queue
type does not support; alternate-exchange by policy against the exchange's argument.  A change to an
existing queue is observed by polling with a deadline.
"""

from __future__ import annotations

from typing import Any

from amqpbroker.testing.polling import settle

from ..registry import scenario
from ..runner import Run
from ..wire import M
from .common import passive, publish
from .dlx import counts_until, described, wait_past
from .policy_steps import (
    SHORT,
    confirmed,
    death,
    declare,
    drain,
    fanout_to,
    length,
    only,
    policy_on,
    queue_with,
)


# -- changes to a queue that already holds messages -----------------------------------------
def _lowered_max_length(run: Run, quorum: bool) -> Any:
    w = run.raw()
    x, dead = fanout_to(run, w)
    q = declare(run, w, quorum, {"x-dead-letter-exchange": x})
    confirmed(w, q, b"1", b"2", b"3", b"4", b"5")
    policy_on(run, q, {"max-length": 2}, apply_to="queues")
    counts = counts_until(w, q, lambda count: count == 2)
    settle(lambda: passive(w, dead)[0], lambda count: count >= 3)
    w.raw_headers = True
    deaths = []
    for _ in range(3):
        got = w.call(1, M.basic_get(dead, no_ack=True))
        x_death = described(got).get("props", {}).get("headers", {}).get("x-death", [{}])
        deaths.append([got.get("body"), x_death[0].get("reason")])
    w.raw_headers = False
    return {"counts": counts[-1:], "dead": deaths, "kept": drain(w, q)}


@scenario()
def lowered_max_length_classic(run: Run) -> Any:
    """A max-length 2 policy set on a classic queue holding five messages: the three oldest
    are dropped at once, dead-lettered (reason maxlen) by the queue's DLX."""
    return _lowered_max_length(run, quorum=False)


@scenario()
def lowered_max_length_quorum(run: Run) -> Any:
    """A max-length 2 policy set on a quorum queue holding five messages: the oldest three
    dead-lettered as maxlen (RabbitMQ's dead queue receives them newest first: 3, 2, 1)."""
    return _lowered_max_length(run, quorum=True)


@scenario()
def lowered_max_length_with_reject_publish(run: Run) -> Any:
    """max-length 2 with overflow reject-publish by policy, set on classic queues holding five
    messages: the surplus is dropped all the same (the limit is applied before overflow),
    unless the queue's own x-overflow is reject-publish; a publish afterwards is nacked."""
    w = run.raw()
    out = {}
    for label, args in (
        ("policy overflow", None),
        ("argument overflow", {"x-overflow": "reject-publish"}),
    ):
        q = declare(run, w, False, args)
        confirmed(w, q, b"1", b"2", b"3", b"4", b"5")
        policy_on(run, q, {"max-length": 2, "overflow": "reject-publish"}, apply_to="queues")
        out[label] = {"later publish": confirmed(w, q, b"6"), "kept": drain(w, q)}
    return out


def _new_ttl(run: Run, quorum: bool) -> Any:
    w = run.raw()
    q = declare(run, w, quorum)
    confirmed(w, q, b"old1", b"old2")
    policy_on(run, q, {"message-ttl": SHORT}, apply_to="queues")
    confirmed(w, q, b"new")
    wait_past(run, w, SHORT)
    return {"count": passive(w, q)[0], "gets": drain(w, q)}


@scenario()
def new_ttl_leaves_queued_classic(run: Run) -> Any:
    """A message-ttl policy set on a classic queue: the messages already queued stay; one
    published after it expires once it reaches the head."""
    return _new_ttl(run, quorum=False)


@scenario()
def new_ttl_leaves_queued_quorum(run: Run) -> Any:
    """A message-ttl policy set on a quorum queue: as on classic."""
    return _new_ttl(run, quorum=True)


def _removed(run: Run, quorum: bool) -> Any:
    w = run.raw()
    q = queue_with(run, w, quorum, policy={"max-length": 1}, args={"x-max-length": 3})
    before = confirmed(w, q, b"1", b"2", b"3")
    after_set = passive(w, q)[0]
    run.admin.clear_policy(run.admin.policy_names()[-1])
    confirmed(w, q, b"4", b"5", b"6")
    return {"acks": before, "with policy": after_set, "without": drain(w, q)}


@scenario()
def removed_policy_classic(run: Run) -> Any:
    """max-length 1 by policy over x-max-length 3 on a classic queue; once the policy is
    cleared the argument's limit applies again."""
    return _removed(run, quorum=False)


@scenario()
def removed_policy_quorum(run: Run) -> Any:
    """The same on a quorum queue."""
    return _removed(run, quorum=True)


@scenario()
def replaced_policy_raises_limit(run: Run) -> Any:
    """A max-length 1 policy replaced (same name) by max-length 3: later publishes keep up
    to three."""
    w = run.raw()
    q = queue_with(run, w, False, policy={"max-length": 1})
    first = confirmed(w, q, b"1", b"2")
    name = run.admin.policy_names()[-1]
    run.admin.set_policy(name, only(q), {"max-length": 3}, apply_to="queues")
    confirmed(w, q, b"3", b"4", b"5", b"6")
    return {"acks": first, "kept": drain(w, q)}


@scenario()
def dead_letter_policy_on_existing_queue(run: Run) -> Any:
    """A dead-letter-exchange policy set while a message is unacked: rejecting it afterwards
    dead-letters it (reason rejected)."""
    w = run.raw()
    x, dead = fanout_to(run, w)
    q = declare(run, w, False)
    publish(w, "", q, b"m")
    got = w.call(1, M.basic_get(q))
    policy_on(run, q, {"dead-letter-exchange": x}, apply_to="queues")
    w.m(1, M.basic_reject(got["delivery_tag"], requeue=False))
    settle(lambda: passive(w, dead)[0], lambda count: count > 0)
    return {"dead": death(w, dead), "queue": passive(w, q)}


# -- which policy applies -------------------------------------------------------------------
@scenario()
def priority_and_apply_to(run: Run) -> Any:
    """Two policies match one queue: the higher priority applies, unless it applies to
    exchanges only; keys of two policies never merge."""
    w = run.raw()
    out = {}
    q = run.queue()
    run.admin.set_policy(run.name("p"), only(q), {"max-length": 3}, priority=1)
    run.admin.set_policy(run.name("p"), only(q), {"max-length": 1}, priority=2)
    out["higher priority wins"] = length(run, w, False, name=q)
    q = run.queue()
    run.admin.set_policy(run.name("p"), only(q), {"max-length": 3}, priority=1)
    run.admin.set_policy(
        run.name("p"), only(q), {"max-length": 1}, priority=5, apply_to="exchanges"
    )
    out["exchanges-only skipped"] = length(run, w, False, name=q)
    q = run.queue()
    run.admin.set_policy(run.name("p"), only(q), {"max-length-bytes": 2}, priority=2)
    run.admin.set_policy(run.name("p"), only(q), {"max-length": 1}, priority=1)
    out["no merging"] = length(run, w, False, name=q)
    return out


@scenario()
def priority_tie(run: Run) -> Any:
    """Two policies of equal priority match one queue: exactly one of them applies (which one
    RabbitMQ leaves undefined, so the observation names the outcome, not the winner), never
    a merge of the two.  The three outcomes differ: max-length 2 alone keeps the newest two,
    overflow reject-publish alone keeps all five, both would nack three and keep the oldest."""
    w = run.raw()
    q = run.queue()
    run.admin.set_policy(run.name("p-a"), only(q), {"max-length": 2}, priority=3)
    run.admin.set_policy(run.name("p-b"), only(q), {"overflow": "reject-publish"}, priority=3)
    got = length(run, w, False, name=q)
    outcomes = {
        "max-length alone": ["4", "5"],
        "reject-publish alone": ["1", "2", "3", "4", "5"],
    }
    acked = got["acks"] == ["Basic.Ack"] * 5
    one = acked and any(got["kept"] == [*kept, "Basic.GetEmpty"] for kept in outcomes.values())
    return {"exactly one applies": one} if one else {"other outcome": got}


@scenario()
def unanchored_pattern(run: Run) -> Any:
    """A pattern is an unanchored regular expression: 'tail' matches a name containing it
    anywhere; a name without it is left alone."""
    w = run.raw()
    matched = run.name("q-head-tail-end")
    other = run.name("q-other")
    run.admin.set_policy(run.name("p"), f"{run.token}-q-head-tai", {"max-length": 1})
    return {
        "containing": length(run, w, False, 3, name=matched),
        "not containing": length(run, w, False, 3, name=other),
    }


@scenario()
def unfit_key_skips_policy(run: Run) -> Any:
    """A policy with a key the queue type does not support is skipped for that queue (the
    next by priority applies): delivery-limit on classic, queue-mode on quorum."""
    w = run.raw()
    out = {}
    for quorum, unfit in ((False, {"delivery-limit": 5}), (True, {"queue-mode": "lazy"})):
        q = run.queue()
        run.admin.set_policy(run.name("p"), only(q), {"max-length": 1, **unfit}, priority=2)
        run.admin.set_policy(run.name("p"), only(q), {"max-length": 3}, priority=1)
        out["quorum" if quorum else "classic"] = length(run, w, quorum, name=q)
    return out


# -- exchanges -------------------------------------------------------------------------------
@scenario()
def alternate_exchange_policy(run: Run) -> Any:
    """alternate-exchange by policy takes unroutable messages; an exchange's own
    alternate-exchange argument wins over the policy's."""
    w = run.raw()
    (by_policy, policy_q), (by_arg, arg_q) = fanout_to(run, w), fanout_to(run, w)
    plain, with_arg = run.exchange(), run.exchange()
    for x in (plain, with_arg):
        run.admin.set_policy(
            run.name("p"), only(x), {"alternate-exchange": by_policy}, apply_to="exchanges"
        )
    w.ok(1, M.exchange_declare(plain, "direct"), "Exchange.DeclareOk")
    args = {"alternate-exchange": by_arg}
    w.ok(1, M.exchange_declare(with_arg, "direct", args=args), "Exchange.DeclareOk")
    publish(w, plain, "nowhere", b"plain")
    publish(w, with_arg, "nowhere", b"with-arg")
    return {"policy's": drain(w, policy_q), "argument's": drain(w, arg_q)}
