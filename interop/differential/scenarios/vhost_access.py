"""Vhost access at connection.open, connection.update-secret, and the impersonator tag."""

from __future__ import annotations

from typing import Any

from ..registry import scenario
from ..runner import Run
from ..wire import M, longstr, method, properties, shortstr
from .permissions import PASSWORD, as_user


def _open(run: Run, user: str, vhost: str) -> Any:
    """A handshake as ``user`` and connection.open of ``vhost``: the reply, and how the
    socket ends if it was refused."""
    w = run.wire()
    w.send(b"AMQP\x00\x00\x09\x01")
    w.reply()
    w.call(0, M.start_ok(b"\x00" + user.encode() + b"\x00" + PASSWORD.encode()))
    w.m(0, M.tune_ok())
    reply = w.call(0, M.connection_open(vhost))
    if reply.get("method") == "Connection.Close":
        return {"reply": reply, "then": w.closed_silently(3.0)}
    return reply


@scenario()
def open_unknown_vhost(run: Run) -> Any:
    """connection.open of a vhost that does not exist: 530 'vhost v not found'."""
    user, _ = as_user(run)
    return _open(run, user, run.name("v"))


@scenario()
def open_without_permission(run: Run) -> Any:
    """A vhost the user has no permission in: 530 access refused; with one it opens, even if
    every expression is empty."""
    vhost = run.admin.add_vhost(run.name("v"))
    user, _ = as_user(run)
    refused = _open(run, user, vhost)
    run.admin.set_permissions(user, "", "", "", vhost=vhost)
    return {"refused": refused, "empty permissions": _open(run, user, vhost)}


@scenario()
def permissions_per_vhost(run: Run) -> Any:
    """Rights in one vhost say nothing about another."""
    vhost = run.admin.add_vhost(run.name("v"))
    user, w = as_user(run, configure="", write="", read="")
    run.admin.set_permissions(user, vhost=vhost)
    v = run.raw(user=user, password=PASSWORD, vhost=vhost)
    q = run.name("q")
    return {
        "in run vhost": w.attempt(1, M.queue_declare(q, exclusive=True)),
        "in own vhost": v.attempt(1, M.queue_declare(q, exclusive=True)),
    }


def update_secret(secret: str, reason: str = "refresh") -> bytes:
    return method(10, 70, longstr(secret), shortstr(reason))


@scenario()
def update_secret_ok(run: Run) -> Any:
    """connection.update-secret: update-secret-ok, with the right secret or a wrong one, and
    the connection keeps working."""
    _, w = as_user(run)
    right = w.call(0, update_secret(PASSWORD))
    wrong = w.call(0, update_secret("not-the-password"))
    empty = w.call(0, update_secret(""))
    return {"right": right, "wrong": wrong, "empty": empty, "then": w.probe()}


@scenario()
def update_secret_with_pika(run: Run) -> Any:
    """pika's BlockingConnection.update_secret returns and the connection keeps working."""
    import pika  # noqa: PLC0415

    user, _ = as_user(run)
    conn = run.pika(credentials=pika.PlainCredentials(user, PASSWORD))
    conn.update_secret("new-secret", "token refresh")
    ch = conn.channel()
    declared = ch.queue_declare("", exclusive=True)
    return {"open": conn.is_open, "declare": declared.method.NAME}


def _user_id_publish(run: Run, tags: str) -> Any:
    _, w = as_user(run, tags=tags)
    q = run.name("q")
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    flags, props = properties(user_id="someone-else")
    w.publish(1, "", q, b"m", flags=flags, props=props)
    got = w.call(1, M.basic_get(q, no_ack=True))
    if got.get("method") == "Channel.Close":
        return got
    return {"method": got.get("method"), "props": got.get("header", {}).get("props")}


@scenario()
def user_id_impersonator(run: Run) -> Any:
    """A user tagged impersonator may publish any user_id; others get 406."""
    return {
        "impersonator": _user_id_publish(run, "impersonator"),
        "impersonator with other tags": _user_id_publish(run, "monitoring,impersonator"),
        "ordinary user": _user_id_publish(run, ""),
        "administrator": _user_id_publish(run, "administrator"),
    }


def _publish_probe(w: Any, channel: int, exchange: str) -> Any:
    w.publish(channel, exchange, "k", b"m")
    return w.probe(channel)


def _without_cached_channel(observation: Any) -> Any:
    return {k: v for k, v in observation.items() if k != "channel that published before"}


@scenario(
    deliberate="RabbitMQ's channel caches a granted check (up to 12 per channel), so a channel "
    "that used a right before it was revoked keeps it; amqpbroker refuses on every channel at once",
    normalise=_without_cached_channel,
)
def permission_change_on_open_channels(run: Run) -> Any:
    """Write revoked while a channel is open: a new channel is refused at once."""
    g = run.raw()
    exchange = run.name("x")
    g.ok(1, M.exchange_declare(exchange), "Exchange.DeclareOk")
    user, w = as_user(run)
    before = _publish_probe(w, 1, exchange)
    run.admin.set_permissions(user, ".*", "^$", ".*", vhost=run.vhost)
    w.open(2)
    return {
        "before": before,
        "new channel": _publish_probe(w, 2, exchange),
        "channel that published before": _publish_probe(w, 1, exchange),
    }


@scenario()
def permissions_cleared_while_connected(run: Run) -> Any:
    """Permissions cleared while the user is connected: the connection stays, a new channel
    is refused what it asks."""
    user, w = as_user(run)
    run.admin.clear_permissions(user, vhost=run.vhost)
    w.open(2)
    return {"declare": w.call(2, M.queue_declare(run.name("q"), exclusive=True))}


def _before_open(run: Run, payload: bytes) -> Any:
    w = run.wire()
    w.send(b"AMQP\x00\x00\x09\x01")
    w.reply()
    w.call(0, M.start_ok())
    w.m(0, M.tune_ok())
    return {"reply": w.call(0, payload), "then": w.closed_silently(4.0)}


@scenario()
def update_secret_before_open(run: Run) -> Any:
    """connection.update-secret before connection.open: 504 unexpected method (opening)."""
    return _before_open(run, update_secret("guest"))


@scenario()
def other_methods_on_channel_0_before_open(run: Run) -> Any:
    """Any method on channel 0 but open/close after tune-ok: 504 with that method's ids."""
    return {
        "tune-ok again": _before_open(run, M.tune_ok()),
        "queue.declare": _before_open(run, M.queue_declare("x")),
    }


@scenario()
def update_secret_on_a_channel(run: Run) -> Any:
    """connection.update-secret sent on channel 1 instead of 0."""
    w = run.raw()
    return {"reply": w.call(1, update_secret("guest")), "then": w.closed_silently(4.0)}


@scenario()
def topic_vhost_variable_in_a_named_vhost(run: Run) -> Any:
    """{vhost} in a topic expression is the connection's vhost name."""
    vhost = run.admin.add_vhost(run.name("v"))
    user = run.admin.add_user(run.name("u"), PASSWORD)
    run.admin.set_permissions(user, vhost=vhost)
    run.admin.set_topic_permissions(user, "amq.topic", write="^{vhost}\\.", vhost=vhost)
    w = run.raw(user=user, password=PASSWORD, vhost=vhost)
    out = {}
    for key in (f"{vhost}.k", "other.k"):
        w.publish(1, "amq.topic", key, b"m")
        out[key] = w.probe()
    return out
