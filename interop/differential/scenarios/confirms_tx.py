"""Publisher confirms and transactions."""

from __future__ import annotations

from typing import Any

from ..registry import scenario
from ..runner import Run
from ..wire import M, Wire
from .common import fill, get_all, passive


def _until_confirm(w: Wire, channel: int = 1) -> list[dict[str, Any]]:
    """Frames on ``channel`` up to and including the next basic.ack / basic.nack."""
    out = []
    while True:
        got = w.reply(channel=channel)
        out.append(got)
        if got.get("method") in ("Basic.Ack", "Basic.Nack", "Channel.Close", "Connection.Close"):
            return out


@scenario()
def confirm_select(run: Run) -> Any:
    """confirm.select twice is fine; with nowait there is no select-ok."""
    w = run.raw()
    w.open(2)
    out = [w.call(1, M.confirm_select()), w.call(1, M.confirm_select())]
    w.m(2, M.confirm_select(nowait=True))
    return [*out, w.probe(2)]


@scenario()
def confirm_tags(run: Run) -> Any:
    """Each publish is confirmed with the next delivery tag, routed or not."""
    w = run.raw()
    q = run.queue()
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    w.ok(1, M.confirm_select(), "Confirm.SelectOk")
    out = []
    for key in (q, "nowhere", q):
        w.publish(1, "", key, b"m")
        out.append(_until_confirm(w))
    return out


@scenario()
def confirm_unroutable_mandatory(run: Run) -> Any:
    """Unroutable messages (mandatory, not, mandatory): basic.return comes before the ack."""
    w = run.raw()
    w.ok(1, M.confirm_select(), "Confirm.SelectOk")
    out = []
    for mandatory in (True, False, True):
        w.publish(1, "amq.direct", f"nokey-{run.token}", b"r", mandatory=mandatory)
        out.append(_until_confirm(w))
    return out


@scenario()
def confirm_publish_to_missing_exchange(run: Run) -> Any:
    """In confirm mode a publish to a missing exchange still closes the channel: 404."""
    w = run.raw()
    w.ok(1, M.confirm_select(), "Confirm.SelectOk")
    w.publish(1, run.exchange(), "k", b"m")
    return w.reply(channel=1)


@scenario()
def tx_without_select(run: Run) -> Any:
    """tx.commit / tx.rollback on a non-transactional channel: 406."""
    w = run.raw()
    return [w.attempt(1, M.tx_commit()), w.attempt(1, M.tx_rollback())]


@scenario()
def tx_and_confirm_exclude_each_other(run: Run) -> Any:
    """tx.select after confirm.select and the reverse: 406; tx.select twice is fine."""
    w = run.raw()
    w.open(2)
    w.ok(1, M.confirm_select(), "Confirm.SelectOk")
    w.ok(2, M.tx_select(), "Tx.SelectOk")
    return [
        w.call(2, M.tx_select()),
        w.attempt(1, M.tx_select()),
        w.attempt(2, M.confirm_select()),
    ]


@scenario()
def tx_publish(run: Run) -> Any:
    """Publishes in a transaction are invisible until commit; rollback discards them."""
    w = run.raw()
    w.open(2)
    q = run.queue()
    w.ok(2, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    w.ok(1, M.tx_select(), "Tx.SelectOk")
    w.publish(1, "", q, b"rolled-back")
    uncommitted = passive(w, q, 2)
    rollback = w.call(1, M.tx_rollback())
    w.publish(1, "", q, b"committed")
    commit = w.call(1, M.tx_commit())
    return [uncommitted, rollback, commit, get_all(w, q, 2)]


@scenario()
def tx_acks(run: Run) -> Any:
    """Acks in a transaction: a rolled-back ack leaves the message unacked (requeued when
    the channel closes); a committed one is final."""
    w = run.raw()
    w.open(2)
    q = run.queue()
    w.ok(2, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    fill(w, q, b"m0", b"m1")
    w.ok(1, M.tx_select(), "Tx.SelectOk")
    w.ok(1, M.basic_get(q), "Basic.GetOk")
    w.ok(1, M.basic_get(q), "Basic.GetOk")
    w.m(1, M.basic_ack(1))
    rollback = w.call(1, M.tx_rollback())
    w.m(1, M.basic_ack(2))
    commit = w.call(1, M.tx_commit())
    w.ok(1, M.channel_close(), "Channel.CloseOk")
    return [rollback, commit, get_all(w, q, 2)]


@scenario()
def tx_errors_are_immediate(run: Run) -> Any:
    """Inside a transaction an unknown delivery tag or a missing exchange fails at once."""
    w = run.raw()
    w.open(2)
    w.ok(1, M.tx_select(), "Tx.SelectOk")
    w.ok(2, M.tx_select(), "Tx.SelectOk")
    bad_ack = w.call(1, M.basic_ack(99))
    w.publish(2, run.exchange(), "k", b"m")
    return [bad_ack, w.reply(channel=2)]


@scenario()
def tx_mandatory_unroutable(run: Run) -> Any:
    """A mandatory unroutable publish in a transaction: basic.return, then commit-ok."""
    w = run.raw()
    w.ok(1, M.tx_select(), "Tx.SelectOk")
    w.publish(1, "amq.direct", f"nokey-{run.token}", b"r", mandatory=True)
    w.m(1, M.tx_commit())
    return [w.reply(channel=1), w.reply(channel=1)]


@scenario()
def pika_confirms(run: Run) -> Any:
    """pika confirm_delivery: a routed publish returns, an unroutable mandatory one raises
    UnroutableError."""
    import pika.exceptions  # noqa: PLC0415

    conn = run.pika()
    ch = conn.channel()
    ch.confirm_delivery()
    q = ch.queue_declare(run.queue(), exclusive=True).method.queue
    ch.basic_publish("", q, b"ok")
    try:
        ch.basic_publish("amq.direct", f"nokey-{run.token}", b"lost", mandatory=True)
        error = None
    except pika.exceptions.UnroutableError as exc:
        error = [type(exc).__name__, [m.body.decode() for m in exc.messages]]
    method, _, body = ch.basic_get(q, auto_ack=True)
    return {"unroutable": error, "got": [method.delivery_tag, body.decode()]}


@scenario()
def pika_transactions(run: Run) -> Any:
    """pika tx_select / tx_rollback / tx_commit."""
    conn = run.pika()
    ch = conn.channel()
    q = ch.queue_declare(run.queue(), exclusive=True).method.queue
    ch.tx_select()
    ch.basic_publish("", q, b"rolled back")
    ch.tx_rollback()
    ch.basic_publish("", q, b"committed")
    ch.tx_commit()
    other = conn.channel()
    bodies = []
    while True:
        method, _, body = other.basic_get(q, auto_ack=True)
        if method is None:
            return bodies
        bodies.append(body.decode())
