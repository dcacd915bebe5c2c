"""Dead-lettering in the session layer: reasons, x-death headers, routing and cycles, on
virtual time (tests/server/test_dead_lettering.py asserts the same over sockets)."""

from __future__ import annotations

import datetime

import pytest
from pamqp import commands
from sessionutil import (
    EPOCH_START,
    bodies,
    dead_lettering,
    deaths,
    declare,
    exchange,
    fanout,
    got,
    props,
    reject_head,
)

FIRST_ENTRY_KEYS = ["count", "reason", "queue", "time", "exchange", "routing-keys"]
SORTED_ENTRY_KEYS = ["count", "exchange", "queue", "reason", "routing-keys", "time"]
FIRST_DEATH = ["x-first-death-exchange", "x-first-death-queue", "x-first-death-reason"]


def test_rejected_message_keeps_its_properties_and_gets_x_death(broker, ch):
    q, dead = dead_lettering(ch)
    source = exchange(ch, "src", "direct", (q, "k"))
    published = props(
        content_type="text/plain",
        headers={"zz": 1, "aa": "text"},
        delivery_mode=2,
        priority=3,
        correlation_id="corr",
        reply_to="replies",
        expiration="60000",
        message_id="mid",
        app_id="app",
    )
    ch.publish(b"rich", "k", exchange=source, properties=published)
    broker.advance(7)
    assert reject_head(ch, q) == b"rich"
    message = got(ch, dead)
    assert (message.body, message.method.exchange, message.method.routing_key) == (
        b"rich",
        "dlx",
        "k",
    )
    arrived = message.properties
    for name in ("content_type", "delivery_mode", "priority", "correlation_id", "reply_to"):
        assert getattr(arrived, name) == getattr(published, name)
    assert (arrived.message_id, arrived.app_id, arrived.expiration) == ("mid", "app", None)
    headers = message.headers
    assert list(headers) == ["aa", "x-death", *FIRST_DEATH, "zz"]
    [death] = headers["x-death"]
    assert list(death) == [*FIRST_ENTRY_KEYS, "original-expiration"]
    assert death == {
        "count": 1,
        "reason": "rejected",
        "queue": q,
        "time": EPOCH_START + datetime.timedelta(seconds=7),  # the broker's clock
        "exchange": source,
        "routing-keys": ["k"],
        "original-expiration": "60000",
    }
    assert [headers[key] for key in FIRST_DEATH] == [source, q, "rejected"]
    assert ch.message_count(q) == 0


def test_message_without_properties_gets_only_headers(ch):
    q, dead = dead_lettering(ch)
    ch.publish(b"bare", q)
    reject_head(ch, q)
    message = got(ch, dead)
    assert list(message.headers) == ["x-death", *FIRST_DEATH]
    assert deaths(message) == [(q, "rejected", 1)]
    assert (message.properties.content_type, message.properties.delivery_mode) == (None, None)


def test_nack_without_requeue_dead_letters_in_order(ch):
    q, dead = dead_lettering(ch)
    consumer = ch.client.channel()
    consumer.consume(q)
    for body in (b"m1", b"m2", b"m3"):
        ch.publish(body, q)
    delivered = consumer.deliveries()
    consumer.nack(delivered[1].method.delivery_tag, multiple=True, requeue=False)
    consumer.reject(delivered[2].method.delivery_tag, requeue=False)
    arrived = [got(ch, dead) for _ in range(3)]
    assert bodies(arrived) == [b"m1", b"m2", b"m3"]
    assert {m.headers["x-death"][0]["reason"] for m in arrived} == {"rejected"}
    assert ch.message_count(q) == 0


def test_requeued_messages_are_not_dead_lettered(ch):
    q, dead = dead_lettering(ch)
    for body in (b"m1", b"m2", b"m3"):
        ch.publish(body, q)
    other = ch.client.channel()
    taken = [got(other, q, no_ack=False).method.delivery_tag for _ in range(3)]
    other.nack(taken[0], requeue=True)
    other.reject(taken[1], requeue=True)
    other.close()
    assert ch.message_count(q) == 3
    assert ch.message_count(dead) == 0


@pytest.mark.parametrize(
    ("queue_ttl", "expiration"),
    [(100, None), (None, "100"), (100, "60000")],
    ids=["queue-ttl", "expiration", "queue-ttl-with-expiration"],
)
def test_expired_message_is_dead_lettered(broker, ch, queue_ttl, expiration):
    arguments = {} if queue_ttl is None else {"x-message-ttl": queue_ttl}
    q, dead = dead_lettering(ch, **arguments)
    ch.publish(b"dies", q, properties=props(expiration=expiration))
    broker.advance(0.099)
    assert ch.message_count(dead) == 0
    broker.advance(0.001)
    message = got(ch, dead)
    assert (message.body, message.properties.expiration) == (b"dies", None)
    [death] = message.headers["x-death"]
    assert (death["reason"], death["queue"], death["routing-keys"]) == ("expired", q, [q])
    assert death.get("original-expiration") == expiration
    assert message.headers["x-first-death-reason"] == "expired"


def test_max_length_drop_head_dead_letters_oldest_as_maxlen(ch):
    q, dead = dead_lettering(ch, **{"x-max-length": 1})
    for body in (b"m1", b"m2", b"m3"):
        ch.publish(body, q)
    arrived = [got(ch, dead) for _ in range(2)]
    assert bodies(arrived) == [b"m1", b"m2"]
    assert [deaths(m) for m in arrived] == [[(q, "maxlen", 1)]] * 2
    assert ch.drain(q) == [b"m3"]


def test_purge_and_delete_do_not_dead_letter(ch):
    q, dead = dead_lettering(ch)
    ch.publish(b"purged", q)
    assert ch.call(commands.Queue.Purge(queue=q), commands.Queue.PurgeOk).message_count == 1
    other = declare(ch, "other", **{"x-dead-letter-exchange": "dlx"})
    ch.publish(b"deleted", other)
    ok = ch.call(commands.Queue.Delete(queue=other), commands.Queue.DeleteOk)
    assert ok.message_count == 1
    assert ch.message_count(dead) == 0


def test_dead_letter_routing_key_replaces_original_key(ch):
    by_k, by_dlrk = declare(ch, "by-k"), declare(ch, "by-dlrk")
    exchange(ch, "dlx", "direct", (by_k, "k"), (by_dlrk, "dlrk"))
    plain = declare(ch, "plain", **{"x-dead-letter-exchange": "dlx"})
    keyed = declare(
        ch, "keyed", **{"x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "dlrk"}
    )
    source = exchange(ch, "src", "direct", (plain, "k"), (keyed, "k"))
    ch.publish(b"m", "k", exchange=source)
    reject_head(ch, plain)
    reject_head(ch, keyed)
    for queue, died_in, key in ((by_k, plain, "k"), (by_dlrk, keyed, "dlrk")):
        message = got(ch, queue)
        assert (message.method.exchange, message.method.routing_key) == ("dlx", key)
        [death] = message.headers["x-death"]
        assert (death["queue"], death["exchange"], death["routing-keys"]) == (
            died_in,
            source,
            ["k"],
        )


def test_dead_letter_through_default_exchange(ch):
    dead = declare(ch, "dead")
    q = declare(ch, "q", **{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead})
    ch.publish(b"m", q)
    reject_head(ch, q)
    message = got(ch, dead)
    assert (message.method.exchange, message.method.routing_key) == ("", dead)
    assert deaths(message) == [(q, "rejected", 1)]


def test_cc_keys_in_x_death_and_removed_with_dead_letter_routing_key(ch):
    seen_k, seen_cc, seen_dlrk = (declare(ch, n) for n in ("k", "cc", "dlrk"))
    exchange(ch, "dlx", "direct", (seen_k, "k"), (seen_cc, "cc"), (seen_dlrk, "dlrk"))
    plain = declare(ch, "plain", **{"x-dead-letter-exchange": "dlx"})
    keyed = declare(
        ch, "keyed", **{"x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "dlrk"}
    )
    source = exchange(ch, "src", "direct", (plain, "k"), (keyed, "k"))
    ch.publish(b"m", "k", exchange=source, properties=props(headers={"CC": ["cc"]}))
    reject_head(ch, plain)
    reject_head(ch, keyed)
    for queue in (seen_k, seen_cc):
        message = got(ch, queue)
        assert message.method.routing_key == "k"
        assert message.headers["CC"] == ["cc"]
        assert message.headers["x-death"][0]["routing-keys"] == ["k", "cc"]
    message = got(ch, seen_dlrk)
    assert message.method.routing_key == "dlrk"
    assert "CC" not in message.headers
    assert message.headers["x-death"][0]["routing-keys"] == ["k", "cc"]


def test_missing_dlx_drops_silently(ch):
    q = declare(ch, "q", **{"x-dead-letter-exchange": "dlx"})
    ch.publish(b"lost", q)
    ch.publish(b"found", q)
    reject_head(ch, q)
    assert ch.message_count(q) == 1
    dead = declare(ch, "dead")
    fanout(ch, "dlx", dead)
    reject_head(ch, q)
    assert ch.drain(dead) == [b"found"]


def test_unroutable_dead_letters_are_dropped(broker, ch):
    exchange(ch, "dlx", "direct", (declare(ch, "other"), "other"))
    q = declare(ch, "q", **{"x-dead-letter-exchange": "dlx", "x-max-length": 1})
    ttl = declare(ch, "ttl", **{"x-dead-letter-exchange": "dlx", "x-message-ttl": 100})
    ch.publish(b"m1", q)
    ch.publish(b"m2", q)
    ch.publish(b"t1", ttl)
    reject_head(ch, q)
    broker.advance(0.1)
    assert [ch.message_count(name) for name in (q, ttl, "other")] == [0, 0, 0]
    assert not ch.client.closed


def test_repeated_rejects_increment_count(ch):
    """A queue dead-lettering to itself through '' brings a rejected message back each time
    (a rejection is never a cycle): the one entry counts up, its keys then sorted."""
    q = declare(ch, "q", **{"x-dead-letter-exchange": ""})
    ch.publish(b"m", q)
    reject_head(ch, q)
    for count in (1, 2, 3):
        message = got(ch, q, no_ack=False)
        assert (message.body, message.method.redelivered) == (b"m", False)
        [death] = message.headers["x-death"]
        assert list(death) == (FIRST_ENTRY_KEYS if count == 1 else SORTED_ENTRY_KEYS)
        assert (death["count"], death["reason"]) == (count, "rejected")
        ch.reject(message.method.delivery_tag, requeue=False)


def test_latest_death_moves_first(broker, ch):
    tap = declare(ch, "tap")
    exchange(ch, "to-a", "fanout")
    exchange(ch, "to-b", "fanout", (tap, ""))
    a = declare(ch, "a", **{"x-dead-letter-exchange": "to-b"})
    b = declare(ch, "b", **{"x-dead-letter-exchange": "to-a", "x-message-ttl": 100})
    ch.bind(a, "to-a")
    ch.bind(b, "to-b")
    ch.publish(b"m", a)
    reject_head(ch, a)
    assert deaths(got(ch, tap)) == [(a, "rejected", 1)]
    broker.advance(0.1)
    message = got(ch, a, no_ack=False)
    assert deaths(message) == [(b, "expired", 1), (a, "rejected", 1)]
    assert [list(d) for d in message.headers["x-death"]] == [SORTED_ENTRY_KEYS, FIRST_ENTRY_KEYS]
    ch.reject(message.method.delivery_tag, requeue=False)
    assert deaths(got(ch, tap)) == [(a, "rejected", 2), (b, "expired", 1)]
    broker.advance(0.1)
    assert deaths(got(ch, a)) == [(b, "expired", 2), (a, "rejected", 2)]


def test_client_supplied_x_death_is_extended_without_first_death(ch):
    q, dead = dead_lettering(ch)
    earlier = {
        "count": 4,
        "reason": "expired",
        "queue": "elsewhere",
        "time": datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=datetime.UTC),
        "exchange": "ex",
        "routing-keys": ["rk"],
    }
    ch.publish(b"m", q, properties=props(headers={"x-death": [earlier]}))
    reject_head(ch, q)
    headers = got(ch, dead).headers
    assert list(headers) == ["x-death"]
    new, old = headers["x-death"]
    assert (list(new), new["reason"], new["queue"]) == (SORTED_ENTRY_KEYS, "rejected", q)
    assert old == earlier


def test_ttl_cycle_to_itself_is_dropped(broker, ch):
    tap = declare(ch, "tap")
    fanout(ch, "x", tap)
    a = declare(ch, "a", **{"x-dead-letter-exchange": "x", "x-message-ttl": 100})
    ch.bind(a, "x")
    ch.publish(b"m", a)
    broker.advance(1)
    assert (ch.message_count(a), ch.message_count(tap)) == (0, 1)
    assert deaths(got(ch, tap)) == [(a, "expired", 1)]


def test_ttl_cycle_through_default_exchange_is_dropped(broker, ch):
    a = declare(ch, "a", **{"x-dead-letter-exchange": "", "x-message-ttl": 100})
    ch.publish(b"m", a)
    broker.advance(1)
    assert ch.message_count(a) == 0


def test_ttl_cycle_of_two_queues_is_dropped_on_return(broker, ch):
    tap_a, tap_b = declare(ch, "tap-a"), declare(ch, "tap-b")
    fanout(ch, "to-a", tap_a)
    fanout(ch, "to-b", tap_b)
    a = declare(ch, "a", **{"x-dead-letter-exchange": "to-b", "x-message-ttl": 100})
    b = declare(ch, "b", **{"x-dead-letter-exchange": "to-a", "x-message-ttl": 100})
    ch.bind(a, "to-a")
    ch.bind(b, "to-b")
    ch.publish(b"m", a)
    broker.advance(1)
    assert [ch.message_count(q) for q in (a, b, tap_a, tap_b)] == [0, 0, 1, 1]
    assert deaths(got(ch, tap_a)) == [(b, "expired", 1), (a, "expired", 1)]


def test_cycle_with_a_rejection_keeps_going(broker, ch):
    exchange(ch, "to-a", "fanout")
    exchange(ch, "to-b", "fanout")
    a = declare(ch, "a", **{"x-dead-letter-exchange": "to-b", "x-message-ttl": 100})
    b = declare(ch, "b", **{"x-dead-letter-exchange": "to-a"})
    ch.bind(a, "to-a")
    ch.bind(b, "to-b")
    ch.publish(b"m", a)
    for round_ in (1, 2, 3):
        broker.advance(0.1)
        message = got(ch, b, no_ack=False)
        if round_ == 1:
            assert deaths(message) == [(a, "expired", 1)]
        else:
            assert deaths(message) == [(a, "expired", round_), (b, "rejected", round_ - 1)]
        ch.reject(message.method.delivery_tag, requeue=False)


def test_rejected_then_expired_in_self_cycle_is_dropped(broker, ch):
    tap = declare(ch, "tap")
    fanout(ch, "x", tap)
    a = declare(ch, "a", **{"x-dead-letter-exchange": "x", "x-message-ttl": 300})
    ch.bind(a, "x")
    ch.publish(b"m", a)
    reject_head(ch, a)
    assert ch.message_count(a) == 1
    broker.advance(0.3)
    assert (ch.message_count(a), ch.message_count(tap)) == (0, 2)
    first, second = got(ch, tap), got(ch, tap)
    assert deaths(first) == [(a, "rejected", 1)]
    assert deaths(second) == [(a, "expired", 1), (a, "rejected", 1)]


def test_retry_through_a_delay_queue(broker, ch):
    work = declare(
        ch, "work", **{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "delay"}
    )
    declare(
        ch,
        "delay",
        **{
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": work,
            "x-message-ttl": 100,
        },
    )
    worker = ch.client.channel()
    worker.consume(work)
    ch.publish(b"job", work)
    seen = []
    for _ in range(3):
        [message] = worker.deliveries()
        seen.append(deaths(message) if message.properties.headers else [])
        worker.reject(message.method.delivery_tag, requeue=False)
        broker.advance(0.1)
    assert seen == [
        [],
        [("delay", "expired", 1), (work, "rejected", 1)],
        [("delay", "expired", 2), (work, "rejected", 2)],
    ]
