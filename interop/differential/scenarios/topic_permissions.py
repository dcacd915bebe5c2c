"""Topic permissions: routing keys checked on publish and (un)bind to topic exchanges."""

from __future__ import annotations

from typing import Any

from ..registry import scenario
from ..runner import Run
from ..wire import M
from .permissions import as_user, steps


def _exchanges(run: Run) -> tuple[str, str, str, str]:
    """As guest: a topic exchange with a topic-permission entry, one without, a direct
    exchange with an entry, and a queue."""
    g = run.raw()
    topic, other, direct, q = run.name("x"), run.name("x"), run.name("x"), run.name("q")
    g.ok(1, M.exchange_declare(topic, "topic"), "Exchange.DeclareOk")
    g.ok(1, M.exchange_declare(other, "topic"), "Exchange.DeclareOk")
    g.ok(1, M.exchange_declare(direct, "direct"), "Exchange.DeclareOk")
    g.ok(1, M.queue_declare(q), "Queue.DeclareOk")
    return topic, other, direct, q


def _published(w: Any, exchange: str, key: str) -> Any:
    w.publish(1, exchange, key, b"m")
    got = w.probe()
    if got.get("method") == "Channel.Close":
        w.open(1)
    return got


@scenario()
def publish_write(run: Run) -> Any:
    """basic.publish to a topic exchange checks the routing key against the write expression
    ({username} expanded); exchanges without an entry and non-topic exchanges are free."""
    topic, other, direct, _ = _exchanges(run)
    user, w = as_user(run)
    for exchange in (topic, direct):
        run.admin.set_topic_permissions(user, exchange, write="^a\\.{username}", read=".*")
    return {
        "allowed key": _published(w, topic, f"a.{user}.x"),
        "refused key": _published(w, topic, "b.key"),
        "empty key": _published(w, topic, ""),
        "no entry for exchange": _published(w, other, "b.key"),
        "direct exchange with an entry": _published(w, direct, "b.key"),
        "missing exchange": _published(w, run.name("x"), "b.key"),
    }


@scenario()
def bind_read(run: Run) -> Any:
    """queue.bind / unbind and exchange.bind check the routing key against the read
    expression of the source topic exchange ({vhost} expanded)."""
    topic, other, direct, q = _exchanges(run)
    user, w = as_user(run)
    for exchange in (topic, direct):
        run.admin.set_topic_permissions(user, exchange, write=".*", read="^r\\.{vhost}")
    key = f"r.{run.vhost}.k"
    return steps(
        w,
        {
            "bind allowed": M.queue_bind(q, topic, key),
            "bind refused": M.queue_bind(q, topic, "z"),
            "unbind refused": M.queue_unbind(q, topic, "z"),
            "unbind allowed": M.queue_unbind(q, topic, key),
            "bind no entry": M.queue_bind(q, other, "z"),
            "bind direct with entry": M.queue_bind(q, direct, "z"),
            "exchange.bind refused": M.exchange_bind(other, topic, "z"),
            "exchange.bind allowed": M.exchange_bind(other, topic, key),
            "exchange.unbind refused": M.exchange_unbind(other, topic, "z"),
        },
    )


@scenario()
def empty_expression_matches_only_empty_key(run: Run) -> Any:
    """An empty topic expression is ^$: it refuses every key but the empty one."""
    topic, _, _, q = _exchanges(run)
    user, w = as_user(run)
    run.admin.set_topic_permissions(user, topic, write="", read="")
    return {
        "publish empty key": _published(w, topic, ""),
        "publish key": _published(w, topic, "a"),
        "bind": w.attempt(1, M.queue_bind(q, topic, "")),
    }


@scenario()
def checked_after_internal_and_vhost_rights(run: Run) -> Any:
    """Order on publish: write on the exchange, existence, internal, then the topic rule."""
    g = run.raw()
    internal, refused = run.name("x"), run.name("xno")
    g.ok(1, M.exchange_declare(internal, "topic", internal=True), "Exchange.DeclareOk")
    g.ok(1, M.exchange_declare(refused, "topic"), "Exchange.DeclareOk")
    user, w = as_user(run, write="^d-.*-x\\d")
    for exchange in (internal, refused):
        run.admin.set_topic_permissions(user, exchange, write="^$", read="^$")
    return {
        "internal": _published(w, internal, "k"),
        "write refused": _published(w, refused, "k"),
    }
