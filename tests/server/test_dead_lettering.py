"""Dead-lettering through pika and aio-pika: ``x-dead-letter-exchange`` and
``x-dead-letter-routing-key`` on reject / nack without requeue, on expiry and on max-length
drop-head, with the headers RabbitMQ 3.10 writes.

What RabbitMQ does (each point observed on 3.10.8 and asserted below):

- the dead-lettered message keeps every property except ``expiration``, which is removed
  (its value goes into the x-death entry as ``original-expiration``);
- ``x-death`` is an array of tables, newest first, one per {queue, reason}: ``count`` (a
  long long: pika decodes it as its ``long``), ``reason`` (rejected | expired | maxlen),
  ``queue``, ``time`` (a timestamp, whole seconds), ``exchange`` and ``routing-keys`` (where
  the message was published: CC keys included), ``original-expiration`` if it had one;
- a first entry is written in that order; an entry written into an existing x-death (a new
  one or a repeated death, whose count goes up and which moves first, keeping its other
  fields) has its keys sorted; the headers table itself is written back sorted by key;
- ``x-first-death-reason`` / ``-queue`` / ``-exchange`` are added only when the message had
  no x-death at all; 3.10 writes no ``x-last-death-*`` headers;
- the message is published to the DLX with x-dead-letter-routing-key if set (and the CC
  header removed), else with its original routing keys;
- a dead-letter cycle (the message already died in the target queue, and none of the deaths
  since was a rejection) is dropped for that queue only; a rejection anywhere in the cycle
  keeps it going; a missing or unroutable DLX drops the message silently.

No test sleeps: arrivals are polled with basic.get up to a deadline; "nothing more arrived"
is shown by a tap queue on the same exchange, checked after a witness message with a longer
TTL has expired (see ``test_ttl.wait_past``).
"""

from __future__ import annotations

import asyncio
import datetime
import time
import uuid
from collections.abc import Callable
from typing import Any

import aio_pika
import pika
import pika.compat
import pytest

from amqpbroker.testing.polling import DEADLINE, wait_until, wait_until_async

FIRST_ENTRY_KEYS = ["count", "reason", "queue", "time", "exchange", "routing-keys"]
SORTED_ENTRY_KEYS = ["count", "exchange", "queue", "reason", "routing-keys", "time"]
FIRST_DEATH = ["x-first-death-exchange", "x-first-death-queue", "x-first-death-reason"]


# -- helpers -------------------------------------------------------------------------------------
@pytest.fixture
def ch(channel: Any) -> Any:
    """A channel in confirm mode: once basic_publish returns, the message is in its queues."""
    return channel


def declare(ch: Any, name: str, **arguments: Any) -> str:
    return ch.queue_declare(name, exclusive=True, arguments=arguments).method.queue


def exchange(ch: Any, name: str, kind: str = "fanout", *bound: tuple[str, str]) -> str:
    """An auto-delete exchange (gone with its exclusive queues' bindings), with ``bound``
    (queue, routing key) bindings."""
    ch.exchange_declare(name, kind, auto_delete=True)
    for queue, key in bound:
        ch.queue_bind(queue, name, key)
    return name


def dead_lettering(ch: Any, unique: Callable[[str], str], **arguments: Any) -> tuple[str, str]:
    """(queue, dead): ``queue`` dead-letters through a fanout exchange into ``dead``."""
    dead = declare(ch, unique("dead"))
    dlx = exchange(ch, unique("dlx"), "fanout", (dead, ""))
    return declare(ch, unique("q"), **{"x-dead-letter-exchange": dlx, **arguments}), dead


def message_count(ch: Any, queue: str) -> int:
    return ch.queue_declare(queue, passive=True).method.message_count


def count_reaches(ch: Any, queue: str, count: int) -> None:
    wait_until(
        lambda: message_count(ch, queue) == count,
        lambda: f"{queue} to hold {count} messages (it has {message_count(ch, queue)})",
    )


def arrival(ch: Any, queue: str, auto_ack: bool = True) -> tuple[Any, Any, bytes]:
    """The next message in ``queue`` (basic.get polled until one comes)."""

    def get() -> tuple[Any, Any, bytes] | None:
        method, props, body = ch.basic_get(queue, auto_ack=auto_ack)
        return None if method is None else (method, props, body)

    return wait_until(get, f"an arrival in {queue}")


def reject_head(ch: Any, queue: str) -> bytes:
    """basic.get the head of ``queue`` and reject it without requeue."""
    method, _props, body = ch.basic_get(queue)
    assert method is not None, f"{queue} is empty"
    ch.basic_reject(method.delivery_tag, requeue=False)
    return body


def wait_past(ch: Any, ttl_ms: int) -> None:
    """Return once a witness message with this TTL, published now, has expired and left."""
    witness = declare(ch, f"dlx-witness-{uuid.uuid4().hex}", **{"x-message-ttl": ttl_ms})
    ch.basic_publish("", witness, b"witness")
    count_reaches(ch, witness, 0)
    ch.queue_delete(witness)


def assert_recent(stamp: Any) -> None:
    assert isinstance(stamp, datetime.datetime), stamp
    assert stamp.tzinfo is not None
    assert abs(stamp.timestamp() - time.time()) < 60


def assert_death(
    death: dict[str, Any],
    *,
    count: int,
    reason: str,
    queue: str,
    exchange: str,
    routing_keys: list[str],
    original_expiration: str | None = None,
    keys: list[str] | None = None,
) -> None:
    """One x-death entry, field by field, with the types pika decodes them to."""
    expected_keys = list(keys or FIRST_ENTRY_KEYS)
    if original_expiration is not None and keys is None:
        expected_keys.append("original-expiration")
    assert list(death) == expected_keys
    assert type(death["count"]) is pika.compat.long  # a long long ('l') on the wire
    assert death["count"] == count
    assert (death["reason"], death["queue"], death["exchange"]) == (reason, queue, exchange)
    assert death["routing-keys"] == routing_keys
    assert death.get("original-expiration") == original_expiration
    assert_recent(death["time"])


def assert_first_death(headers: dict[str, Any], reason: str, queue: str, exchange: str) -> None:
    assert (
        headers["x-first-death-reason"],
        headers["x-first-death-queue"],
        headers["x-first-death-exchange"],
    ) == (reason, queue, exchange)
    assert not [key for key in headers if key.startswith("x-last-death")]


# -- reasons -------------------------------------------------------------------------------------
def test_rejected_message_is_dead_lettered_with_x_death(ch, unique):
    q, dead = dead_lettering(ch, unique)
    source = exchange(ch, unique("src"), "direct", (q, "k"))
    published = pika.BasicProperties(
        content_type="text/plain",
        content_encoding="utf-8",
        headers={"zz": 1, "aa": "text", "x-custom": [1, "two"]},
        delivery_mode=2,
        priority=3,
        correlation_id="corr",
        reply_to="replies",
        expiration="60000",
        message_id="mid",
        timestamp=1700000000,
        type="kind",
        app_id="app",
    )
    ch.basic_publish(source, "k", b"rich", published)
    assert reject_head(ch, q) == b"rich"

    method, props, body = arrival(ch, dead)
    assert (body, method.exchange, method.routing_key, method.redelivered) == (
        b"rich",
        unique("dlx"),
        "k",
        False,
    )
    for name in ("content_type", "content_encoding", "delivery_mode", "priority"):
        assert getattr(props, name) == getattr(published, name)
    for name in ("correlation_id", "reply_to", "message_id", "timestamp", "type", "app_id"):
        assert getattr(props, name) == getattr(published, name)
    assert props.expiration is None  # removed; remembered as original-expiration
    headers = props.headers
    assert list(headers) == sorted(headers)  # the table is written back sorted by key
    assert list(headers) == ["aa", "x-custom", "x-death", *FIRST_DEATH, "zz"]
    assert (headers["aa"], headers["zz"], headers["x-custom"]) == ("text", 1, [1, "two"])
    [death] = headers["x-death"]
    assert_death(
        death,
        count=1,
        reason="rejected",
        queue=q,
        exchange=source,
        routing_keys=["k"],
        original_expiration="60000",
    )
    assert_first_death(headers, "rejected", q, source)
    assert message_count(ch, q) == 0


def test_message_without_properties_gets_only_headers(ch, unique):
    q, dead = dead_lettering(ch, unique)
    ch.basic_publish("", q, b"bare")
    reject_head(ch, q)
    _method, props, _body = arrival(ch, dead)
    assert list(props.headers) == ["x-death", *FIRST_DEATH]
    assert_death(
        props.headers["x-death"][0],
        count=1,
        reason="rejected",
        queue=q,
        exchange="",
        routing_keys=[q],
    )
    assert (props.content_type, props.delivery_mode, props.expiration) == (None, None, None)


def test_nack_without_requeue_dead_letters_in_order(connection, ch, unique):
    q, dead = dead_lettering(ch, unique)
    consumer = connection.channel()
    got: list[int] = []
    consumer.basic_consume(q, lambda _c, method, _p, _b: got.append(method.delivery_tag))
    for body in (b"m1", b"m2", b"m3"):
        ch.basic_publish("", q, body)
    wait_until(
        lambda: len(got) >= 3,
        lambda: f"3 deliveries, got {got}",
        pause=lambda: connection.process_data_events(time_limit=0.01),
    )
    consumer.basic_nack(got[1], multiple=True, requeue=False)
    consumer.basic_reject(got[2], requeue=False)
    count_reaches(ch, dead, 3)
    for expected in (b"m1", b"m2", b"m3"):
        _method, props, body = arrival(ch, dead)
        assert body == expected
        assert props.headers["x-death"][0]["reason"] == "rejected"
    assert message_count(ch, q) == 0


def test_requeued_messages_are_not_dead_lettered(connection, ch, unique):
    q, dead = dead_lettering(ch, unique)
    for body in (b"m1", b"m2", b"m3"):
        ch.basic_publish("", q, body)
    other = connection.channel()
    tags = [other.basic_get(q)[0].delivery_tag for _ in range(3)]
    other.basic_nack(tags[0], requeue=True)
    other.basic_reject(tags[1], requeue=True)
    other.close()  # the third comes back too
    count_reaches(ch, q, 3)
    assert reject_head(ch, q) == b"m1"
    # The only dead letter is the one rejected without requeue.
    assert arrival(ch, dead)[2] == b"m1"
    assert message_count(ch, dead) == 0


@pytest.mark.parametrize(
    ("queue_ttl", "expiration"),
    [(100, None), (None, "100"), (100, "60000")],
    ids=["queue-ttl", "expiration", "queue-ttl-with-expiration"],
)
def test_expired_message_is_dead_lettered(ch, unique, queue_ttl, expiration):
    """reason 'expired'; original-expiration only when the message had an expiration (here
    60000 under a queue TTL of 100 too)."""
    arguments = {} if queue_ttl is None else {"x-message-ttl": queue_ttl}
    q, dead = dead_lettering(ch, unique, **arguments)
    ch.basic_publish("", q, b"dies", pika.BasicProperties(expiration=expiration))
    _method, props, body = arrival(ch, dead)
    assert body == b"dies"
    assert props.expiration is None
    [death] = props.headers["x-death"]
    assert_death(
        death,
        count=1,
        reason="expired",
        queue=q,
        exchange="",
        routing_keys=[q],
        original_expiration=expiration,
    )
    assert_first_death(props.headers, "expired", q, "")


def test_max_length_drop_head_dead_letters_oldest_as_maxlen(ch, unique):
    q, dead = dead_lettering(ch, unique, **{"x-max-length": 1})
    for body in (b"m1", b"m2", b"m3"):
        ch.basic_publish("", q, body)
    count_reaches(ch, dead, 2)
    for expected in (b"m1", b"m2"):
        _method, props, body = arrival(ch, dead)
        assert body == expected
        assert_death(
            props.headers["x-death"][0],
            count=1,
            reason="maxlen",
            queue=q,
            exchange="",
            routing_keys=[q],
        )
        assert_first_death(props.headers, "maxlen", q, "")
    assert ch.basic_get(q, auto_ack=True)[2] == b"m3"


def test_purge_and_delete_do_not_dead_letter(ch, unique):
    q, dead = dead_lettering(ch, unique)
    ch.basic_publish("", q, b"purged")
    assert ch.queue_purge(q).method.message_count == 1
    ch.basic_publish("", q, b"later")
    reject_head(ch, q)
    assert arrival(ch, dead)[2] == b"later"  # the first and only arrival
    other = declare(ch, unique("other"), **{"x-dead-letter-exchange": unique("dlx")})
    ch.basic_publish("", other, b"deleted")
    assert ch.queue_delete(other).method.message_count == 1
    assert message_count(ch, dead) == 0


# -- routing -------------------------------------------------------------------------------------
def test_dead_letter_routing_key_replaces_original_key(ch, unique):
    """Without x-dead-letter-routing-key the original key routes the dead letter; with it,
    that key; x-death records the original key either way."""
    by_k, by_dlrk = declare(ch, unique("by-k")), declare(ch, unique("by-dlrk"))
    dlx = exchange(ch, unique("dlx"), "direct", (by_k, "k"), (by_dlrk, "dlrk"))
    plain = declare(ch, unique("plain"), **{"x-dead-letter-exchange": dlx})
    keyed = declare(
        ch,
        unique("keyed"),
        **{"x-dead-letter-exchange": dlx, "x-dead-letter-routing-key": "dlrk"},
    )
    source = exchange(ch, unique("src"), "direct", (plain, "k"), (keyed, "k"))
    ch.basic_publish(source, "k", b"m")
    reject_head(ch, plain)
    reject_head(ch, keyed)
    for queue, died_in, key in ((by_k, plain, "k"), (by_dlrk, keyed, "dlrk")):
        method, props, _body = arrival(ch, queue)
        assert (method.exchange, method.routing_key) == (dlx, key)
        [death] = props.headers["x-death"]
        assert (death["queue"], death["exchange"], death["routing-keys"]) == (
            died_in,
            source,
            ["k"],
        )
        assert message_count(ch, queue) == 0


def test_dead_letter_through_default_exchange(ch, unique):
    dead = declare(ch, unique("dead"))
    q = declare(
        ch, unique("q"), **{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead}
    )
    ch.basic_publish("", q, b"m")
    reject_head(ch, q)
    method, props, _body = arrival(ch, dead)
    assert (method.exchange, method.routing_key) == ("", dead)
    assert props.headers["x-death"][0]["queue"] == q


def test_cc_keys_in_x_death_and_removed_with_dead_letter_routing_key(ch, unique):
    """Published with CC ['cc']: x-death routing-keys is ['k', 'cc']; without a dead-letter
    routing key the message is routed by both keys again (CC header kept); with one, by
    that key only, and the CC header is removed."""
    seen_k, seen_cc, seen_dlrk = (declare(ch, unique(n)) for n in ("k", "cc", "dlrk"))
    dlx = exchange(ch, unique("dlx"), "direct", (seen_k, "k"), (seen_cc, "cc"), (seen_dlrk, "dlrk"))
    plain = declare(ch, unique("plain"), **{"x-dead-letter-exchange": dlx})
    keyed = declare(
        ch,
        unique("keyed"),
        **{"x-dead-letter-exchange": dlx, "x-dead-letter-routing-key": "dlrk"},
    )
    source = exchange(ch, unique("src"), "direct", (plain, "k"), (keyed, "k"))
    ch.basic_publish(source, "k", b"m", pika.BasicProperties(headers={"CC": ["cc"]}))
    reject_head(ch, plain)
    reject_head(ch, keyed)
    for queue in (seen_k, seen_cc):
        method, props, _body = arrival(ch, queue)
        assert method.routing_key == "k"
        assert props.headers["CC"] == ["cc"]
        assert props.headers["x-death"][0]["routing-keys"] == ["k", "cc"]
    method, props, _body = arrival(ch, seen_dlrk)
    assert method.routing_key == "dlrk"
    assert "CC" not in props.headers
    assert props.headers["x-death"][0]["routing-keys"] == ["k", "cc"]
    assert [message_count(ch, q) for q in (seen_k, seen_cc, seen_dlrk)] == [0, 0, 0]


def test_bcc_keys_route_the_dead_lettered_copy(ch, unique):
    """BCC is gone from the headers, yet RabbitMQ routes the dead-lettered copy by every key
    the message was published with; x-death routing-keys lists only the key and CC."""
    seen = {key: declare(ch, unique(key)) for key in ("k", "cc", "bcc")}
    dlx = exchange(ch, unique("dlx"), "direct", *((q, key) for key, q in seen.items()))
    source = declare(ch, unique("src"), **{"x-dead-letter-exchange": dlx})
    via = exchange(ch, unique("via"), "direct", (source, "bcc"))
    headers = {"CC": ["cc"], "BCC": ["bcc"]}
    ch.basic_publish(via, "k", b"m", pika.BasicProperties(headers=headers))
    reject_head(ch, source)
    for queue in seen.values():
        method, props, _body = arrival(ch, queue)
        assert method.routing_key == "k"
        assert "BCC" not in props.headers
        assert props.headers["x-death"][0]["routing-keys"] == ["k", "cc"]


def test_missing_dlx_drops_silently(ch, unique):
    dlx = unique("dlx")
    q = declare(ch, unique("q"), **{"x-dead-letter-exchange": dlx})
    ch.basic_publish("", q, b"lost")
    ch.basic_publish("", q, b"found")
    reject_head(ch, q)
    assert ch.is_open
    assert message_count(ch, q) == 1
    dead = declare(ch, unique("dead"))
    exchange(ch, dlx, "fanout", (dead, ""))
    reject_head(ch, q)
    assert arrival(ch, dead)[2] == b"found"  # 'lost' is gone for good
    assert message_count(ch, dead) == 0


def test_unroutable_dead_letters_are_dropped(ch, unique):
    # (bound elsewhere only so that the auto-delete exchange goes with the test's queues)
    dlx = exchange(ch, unique("dlx"), "direct", (declare(ch, unique("other")), "other"))
    q = declare(ch, unique("q"), **{"x-dead-letter-exchange": dlx, "x-max-length": 1})
    ttl = declare(ch, unique("ttl"), **{"x-dead-letter-exchange": dlx, "x-message-ttl": 100})
    ch.basic_publish("", q, b"m1")
    ch.basic_publish("", q, b"m2")  # m1: maxlen, unroutable
    ch.basic_publish("", ttl, b"t1")  # expires, unroutable
    reject_head(ch, q)  # m2: rejected, unroutable
    count_reaches(ch, ttl, 0)
    assert ch.is_open
    assert message_count(ch, q) == 0


# -- repeated deaths -----------------------------------------------------------------------------
def test_repeated_rejects_increment_count(ch, unique):
    """A queue whose DLX is '' with no routing key dead-letters to itself: each reject brings
    the message back (a rejection is never a cycle); the one entry's count goes up and its
    keys are written sorted."""
    q = declare(ch, unique("q"), **{"x-dead-letter-exchange": ""})
    ch.basic_publish("", q, b"m")
    reject_head(ch, q)
    for count in (1, 2, 3):
        method, props, body = arrival(ch, q, auto_ack=False)
        assert (body, method.redelivered) == (b"m", False)
        [death] = props.headers["x-death"]
        assert_death(
            death,
            count=count,
            reason="rejected",
            queue=q,
            exchange="",
            routing_keys=[q],
            keys=FIRST_ENTRY_KEYS if count == 1 else SORTED_ENTRY_KEYS,
        )
        assert_first_death(props.headers, "rejected", q, "")
        ch.basic_reject(method.delivery_tag, requeue=False)


def test_latest_death_moves_first(ch, unique):
    """A rejects into B (tapped), B (TTL 100) expires back into A, twice round."""
    a, b, tap = unique("a"), unique("b"), declare(ch, unique("tap"))
    to_a = exchange(ch, unique("to-a"))
    to_b = exchange(ch, unique("to-b"))
    declare(ch, a, **{"x-dead-letter-exchange": to_b})
    declare(ch, b, **{"x-dead-letter-exchange": to_a, "x-message-ttl": 100})
    ch.queue_bind(a, to_a)
    ch.queue_bind(b, to_b)
    ch.queue_bind(tap, to_b)
    ch.basic_publish("", a, b"m")

    def deaths(props: Any) -> list[tuple[str, str, int]]:
        return [(d["queue"], d["reason"], d["count"]) for d in props.headers["x-death"]]

    reject_head(ch, a)
    assert deaths(arrival(ch, tap)[1]) == [(a, "rejected", 1)]
    method, props, _body = arrival(ch, a, auto_ack=False)
    assert deaths(props) == [(b, "expired", 1), (a, "rejected", 1)]
    assert [list(d) for d in props.headers["x-death"]] == [SORTED_ENTRY_KEYS, FIRST_ENTRY_KEYS]
    ch.basic_reject(method.delivery_tag, requeue=False)
    tapped = arrival(ch, tap)[1]
    assert deaths(tapped) == [(a, "rejected", 2), (b, "expired", 1)]
    assert [list(d) for d in tapped.headers["x-death"]] == [SORTED_ENTRY_KEYS] * 2
    method, props, _body = arrival(ch, a, auto_ack=False)
    assert deaths(props) == [(b, "expired", 2), (a, "rejected", 2)]
    assert_first_death(props.headers, "rejected", a, "")
    death = props.headers["x-death"][0]
    assert (death["exchange"], death["routing-keys"]) == (to_b, [a])


def test_client_supplied_x_death(ch, unique):
    """A message published with an x-death array (a dead letter republished by a client,
    without x-first-death-*): the death is added to it and no x-first-death-* appear; an
    existing entry for the same {queue, reason} keeps its other fields.  An x-death that is
    not an array is replaced by a fresh one, again without x-first-death-*."""
    q, dead = dead_lettering(ch, unique)
    earlier = {
        "count": 4,
        "reason": "expired",
        "queue": "elsewhere",
        "time": datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=datetime.UTC),
        "exchange": "ex",
        "routing-keys": ["rk"],
    }

    def dead_letter(headers: dict[str, Any]) -> dict[str, Any]:
        ch.basic_publish("", q, b"m", pika.BasicProperties(headers=headers))
        reject_head(ch, q)
        return arrival(ch, dead)[1].headers

    headers = dead_letter({"x-death": [earlier]})
    assert list(headers) == ["x-death"]
    new, old = headers["x-death"]
    assert_death(
        new,
        count=1,
        reason="rejected",
        queue=q,
        exchange="",
        routing_keys=[q],
        keys=SORTED_ENTRY_KEYS,
    )
    assert old == earlier

    headers = dead_letter({"x-death": [{**earlier, "queue": q, "reason": "rejected"}]})
    [entry] = headers["x-death"]
    assert list(entry) == SORTED_ENTRY_KEYS
    assert entry == {**earlier, "queue": q, "reason": "rejected", "count": 5}

    headers = dead_letter({"x-death": "not an array", "x-first-death-queue": "kept"})
    assert list(headers) == ["x-death", "x-first-death-queue"]
    [entry] = headers["x-death"]
    assert_death(entry, count=1, reason="rejected", queue=q, exchange="", routing_keys=[q])
    assert headers["x-first-death-queue"] == "kept"


# -- cycles --------------------------------------------------------------------------------------
def test_ttl_cycle_to_itself_is_dropped(ch, unique):
    """A (TTL 100) dead-letters through a fanout to itself and a tap: the tap gets the
    expired message once; A does not get it back (no rejection in the cycle)."""
    a, tap = unique("a"), declare(ch, unique("tap"))
    x = exchange(ch, unique("x"), "fanout", (tap, ""))
    declare(ch, a, **{"x-dead-letter-exchange": x, "x-message-ttl": 100})
    ch.queue_bind(a, x)
    ch.basic_publish("", a, b"m")
    count_reaches(ch, tap, 1)
    wait_past(ch, 300)
    assert (message_count(ch, a), message_count(ch, tap)) == (0, 1)
    _method, props, _body = arrival(ch, tap)
    assert [(d["queue"], d["reason"]) for d in props.headers["x-death"]] == [(a, "expired")]


def test_ttl_cycle_through_default_exchange_is_dropped(ch, unique):
    a = declare(ch, unique("a"), **{"x-dead-letter-exchange": "", "x-message-ttl": 100})
    ch.basic_publish("", a, b"m")
    count_reaches(ch, a, 0)
    wait_past(ch, 300)
    assert message_count(ch, a) == 0
    assert ch.basic_get(a, auto_ack=True) == (None, None, None)


def test_ttl_cycle_of_two_queues_is_dropped_on_return(ch, unique):
    """A (TTL 100) -> B (TTL 100) -> A, each hop tapped: A -> B happens; B -> A is a cycle,
    dropped for A (its tap still gets it); nothing further."""
    a, b = unique("a"), unique("b")
    tap_a, tap_b = declare(ch, unique("tap-a")), declare(ch, unique("tap-b"))
    to_a = exchange(ch, unique("to-a"), "fanout", (tap_a, ""))
    to_b = exchange(ch, unique("to-b"), "fanout", (tap_b, ""))
    declare(ch, a, **{"x-dead-letter-exchange": to_b, "x-message-ttl": 100})
    declare(ch, b, **{"x-dead-letter-exchange": to_a, "x-message-ttl": 100})
    ch.queue_bind(a, to_a)
    ch.queue_bind(b, to_b)
    ch.basic_publish("", a, b"m")
    count_reaches(ch, tap_a, 1)
    wait_past(ch, 300)
    assert [message_count(ch, q) for q in (a, b, tap_a, tap_b)] == [0, 0, 1, 1]
    _method, props, _body = arrival(ch, tap_a)
    assert [(d["queue"], d["reason"]) for d in props.headers["x-death"]] == [
        (b, "expired"),
        (a, "expired"),
    ]


def test_cycle_with_a_rejection_keeps_going(ch, unique):
    """A (TTL 100) expires into B; a client rejects from B into A; A expires into B again —
    not a cycle, a rejection being in it — with A/expired now counted twice."""
    a, b = unique("a"), unique("b")
    to_a, to_b = exchange(ch, unique("to-a")), exchange(ch, unique("to-b"))
    declare(ch, a, **{"x-dead-letter-exchange": to_b, "x-message-ttl": 100})
    declare(ch, b, **{"x-dead-letter-exchange": to_a})
    ch.queue_bind(a, to_a)
    ch.queue_bind(b, to_b)
    ch.basic_publish("", a, b"m")
    for round_ in (1, 2, 3):
        method, props, _body = arrival(ch, b, auto_ack=False)
        deaths = [(d["queue"], d["reason"], d["count"]) for d in props.headers["x-death"]]
        if round_ == 1:
            assert deaths == [(a, "expired", 1)]
        else:
            assert deaths == [(a, "expired", round_), (b, "rejected", round_ - 1)]
        ch.basic_reject(method.delivery_tag, requeue=False)


def test_rejected_then_expired_in_self_cycle_is_dropped(ch, unique):
    """A (TTL 300) dead-letters to itself and a tap.  Rejected, the message comes back (the
    tap gets a copy); when it then expires, the newest death is an expiry in A itself: a
    cycle, so A does not get it back (the earlier rejection does not count)."""
    a, tap = unique("a"), declare(ch, unique("tap"))
    x = exchange(ch, unique("x"), "fanout", (tap, ""))
    declare(ch, a, **{"x-dead-letter-exchange": x, "x-message-ttl": 300})
    ch.queue_bind(a, x)
    ch.basic_publish("", a, b"m")
    reject_head(ch, a)
    count_reaches(ch, a, 1)
    count_reaches(ch, a, 0)
    count_reaches(ch, tap, 2)
    wait_past(ch, 300)
    assert (message_count(ch, a), message_count(ch, tap)) == (0, 2)
    first, second = arrival(ch, tap)[1], arrival(ch, tap)[1]
    assert [(d["queue"], d["reason"]) for d in first.headers["x-death"]] == [(a, "rejected")]
    assert [(d["queue"], d["reason"]) for d in second.headers["x-death"]] == [
        (a, "expired"),
        (a, "rejected"),
    ]


# -- aio-pika ------------------------------------------------------------------------------------
async def _aio_arrival(queue: aio_pika.abc.AbstractQueue) -> aio_pika.abc.AbstractIncomingMessage:
    return await wait_until_async(
        lambda: queue.get(no_ack=True, fail=False), f"an arrival in {queue.name}"
    )


async def test_nack_dead_letters_aio_pika(broker_url, unique):
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()
        dead = await channel.declare_queue(unique("dead"), exclusive=True)
        queue = await channel.declare_queue(
            unique("q"),
            exclusive=True,
            arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead.name},
        )
        message = aio_pika.Message(b"m", expiration=datetime.timedelta(seconds=60))
        await channel.default_exchange.publish(message, routing_key=queue.name)
        got = await queue.get()
        await got.nack(requeue=False)
        arrived = await _aio_arrival(dead)
        assert (arrived.body, arrived.routing_key, arrived.expiration) == (b"m", dead.name, None)
        headers = arrived.headers
        assert list(headers) == ["x-death", *FIRST_DEATH]
        [death] = headers["x-death"]
        assert list(death) == [*FIRST_ENTRY_KEYS, "original-expiration"]
        assert (death["count"], death["reason"], death["queue"]) == (1, "rejected", queue.name)
        assert (death["exchange"], death["routing-keys"]) == ("", [queue.name])
        assert death["original-expiration"] == "60000"
        assert_recent(death["time"])
        assert_first_death(headers, "rejected", queue.name, "")


async def test_retry_through_a_delay_queue_aio_pika(broker_url, unique):
    """The retry pattern: work dead-letters rejects into a delay queue (TTL 100) that
    dead-letters back into work.  Not a cycle (each round has a rejection): the message
    comes back each time with work/rejected counted up."""
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()
        work_name, delay_name = unique("work"), unique("delay")
        work = await channel.declare_queue(
            work_name,
            exclusive=True,
            arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": delay_name},
        )
        await channel.declare_queue(
            delay_name,
            exclusive=True,
            arguments={
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": work_name,
                "x-message-ttl": 100,
            },
        )
        inbox: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
        await work.consume(inbox.put)
        await channel.default_exchange.publish(aio_pika.Message(b"job"), routing_key=work_name)
        seen = []
        for _ in range(3):
            message = await asyncio.wait_for(inbox.get(), DEADLINE)
            deaths = (message.headers or {}).get("x-death", [])
            seen.append([(d["queue"], d["reason"], d["count"]) for d in deaths])
            await message.reject(requeue=False)
        assert seen == [
            [],
            [(delay_name, "expired", 1), (work_name, "rejected", 1)],
            [(delay_name, "expired", 2), (work_name, "rejected", 2)],
        ]
