"""Direct reply-to: the amq.rabbitmq.reply-to pseudo-queue, reply names, and misuse."""

from __future__ import annotations

from typing import Any

from ..registry import scenario
from ..runner import Run
from ..wire import M, Wire, properties
from .common import passive, publish

REPLY_QUEUE = "amq.rabbitmq.reply-to"


def _requester(run: Run) -> tuple[Wire, str]:
    """A connection consuming replies on channel 1, and a request queue it owns."""
    w = run.raw()
    w.ok(1, M.basic_consume(REPLY_QUEUE, "replies", no_ack=True), "Basic.ConsumeOk")
    q = run.queue()
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    return w, q


def _request(w: Wire, q: str, channel: int = 1, **props: Any) -> dict[str, Any]:
    """Publish a request with reply_to = amq.rabbitmq.reply-to on ``channel``; what the
    responder reads from the request queue (or how the channel was closed)."""
    flags, packed = properties(**{"reply_to": REPLY_QUEUE, **props})
    w.publish(channel, "", q, b"request", flags=flags, props=packed)
    return w.call(channel, M.basic_get(q, no_ack=True))


def _reply_to(got: dict[str, Any]) -> str:
    return str(got["header"]["props"]["reply_to"])


@scenario()
def consume_rules(run: Run) -> Any:
    """Consuming amq.rabbitmq.reply-to: no-ack only, once per channel, a tag reused, nowait."""
    w = run.raw()
    out = {
        "with_acks": w.attempt(1, M.basic_consume(REPLY_QUEUE, "a")),
        "no_ack": w.call(1, M.basic_consume(REPLY_QUEUE, "a", no_ack=True)),
        "twice": w.attempt(1, M.basic_consume(REPLY_QUEUE, "b", no_ack=True)),
        "exclusive": w.call(1, M.basic_consume(REPLY_QUEUE, "", no_ack=True, exclusive=True)),
    }
    q = run.queue()
    w.ok(2, M.channel_open(), "Channel.OpenOk")
    w.ok(2, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    w.ok(2, M.basic_consume(q, "taken"), "Basic.ConsumeOk")
    w.m(2, M.basic_consume(REPLY_QUEUE, "quiet", no_ack=True, nowait=True))
    out["after_nowait"] = w.probe(2)
    out["cancel"] = w.call(2, M.basic_cancel("quiet"))
    out["consume_again"] = w.call(2, M.basic_consume(REPLY_QUEUE, "again", no_ack=True))
    out["cancel_again"] = w.call(2, M.basic_cancel("again"))
    # A tag already used by an ordinary consumer of the channel: 530 closes the connection.
    out["tag_in_use"] = w.call(2, M.basic_consume(REPLY_QUEUE, "taken", no_ack=True))
    return out


@scenario()
def declare_pseudo_queue(run: Run) -> Any:
    """queue.declare of amq.rabbitmq.reply-to (any flags) is ok with 0 messages, 1 consumer;
    other names under the prefix are 404, not 403."""
    w = run.raw()
    out = {
        "passive": w.attempt(1, M.queue_declare(REPLY_QUEUE, passive=True)),
        "plain": w.attempt(1, M.queue_declare(REPLY_QUEUE)),
        "durable_exclusive": w.attempt(
            1, M.queue_declare(REPLY_QUEUE, durable=True, exclusive=True, auto_delete=True)
        ),
        "unknown_suffix": w.attempt(1, M.queue_declare(REPLY_QUEUE + ".nobody")),
        "unknown_suffix_passive": w.attempt(
            1, M.queue_declare(REPLY_QUEUE + ".nobody", passive=True)
        ),
        "prefix_only": w.attempt(1, M.queue_declare(REPLY_QUEUE + "X")),
    }
    w.m(1, M.queue_declare(REPLY_QUEUE, nowait=True))
    out["nowait"] = w.probe(1)
    return out


@scenario()
def pseudo_queue_is_not_a_queue(run: Run) -> Any:
    """basic.get, queue.bind and queue.purge on amq.rabbitmq.reply-to: 404; delete: ok."""
    w = run.raw()
    return {
        "get": w.attempt(1, M.basic_get(REPLY_QUEUE, no_ack=True)),
        "bind": w.attempt(1, M.queue_bind(REPLY_QUEUE, "amq.direct", "k")),
        "purge": w.attempt(1, M.queue_purge(REPLY_QUEUE)),
        "delete": w.attempt(1, M.queue_delete(REPLY_QUEUE)),
        "consume_suffix": w.attempt(1, M.basic_consume(REPLY_QUEUE + ".x", no_ack=True)),
    }


@scenario()
def request_without_reply_consumer(run: Run) -> Any:
    """reply_to = amq.rabbitmq.reply-to with no reply consumer on that channel (or only on
    another channel of the connection): 406."""
    w, q = _requester(run)
    w.ok(2, M.channel_open(), "Channel.OpenOk")
    return {
        "other_channel": _request(w, q, channel=2),
        "no_consumer_at_all": _request(run.raw(), q),
        # Checked before user_id, expiration, CC and delivery_mode.
        "before_other_checks": _request(
            run.raw(), q, user_id="bob", expiration="x", headers={"CC": 1}, delivery_mode=3
        ),
    }


@scenario()
def request_reply_round_trip(run: Run) -> Any:
    """The request's reply_to is rewritten to a name that stays the same on the channel; the
    reply reaches the consumer with the channel's next delivery tag, not using it up."""
    w, q = _requester(run)
    first = _request(w, q, correlation_id="c1")
    second = _request(w, q, correlation_id="c2")
    name = _reply_to(first)
    responder = run.raw()
    flags, packed = properties(correlation_id="c1")
    out: dict[str, Any] = {
        "request": first,
        "same_name": name == _reply_to(second),
        "other_names_pass": _request(w, q, reply_to=REPLY_QUEUE + ".x")["header"],
        "passive_from_elsewhere": passive(responder, name),
        "reply_confirmed": publish(responder, "", name, b"reply", flags=flags, props=packed),
    }
    out["reply"] = w.reply(channel=1)
    out["get_after"] = w.call(1, M.basic_get(q, no_ack=True))
    return out


@scenario()
def reply_routing(run: Run) -> Any:
    """A mandatory reply is delivered and also returned; replies through other exchanges do
    not arrive; a CC'd reply name is delivered too."""
    w, q = _requester(run)
    name = _reply_to(_request(w, q))
    responder = run.raw()
    out: dict[str, Any] = {
        "mandatory": publish(responder, "", name, b"mandatory", mandatory=True),
        "delivered": w.reply(channel=1),
        "via_amq_direct": publish(responder, "amq.direct", name, b"direct"),
    }
    flags, packed = properties(headers={"CC": [name]})
    out["cc_confirmed"] = publish(responder, "", "nowhere", b"cc", flags=flags, props=packed)
    out["cc_delivered"] = w.reply(channel=1)
    out["nothing_else"] = w.probe(1)
    return out


@scenario()
def reply_after_cancel(run: Run) -> Any:
    """Once the reply consumer is cancelled its name is gone: 404 on declare, replies are
    dropped (returned if mandatory), and new requests are 406."""
    w, q = _requester(run)
    name = _reply_to(_request(w, q))
    out: dict[str, Any] = {"cancel": w.call(1, M.basic_cancel("replies"))}
    responder = run.raw()
    out["passive"] = passive(responder, name)
    out["reply"] = publish(responder, "", name, b"late", mandatory=True)
    out["nothing_delivered"] = w.probe(1)
    out["request"] = _request(w, q)
    return out


@scenario()
def reply_to_closed_channel(run: Run) -> Any:
    """A reply name dies with its channel; replies to it are dropped without error."""
    w, q = _requester(run)
    name = _reply_to(_request(w, q))
    w.ok(1, M.channel_close(), "Channel.CloseOk")
    responder = run.raw()
    return {"passive": passive(responder, name), "reply": publish(responder, "", name, b"x")}


@scenario()
def request_in_transaction(run: Run) -> Any:
    """In a transaction the rewrite and its 406 happen at publish time; the reply works."""
    w, q = _requester(run)
    w.ok(1, M.tx_select(), "Tx.SelectOk")
    flags, packed = properties(reply_to=REPLY_QUEUE)
    w.publish(1, "", q, b"request", flags=flags, props=packed)
    out = {"commit": w.call(1, M.tx_commit())}
    got = w.call(1, M.basic_get(q, no_ack=True))
    out["request"] = got
    w.ok(1, M.tx_commit(), "Tx.CommitOk")
    responder = run.raw()
    responder.ok(1, M.tx_select(), "Tx.SelectOk")
    responder.publish(1, "", _reply_to(got), b"reply")
    out["reply_commit"] = responder.call(1, M.tx_commit())
    out["reply"] = w.reply(channel=1)
    lonely = run.raw()
    lonely.ok(1, M.tx_select(), "Tx.SelectOk")
    out["without_consumer"] = _request(lonely, q)
    return out
