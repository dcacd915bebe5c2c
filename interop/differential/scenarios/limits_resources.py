"""Per-vhost and per-user limits (``/api/vhost-limits``, ``/api/user-limits``): the
connection.open, queue.declare and channel.open a limit refuses, codes and texts."""

from __future__ import annotations

from typing import Any

from ..registry import scenario
from ..runner import Run
from ..wire import M
from .permissions import PASSWORD, as_user


def _open(run: Run, user: str, password: str, vhost: str) -> Any:
    """A handshake and connection.open: the reply, and how the socket ends if refused."""
    w = run.wire()
    w.send(b"AMQP\x00\x00\x09\x01")
    w.reply()
    w.call(0, M.start_ok(f"\x00{user}\x00{password}".encode()))
    w.m(0, M.tune_ok())
    reply = w.call(0, M.connection_open(vhost))
    if reply.get("method") == "Connection.Close":
        return {"reply": reply, "then": w.closed_silently(3.0)}
    return reply


@scenario()
def vhost_connection_limit(run: Run) -> Any:
    """max-connections 1: the second connection.open is 530."""
    vhost = run.admin.add_vhost(run.name("v"))
    run.admin.set_vhost_limit(vhost, "max-connections", 1)
    run.raw(vhost=vhost)
    return {"second": _open(run, "guest", "guest", vhost)}


@scenario()
def vhost_queue_limit(run: Run) -> Any:
    """max-queues 1: a redeclare passes, a second queue is 406 and closes the channel."""
    vhost = run.admin.add_vhost(run.name("v"))
    run.admin.set_vhost_limit(vhost, "max-queues", 1)
    w = run.raw(vhost=vhost)
    q1, q2 = run.name("q1"), run.name("q2")
    return {
        "first": w.attempt(1, M.queue_declare(q1)),
        "again": w.attempt(1, M.queue_declare(q1)),
        "second": w.attempt(1, M.queue_declare(q2)),
    }


@scenario()
def user_connection_limit(run: Run) -> Any:
    """A user's max-connections 1 (it has one open): its next connection.open is 530."""
    user, _w = as_user(run)
    run.admin.set_user_limit(user, "max-connections", 1)
    return _open(run, user, PASSWORD, run.vhost)


@scenario()
def user_channel_limit(run: Run) -> Any:
    """A user's max-channels 2 (channel 1 open): channel 2 opens, channel 3 is 530."""
    user, w = as_user(run)
    run.admin.set_user_limit(user, "max-channels", 2)
    return {"second": w.attempt(2, M.channel_open()), "third": w.attempt(3, M.channel_open())}
