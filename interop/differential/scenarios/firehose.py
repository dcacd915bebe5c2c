"""The firehose: with a vhost's tracing on, every publish and every delivery is copied to
``amq.rabbitmq.trace``.

Each scenario makes its own vhost, switches its tracing on through the management API
(``run.admin.set_tracing``), binds an exclusive queue to the trace exchange with ``#`` and
takes what arrives there: the copy's routing key (``publish.<exchange>``,
``deliver.<queue>``), its properties (headers only), the layout of its headers table (field
types, in wire order, nested tables included) and its body.  RabbitMQ publishes the copies
from the channel, so each observation ends with a traced marker publish on the same channel
and takes copies until the marker's: what did not come by then was not traced.

What legitimately differs is replaced in the observation: the node name and the connection
name (client port; the server's port differs between the brokers).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from ..registry import scenario
from ..runner import Run
from ..wire import M, Wire, properties
from .common import publish
from .dlx import _normalise_deaths, take

TRACE = "amq.rabbitmq.trace"
TAKER = 3  # the channel that takes copies from the trace queue
MARKER = b"end-of-observation"


# RabbitMQ keeps the traced vhosts in one node-wide list that each switch reads, changes and
# writes back: two switches at once can lose one.  So these scenarios run one at a time and
# switch their tracing off before the next starts.
_ALONE = threading.Lock()


def alone(fn: Callable[[Run], Any]) -> Callable[[Run], Any]:
    @functools.wraps(fn)
    def run_alone(run: Run) -> Any:
        with _ALONE:
            try:
                return fn(run)
            finally:
                run.admin.stop_tracing()

    return run_alone


# -- steps ----------------------------------------------------------------------------------


def _traced(run: Run) -> tuple[Wire, str, str]:
    """A raw connection to a fresh vhost with tracing on; the name of the queue bound to
    the trace exchange with ``#``; the vhost's name."""
    vhost = run.admin.add_vhost(run.name("v"))
    run.admin.set_tracing(vhost)
    w = run.raw(vhost=vhost)
    w.open(TAKER)
    trace_queue = _queue(w)
    w.ok(1, M.queue_bind(trace_queue, TRACE, "#"), "Queue.BindOk")
    return w, trace_queue, vhost


def _queue(w: Wire, name: str = "") -> str:
    got = w.ok(1, M.queue_declare(name, exclusive=True), "Queue.DeclareOk")
    return str(got["queue"])


def _normalised(copy: Any) -> Any:
    if not isinstance(copy, dict):
        return copy
    headers = copy.get("props", {}).get("headers")
    if isinstance(headers, dict):
        headers = dict(headers)
        for key in ("node", "connection"):
            if isinstance(headers.get(key), str):
                headers[key] = f"<{key}>"
        properties = headers.get("properties")
        if isinstance(properties, dict) and "headers" in properties:
            headers["properties"] = {
                **properties,
                "headers": _normalise_deaths(properties["headers"]),
            }
        copy = {**copy, "props": {**copy["props"], "headers": headers}}
    return {k: v for k, v in copy.items() if k not in ("delivery_tag", "message_count")}


def _copies(w: Wire, trace_queue: str) -> list[Any]:
    """Publish the marker (through the default exchange, unroutable) and take every copy up
    to its own."""
    publish(w, "", "no-such-queue", MARKER)
    out: list[Any] = []
    while len(out) < 50:
        copy = take(w, trace_queue, channel=TAKER)
        if not isinstance(copy, dict) or copy.get("body") == MARKER.decode():
            out.append(_normalised(copy) if isinstance(copy, dict) else copy)
            break
        out.append(_normalised(copy))
    return out


def _props(**props: Any) -> dict[str, Any]:
    flags, packed = properties(**props)
    return {"flags": flags, "props": packed}


def _get(w: Wire, queue: str, no_ack: bool = False) -> dict[str, Any]:
    got = w.call(1, M.basic_get(queue, no_ack=no_ack))
    return {k: got.get(k) for k in ("method", "delivery_tag", "redelivered", "routing_key")}


# -- scenarios ------------------------------------------------------------------------------


@scenario()
@alone
def default_exchange_publish_and_get(run: Run) -> Any:
    """A publish to the default exchange with every kind of property, then basic.get and
    basic.ack: publish.<empty> and deliver.<queue> copies with their headers and types."""
    w, trace_queue, _ = _traced(run)
    q = _queue(w)
    props = _props(
        content_type="text/plain",
        content_encoding="utf-8",
        headers={"a": 1, "s": "x", "t": {"n": True}},
        delivery_mode=2,
        priority=3,
        correlation_id="c1",
        reply_to="r1",
        expiration="60000",
        message_id="m1",
        timestamp=1700000000,
        type="ty",
        app_id="app",
    )
    publish(w, "", q, b"hello", **props)
    got = _get(w, q)
    w.m(1, M.basic_ack(got["delivery_tag"]))
    return {"got": got, "copies": _copies(w, trace_queue)}


@scenario()
@alone
def exchange_kinds(run: Run) -> Any:
    """Publishes through direct, topic and fanout exchanges to two queues each: the copies'
    exchange_name, routing_keys and routed_queues."""
    w, trace_queue, _ = _traced(run)
    for kind, key in (("direct", "k"), ("topic", "a.b"), ("fanout", "any")):
        x = run.exchange()
        w.ok(1, M.exchange_declare(x, kind, auto_delete=True), "Exchange.DeclareOk")
        for binding in ("k", "a.*") if kind == "topic" else ("k", "k"):
            w.ok(1, M.queue_bind(_queue(w), x, binding), "Queue.BindOk")
        publish(w, x, key, kind.encode())
    return _copies(w, trace_queue)


@scenario()
@alone
def unroutable(run: Run) -> Any:
    """Unroutable publishes, mandatory (returned) and not: traced with routed_queues []."""
    w, trace_queue, _ = _traced(run)
    x = run.exchange()
    w.ok(1, M.exchange_declare(x, "direct", auto_delete=True), "Exchange.DeclareOk")
    returned = [got.get("method") for got in publish(w, x, "nowhere", b"m", mandatory=True)]
    dropped = [got.get("method") for got in publish(w, x, "nowhere", b"n")]
    # Through the default exchange, to missing queues: routed_queues names them, sorted.
    cc = _props(headers={"CC": ["b-missing", "a-missing", "b-missing"]})
    missing = [got.get("method") for got in publish(w, "", "c-missing", b"o", **cc)]
    return {
        "returned": returned,
        "dropped": dropped,
        "missing": missing,
        "copies": _copies(w, trace_queue),
    }


@scenario()
@alone
def consumer_delivery_and_redelivery(run: Run) -> Any:
    """A consumer's delivery, rejected with requeue and redelivered, then acked: deliver
    copies with redelivered 0 then 1."""
    w, trace_queue, _ = _traced(run)
    q = _queue(w)
    publish(w, "", q, b"again")
    w.ok(1, M.basic_consume(q, "ctag"), "Basic.ConsumeOk")
    first = w.reply(channel=1)
    w.m(1, M.basic_reject(first["delivery_tag"], requeue=True))
    second = w.reply(channel=1)
    w.m(1, M.basic_ack(second["delivery_tag"]))
    seen = [[d.get("method"), d.get("redelivered")] for d in (first, second)]
    return {"deliveries": seen, "copies": _copies(w, trace_queue)}


@scenario()
@alone
def get_redelivered_after_reject(run: Run) -> Any:
    """basic.get, reject with requeue, basic.get again (no-ack): get-ok copies."""
    w, trace_queue, _ = _traced(run)
    q = _queue(w)
    publish(w, "", q, b"twice")
    first = _get(w, q)
    w.m(1, M.basic_reject(first["delivery_tag"], requeue=True))
    second = _get(w, q, no_ack=True)
    return {"gets": [first, second], "copies": _copies(w, trace_queue)}


@scenario()
@alone
def cc_and_bcc(run: Run) -> Any:
    """CC and BCC keys: in the copy's routing_keys; BCC is gone from its properties."""
    w, trace_queue, _ = _traced(run)
    x = run.exchange()
    w.ok(1, M.exchange_declare(x, "direct", auto_delete=True), "Exchange.DeclareOk")
    for key in ("k1", "k2", "k3"):
        w.ok(1, M.queue_bind(_queue(w), x, key), "Queue.BindOk")
    publish(w, x, "k1", b"cc", **_props(headers={"CC": ["k2"], "BCC": ["k3"], "h": "v"}))
    return _copies(w, trace_queue)


@scenario()
@alone
def trace_exchange_itself(run: Run) -> Any:
    """A client may not publish to the trace exchange (internal), and the copies' own
    deliveries (taken from the trace queue) are not traced again."""
    w, trace_queue, _ = _traced(run)
    w.publish(1, TRACE, "publish.x", b"")
    closed = w.reply(channel=1)
    w.open(1)
    q = _queue(w)
    publish(w, "", q, b"once")
    return {
        "closed": [closed.get("reply_code"), closed.get("reply_text")],
        "copies": _copies(w, trace_queue),
        "after": _copies(w, trace_queue),
    }


@scenario()
@alone
def tracing_switched_off(run: Run) -> Any:
    """Tracing off: nothing is copied; on again: copies again."""
    w, trace_queue, vhost = _traced(run)
    q = _queue(w)
    run.admin.set_tracing(vhost, False)
    publish(w, "", q, b"untraced")
    _get(w, q, no_ack=True)
    run.admin.set_tracing(vhost, True)
    publish(w, "", q, b"traced")
    return _copies(w, trace_queue)


@scenario()
@alone
def transaction_publish_traced_as_it_comes(run: Run) -> Any:
    """In a transaction, a publish is copied when it comes (routed_queues as routed then),
    not at commit; a rollback takes nothing back."""
    w, trace_queue, _ = _traced(run)
    q = _queue(w)
    w.ok(1, M.tx_select(), "Tx.SelectOk")
    w.publish(1, "", q, b"in-tx")
    w.ok(1, M.basic_qos(0, 0), "Basic.QosOk")  # (the publish is handled by now)
    before_commit = _copies(w, trace_queue)
    w.ok(1, M.tx_commit(), "Tx.CommitOk")
    w.publish(1, "", q, b"rolled-back")
    w.ok(1, M.tx_rollback(), "Tx.RollbackOk")
    return {"before_commit": before_commit, "after": _copies(w, trace_queue)}


@scenario()
@alone
def dead_lettered_message_delivered(run: Run) -> Any:
    """A message rejected into a dead-letter exchange is not copied as a publish; its
    delivery from the dead-letter queue names the dead-letter exchange and its keys, and
    its x-death header is among the properties."""
    w, trace_queue, _ = _traced(run)
    dlx = run.exchange()
    w.ok(1, M.exchange_declare(dlx, "fanout", auto_delete=True), "Exchange.DeclareOk")
    dead = _queue(w)
    w.ok(1, M.queue_bind(dead, dlx, ""), "Queue.BindOk")
    source = run.queue()
    args = {"x-dead-letter-exchange": dlx, "x-dead-letter-routing-key": "dead-key"}
    w.ok(1, M.queue_declare(source, exclusive=True, args=args), "Queue.DeclareOk")
    publish(w, "", source, b"doomed")
    got = _get(w, source)
    w.m(1, M.basic_reject(got["delivery_tag"], requeue=False))
    second = take(w, dead)
    return {"dead": second.get("body"), "copies": _copies(w, trace_queue)}


@scenario()
@alone
def quorum_redelivery(run: Run) -> Any:
    """A quorum queue's redelivery: the deliver copy's properties as delivered."""
    w, trace_queue, _ = _traced(run)
    q = run.queue()
    args = {"x-queue-type": "quorum"}
    w.ok(1, M.queue_declare(q, durable=True, args=args), "Queue.DeclareOk")
    publish(w, "", q, b"quorum")
    first = _get(w, q)
    w.m(1, M.basic_reject(first["delivery_tag"], requeue=True))
    second = _get(w, q, no_ack=True)
    w.ok(1, M.queue_delete(q), "Queue.DeleteOk")
    return {"gets": [first, second], "copies": _copies(w, trace_queue)}
