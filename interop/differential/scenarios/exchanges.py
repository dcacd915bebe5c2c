"""Exchanges: declare (passive, equivalence, reserved names, types), delete, e2e bindings."""

from __future__ import annotations

from typing import Any

from ..registry import scenario
from ..runner import Run
from ..wire import M


def _redeclare(run: Run, first: dict[str, Any], second: dict[str, Any]) -> Any:
    """Declare an exchange with ``first``, redeclare it with ``second``: the reply."""
    w = run.raw()
    x = run.exchange()
    kind = first.pop("kind", "direct")
    w.ok(1, M.exchange_declare(x, kind, **first), "Exchange.DeclareOk")
    return w.call(1, M.exchange_declare(x, second.pop("kind", kind), **second))


@scenario()
def declare_every_type(run: Run) -> Any:
    """direct, fanout, topic and headers: declare, passive declare, delete."""
    w = run.raw()
    out = []
    for kind in ("direct", "fanout", "topic", "headers"):
        x = run.exchange()
        out.append(
            [
                w.call(1, M.exchange_declare(x, kind, durable=True, args={"x-any": 1})),
                w.call(1, M.exchange_declare(x, kind, passive=True)),
                w.call(1, M.exchange_delete(x)),
            ]
        )
    return out


@scenario()
def predeclared_exchanges(run: Run) -> Any:
    """The amq.* exchanges exist, durable, with their types."""
    w = run.raw()
    names = [("amq.direct", "direct"), ("amq.fanout", "fanout"), ("amq.topic", "topic")]
    names += [("amq.headers", "headers"), ("amq.match", "headers")]
    return [w.call(1, M.exchange_declare(n, k, durable=True)) for n, k in names]


@scenario()
def passive_missing(run: Run) -> Any:
    """Passive declare of a missing exchange: 404 NOT_FOUND."""
    w = run.raw()
    return w.call(1, M.exchange_declare(run.exchange(), "direct", passive=True))


@scenario()
def passive_ignores_type_and_flags(run: Run) -> Any:
    """Passive declare with another type, durable and an unknown type name: declare-ok."""
    w = run.raw()
    x = run.exchange()
    w.ok(1, M.exchange_declare(x, "direct"), "Exchange.DeclareOk")
    return [
        w.call(1, M.exchange_declare(x, "fanout", passive=True, durable=True)),
        w.call(1, M.exchange_declare(x, "no-such-type", passive=True)),
    ]


@scenario()
def redeclare_type_differs(run: Run) -> Any:
    """Redeclare with another type: 406 inequivalent arg 'type'."""
    return _redeclare(run, {"kind": "direct"}, {"kind": "fanout"})


@scenario()
def redeclare_durable_differs(run: Run) -> Any:
    """Redeclare durable: 406 inequivalent arg 'durable'."""
    return _redeclare(run, {}, {"durable": True})


@scenario()
def redeclare_auto_delete_differs(run: Run) -> Any:
    """Redeclare auto-delete: 406 inequivalent arg 'auto_delete'."""
    return _redeclare(run, {}, {"auto_delete": True})


@scenario()
def redeclare_internal_differs(run: Run) -> Any:
    """Redeclare internal=false over internal=true: 406 inequivalent arg 'internal'."""
    return _redeclare(run, {"internal": True}, {})


@scenario()
def redeclare_type_and_durable_differ(run: Run) -> Any:
    """Type and durable both differ: 'type' is reported."""
    return _redeclare(run, {"kind": "direct"}, {"kind": "topic", "durable": True})


@scenario()
def redeclare_alternate_exchange_differs(run: Run) -> Any:
    """alternate-exchange 'a' vs 'b': 406."""
    return _redeclare(
        run, {"args": {"alternate-exchange": "a"}}, {"args": {"alternate-exchange": "b"}}
    )


@scenario()
def redeclare_alternate_exchange_removed(run: Run) -> Any:
    """alternate-exchange dropped on redeclare: 406 '... received none but current is ...'."""
    return _redeclare(run, {"args": {"alternate-exchange": "a"}}, {})


@scenario()
def redeclare_other_arguments_ignored(run: Run) -> Any:
    """Arguments other than alternate-exchange are not compared."""
    w = run.raw()
    x = run.exchange()
    w.ok(1, M.exchange_declare(x, args={"x-foo": 1}), "Exchange.DeclareOk")
    return [
        w.call(1, M.exchange_declare(x, args={"x-foo": 2})),
        w.call(1, M.exchange_declare(x, args={})),
    ]


@scenario()
def reserved_prefix(run: Run) -> Any:
    """'amq.'-prefixed names are 403 on create, 404 on passive; 'AMQ.' is allowed."""
    w = run.raw()
    upper = f"AMQ.{run.token}"
    return [
        w.attempt(1, M.exchange_declare(f"amq.{run.token}")),
        w.attempt(1, M.exchange_declare("amq.", "direct")),
        w.attempt(1, M.exchange_declare(f"amq.{run.token}", passive=True)),
        w.attempt(1, M.exchange_declare(upper)),
        w.attempt(1, M.exchange_delete(upper)),
    ]


@scenario()
def redeclare_predeclared(run: Run) -> Any:
    """amq.direct redeclared equivalently is fine; non-durable or as fanout is 406."""
    w = run.raw()
    return [
        w.attempt(1, M.exchange_declare("amq.direct", "direct", durable=True)),
        w.attempt(1, M.exchange_declare("amq.direct", "direct")),
        w.attempt(1, M.exchange_declare("amq.direct", "fanout", durable=True)),
    ]


@scenario()
def unknown_type(run: Run) -> Any:
    """An unknown exchange type is a connection error: 503 unknown exchange type."""
    w = run.raw()
    return w.call(1, M.exchange_declare(run.exchange(), "fanot"))


def _unknown_is_invalid(observation: Any) -> Any:
    text = observation["reply_text"].replace("invalid exchange type", "unknown exchange type")
    return {**observation, "reply_text": text}


@scenario(
    deliberate="RabbitMQ says 'invalid' when the name happens to be an atom in its VM",
    normalise=_unknown_is_invalid,
)
def unknown_type_common_word(run: Run) -> Any:
    """Type 'foo': RabbitMQ's wording depends on its atom table ('invalid' here)."""
    w = run.raw()
    return w.call(1, M.exchange_declare(run.exchange(), "foo"))


@scenario()
def unknown_plugin_type(run: Run) -> Any:
    """An unknown x- type: 503 'unknown exchange type'."""
    w = run.raw()
    return w.call(1, M.exchange_declare(run.exchange(), "x-consistent-hash"))


@scenario()
def empty_type(run: Run) -> Any:
    """An empty type name: 503 invalid exchange type ''."""
    w = run.raw()
    return w.call(1, M.exchange_declare(run.exchange(), ""))


@scenario()
def default_exchange_is_untouchable(run: Run) -> Any:
    """declare, passive declare and delete of '': 403 ACCESS_REFUSED."""
    w = run.raw()
    return [
        w.attempt(1, M.exchange_declare("", "direct")),
        w.attempt(1, M.exchange_declare("", "direct", passive=True)),
        w.attempt(1, M.exchange_delete("")),
    ]


@scenario()
def delete_system_exchange(run: Run) -> Any:
    """Deleting amq.direct, or a missing amq.* name: 403."""
    w = run.raw()
    return [
        w.attempt(1, M.exchange_delete("amq.direct")),
        w.attempt(1, M.exchange_delete(f"amq.{run.token}")),
    ]


@scenario()
def delete_missing(run: Run) -> Any:
    """Deleting a missing exchange is fine (also with if-unused)."""
    w = run.raw()
    return [
        w.call(1, M.exchange_delete(run.exchange())),
        w.call(1, M.exchange_delete(run.exchange(), if_unused=True)),
    ]


@scenario()
def delete_if_unused(run: Run) -> Any:
    """if-unused: 406 when a queue is bound; fine once unbound."""
    w = run.raw()
    x, q = run.exchange(), run.queue()
    w.ok(1, M.exchange_declare(x), "Exchange.DeclareOk")
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    w.ok(1, M.queue_bind(q, x, "k"), "Queue.BindOk")
    in_use = w.attempt(1, M.exchange_delete(x, if_unused=True))
    w.ok(1, M.queue_unbind(q, x, "k"), "Queue.UnbindOk")
    return [in_use, w.call(1, M.exchange_delete(x, if_unused=True))]


@scenario()
def delete_if_unused_e2e(run: Run) -> Any:
    """if-unused counts outgoing bindings only: a source is in use, a destination is not."""
    w = run.raw()
    src, dst = run.exchange(), run.exchange()
    w.ok(1, M.exchange_declare(src, "fanout"), "Exchange.DeclareOk")
    w.ok(1, M.exchange_declare(dst, "fanout"), "Exchange.DeclareOk")
    w.ok(1, M.exchange_bind(dst, src), "Exchange.BindOk")
    source = w.attempt(1, M.exchange_delete(src, if_unused=True))
    return [source, w.call(1, M.exchange_delete(dst, if_unused=True))]


@scenario()
def delete_nowait(run: Run) -> Any:
    """exchange.delete nowait: no reply; a passive declare then finds nothing."""
    w = run.raw()
    x = run.exchange()
    w.ok(1, M.exchange_declare(x), "Exchange.DeclareOk")
    w.m(1, M.exchange_delete(x, nowait=True))
    return w.call(1, M.exchange_declare(x, passive=True))


@scenario()
def declare_nowait(run: Run) -> Any:
    """exchange.declare nowait: no reply; the exchange exists."""
    w = run.raw()
    x = run.exchange()
    w.m(1, M.exchange_declare(x, "topic", nowait=True))
    return w.call(1, M.exchange_declare(x, passive=True))


@scenario()
def auto_delete(run: Run) -> Any:
    """An auto-delete exchange lives until its last binding goes, not before its first."""
    w = run.raw()
    x, q = run.exchange(), run.queue()
    w.ok(1, M.exchange_declare(x, auto_delete=True), "Exchange.DeclareOk")
    never_bound = w.call(1, M.exchange_declare(x, passive=True))
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    w.ok(1, M.queue_bind(q, x, "a"), "Queue.BindOk")
    w.ok(1, M.queue_bind(q, x, "b"), "Queue.BindOk")
    w.ok(1, M.queue_unbind(q, x, "a"), "Queue.UnbindOk")
    one_left = w.call(1, M.exchange_declare(x, passive=True))
    w.ok(1, M.queue_unbind(q, x, "b"), "Queue.UnbindOk")
    return [never_bound, one_left, w.call(1, M.exchange_declare(x, passive=True))]


@scenario()
def auto_delete_when_bound_queue_deleted(run: Run) -> Any:
    """An auto-delete exchange goes when the queue bound to it is deleted."""
    w = run.raw()
    x, q = run.exchange(), run.queue()
    w.ok(1, M.exchange_declare(x, "fanout", auto_delete=True), "Exchange.DeclareOk")
    w.ok(1, M.queue_declare(q), "Queue.DeclareOk")
    w.ok(1, M.queue_bind(q, x), "Queue.BindOk")
    w.ok(1, M.queue_delete(q), "Queue.DeleteOk")
    return w.call(1, M.exchange_declare(x, passive=True))


@scenario()
def e2e_bind_errors(run: Run) -> Any:
    """exchange.bind: missing source or destination 404, the default exchange 403."""
    w = run.raw()
    x = run.exchange()
    w.ok(1, M.exchange_declare(x), "Exchange.DeclareOk")
    return [
        w.attempt(1, M.exchange_bind(x, run.exchange(), "k")),
        w.attempt(1, M.exchange_bind(run.exchange(), x, "k")),
        w.attempt(1, M.exchange_bind("", x, "k")),
        w.attempt(1, M.exchange_bind(x, "", "k")),
    ]


@scenario()
def e2e_unbind_missing(run: Run) -> Any:
    """exchange.unbind of a binding, source or destination that does not exist: unbind-ok."""
    w = run.raw()
    x = run.exchange()
    w.ok(1, M.exchange_declare(x), "Exchange.DeclareOk")
    return [
        w.call(1, M.exchange_unbind(x, "amq.direct", "nothing")),
        w.call(1, M.exchange_unbind(x, run.exchange(), "k")),
        w.call(1, M.exchange_bind(x, x, "self")),
    ]


@scenario()
def odd_names(run: Run) -> Any:
    """Names with spaces and non-ASCII characters are accepted."""
    w = run.raw()
    x = run.name("x é ")
    return [w.call(1, M.exchange_declare(x)), w.call(1, M.exchange_declare(x, passive=True))]
