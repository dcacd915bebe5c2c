"""Sender-selected distribution: the CC and BCC headers add routing keys to a publish.

RabbitMQ reads both headers when the message is published: each must be an array (its
longstr elements become extra routing keys, anything else in it is ignored), any other type
is a 406 that names the header and the type.  Every key is routed through every exchange on
the way (one copy per queue); BCC is removed from the headers before anything sees the
message, CC stays.  Copies are described octet for octet where the header table matters.
"""

from __future__ import annotations

import struct
from typing import Any

from ..registry import scenario
from ..runner import Run
from ..wire import M, T, Wire, properties
from .common import passive, publish
from .dlx import headers_layout, take

# -- steps ----------------------------------------------------------------------------------


def _exchange(run: Run, w: Wire, kind: str) -> str:
    x = run.exchange()
    w.ok(1, M.exchange_declare(x, kind, auto_delete=True), "Exchange.DeclareOk")
    return x


def _queue(run: Run, w: Wire, *bindings: tuple[str, str, Any]) -> str:
    """A fresh exclusive queue bound to each (exchange, key, arguments)."""
    q = run.queue()
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    for exchange, key, args in bindings:
        w.ok(1, M.queue_bind(q, exchange, key, args=args), "Queue.BindOk")
    return q


def _with_headers(headers: dict[str, Any], **props: Any) -> dict[str, Any]:
    flags, packed = properties(headers=headers, **props)
    return {"flags": flags, "props": packed}


def _sent(w: Wire, exchange: str, key: str, body: bytes, **publish_args: Any) -> list[Any]:
    """Publish (confirmed): returns as [code, text, key, header layout], then the confirm."""
    w.raw_headers = True
    out: list[Any] = []
    for got in publish(w, exchange, key, body, **publish_args):
        if got["method"] == "Basic.Return":
            octets = bytes.fromhex(got["header_octets"])
            layout = headers_layout(octets)
            out.append([got["reply_code"], got["reply_text"], got["routing_key"], layout])
        else:
            out.append(got["method"])
    return out


def _copies(w: Wire, *queues: str) -> list[list[Any]]:
    """For each queue, [body, routing key, header layout] of every message in it (taken)."""
    w.raw_headers = True
    out = []
    for q in queues:
        here = []
        while True:
            got = w.call(1, M.basic_get(q, no_ack=True))
            if got.get("method") != "Basic.GetOk":
                break
            layout = headers_layout(bytes.fromhex(got["header_octets"]))
            here.append([got["body"], got["routing_key"], layout])
        out.append(here)
    return out


# -- routing by CC and BCC keys --------------------------------------------------------------


@scenario()
def cc_bcc_direct(run: Run) -> Any:
    """direct: the routing key, CC and BCC keys each route; BCC is gone from every copy."""
    w = run.raw()
    x = _exchange(run, w, "direct")
    qs = [_queue(run, w, (x, key, None)) for key in ("k", "c1", "c2", "b1", "other")]
    headers = {"CC": ["c1", "c2"], "BCC": ["b1"]}
    sent = _sent(w, x, "k", b"m", **_with_headers(headers))
    return {"sent": sent, "copies": _copies(w, *qs)}


@scenario()
def cc_bcc_topic(run: Run) -> Any:
    """topic: every key is matched against the patterns; a queue matched by several keys
    gets one copy."""
    w = run.raw()
    x = _exchange(run, w, "topic")
    patterns = ("k.*", "c.#", "*.b", "#", "none.*")
    qs = [_queue(run, w, (x, p, None)) for p in patterns]
    headers = {"CC": ["c.x.y", "k.b"], "BCC": ["z.b"]}
    sent = _sent(w, x, "k.1", b"m", **_with_headers(headers))
    return {"sent": sent, "copies": _copies(w, *qs)}


@scenario()
def cc_bcc_fanout_and_headers(run: Run) -> Any:
    """fanout: one copy whatever the keys.  headers: keys play no part, and a binding that
    matches on BCC never matches (BCC is gone before routing); one that matches CC does."""
    w = run.raw()
    fan, hdr = _exchange(run, w, "fanout"), _exchange(run, w, "headers")
    q_fan = _queue(run, w, (fan, "", None))
    on_cc = _queue(run, w, (hdr, "", {"x-match": "all", "CC": ["c", "k"]}))
    on_bcc = _queue(run, w, (hdr, "", {"x-match": "all", "BCC": ["b"]}))
    on_any = _queue(run, w, (hdr, "", {"x-match": "any", "a": 1}))
    headers = {"a": 1, "CC": ["c", "k"], "BCC": ["b"]}
    sent = [
        _sent(w, fan, "k", b"fan", **_with_headers(headers)),
        _sent(w, hdr, "k", b"hdr", **_with_headers(headers)),
    ]
    return {"sent": sent, "copies": _copies(w, q_fan, on_cc, on_bcc, on_any)}


@scenario()
def cc_bcc_default_exchange(run: Run) -> Any:
    """The default exchange: each CC / BCC key names a queue; missing names are skipped."""
    w = run.raw()
    q1, q2, q3 = _queue(run, w), _queue(run, w), _queue(run, w)
    headers = {"CC": [q2, "no-such-queue"], "BCC": [q3]}
    sent = [
        _sent(w, "", q1, b"m", **_with_headers(headers)),
        _sent(w, "", "no-such-queue", b"cc-only", mandatory=True, **_with_headers({"CC": [q2]})),
    ]
    return {"sent": sent, "copies": _copies(w, q1, q2, q3)}


@scenario()
def cc_bcc_duplicate_keys(run: Run) -> Any:
    """Keys repeating the routing key or each other: one copy per queue."""
    w = run.raw()
    x = _exchange(run, w, "direct")
    both = _queue(run, w, (x, "k", None), (x, "c", None))
    only_c = _queue(run, w, (x, "c", None))
    plain = _queue(run, w)
    headers = {"CC": ["k", "c", "c"], "BCC": ["k", "c"]}
    sent = [
        _sent(w, x, "k", b"direct", **_with_headers(headers)),
        _sent(w, "", plain, b"default", **_with_headers({"CC": [plain], "BCC": [plain]})),
    ]
    return {"sent": sent, "copies": _copies(w, both, only_c, plain)}


@scenario()
def cc_through_exchange_binding(run: Run) -> Any:
    """An exchange reached through an e2e binding routes the message by all its keys: a CC
    key leads to the exchange, the routing key then picks the queue there."""
    w = run.raw()
    src, dst = _exchange(run, w, "direct"), _exchange(run, w, "direct")
    w.ok(1, M.exchange_bind(dst, src, "c"), "Exchange.BindOk")
    q_k, q_c = _queue(run, w, (dst, "k", None)), _queue(run, w, (dst, "c", None))
    sent = [
        _sent(w, src, "k", b"cc", mandatory=True, **_with_headers({"CC": ["c"]})),
        _sent(w, src, "k", b"bcc", mandatory=True, **_with_headers({"BCC": ["c"]})),
    ]
    return {"sent": sent, "copies": _copies(w, q_k, q_c)}


@scenario()
def cc_mandatory(run: Run) -> Any:
    """mandatory: a message only a CC or BCC key routes is not returned; one no key routes
    is, with CC kept and BCC removed in the returned header."""
    w = run.raw()
    x = _exchange(run, w, "direct")
    q = _queue(run, w, (x, "c", None))
    sent = [
        _sent(w, x, "k", b"cc", mandatory=True, **_with_headers({"CC": ["c"]})),
        _sent(w, x, "k", b"bcc", mandatory=True, **_with_headers({"BCC": ["c"]})),
        _sent(w, x, "k", b"none", mandatory=True, **_with_headers({"CC": ["n1"], "BCC": ["n2"]})),
    ]
    return {"sent": sent, "copies": _copies(w, q)}


@scenario()
def cc_bcc_in_transaction(run: Run) -> Any:
    """In a transaction the keys route on commit as they would at once; a bad CC fails the
    publish itself, before the commit."""
    w = run.raw()
    x = _exchange(run, w, "direct")
    qs = [_queue(run, w, (x, key, None)) for key in ("k", "c", "b")]
    w.ok(1, M.tx_select(), "Tx.SelectOk")
    w.publish(1, x, "k", b"m", **_with_headers({"CC": ["c"], "BCC": ["b"]}))
    committed = w.call(1, M.tx_commit())
    w.publish(1, x, "k", b"bad", **_with_headers({"CC": "c"}))
    refused = w.call(1, M.tx_commit())
    w.open(1)
    return {"commit": committed, "bad": refused, "copies": _copies(w, *qs)}


# -- what the headers may hold --------------------------------------------------------------

BAD_VALUES = {
    "longstr": "k",
    "signedint": 5,
    "long": T("l", 5),
    "short": T("s", 5),
    "byte": T("b", 5),
    "bool": True,
    "void": None,
    "table": {"a": 1},
    "binary": b"k",
    "double": 1.5,
    "float": T("f", 1.5),
    "decimal": T("D", (2, 150)),
    "timestamp": T("T", 1_700_000_000),
}


@scenario()
def cc_bcc_not_arrays(run: Run) -> Any:
    """CC or BCC of any type but array: 406 naming the header and its type; with both bad,
    CC is named; lower-case cc / bcc are ordinary headers."""
    w = run.raw()
    q = _queue(run, w)
    out: dict[str, Any] = {}
    cases = {
        f"{name}/{label}": {name: v} for name in ("CC", "BCC") for label, v in BAD_VALUES.items()
    }
    cases["both_bad"] = {"BCC": 1, "CC": 2}
    cases["lower_case"] = {"cc": "k", "bcc": 5}
    for label, headers in cases.items():
        w.publish(1, "", q, b"m", **_with_headers(headers))
        out[label] = w.attempt(1, M.basic_get(q, no_ack=True))
    return out


@scenario()
def cc_error_precedence(run: Run) -> Any:
    """Where the CC check falls among a publish's other checks: after user-id and expiration,
    before delivery-mode; in confirm mode the channel closes without a confirm."""
    w = run.raw()
    q = _queue(run, w)
    cases = {
        "user_id": {"user_id": "nobody"},
        "expiration": {"expiration": "soon"},
        "delivery_mode": {"delivery_mode": 3},
    }
    out = {}
    for label, props in cases.items():
        w.publish(1, "", q, b"m", **_with_headers({"CC": "k"}, **props))
        out[label] = w.attempt(1, M.basic_get(q, no_ack=True))
    w.ok(1, M.confirm_select(), "Confirm.SelectOk")
    w.publish(1, "", q, b"m", **_with_headers({"BCC": {"a": 1}}))
    out["confirm_mode"] = w.reply(channel=1)
    return out


@scenario()
def cc_array_elements(run: Run) -> Any:
    """Only longstr elements of CC / BCC route; others (binary, numbers, nested arrays,
    void) are skipped without error; an empty array routes nothing more."""
    w = run.raw()
    target, other = _queue(run, w), _queue(run, w)
    arrays = {
        "binary": [target.encode()],
        "nested": [[target]],
        "mixed": [T("I", 1), None, target],
        "empty": [],
    }
    sent = {}
    for label, array in arrays.items():
        for name in ("CC", "BCC"):
            body = f"{name}/{label}".encode()
            sent[body.decode()] = _sent(w, "", other, body, **_with_headers({name: array}))
    return {"sent": sent, "copies": _copies(w, target, other)}


@scenario()
def bcc_removed_octets(run: Run) -> Any:
    """The delivered content header octet for octet: BCC's entry is cut out of the table
    (wherever it stood), every other entry keeps its place and wire type; a table that held
    only BCC stays, empty."""
    w = run.raw()
    q = _queue(run, w)
    tables = [
        {"a": T("s", 1), "BCC": [q, T("I", 2)], "CC": ["c1", T("I", 3), b"bin"], "z": "s"},
        {"BCC": [q], "x": T("l", 7), "CC": []},
        {"CC": ["c"], "y": T("d", 0.5), "BCC": [q]},
        {"BCC": [q]},
    ]
    octets = []
    for i, headers in enumerate(tables):
        props = _with_headers(headers, content_type="text/plain", delivery_mode=2, priority=3)
        publish(w, "", q, f"m{i}".encode(), **props)
    w.raw_headers = True
    for _ in tables:
        got = w.call(1, M.basic_get(q, no_ack=True))
        raw = bytes.fromhex(got["header_octets"])
        (flags,) = struct.unpack(">H", raw[12:14])
        octets.append({"flags": flags, "octets": raw.hex(), "layout": headers_layout(raw)})
    return octets


@scenario()
def bcc_dead_lettered(run: Run) -> Any:
    """A dead-lettered message is routed again by all the keys it was published with, BCC
    included, though its x-death routing-keys list only the routing key and CC's longstrs;
    an empty x-dead-letter-routing-key replaces them all (and drops CC)."""
    w = run.raw()
    dlx = _exchange(run, w, "direct")
    seen = {key: _queue(run, w, (dlx, key, None)) for key in ("k", "c", "b", "")}
    x = _exchange(run, w, "direct")
    sources = []
    for extra in ({}, {"x-dead-letter-routing-key": ""}):
        src = run.queue()
        args = {"x-dead-letter-exchange": dlx, **extra}
        w.ok(1, M.queue_declare(src, exclusive=True, args=args), "Queue.DeclareOk")
        w.ok(1, M.queue_bind(src, x, "b"), "Queue.BindOk")
        sources.append(src)
    headers = {"CC": ["c", b"bin", 5], "BCC": ["b"]}
    publish(w, x, "k", b"m", **_with_headers(headers))
    out = []
    # Wait for the copies each should make, then count what else arrived meanwhile.
    for src, arriving in zip(sources, (("k", "c", "b"), ("",)), strict=True):
        got = w.call(1, M.basic_get(src))
        w.m(1, M.basic_reject(got["delivery_tag"], requeue=False))
        copies = {key or "empty": take(w, seen[key]) for key in arriving}
        others = {key or "empty": passive(w, q) for key, q in seen.items() if key not in arriving}
        out.append({"copies": copies, "others": others})
    return out
