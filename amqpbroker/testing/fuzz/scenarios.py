"""Scripted stretches of a seeded session that reach the broker's deeper paths, which random
commands seldom line up for: dead-lettering (rejects, TTL, length limits), topic and headers
routing, confirms with returns, transactions, quorum queues with a delivery limit,
priorities, single active consumer and direct reply-to.  Each opens a channel of its own and
uses names of its own; the mutators then break them like any other frames.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pamqp import commands

from .wire import Entry, method_frame

if TYPE_CHECKING:
    from .sessions import SessionWriter


def _declare(w: SessionWriter, ch: int, queue: str, arguments: list[Entry], **flags: Any) -> None:
    w.add(method_frame(ch, commands.Queue.Declare, queue=queue, arguments=arguments, **flags))


def _bind(w: SessionWriter, ch: int, queue: str, exchange: str, key: str = "", **more: Any) -> None:
    w.add(
        method_frame(
            ch, commands.Queue.Bind, queue=queue, exchange=exchange, routing_key=key, **more
        )
    )


def _exchange(w: SessionWriter, ch: int, name: str, kind: str) -> None:
    w.add(method_frame(ch, commands.Exchange.Declare, exchange=name, exchange_type=kind))


def _get(w: SessionWriter, ch: int, queue: str, no_ack: bool = False) -> None:
    w.add(method_frame(ch, commands.Basic.Get, queue=queue, no_ack=no_ack))


def _settle_all(w: SessionWriter, ch: int, rng: random.Random) -> None:
    """Everything unacknowledged on the channel: acked, requeued or dead-lettered."""
    roll = rng.random()
    if roll < 0.3:
        w.add(method_frame(ch, commands.Basic.Ack, delivery_tag=0, multiple=True))
    else:
        requeue = roll < 0.5
        w.add(method_frame(ch, commands.Basic.Nack, delivery_tag=0, multiple=True, requeue=requeue))


def dead_letter(w: SessionWriter) -> None:
    rng, ch = w.rng, w.fresh_channel()
    _exchange(w, ch, "dlx", rng.choice(("fanout", "direct", "topic")))
    _declare(w, ch, "dead", [])
    _bind(w, ch, "dead", "dlx", rng.choice(("", "src", "#", "other")))
    limits: list[Entry] = [(b"x-dead-letter-exchange", b"S", b"dlx")]
    if rng.random() < 0.5:
        limits.append((b"x-dead-letter-routing-key", b"S", b"other"))
    limits += rng.choice(
        (
            [(b"x-message-ttl", b"I", rng.choice((0, 10, 1000)))],
            [(b"x-max-length", b"I", rng.choice((0, 1, 2)))],
            [(b"x-max-length-bytes", b"I", 10), (b"x-overflow", b"S", b"reject-publish-dlx")],
            [],
        )
    )
    if rng.random() < 0.3:
        limits.append((b"x-queue-type", b"S", b"quorum"))
    _declare(w, ch, "src", limits, durable=any(key == b"x-queue-type" for key, _, _ in limits))
    for _ in range(rng.randint(1, 3)):
        props = {"expiration": rng.choice((b"0", b"5", b"60000"))} if rng.random() < 0.3 else {}
        w.publish(ch, "", "src", props)
    for _ in range(rng.randint(0, 2)):
        _get(w, ch, "src")
    _settle_all(w, ch, rng)
    _get(w, ch, "dead", no_ack=True)


def topic_routing(w: SessionWriter) -> None:
    rng, ch = w.rng, w.fresh_channel()
    _exchange(w, ch, "topics", "topic")
    for queue, key in (("q0", "a.*"), ("q1", "#"), ("q2", "*.b.#"), ("q0", "#.c")):
        if rng.random() < 0.7:
            _declare(w, ch, queue, [])
            _bind(w, ch, queue, "topics", key)
    for _ in range(rng.randint(1, 3)):
        key = rng.choice(("a.b", "a", "a.b.c", "", "x.b", "c", "a..b", "#"))
        w.publish(ch, "topics", key, {}, mandatory=rng.random() < 0.5)
    if rng.random() < 0.3:
        w.add(
            method_frame(ch, commands.Queue.Unbind, queue="q1", exchange="topics", routing_key="#")
        )


def headers_routing(w: SessionWriter) -> None:
    rng, ch = w.rng, w.fresh_channel()
    _exchange(w, ch, "hdrs", "headers")
    _declare(w, ch, "q0", [])
    match = rng.choice((b"all", b"any", b"all-with-x", b"any-with-x"))
    binding = [(b"x-match", b"S", match), (b"k", b"S", b"v"), (b"n", b"I", 7)]
    _bind(w, ch, "q0", "hdrs", arguments=binding)
    headers = rng.choice(
        (
            [(b"k", b"S", b"v")],
            [(b"k", b"S", b"v"), (b"n", b"I", 7)],
            [(b"n", b"l", 7)],
            [(b"k", b"x", b"v")],
            [],
        )
    )
    w.publish(ch, "hdrs", "", {"headers": headers}, mandatory=True)


def confirms(w: SessionWriter) -> None:
    rng, ch = w.rng, w.fresh_channel()
    w.add(method_frame(ch, commands.Confirm.Select, nowait=rng.random() < 0.2))
    _declare(w, ch, "q0", [(b"x-max-length", b"I", 1), (b"x-overflow", b"S", b"reject-publish")])
    for _ in range(rng.randint(1, 4)):
        key = rng.choice(("q0", "nowhere"))
        w.publish(ch, rng.choice(("", "amq.direct")), key, {}, mandatory=rng.random() < 0.5)


def transaction(w: SessionWriter) -> None:
    rng, ch = w.rng, w.fresh_channel()
    w.add(method_frame(ch, commands.Tx.Select))
    _declare(w, ch, "q1", [])
    for _ in range(rng.randint(1, 3)):
        w.publish(ch, "", "q1", {}, mandatory=rng.random() < 0.3)
    _get(w, ch, "q1")
    _settle_all(w, ch, rng)
    w.add(method_frame(ch, rng.choice((commands.Tx.Commit, commands.Tx.Rollback))))
    if rng.random() < 0.3:
        w.add(method_frame(ch, commands.Confirm.Select))  # 406 on a transactional channel


def quorum(w: SessionWriter) -> None:
    rng, ch = w.rng, w.fresh_channel()
    arguments: list[Entry] = [(b"x-queue-type", b"S", b"quorum")]
    if rng.random() < 0.7:
        arguments.append((b"x-delivery-limit", b"I", rng.choice((0, 1, 2))))
    _declare(w, ch, "quorum", arguments, durable=True)
    w.publish(ch, "", "quorum", {"delivery_mode": 2})
    w.add(method_frame(ch, commands.Basic.Qos, prefetch_count=rng.choice((0, 1))))
    w.add(method_frame(ch, commands.Basic.Consume, queue="quorum", consumer_tag="qc"))
    for _ in range(rng.randint(1, 3)):
        w.add(method_frame(ch, commands.Basic.Nack, delivery_tag=0, multiple=True, requeue=True))
    w.add(method_frame(ch, commands.Basic.Cancel, consumer_tag="qc"))


def priorities(w: SessionWriter) -> None:
    rng, ch = w.rng, w.fresh_channel()
    _declare(w, ch, "prio", [(b"x-max-priority", rng.choice((b"B", b"I")), rng.choice((1, 5, 10)))])
    for _ in range(rng.randint(1, 4)):
        w.publish(ch, "", "prio", {"priority": rng.choice((0, 3, 9, 200))})
    for _ in range(rng.randint(1, 3)):
        _get(w, ch, "prio", no_ack=rng.random() < 0.5)
    _settle_all(w, ch, rng)


def single_active_consumer(w: SessionWriter) -> None:
    rng = w.rng
    first, second = w.fresh_channel(), w.fresh_channel()
    _declare(w, first, "sac", [(b"x-single-active-consumer", b"t", True)])
    for ch, tag in ((first, "s1"), (second, "s2")):
        priority: list[Entry] = [(b"x-priority", b"I", rng.randint(0, 3))]
        arguments = priority if rng.random() < 0.5 else []
        w.add(
            method_frame(
                ch, commands.Basic.Consume, queue="sac", consumer_tag=tag, arguments=arguments
            )
        )
    w.publish(first, "", "sac", {})
    w.add(method_frame(first, commands.Basic.Cancel, consumer_tag="s1"))
    w.publish(first, "", "sac", {})
    _settle_all(w, second, rng)


def direct_reply_to(w: SessionWriter) -> None:
    rng, ch = w.rng, w.fresh_channel()
    reply = "amq.rabbitmq.reply-to"
    w.add(method_frame(ch, commands.Basic.Consume, queue=reply, consumer_tag="rt", no_ack=True))
    _declare(w, ch, "rpc", [])
    w.publish(ch, "", "rpc", {"reply_to": reply.encode(), "correlation_id": b"1"})
    server = w.fresh_channel()
    _get(w, server, "rpc", no_ack=True)
    w.publish(server, "", rng.choice((reply, reply + ".bogus", "rpc")), {})
    if rng.random() < 0.3:
        w.add(method_frame(ch, commands.Basic.Cancel, consumer_tag="rt"))


SCENARIOS: tuple[Callable[[SessionWriter], None], ...] = (
    dead_letter,
    topic_routing,
    headers_routing,
    confirms,
    transaction,
    quorum,
    priorities,
    single_active_consumer,
    direct_reply_to,
)
