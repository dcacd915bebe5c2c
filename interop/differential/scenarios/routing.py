"""Routing: direct, fanout, topic and headers exchanges, exchange-to-exchange bindings."""

from __future__ import annotations

from typing import Any

from ..registry import scenario
from ..runner import Run
from ..wire import M, T, Wire, properties
from .common import get_all, publish


def _bodies(w: Wire, queue: str) -> list[Any]:
    """The bodies in ``queue``, taken (no-ack) until it is empty."""
    return [m[0] for m in get_all(w, queue, no_ack=True)[:-1]]


def _route_table(
    run: Run, kind: str, bindings: list[tuple[str, dict[str, Any] | None]], messages: list[Any]
) -> dict[str, list[Any]]:
    """One exclusive queue per binding (key, arguments) to a fresh exchange of ``kind``;
    publish each message (routing key, or (key, headers)); which queue got which."""
    w = run.raw()
    x = run.exchange()
    w.ok(1, M.exchange_declare(x, kind, auto_delete=True), "Exchange.DeclareOk")
    queues = []
    for key, args in bindings:
        q = run.queue()
        w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
        w.ok(1, M.queue_bind(q, x, key, args=args), "Queue.BindOk")
        queues.append(q)
    for i, message in enumerate(messages):
        key, headers = message if isinstance(message, tuple) else (message, None)
        props = {}
        if headers is not None:
            flags, packed = properties(headers=headers)
            props = {"flags": flags, "props": packed}
        publish(w, x, key, f"m{i}".encode(), **props)
    return {
        f"{key!r} {args or ''}".strip(): _bodies(w, q)
        for (key, args), q in zip(bindings, queues, strict=True)
    }


@scenario()
def direct(run: Run) -> Any:
    """direct: exact key matches only, one copy per queue even if bound twice."""
    return _route_table(
        run,
        "direct",
        [("a", None), ("b", None), ("", None), ("A", None)],
        ["a", "b", "c", "", "a.b", "A"],
    )


@scenario()
def fanout(run: Run) -> Any:
    """fanout: every bound queue gets every message, whatever the keys."""
    return _route_table(run, "fanout", [("", None), ("x", None)], ["x", "", "anything"])


TOPIC_PATTERNS = [
    "a.b.c", "a.*.c", "a.#", "#", "*", "*.*", "#.c", "a.#.c", "a.*.#", "*.b.*", "#.#", "",
    "a..c", "a.*", "*.#.*", "#.b.#", "a.b.c.#", "#.a.#", "a.b",
]  # fmt: skip
TOPIC_KEYS = [
    "a.b.c", "a.c", "a", "", "a.b", "a.b.b.c", "b.c", "a..c", ".", "x.y.z", "a.b.c.d", "c",
    "b", "a.x.c", "a.", ".a",
]  # fmt: skip


@scenario()
def topic_patterns(run: Run) -> Any:
    """topic: * (one word, possibly empty) and # (zero or more words) in every position."""
    return _route_table(run, "topic", [(p, None) for p in TOPIC_PATTERNS], TOPIC_KEYS)


@scenario()
def topic_duplicates(run: Run) -> Any:
    """A queue bound with several matching patterns gets one copy."""
    w = run.raw()
    q = run.queue()
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    for pattern in ("a.*", "#", "a.b", "*.b"):
        w.ok(1, M.queue_bind(q, "amq.topic", f"{run.token}.{pattern}"), "Queue.BindOk")
    w.ok(1, M.queue_bind(q, "amq.topic", "#"), "Queue.BindOk")
    w.ok(1, M.queue_unbind(q, "amq.topic", "#"), "Queue.UnbindOk")
    publish(w, "amq.topic", f"{run.token}.a.b", b"one")
    return _bodies(w, q)


HEADERS = [
    ({"x-match": "all", "a": 1, "b": "two"}),
    ({"x-match": "any", "a": 1, "b": "two"}),
    ({"a": 1}),
    ({}),
    ({"x-match": "all"}),
    ({"x-match": "any"}),
    ({"x-match": "all", "x-key": "v"}),
    ({"x-match": "all-with-x", "x-key": "v"}),
    ({"x-match": "any-with-x", "x-key": "v", "a": 2}),
    ({"x-match": "all", "a": None}),
    ({"x-match": "all", "a": T("l", 1)}),
    ({"x-match": "all", "a": "1"}),
]


@scenario()
def headers_matching(run: Run) -> Any:
    """headers: x-match all/any/all-with-x/any-with-x, x- keys, void and typed values."""
    messages = [
        ("k", {"a": 1, "b": "two"}),
        ("k", {"a": 1}),
        ("k", {"b": "two"}),
        ("k", {}),
        ("k", None),
        ("k", {"x-key": "v"}),
        ("k", {"a": 1, "b": "two", "x-key": "v"}),
        ("k", {"a": T("l", 1)}),
        ("k", {"a": "1"}),
        ("k", {"a": T("b", 1)}),
        ("k", {"a": 2, "x-key": "other"}),
    ]
    bindings = [("", h) for h in HEADERS]
    return _route_table(run, "headers", bindings, messages)


@scenario()
def headers_invalid_x_match(run: Run) -> Any:
    """Binding with x-match 'foo': 406 PRECONDITION_FAILED."""
    w = run.raw()
    q = run.queue()
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    return w.call(1, M.queue_bind(q, "amq.headers", "", args={"x-match": "foo"}))


@scenario()
def exchange_to_exchange(run: Run) -> Any:
    """e2e: fanout -> topic -> queue; a self-binding and a second path give no duplicates;
    unbinding cuts the path."""
    w = run.raw()
    src, mid = run.exchange(), run.exchange()
    q = run.queue()
    w.ok(1, M.exchange_declare(src, "fanout", auto_delete=True), "Exchange.DeclareOk")
    w.ok(1, M.exchange_declare(mid, "topic", auto_delete=True), "Exchange.DeclareOk")
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    w.ok(1, M.exchange_bind(mid, src), "Exchange.BindOk")
    w.ok(1, M.exchange_bind(src, src), "Exchange.BindOk")
    w.ok(1, M.queue_bind(q, mid, "a.*"), "Queue.BindOk")
    w.ok(1, M.queue_bind(q, src), "Queue.BindOk")
    publish(w, src, "a.b", b"through")
    publish(w, src, "zzz", b"direct-path")
    w.ok(1, M.queue_unbind(q, src), "Queue.UnbindOk")
    publish(w, src, "zzz", b"dropped")
    w.ok(1, M.exchange_unbind(mid, src), "Exchange.UnbindOk")
    publish(w, src, "a.b", b"cut")
    publish(w, mid, "a.c", b"mid")
    return _bodies(w, q)


@scenario()
def internal_exchange(run: Run) -> Any:
    """Publishing to an internal exchange is 403; reaching it through a binding works."""
    w = run.raw()
    inner, outer = run.exchange(), run.exchange()
    q = run.queue()
    w.ok(1, M.exchange_declare(inner, "fanout", internal=True), "Exchange.DeclareOk")
    w.ok(1, M.exchange_declare(outer, "fanout"), "Exchange.DeclareOk")
    w.ok(1, M.exchange_bind(inner, outer), "Exchange.BindOk")
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    w.ok(1, M.queue_bind(q, inner), "Queue.BindOk")
    publish(w, outer, "", b"via-outer")
    w.publish(1, inner, "", b"direct")
    refused = w.reply(channel=1)
    w.open(1)
    return {"direct": refused, "queue": _bodies(w, q)}


@scenario()
def default_exchange(run: Run) -> Any:
    """The default exchange routes by queue name; mandatory to a missing name is returned."""
    w = run.raw()
    q = run.queue()
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    return {
        "to_queue": publish(w, "", q, b"hello"),
        "missing": publish(w, "", run.queue(), b"lost", mandatory=True),
        "queue": _bodies(w, q),
    }
