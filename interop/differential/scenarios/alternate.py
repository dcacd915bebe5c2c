"""Alternate exchanges: where unroutable messages go, chains and cycles of them, a missing or
internal one, how they combine with mandatory, confirms, exchange-to-exchange bindings and
CC keys, and which values of the ``alternate-exchange`` argument a declare accepts.

RabbitMQ routes exchange by exchange: an exchange whose own bindings match none of the
message's routing keys (the routing key plus any CC / BCC keys) hands the message to its
alternate-exchange, if that exchange exists; each exchange is visited at most once.
"""

from __future__ import annotations

from typing import Any

from ..registry import scenario
from ..runner import Run
from ..wire import M, T, Wire, properties
from .common import publish

# -- steps ----------------------------------------------------------------------------------


def _exchange(run: Run, w: Wire, kind: str = "direct", ae: Any = None, **flags: Any) -> str:
    """A fresh exchange of ``kind``, with alternate-exchange ``ae`` if given."""
    x = run.exchange()
    args = None if ae is None else {"alternate-exchange": ae}
    w.ok(1, M.exchange_declare(x, kind, args=args, **flags), "Exchange.DeclareOk")
    return x


def _queue(run: Run, w: Wire, *bindings: tuple[str, str]) -> str:
    """A fresh exclusive queue bound to each (exchange, key)."""
    q = run.queue()
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    for exchange, key in bindings:
        w.ok(1, M.queue_bind(q, exchange, key), "Queue.BindOk")
    return q


def _sent(w: Wire, exchange: str, key: str, body: bytes, **publish_args: Any) -> list[Any]:
    """Publish (confirmed): what came back, briefly: returns with their code, text, exchange
    and key, then the ack or nack."""
    out: list[Any] = []
    for got in publish(w, exchange, key, body, **publish_args):
        if got["method"] == "Basic.Return":
            out.append(["return", got["reply_code"], got["reply_text"], got["routing_key"]])
        else:
            out.append(got["method"])
    return out


def _arrivals(w: Wire, *queues: str) -> list[list[Any]]:
    """For each queue, [body, exchange, routing key] of every message in it (taken)."""
    out = []
    for q in queues:
        got_here = []
        while True:
            got = w.call(1, M.basic_get(q, no_ack=True))
            if got.get("method") != "Basic.GetOk":
                break
            got_here.append([got["body"], got["exchange"], got["routing_key"]])
        out.append(got_here)
    return out


# -- where unroutable messages go ------------------------------------------------------------


@scenario()
def unroutable_to_alternate(run: Run) -> Any:
    """Routed messages stay; unroutable ones go to the alternate-exchange, keeping their
    original exchange and routing key; mandatory ones reach it and are not returned."""
    w = run.raw()
    ae = _exchange(run, w, "fanout")
    x = _exchange(run, w, "direct", ae=ae)
    routed, caught = _queue(run, w, (x, "k")), _queue(run, w, (ae, ""))
    sent = [
        _sent(w, x, "k", b"routed"),
        _sent(w, x, "other", b"unroutable"),
        _sent(w, x, "other", b"mandatory", mandatory=True),
    ]
    return {"sent": sent, "queues": _arrivals(w, routed, caught)}


@scenario()
def alternate_chain(run: Run) -> Any:
    """x -> ae1 -> ae2: each exchange that routes nowhere hands over to its own alternate."""
    w = run.raw()
    ae2 = _exchange(run, w, "fanout")
    ae1 = _exchange(run, w, "direct", ae=ae2)
    x = _exchange(run, w, "direct", ae=ae1)
    q_x, q_ae1, q_ae2 = _queue(run, w, (x, "x")), _queue(run, w, (ae1, "a1")), _queue(run, w)
    w.ok(1, M.queue_bind(q_ae2, ae2, ""), "Queue.BindOk")
    sent = [_sent(w, x, key, key.encode(), mandatory=True) for key in ("x", "a1", "z")]
    return {"sent": sent, "queues": _arrivals(w, q_x, q_ae1, q_ae2)}


@scenario()
def alternate_cycle(run: Run) -> Any:
    """x's alternate is y and y's is x (and z is its own): a message neither routes is
    returned to a mandatory publisher, once; what y routes arrives once."""
    w = run.raw()
    x, y = run.exchange(), run.exchange()
    for name, ae in ((x, y), (y, x)):
        w.ok(
            1,
            M.exchange_declare(name, "direct", args={"alternate-exchange": ae}),
            "Exchange.DeclareOk",
        )
    z = run.exchange()
    w.ok(1, M.exchange_declare(z, "topic", args={"alternate-exchange": z}), "Exchange.DeclareOk")
    q = _queue(run, w, (y, "y"))
    sent = {
        "x_unroutable": _sent(w, x, "none", b"1", mandatory=True),
        "x_via_y": _sent(w, x, "y", b"2", mandatory=True),
        "y_unroutable": _sent(w, y, "none", b"3", mandatory=True),
        "self_alternate": _sent(w, z, "none", b"4", mandatory=True),
    }
    return {"sent": sent, "queue": _arrivals(w, q)}


@scenario()
def alternate_missing(run: Run) -> Any:
    """An alternate-exchange that does not exist: the message is dropped (returned if
    mandatory), the publish still confirmed; once it is declared, it catches."""
    w = run.raw()
    ae = run.exchange()
    x = _exchange(run, w, "direct", ae=ae)
    before = [_sent(w, x, "k", b"lost"), _sent(w, x, "k", b"returned", mandatory=True)]
    w.ok(1, M.exchange_declare(ae, "fanout"), "Exchange.DeclareOk")
    q = _queue(run, w, (ae, ""))
    after = _sent(w, x, "k", b"caught", mandatory=True)
    w.ok(1, M.exchange_delete(ae), "Exchange.DeleteOk")
    deleted = _sent(w, x, "k", b"after-delete", mandatory=True)
    return {"before": before, "after": after, "deleted": deleted, "queue": _arrivals(w, q)}


@scenario()
def alternate_internal(run: Run) -> Any:
    """An internal exchange serves as an alternate; publishing to it directly is still 403."""
    w = run.raw()
    ae = _exchange(run, w, "fanout", internal=True)
    x = _exchange(run, w, "direct", ae=ae)
    q = _queue(run, w, (ae, ""))
    via = _sent(w, x, "k", b"via-x", mandatory=True)
    w.publish(1, ae, "k", b"direct")
    refused = w.reply(channel=1)
    w.open(1)
    return {"via": via, "direct": refused, "queue": _arrivals(w, q)}


@scenario()
def alternate_is_default_exchange(run: Run) -> Any:
    """alternate-exchange '' names the default exchange: is a queue named by the key reached?"""
    w = run.raw()
    q = _queue(run, w)
    x = _exchange(run, w, "direct", ae="")
    return {
        "to_queue": _sent(w, x, q, b"by-name", mandatory=True),
        "missing": _sent(w, x, "no-such-queue", b"lost", mandatory=True),
        "queue": _arrivals(w, q),
    }


@scenario()
def alternate_to_full_queue_nacked(run: Run) -> Any:
    """Confirms follow the message through the alternate: a full reject-publish queue there
    nacks it; a routed publish is acked."""
    w = run.raw()
    ae = _exchange(run, w, "fanout")
    x = _exchange(run, w, "direct", ae=ae)
    q = run.queue()
    args = {"x-max-length": 1, "x-overflow": "reject-publish"}
    w.ok(1, M.queue_declare(q, exclusive=True, args=args), "Queue.DeclareOk")
    w.ok(1, M.queue_bind(q, ae, ""), "Queue.BindOk")
    sent = [_sent(w, x, "k", b"fits"), _sent(w, x, "k", b"full", mandatory=True)]
    return {"sent": sent, "queue": _arrivals(w, q)}


# -- with exchange-to-exchange bindings and CC keys ----------------------------------------


@scenario()
def alternate_with_exchange_bindings(run: Run) -> Any:
    """An exchange reached through an e2e binding uses its own alternate when it routes
    nowhere; the source, which did route (to that exchange), does not use its alternate."""
    w = run.raw()
    src_ae, mid_ae = _exchange(run, w, "fanout"), _exchange(run, w, "fanout")
    mid = _exchange(run, w, "direct", ae=mid_ae)
    src = _exchange(run, w, "topic", ae=src_ae)
    w.ok(1, M.exchange_bind(mid, src, "to-mid.#"), "Exchange.BindOk")
    q_mid = _queue(run, w, (mid, "to-mid.k"))
    q_src_ae, q_mid_ae = _queue(run, w, (src_ae, "")), _queue(run, w, (mid_ae, ""))
    sent = [
        _sent(w, src, key, key.encode(), mandatory=True)
        for key in ("to-mid.k", "to-mid.other", "elsewhere")
    ]
    return {"sent": sent, "queues": _arrivals(w, q_mid, q_src_ae, q_mid_ae)}


@scenario()
def alternate_with_alternate_bound_onwards(run: Run) -> Any:
    """An alternate-exchange whose own bindings lead to another exchange."""
    w = run.raw()
    tail = _exchange(run, w, "direct")
    ae = _exchange(run, w, "fanout")
    w.ok(1, M.exchange_bind(tail, ae), "Exchange.BindOk")
    x = _exchange(run, w, "direct", ae=ae)
    q = _queue(run, w, (tail, "k"))
    sent = [_sent(w, x, key, key.encode(), mandatory=True) for key in ("k", "other")]
    return {"sent": sent, "queue": _arrivals(w, q)}


@scenario()
def alternate_with_cc(run: Run) -> Any:
    """The alternate is used only when none of the keys (routing key, CC, BCC) routes: a CC
    key that routes keeps an unroutable routing key from the alternate, and vice versa."""
    w = run.raw()
    ae = _exchange(run, w, "fanout")
    x = _exchange(run, w, "direct", ae=ae)
    q_k, q_ae = _queue(run, w, (x, "k")), _queue(run, w, (ae, ""))
    cases = [("k", {"CC": ["none"]}), ("none", {"CC": ["k"]}), ("none", {"BCC": ["k"]})]
    cases += [("none", {"CC": ["none2"], "BCC": ["none3"]})]
    sent = []
    for i, (key, headers) in enumerate(cases):
        flags, props = properties(headers=headers)
        sent.append(_sent(w, x, key, f"m{i}".encode(), flags=flags, props=props, mandatory=True))
    return {"sent": sent, "queues": _arrivals(w, q_k, q_ae)}


# -- the alternate-exchange argument ---------------------------------------------------------

NON_STRING_VALUES = {
    "signedint": 5,
    "long": T("l", 5),
    "short": T("s", 5),
    "bool": True,
    "void": None,
    "binary": b"ae",
    "array": ["ae"],
    "table": {"a": 1},
    "double": 1.5,
}
# How RabbitMQ prints values Python would print differently (in inequivalence texts).
ERLANG_RENDERED = {
    "timestamp": T("T", 1_700_000_000),
    "large_double": T("d", 1e20),
    "small_double": T("d", 1.5e-7),
    "nested_array": {"a": [T("f", 0.5), None, True]},
    "nested_table": {"t": T("T", 5), "x": b"\x01"},
}


@scenario()
def alternate_argument_types(run: Run) -> Any:
    """A new exchange's alternate-exchange must be a longstr: anything else is 406 'invalid
    type'; the reserved-name 403 and the type 503 come first."""
    w = run.raw()
    out = {
        label: w.attempt(1, M.exchange_declare(run.exchange(), args={"alternate-exchange": v}))
        for label, v in NON_STRING_VALUES.items()
    }
    reserved = f"amq.{run.token}"
    out["reserved_name"] = w.attempt(
        1, M.exchange_declare(reserved, args={"alternate-exchange": 5})
    )
    out["unknown_type"] = w.call(
        1, M.exchange_declare(run.exchange(), "nope", args={"alternate-exchange": 5})
    )
    return out


@scenario()
def alternate_argument_redeclared(run: Run) -> Any:
    """Redeclaring an existing exchange compares alternate-exchange by value (no type check):
    a binary with the same octets is equivalent; other values are 406 with their rendering."""
    w = run.raw()
    with_ae, without = _exchange(run, w, ae="ae"), _exchange(run, w)
    out = {}
    for label, v in {"longstr": "ae", **NON_STRING_VALUES, **ERLANG_RENDERED}.items():
        for name, x in (("with_ae", with_ae), ("without", without)):
            out[f"{name}/{label}"] = w.attempt(
                1, M.exchange_declare(x, args={"alternate-exchange": v})
            )
    out["passive_ignores"] = w.attempt(
        1, M.exchange_declare(with_ae, passive=True, args={"alternate-exchange": 5})
    )
    return out
