"""Permissions checked per AMQP method: which resource, which right, in which order.

Each scenario makes a user whose configure / write / read expressions allow names containing
"ok" and refuse the others, then runs methods on allowed and refused resources (existing
and missing).  A refusal is 403 on the channel (reopened for the next step); the connection
carries on.
"""

from __future__ import annotations

from typing import Any

from ..registry import scenario
from ..runner import Run
from ..wire import M, Wire
from .common import eventually_gone, publish

PASSWORD = "pw"


def as_user(
    run: Run, configure: str = ".*", write: str = ".*", read: str = ".*", tags: str = ""
) -> tuple[str, Wire]:
    """A new user with these permissions on the run's vhost, and a raw connection as it."""
    user = run.admin.add_user(run.name("u"), PASSWORD, tags)
    run.admin.set_permissions(user, configure, write, read, vhost=run.vhost)
    return user, run.raw(user=user, password=PASSWORD)


def steps(w: Wire, attempts: dict[str, bytes]) -> dict[str, Any]:
    """Each method on channel 1 in turn: its reply (a refused channel is reopened)."""
    out = {label: w.attempt(1, payload) for label, payload in attempts.items()}
    out["connection still open"] = w.probe()
    return out


def _setup(run: Run) -> tuple[Wire, str, str, str, str]:
    """As guest: queues qok/qno and direct exchanges xok/xno."""
    g = run.raw()
    qok, qno, xok, xno = run.name("qok"), run.name("qno"), run.name("xok"), run.name("xno")
    for q in (qok, qno):
        g.ok(1, M.queue_declare(q), "Queue.DeclareOk")
    for x in (xok, xno):
        g.ok(1, M.exchange_declare(x), "Exchange.DeclareOk")
    return g, qok, qno, xok, xno


@scenario()
def configure_queue(run: Run) -> Any:
    """queue.declare / delete need configure; amq. prefix first; passive checks nothing."""
    _, qok, qno, _, _ = _setup(run)
    # (anchored: a server-named queue's random amq.gen- name must never match by chance)
    _, w = as_user(run, configure="^d-.*qok|^amq\\.ok")
    new_ok, new_no = run.name("qok"), run.name("qno")
    return steps(
        w,
        {
            "declare allowed": M.queue_declare(new_ok),
            "declare refused": M.queue_declare(new_no),
            "redeclare existing refused": M.queue_declare(qno),
            "reserved prefix before configure": M.queue_declare("amq.ok-no"),
            "reserved prefix, configure refused": M.queue_declare("amq.nope"),
            "server-named refused": M.queue_declare(""),
            "passive existing refused name": M.queue_declare(qno, passive=True),
            "passive missing": M.queue_declare(run.name("qno"), passive=True),
            "delete refused": M.queue_delete(qno),
            "delete missing refused": M.queue_delete(run.name("qno")),
            "delete missing allowed": M.queue_delete(run.name("qok")),
            "delete allowed": M.queue_delete(qok),
        },
    )


@scenario()
def configure_server_named(run: Run) -> Any:
    """A server-named queue is checked under the name it would get (amq.gen-...)."""
    _, w = as_user(run, configure="^amq\\.gen-")
    got = w.attempt(1, M.queue_declare("", exclusive=True))
    return {"server-named allowed": {k: v for k, v in got.items() if k != "queue"}}


@scenario()
def configure_exchange(run: Run) -> Any:
    """exchange.declare: type, default exchange, configure, prefix; delete: system, configure."""
    _, _, _, xok, xno = _setup(run)
    _, w = as_user(run, configure="ok")
    out = steps(
        w,
        {
            "declare allowed": M.exchange_declare(run.name("xok")),
            "declare refused": M.exchange_declare(run.name("xno")),
            "redeclare existing refused": M.exchange_declare(xno),
            "default exchange before configure": M.exchange_declare(""),
            "configure before reserved prefix": M.exchange_declare("amq.nope"),
            "reserved prefix": M.exchange_declare("amq.ok-not"),
            "passive existing refused name": M.exchange_declare(xno, passive=True),
            "passive default exchange": M.exchange_declare("", passive=True),
            "passive missing": M.exchange_declare(run.name("xno"), passive=True),
            "delete refused": M.exchange_delete(xno),
            "delete missing refused": M.exchange_delete(run.name("xno")),
            "delete system exchange before configure": M.exchange_delete("amq.direct"),
            "delete default exchange": M.exchange_delete(""),
            "delete allowed": M.exchange_delete(xok),
        },
    )
    # The type is checked before anything else: an unknown type closes the connection.  (A
    # name of the run's: RabbitMQ says "invalid" rather than "unknown" exchange type when the
    # name happens to be an atom its VM already holds, as "nosuch" was once.)
    unknown_type = run.name("type")
    out["unknown type, refused name"] = w.call(1, M.exchange_declare(run.name("xno"), unknown_type))
    return out


@scenario()
def queue_bind_order(run: Run) -> Any:
    """queue.bind / unbind: write on the queue, default exchange, read on the exchange."""
    _, qok, qno, xok, xno = _setup(run)
    _, w = as_user(run, write="ok", read="ok")
    attempts: dict[str, bytes] = {}
    for verb, make in (("bind", M.queue_bind), ("unbind", M.queue_unbind)):
        attempts |= {
            f"{verb} allowed": make(qok, xok, "k"),
            f"{verb} queue refused, exchange refused": make(qno, xno, "k"),
            f"{verb} queue refused, default exchange": make(qno, "", "k"),
            f"{verb} default exchange": make(qok, "", "k"),
            f"{verb} exchange refused": make(qok, xno, "k"),
            f"{verb} missing exchange refused": make(qok, run.name("xno"), "k"),
            f"{verb} missing exchange allowed": make(qok, run.name("xok"), "k"),
            f"{verb} missing queue refused": make(run.name("qno"), xok, "k"),
            f"{verb} missing queue allowed": make(run.name("qok"), xok, "k"),
        }
    return steps(w, attempts)


@scenario()
def exchange_bind_order(run: Run) -> Any:
    """exchange.bind / unbind: write on the destination, default exchange, read on the source."""
    _, _, _, xok, xno = _setup(run)
    _, w = as_user(run, write="ok", read="ok")
    attempts: dict[str, bytes] = {}
    for verb, make in (("bind", M.exchange_bind), ("unbind", M.exchange_unbind)):
        attempts |= {
            f"{verb} allowed": make(xok, xok, "k"),
            f"{verb} destination refused": make(xno, xno, "k"),
            f"{verb} source refused": make(xok, xno, "k"),
            f"{verb} default destination": make("", xok, "k"),
            f"{verb} default source": make(xok, "", "k"),
            f"{verb} missing source refused": make(xok, run.name("xno"), "k"),
            f"{verb} missing destination allowed": make(run.name("xok"), xok, "k"),
        }
    return steps(w, attempts)


@scenario()
def read_methods(run: Run) -> Any:
    """queue.purge, basic.get, basic.consume need read on the queue (missing ones too)."""
    _, qok, qno, _, _ = _setup(run)
    _, w = as_user(run, read="ok")
    return steps(
        w,
        {
            "purge allowed": M.queue_purge(qok),
            "purge refused": M.queue_purge(qno),
            "purge missing refused": M.queue_purge(run.name("qno")),
            "get allowed": M.basic_get(qok),
            "get refused": M.basic_get(qno),
            "get missing refused": M.basic_get(run.name("qno")),
            "get missing allowed": M.basic_get(run.name("qok")),
            "consume refused": M.basic_consume(qno, "c1"),
            "consume missing refused": M.basic_consume(run.name("qno"), "c2"),
            "consume allowed": M.basic_consume(qok, "c3"),
        },
    )


@scenario()
def direct_reply_to_needs_nothing(run: Run) -> Any:
    """A user with no rights at all may consume from amq.rabbitmq.reply-to and use it."""
    _, w = as_user(run, configure="", write="", read="")
    return steps(
        w,
        {
            "consume": M.basic_consume("amq.rabbitmq.reply-to", "r", no_ack=True),
            "declare reply-to": M.queue_declare("amq.rabbitmq.reply-to", passive=True),
        },
    )


@scenario()
def publish_checks(run: Run) -> Any:
    """basic.publish: write on the exchange ("" is amq.default) before existence and internal."""
    g, qok, _, xok, xno = _setup(run)
    internal_ok, internal_no = run.name("xok"), run.name("xno")
    for x in (internal_ok, internal_no):
        g.ok(1, M.exchange_declare(x, internal=True), "Exchange.DeclareOk")
    g.ok(1, M.queue_bind(qok, xok, "k"), "Queue.BindOk")
    _, w = as_user(run, write="ok")
    out = {}
    for label, exchange in (
        ("allowed", xok),
        ("refused", xno),
        ("default exchange", ""),
        ("missing refused", run.name("xno")),
        ("missing allowed", run.name("xok")),
        ("internal allowed", internal_ok),
        ("internal refused", internal_no),
    ):
        w.publish(1, exchange, "k", b"m")
        out[label] = w.probe()
        if out[label].get("method") == "Channel.Close":
            w.open(1)
    out["routed"] = g.call(1, M.queue_declare(qok, passive=True))
    return out


@scenario()
def publish_refused_in_confirm_mode(run: Run) -> Any:
    """A refused publish on a confirm channel: channel closed, no confirm."""
    _, w = as_user(run, write="^$")
    w.ok(1, M.confirm_select(), "Confirm.SelectOk")
    w.publish(1, "amq.direct", "k", b"m")
    reply = w.reply(channel=1)
    w.open(2)
    return {"reply": reply, "after": w.probe(2)}


@scenario()
def dead_letter_exchange(run: Run) -> Any:
    """x-dead-letter-exchange: read on the queue, then write on the DLX, only on creation."""
    g, _, _, xok, xno = _setup(run)
    existing = run.name("qno")
    g.ok(1, M.queue_declare(existing, args={"x-dead-letter-exchange": xno}), "Queue.DeclareOk")
    _, w = as_user(run, write="ok", read="ok")

    def dlx(name: str, exchange: str) -> bytes:
        return M.queue_declare(name, args={"x-dead-letter-exchange": exchange})

    return steps(
        w,
        {
            "allowed": dlx(run.name("qok"), xok),
            "dlx write refused": dlx(run.name("qok"), xno),
            "read on queue first": dlx(run.name("qno"), xno),
            "missing dlx allowed": dlx(run.name("qok"), run.name("xok")),
            "default exchange as dlx": dlx(run.name("qok"), ""),
            "redeclare skips both": dlx(existing, xno),
            "without dlx nothing but configure": M.queue_declare(run.name("qno")),
        },
    )


@scenario()
def alternate_exchange(run: Run) -> Any:
    """alternate-exchange: read on the exchange, then write on the AE, only on creation."""
    g, _, _, xok, xno = _setup(run)
    existing = run.name("xno")
    g.ok(1, M.exchange_declare(existing, args={"alternate-exchange": xno}), "Exchange.DeclareOk")
    _, w = as_user(run, write="ok", read="ok")

    def ae(name: str, exchange: str) -> bytes:
        return M.exchange_declare(name, args={"alternate-exchange": exchange})

    return steps(
        w,
        {
            "allowed": ae(run.name("xok"), xok),
            "ae write refused": ae(run.name("xok"), xno),
            "read on exchange first": ae(run.name("xno"), xno),
            "redeclare skips both": ae(existing, xno),
            "reserved prefix before read": ae("amq.ok-x", xno),
        },
    )


@scenario()
def implicit_deletions_check_nothing(run: Run) -> Any:
    """An auto-delete queue whose last consumer (a user without configure) cancels goes."""
    g, _, _, _, _ = _setup(run)
    q = run.name("qok")
    g.ok(1, M.queue_declare(q, auto_delete=True), "Queue.DeclareOk")
    _, w = as_user(run, configure="", read="ok")
    consume = w.call(1, M.basic_consume(q, "c"))
    cancel = w.call(1, M.basic_cancel("c"))
    return {"consume": consume, "cancel": cancel, "queue": eventually_gone(g, q)}


@scenario()
def no_permission_text_for_other_vhost_names(run: Run) -> Any:
    """The 403 text names the resource, the vhost and the user."""
    _, w = as_user(run, configure="", write="", read="")
    return steps(
        w,
        {
            "queue": M.queue_declare("a'b"),
            "exchange": M.exchange_declare("x y"),
            "purge last queue, none declared": M.queue_purge(""),
        },
    )


@scenario()
def publish_through_confirm_helper(run: Run) -> Any:
    """Sanity: a least-privilege publisher (write only) publishes and is confirmed."""
    g, qok, _, xok, _ = _setup(run)
    g.ok(1, M.queue_bind(qok, xok, "k"), "Queue.BindOk")
    _, w = as_user(run, configure="", write="ok", read="")
    return {
        "confirm": publish(w, xok, "k", b"m"),
        "count": g.call(1, M.queue_declare(qok, passive=True)),
    }


@scenario()
def consumer_tag_reuse_before_read(run: Run) -> Any:
    """basic.consume: a reused consumer tag is refused before the read permission."""
    _, qok, qno, _, _ = _setup(run)
    _, w = as_user(run, read="ok")
    w.ok(1, M.basic_consume(qok, "c"), "Basic.ConsumeOk")
    return {"reused tag on a refused queue": w.call(1, M.basic_consume(qno, "c"))}


@scenario()
def consumer_tag_reuse_before_existence(run: Run) -> Any:
    """basic.consume: a reused consumer tag is refused before the queue is looked up."""
    _, qok, _, _, _ = _setup(run)
    _, w = as_user(run)
    w.ok(1, M.basic_consume(qok, "c"), "Basic.ConsumeOk")
    return {"reused tag on a missing queue": w.call(1, M.basic_consume(run.name("qok"), "c"))}


@scenario()
def argument_types_before_permissions(run: Run) -> Any:
    """A DLX / AE argument that is not a string: 406 from the argument checks, not 403."""
    _, w = as_user(run, write="ok", read="ok")
    return steps(
        w,
        {
            "queue with numeric dlx": M.queue_declare(
                run.name("qno"), args={"x-dead-letter-exchange": 5}
            ),
            "exchange with numeric ae": M.exchange_declare(
                run.name("xno"), args={"alternate-exchange": 5}
            ),
        },
    )


@scenario()
def server_named_quorum_before_configure(run: Run) -> Any:
    """A server-named quorum queue is refused (406) before configure is checked."""
    _, w = as_user(run, configure="^$")
    return w.call(1, M.queue_declare("", durable=True, args={"x-queue-type": "quorum"}))


@scenario()
def exclusive_lock_after_permission(run: Run) -> Any:
    """Another connection's exclusive queue: 403 for a refused name, 405 for an allowed one."""
    g = run.raw()
    qok, qno = run.name("qok"), run.name("qno")
    for q in (qok, qno):
        g.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    _, w = as_user(run, configure="ok", read="ok")
    return steps(
        w,
        {
            "declare refused": M.queue_declare(qno, exclusive=True),
            "declare allowed": M.queue_declare(qok, exclusive=True),
            "delete refused": M.queue_delete(qno),
            "delete allowed": M.queue_delete(qok),
            "get refused": M.basic_get(qno),
            "get allowed": M.basic_get(qok),
        },
    )


@scenario()
def publish_to_amq_default_by_name(run: Run) -> Any:
    """Publishing to an exchange literally named 'amq.default'."""
    _, w = as_user(run, write="^amq\\.default$")
    q = run.name("q")
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    w.publish(1, "amq.default", q, b"m")
    first = w.probe()
    if first.get("method") == "Channel.Close":
        w.open(1)
    w.publish(1, "", q, b"m")
    return {
        "by name": first,
        "as ''": w.probe(),
        "queue": w.call(1, M.queue_declare(q, passive=True)),
    }


@scenario()
def bind_shortcut_topic_key(run: Run) -> Any:
    """queue.bind with no queue and no key binds the last queue under its own name; the
    topic rule sees that name."""
    g = run.raw()
    topic = run.name("x")
    g.ok(1, M.exchange_declare(topic, "topic"), "Exchange.DeclareOk")
    user, w = as_user(run)
    run.admin.set_topic_permissions(user, topic, write=".*", read="^d-")
    w.ok(1, M.queue_declare(run.name("q"), exclusive=True), "Queue.DeclareOk")
    return steps(w, {"bind '' ''": M.queue_bind("", topic, "")})


@scenario()
def implicit_deletion_of_exclusive_and_auto_delete_exchange(run: Run) -> Any:
    """An exclusive queue goes with its connection after its owner lost configure, and an
    auto-delete exchange goes when a user without configure removes its last binding."""
    g, qok, _, _, _ = _setup(run)
    x = run.name("xok")
    g.ok(1, M.exchange_declare(x, auto_delete=True), "Exchange.DeclareOk")
    g.ok(1, M.queue_bind(qok, x, "k"), "Queue.BindOk")
    user, w = as_user(run, configure="ok", write="ok", read="ok")
    mine = run.name("qok")
    w.ok(1, M.queue_declare(mine, exclusive=True), "Queue.DeclareOk")
    run.admin.set_permissions(user, "", "ok", "ok", vhost=run.vhost)
    unbind = w.call(1, M.queue_unbind(qok, x, "k"))
    w.call(0, M.connection_close())
    return {
        "unbind": unbind,
        "auto-delete exchange": g.attempt(1, M.exchange_declare(x, passive=True)),
        "exclusive queue": eventually_gone(g, mine),
    }
