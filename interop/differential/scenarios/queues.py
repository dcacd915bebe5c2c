"""Queues: declare (passive, server-named, exclusive, auto-delete, argument equivalence and
validation), bind/unbind, purge, delete."""

from __future__ import annotations

from typing import Any

from ..registry import scenario
from ..runner import Run
from ..wire import M, T
from .common import deliveries, eventually_gone, fill, passive

LOCKED = "405 RESOURCE_LOCKED"


def _redeclare(run: Run, first: dict[str, Any], second: dict[str, Any]) -> Any:
    """Declare a queue with ``first``, redeclare it with ``second``: the reply."""
    w = run.raw()
    q = run.queue()
    w.ok(1, M.queue_declare(q, **first), "Queue.DeclareOk")
    return w.call(1, M.queue_declare(q, **second))


def _ttl(value: Any) -> dict[str, Any]:
    return {"args": {"x-message-ttl": value}}


@scenario()
def declare_and_counts(run: Run) -> Any:
    """declare-ok carries the name and counts; redeclare shows ready messages and consumers."""
    w = run.raw()
    w.open(2)
    q = run.queue()
    first = w.call(1, M.queue_declare(q, auto_delete=True))
    fill(w, q, b"a", b"b", b"c")
    w.ok(2, M.basic_qos(count=1), "Basic.QosOk")
    w.ok(2, M.basic_consume(q, "c1"), "Basic.ConsumeOk")
    delivered = deliveries(w, 1, channel=2)
    return {
        "first": first,
        "delivered": [d["body"] for d in delivered],
        "again": w.call(1, M.queue_declare(q, auto_delete=True)),
    }


@scenario()
def server_named(run: Run) -> Any:
    """Declaring '' twice gives two amq.gen- names; '' then means the last one."""
    w = run.raw()
    first = w.call(1, M.queue_declare("", exclusive=True))
    second = w.call(1, M.queue_declare("", exclusive=True))
    fill(w, second["queue"], b"x")
    return {
        "first": first,
        "second": second,
        "purge_last": w.call(1, M.queue_purge("")),
        "passive_empty_name": w.call(1, M.queue_declare("", passive=True)),
    }


@scenario()
def passive_missing(run: Run) -> Any:
    """Passive declare of a missing queue: 404 NOT_FOUND."""
    w = run.raw()
    return w.call(1, M.queue_declare(run.queue(), passive=True))


@scenario()
def passive_ignores_flags_and_arguments(run: Run) -> Any:
    """Passive declare of an existing queue ignores durable, exclusive and arguments."""
    w = run.raw()
    q = run.queue()
    w.ok(1, M.queue_declare(q, args={"x-message-ttl": 1000}), "Queue.DeclareOk")
    return w.call(1, M.queue_declare(q, passive=True, durable=True, args=_ttl(5)["args"]))


@scenario()
def passive_nowait_missing(run: Run) -> Any:
    """Passive declare with nowait of a missing queue: the 404 is still sent."""
    w = run.raw()
    w.m(1, M.queue_declare(run.queue(), passive=True, nowait=True))
    return w.reply()


@scenario()
def declare_nowait(run: Run) -> Any:
    """queue.declare nowait: no reply; the queue exists."""
    w = run.raw()
    q = run.queue()
    w.m(1, M.queue_declare(q, nowait=True))
    return w.call(1, M.queue_declare(q, passive=True))


@scenario()
def reserved_prefix(run: Run) -> Any:
    """'amq.' names: 403 on declare (also amq.gen-…), 404 on passive declare."""
    w = run.raw()
    return [
        w.attempt(1, M.queue_declare(f"amq.{run.token}")),
        w.attempt(1, M.queue_declare("amq.gen-abc")),
        w.attempt(1, M.queue_declare(f"amq.{run.token}", passive=True)),
    ]


@scenario()
def redeclare_durable_differs(run: Run) -> Any:
    """durable false then true: 406 inequivalent arg 'durable'."""
    return _redeclare(run, {}, {"durable": True})


@scenario()
def redeclare_auto_delete_differs(run: Run) -> Any:
    """auto_delete true then false: 406 inequivalent arg 'auto_delete'."""
    return _redeclare(run, {"auto_delete": True}, {})


@scenario()
def redeclare_exclusive_differs(run: Run) -> Any:
    """Same connection, exclusive flag differs (either way): 405 RESOURCE_LOCKED."""
    w = run.raw()
    shared, owned = run.queue(), run.queue()
    w.ok(1, M.queue_declare(shared), "Queue.DeclareOk")
    w.ok(1, M.queue_declare(owned, exclusive=True), "Queue.DeclareOk")
    return [
        w.attempt(1, M.queue_declare(shared, exclusive=True)),
        w.attempt(1, M.queue_declare(owned)),
    ]


@scenario()
def redeclare_durable_and_ttl_differ(run: Run) -> Any:
    """durable and x-message-ttl both differ: 'durable' is reported."""
    return _redeclare(run, _ttl(1), {"durable": True, **_ttl(2)})


@scenario()
def redeclare_argument_value_differs(run: Run) -> Any:
    """x-message-ttl 1000 vs 2000: 406 with both values."""
    return _redeclare(run, _ttl(1000), _ttl(2000))


@scenario()
def redeclare_argument_added(run: Run) -> Any:
    """x-message-ttl added on redeclare: '... received the value ... but current is none'."""
    return _redeclare(run, {}, _ttl(1000))


@scenario()
def redeclare_argument_removed(run: Run) -> Any:
    """x-message-ttl dropped on redeclare: '... received none but current is the value ...'."""
    return _redeclare(run, _ttl(1000), {})


@scenario()
def redeclare_integer_widths_are_equivalent(run: Run) -> Any:
    """The same number as I, l, s, b, u, i and back: all equivalent."""
    w = run.raw()
    q = run.queue()
    w.ok(1, M.queue_declare(q, args={"x-message-ttl": T("I", 100)}), "Queue.DeclareOk")
    return [
        w.attempt(1, M.queue_declare(q, args={"x-message-ttl": T(kind, 100)}))
        for kind in ("l", "s", "b", "u", "i", "B")
    ]


@scenario()
def redeclare_integer_vs_string(run: Run) -> Any:
    """x-max-length 10 then '10': 406 (the text prints both as '10')."""
    return _redeclare(run, {"args": {"x-max-length": 10}}, {"args": {"x-max-length": "10"}})


@scenario()
def redeclare_other_arguments(run: Run) -> Any:
    """Unknown arguments are never compared; x-queue-type classic equals its absence; known
    ones are (x-expires, x-dead-letter-exchange, x-max-priority, x-overflow)."""
    w = run.raw()
    out = []
    cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"x-foo": "a"}, {"x-foo": "b"}),
        ({}, {"x-foo": "a"}),
        ({"foo": 1}, {}),
        ({"x-queue-type": "classic"}, {}),
        ({}, {"x-queue-type": "classic"}),
        ({"x-expires": 10000}, {"x-expires": 20000}),
        ({"x-dead-letter-exchange": "a"}, {"x-dead-letter-exchange": "b"}),
        ({"x-max-priority": 5}, {"x-max-priority": 6}),
        ({"x-overflow": "drop-head"}, {"x-overflow": "reject-publish"}),
    ]
    for first, second in cases:
        q = run.queue()
        w.ok(1, M.queue_declare(q, args=first), "Queue.DeclareOk")
        out.append(w.attempt(1, M.queue_declare(q, args=second)))
    return out


def _invalid_argument(label: str, args: dict[str, Any]) -> None:
    def observe(run: Run) -> Any:
        w = run.raw()
        return w.call(1, M.queue_declare(run.queue(), args=args))

    observe.__doc__ = f"queue.declare with {label}: 406 invalid arg"
    scenario(f"invalid_argument_{label}")(observe)


for _label, _args in [
    ("ttl_negative", {"x-message-ttl": -1}),
    ("ttl_string", {"x-message-ttl": "abc"}),
    ("ttl_double", {"x-message-ttl": 1.5}),
    ("expires_zero", {"x-expires": 0}),
    ("max_length_negative", {"x-max-length": -1}),
    ("max_priority_too_big", {"x-max-priority": 300}),
    ("queue_type_unknown", {"x-queue-type": "foo"}),
    ("overflow_unknown", {"x-overflow": "foo"}),
    ("dlx_integer", {"x-dead-letter-exchange": 5}),
    ("dl_routing_key_without_dlx", {"x-dead-letter-routing-key": "k"}),
    ("queue_mode_unknown", {"x-queue-mode": "foo"}),
    ("single_active_consumer_string", {"x-single-active-consumer": "yes"}),
]:
    _invalid_argument(_label, _args)


@scenario()
def exclusive_from_another_connection(run: Run) -> Any:
    """Another connection's exclusive queue: 405 for declare, passive, bind, consume, get,
    purge and delete; unbind and publishing are allowed."""
    owner = run.raw()
    q = run.queue()
    owner.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    w = run.raw()
    out = {
        name: w.attempt(1, payload)
        for name, payload in [
            ("declare", M.queue_declare(q, exclusive=True)),
            ("declare_shared", M.queue_declare(q)),
            ("passive", M.queue_declare(q, passive=True)),
            ("bind", M.queue_bind(q, "amq.direct", "k")),
            ("unbind", M.queue_unbind(q, "amq.direct", "k")),
            ("consume", M.basic_consume(q)),
            ("get", M.basic_get(q)),
            ("purge", M.queue_purge(q)),
            ("delete", M.queue_delete(q)),
        ]
    }
    fill(w, q, b"allowed")
    out["owner_sees"] = passive(owner, q)
    return out


@scenario()
def exclusive_outlives_its_channel(run: Run) -> Any:
    """An exclusive queue survives its declaring channel; the owner redeclares it elsewhere."""
    w = run.raw()
    w.open(2)
    q = run.queue()
    w.ok(2, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    w.ok(2, M.channel_close(), "Channel.CloseOk")
    return w.call(1, M.queue_declare(q, exclusive=True))


@scenario()
def exclusive_deleted_with_its_connection(run: Run) -> Any:
    """An exclusive queue goes when its connection closes."""
    owner = run.raw()
    q = run.queue()
    owner.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    owner.ok(0, M.connection_close(), "Connection.CloseOk")
    return eventually_gone(run.raw(), q)


@scenario()
def auto_delete_after_last_consumer(run: Run) -> Any:
    """auto-delete: survives without consumers and after one of two cancels; goes after the
    last cancel."""
    w = run.raw()
    q = run.queue()
    w.ok(1, M.queue_declare(q, auto_delete=True), "Queue.DeclareOk")
    never_consumed = passive(w, q)
    w.ok(1, M.basic_consume(q, "a"), "Basic.ConsumeOk")
    w.ok(1, M.basic_consume(q, "b"), "Basic.ConsumeOk")
    w.ok(1, M.basic_cancel("a"), "Basic.CancelOk")
    one_left = passive(w, q)
    w.ok(1, M.basic_cancel("b"), "Basic.CancelOk")
    return [never_consumed, one_left, eventually_gone(w, q)]


@scenario()
def auto_delete_when_consumer_channel_closes(run: Run) -> Any:
    """auto-delete: closing the consuming channel removes the last consumer."""
    w = run.raw()
    w.open(2)
    q = run.queue()
    w.ok(1, M.queue_declare(q, auto_delete=True), "Queue.DeclareOk")
    w.ok(2, M.basic_consume(q), "Basic.ConsumeOk")
    w.ok(2, M.channel_close(), "Channel.CloseOk")
    return eventually_gone(w, q)


@scenario()
def empty_name_without_previous_declare(run: Run) -> Any:
    """'' means the channel's last declared queue; without one: 404 no previously declared."""
    w = run.raw()
    return [
        w.attempt(1, payload)
        for payload in (
            M.queue_bind("", "amq.direct", "k"),
            M.basic_consume(""),
            M.basic_get(""),
            M.queue_purge(""),
            M.queue_delete(""),
        )
    ]


@scenario()
def bind_errors(run: Run) -> Any:
    """queue.bind: missing exchange (reported first), missing queue, the default exchange."""
    w = run.raw()
    q = run.queue()
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    return [
        w.attempt(1, M.queue_bind(q, run.exchange(), "k")),
        w.attempt(1, M.queue_bind(run.queue(), "amq.direct", "k")),
        w.attempt(1, M.queue_bind(run.queue(), run.exchange(), "k")),
        w.attempt(1, M.queue_bind(q, "", "k")),
        w.attempt(1, M.queue_unbind(q, "", "k")),
    ]


@scenario()
def bind_and_unbind(run: Run) -> Any:
    """Binding twice is fine; unbinding what is not bound (or does not exist) is fine;
    '' names the last declared queue."""
    w = run.raw()
    q = run.queue()
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    return [
        w.attempt(1, M.queue_bind("", "amq.direct", "k")),
        w.attempt(1, M.queue_bind(q, "amq.direct", "k")),
        w.attempt(1, M.queue_unbind(q, "amq.direct", "nothing")),
        w.attempt(1, M.queue_unbind(run.queue(), "amq.direct", "k")),
        w.attempt(1, M.queue_unbind(q, run.exchange(), "k")),
        w.attempt(1, M.queue_unbind(q, "amq.direct", "k")),
    ]


@scenario()
def purge(run: Run) -> Any:
    """purge-ok counts ready messages (unacked ones stay); a missing queue is 404."""
    w = run.raw()
    q = run.queue()
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    fill(w, q, b"1", b"2", b"3", b"4")
    got = w.call(1, M.basic_get(q))
    return {
        "got": got["body"],
        "purged": w.call(1, M.queue_purge(q)),
        "after": passive(w, q),
        "missing": w.attempt(1, M.queue_purge(run.queue())),
    }


@scenario()
def delete(run: Run) -> Any:
    """delete-ok counts ready messages; a missing queue is deleted fine."""
    w = run.raw()
    q = run.queue()
    w.ok(1, M.queue_declare(q), "Queue.DeclareOk")
    fill(w, q, b"1", b"2")
    w.ok(1, M.basic_get(q), "Basic.GetOk")
    return [
        w.call(1, M.queue_delete(q)),
        w.call(1, M.queue_delete(run.queue(), if_unused=True, if_empty=True)),
    ]


@scenario()
def delete_if_unused_and_if_empty(run: Run) -> Any:
    """if-unused with a consumer, if-empty with ready messages: 406; unacked don't count."""
    w = run.raw()
    busy, full, unacked = run.queue(), run.queue(), run.queue()
    for q in (busy, full, unacked):
        w.ok(1, M.queue_declare(q), "Queue.DeclareOk")
    w.open(2)
    w.ok(2, M.basic_consume(busy, "c"), "Basic.ConsumeOk")
    fill(w, full, b"x")
    fill(w, unacked, b"y")
    w.ok(2, M.basic_get(unacked), "Basic.GetOk")
    return [
        w.attempt(1, M.queue_delete(busy, if_unused=True)),
        w.attempt(1, M.queue_delete(full, if_empty=True)),
        w.attempt(1, M.queue_delete(unacked, if_empty=True)),
    ]


@scenario()
def long_and_odd_names(run: Run) -> Any:
    """A 255-character name and one with spaces and non-ASCII characters."""
    w = run.raw()
    long_name = run.delete_later(run.queue().ljust(255, "q"))
    odd = run.name("q é ")
    return [
        w.call(1, M.queue_declare(long_name, exclusive=True)),
        w.call(1, M.queue_declare(odd, exclusive=True)),
    ]
