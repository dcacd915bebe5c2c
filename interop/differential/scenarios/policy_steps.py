"""Steps the policy scenarios share: a policy naming one of the run's queues, a queue
declared under policies, and what a client observes of it (what stays after publishes,
whether a message or the queue itself expired, the x-death of a dead-lettered message).

Policies are vhost-wide on a shared reference broker, so every pattern is anchored on one of
the run's own names (``only(name)``) or contains the run token.  Whether a message expired,
or a queue did, is decided against a witness with the same short TTL made after it, so no
step sleeps for a fixed time.
"""

from __future__ import annotations

import re
from typing import Any

from amqpbroker.testing.polling import settle

from ..runner import Run
from ..wire import M, Wire
from .common import get_all, passive, publish
from .dlx import described, wait_past

QUORUM = {"x-queue-type": "quorum"}
SHORT = 200  # ms: a TTL or expiry that passes during the scenario
LONG = 600_000  # ms: one that does not


# -- set-up --------------------------------------------------------------------------------
def only(name: str) -> str:
    """A pattern matching exactly ``name``."""
    return f"^{re.escape(name)}$"


def policy_on(run: Run, target: str, definition: dict[str, Any], **options: Any) -> str:
    """A policy (``operator=True``: an operator policy) applying to ``target`` only."""
    return run.admin.set_policy(run.name("p"), only(target), definition, **options)


def declare(
    run: Run, w: Wire, quorum: bool, args: dict[str, Any] | None = None, q: str | None = None
) -> str:
    """A queue of the chosen type (classic: exclusive; quorum: durable, deleted at the end),
    named ``q`` (one of ``run.queue()``'s) or a new name."""
    q = q or run.queue()
    args = {**(QUORUM if quorum else {}), **(args or {})}
    flags = {"durable": True} if quorum else {"exclusive": True}
    w.ok(1, M.queue_declare(q, args=args or None, **flags), "Queue.DeclareOk")
    return q


def queue_with(
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
        policy_on(run, q, policy, apply_to="queues")
    if operator:
        policy_on(run, q, operator, apply_to="queues", operator=True)
    return declare(run, w, quorum, args, q)


def confirmed(w: Wire, q: str, *bodies: bytes) -> list[Any]:
    """The confirm (Basic.Ack or Basic.Nack) of each of ``bodies`` published to ``q``."""
    return [publish(w, "", q, body)[-1]["method"] for body in bodies]


def fanout_to(run: Run, w: Wire) -> tuple[str, str]:
    """(exchange, queue): a fanout exchange with one classic queue bound."""
    dead = declare(run, w, False)
    x = run.exchange()
    w.ok(1, M.exchange_declare(x, "fanout"), "Exchange.DeclareOk")
    w.ok(1, M.queue_bind(dead, x, ""), "Queue.BindOk")
    return x, dead


def length(run: Run, w: Wire, quorum: bool, bodies: int = 5, **sources: Any) -> Any:
    """Publish ``bodies`` one-octet messages: the acks' methods and what stays (drop-head)."""
    q = queue_with(run, w, quorum, **sources)
    acks = confirmed(w, q, *(str(n).encode() for n in range(1, bodies + 1)))
    return {"acks": acks, "kept": drain(w, q)}


def drain(w: Wire, q: str) -> list[Any]:
    """The bodies basic.get takes from ``q`` until it is empty."""
    return [got[0] if isinstance(got, list) else got for got in get_all(w, q, no_ack=True)]


def expired(run: Run, w: Wire, quorum: bool, **sources: Any) -> Any:
    """One message; once a witness with the SHORT TTL has expired: the queue's count."""
    q = queue_with(run, w, quorum, **sources)
    publish(w, "", q, b"m")
    wait_past(run, w, SHORT)
    return settle(lambda: passive(w, q)[0], lambda count: count == 0, timeout=3.0)


def gone(run: Run, w: Wire, quorum: bool, cases: dict[str, dict[str, Any]]) -> Any:
    """For each case (its policy/operator/args sources), whether its unused queue expired,
    decided once a witness of its type with x-expires SHORT, declared after all of them, has
    gone (quorum queues expire on a periodic tick, older queues first; the cases share one
    wait so a loaded reference is kept busy once, not once per case).  Probes must not count
    as using a queue: on classic queues a passive declare does (it is a redeclare), a publish
    does not; on quorum queues a publish does (every command marks it active), a passive
    declare does not."""
    queues = {case: queue_with(run, w, quorum, **sources) for case, sources in cases.items()}
    witness = declare(run, w, quorum, {"x-expires": SHORT})

    def exists(name: str) -> bool:
        return passive(w, name)[0] != 404 if quorum else routable(w, name)

    def state(name: str, timeout: float | None = None) -> str:
        there = settle(lambda: exists(name), lambda there: not there, **_deadline(timeout))
        return "there" if there else "gone"

    state(witness)
    return {case: state(q, timeout=3.0) for case, q in queues.items()}


def _deadline(timeout: float | None) -> dict[str, float]:
    return {} if timeout is None else {"timeout": timeout}


def routable(w: Wire, q: str) -> bool:
    """Whether a mandatory publish to ``q`` through the default exchange is routed."""
    replies = publish(w, "", q, b"probe", mandatory=True)
    return replies[0].get("method") != "Basic.Return"


def death(w: Wire, q: str) -> Any:
    """The x-death header of the message in ``q`` (None when it is empty)."""
    w.raw_headers = True
    got = w.call(1, M.basic_get(q, no_ack=True))
    if got.get("method") != "Basic.GetOk":
        return None
    return described(got)["props"].get("headers", {}).get("x-death")
