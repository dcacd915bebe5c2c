"""Queue length limits in the session layer: ``x-max-length`` / ``x-max-length-bytes`` with
drop-head, reject-publish and reject-publish-dlx (tests/server/test_length_limits.py asserts
the same over sockets)."""

from __future__ import annotations

import pytest
from pamqp import commands
from sessionutil import dead_lettering, declare, fanout, got, props

REJECT = {"x-overflow": "reject-publish"}


def test_drop_head_keeps_the_newest(ch):
    q = declare(ch, "q", **{"x-max-length": 2})
    assert [ch.publish(b, q) for b in (b"m1", b"m2", b"m3", b"m4", b"m5")] == [True] * 5
    assert ch.message_count(q) == 2
    assert ch.drain(q) == [b"m4", b"m5"]


@pytest.mark.parametrize(
    ("published", "left"),
    [
        ([b"aaaa", b"bbbb", b"cccc", b"dddd"], [b"cccc", b"dddd"]),
        ([b"aaaa", b"0123456789"], [b"0123456789"]),
        ([b"aaaa", b"0123456789a"], []),  # larger than the limit: drops itself too
    ],
    ids=["four-byte-bodies", "exactly-the-limit", "over-the-limit"],
)
def test_drop_head_max_length_bytes(ch, published, left):
    q = declare(ch, "q", **{"x-max-length-bytes": 10})
    assert all(ch.publish(body, q) for body in published)
    assert ch.drain(q) == left


def test_max_length_bytes_counts_bodies_only(ch):
    q = declare(ch, "q", **{"x-max-length-bytes": 4})
    ch.publish(b"abcd", q, properties=props(headers={"padding": "x" * 1000}, message_id="m" * 200))
    assert ch.message_count(q) == 1
    ch.publish(b"e", q)
    assert ch.drain(q) == [b"e"]


def test_both_limits_whichever_comes_first(ch):
    q = declare(ch, "q", **{"x-max-length": 3, "x-max-length-bytes": 6})
    for body in (b"1", b"22", b"333"):
        ch.publish(body, q)
    assert ch.message_count(q) == 3
    ch.publish(b"4", q)
    assert ch.drain(q) == [b"22", b"333", b"4"]


def test_max_length_zero(ch):
    drop, dead = dead_lettering(ch, **{"x-max-length": 0})
    reject = declare(ch, "reject", **{"x-max-length": 0, **REJECT})
    assert ch.publish(b"m", drop)
    assert ch.message_count(drop) == 0
    message = got(ch, dead)
    assert (message.body, message.headers["x-death"][0]["reason"]) == (b"m", "maxlen")
    assert ch.publish(b"m", reject) is False
    assert ch.message_count(reject) == 0


def test_unacked_messages_do_not_count_toward_drop_head(ch):
    q, dead = dead_lettering(ch, **{"x-max-length": 1})
    ch.publish(b"m1", q)
    other = ch.client.channel()
    m1 = got(other, q, no_ack=False)
    ch.publish(b"m2", q)
    assert ch.message_count(q) == 1
    ch.publish(b"m3", q)
    other.nack(m1.method.delivery_tag, requeue=True)
    assert other.drain(q) == [b"m3"]
    dropped = [got(ch, dead) for _ in range(2)]
    assert [(m.body, m.headers["x-death"][0]["reason"]) for m in dropped] == [
        (b"m2", "maxlen"),
        (b"m1", "maxlen"),
    ]


def test_requeue_over_the_limit_drops_the_requeued_head(ch):
    q, dead = dead_lettering(ch, **{"x-max-length": 2})
    ch.publish(b"m1", q)
    ch.publish(b"m2", q)
    other = ch.client.channel()
    got(other, q, no_ack=False)
    got(other, q, no_ack=False)
    ch.publish(b"m3", q)
    ch.publish(b"m4", q)
    other.nack(0, multiple=True, requeue=True)
    assert other.drain(q) == [b"m3", b"m4"]
    assert ch.drain(dead) == [b"m1", b"m2"]


def test_reject_publish_nacks_and_does_not_enqueue(ch):
    q = declare(ch, "q", **{"x-max-length": 2, **REJECT})
    assert [ch.publish(b, q) for b in (b"m1", b"m2", b"m3")] == [True, True, False]
    assert ch.message_count(q) == 2
    got(ch, q)
    assert [ch.publish(b, q) for b in (b"m4", b"m5")] == [True, False]
    assert ch.drain(q) == [b"m2", b"m4"]


def test_reject_publish_nack_has_multiple_and_requeue_set(ch):
    q = declare(ch, "q", **{"x-max-length": 1, **REJECT})
    ch.publish(b"m1", q)
    ch.confirming = False  # read the nack frame itself
    ch.publish(b"m2", q)
    nack = ch.expect(commands.Basic.Nack)
    assert (nack.delivery_tag, nack.multiple, nack.requeue) == (2, True, True)


def test_reject_publish_max_length_bytes(ch):
    q = declare(ch, "q", **{"x-max-length-bytes": 5, **REJECT})
    assert [ch.publish(b, q) for b in (b"abc", b"de", b"f")] == [True, True, False]
    assert ch.drain(q) == [b"abc", b"de"]
    big = declare(ch, "big", **{"x-max-length-bytes": 5, **REJECT})
    assert ch.publish(b"123456", big) is False
    assert ch.message_count(big) == 0


def test_reject_publish_without_confirms_drops_silently(client):
    plain = client.channel()
    q = declare(plain, "q", **{"x-max-length": 1, **REJECT})
    for body in (b"m1", b"m2", b"m3"):
        plain.publish(body, q)
    assert plain.drain(q) == [b"m1"]
    assert plain.received() == []
    assert not client.closed


def test_reject_publish_mandatory_is_nacked_not_returned(ch):
    q = declare(ch, "q", **{"x-max-length": 1, **REJECT})
    ch.publish(b"m1", q)
    assert ch.publish(b"m2", q, mandatory=True) is False
    assert ch.received() == []  # no basic.return


def test_reject_publish_nacks_even_if_another_queue_took_it(ch):
    full = declare(ch, "full", **{"x-max-length": 1, **REJECT})
    other = declare(ch, "other")
    x = fanout(ch, "x", full, other)
    assert ch.publish(b"m1", exchange=x)
    assert ch.publish(b"m2", exchange=x) is False
    assert ch.drain(full) == [b"m1"]
    assert ch.drain(other) == [b"m1", b"m2"]


def test_unacked_messages_do_not_count_toward_reject_publish(ch):
    q = declare(ch, "q", **{"x-max-length": 2, **REJECT})
    ch.publish(b"m1", q)
    ch.publish(b"m2", q)
    other = ch.client.channel()
    got(other, q, no_ack=False)
    got(other, q, no_ack=False)
    assert [ch.publish(b, q) for b in (b"m3", b"m4", b"m5")] == [True, True, False]
    other.close()
    assert ch.message_count(q) == 4
    assert ch.publish(b"m6", q) is False
    assert ch.drain(q) == [b"m1", b"m2", b"m3", b"m4"]


def test_reject_publish_requeue_may_exceed_the_limit(ch):
    q = declare(ch, "q", **{"x-max-length": 1, **REJECT})
    ch.publish(b"m1", q)
    other = ch.client.channel()
    m1 = got(other, q, no_ack=False)
    assert ch.publish(b"m2", q)
    other.nack(m1.method.delivery_tag, requeue=True)
    message = got(other, q)
    assert (message.body, message.method.message_count) == (b"m1", 1)


def test_reject_publish_in_a_transaction_fails_the_commit(client):
    tx = client.channel()
    q = declare(tx, "q", **{"x-max-length": 1, **REJECT})
    tx.call(commands.Tx.Select(), commands.Tx.SelectOk)
    tx.publish(b"m1", q)
    tx.publish(b"m2", q)
    tx.send(commands.Tx.Commit())
    assert tx.expect_close(406).reply_text == "PRECONDITION_FAILED - partial tx completion"
    assert client.channel().drain(q) == [b"m1"]


def test_reject_publish_does_not_dead_letter_the_refused_message(ch):
    q, dead = dead_lettering(ch, **{"x-max-length": 1, **REJECT})
    assert [ch.publish(b, q) for b in (b"kept", b"refused")] == [True, False]
    assert ch.message_count(dead) == 0
    ch.reject(got(ch, q, no_ack=False).method.delivery_tag, requeue=False)
    message = got(ch, dead)
    assert (message.body, message.headers["x-death"][0]["reason"]) == (b"kept", "rejected")


def test_reject_publish_dlx_nacks_and_dead_letters_as_maxlen(ch):
    q, dead = dead_lettering(ch, **{"x-max-length": 1, "x-overflow": "reject-publish-dlx"})
    properties = props(expiration="60000", headers={"h": "v"})
    assert ch.publish(b"kept", q, properties=properties)
    assert ch.publish(b"refused", q, properties=properties) is False
    message = got(ch, dead)
    assert message.body == b"refused"
    assert list(message.headers) == [
        "h",
        "x-death",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
    ]
    [death] = message.headers["x-death"]
    assert (death["count"], death["reason"], death["queue"]) == (1, "maxlen", q)
    assert (death["exchange"], death["routing-keys"]) == ("", [q])
    assert death["original-expiration"] == "60000"
    assert ch.drain(q) == [b"kept"]


def test_reject_publish_dlx_without_a_dlx_just_nacks(ch):
    q = declare(ch, "q", **{"x-max-length": 1, "x-overflow": "reject-publish-dlx"})
    assert [ch.publish(b, q) for b in (b"m1", b"m2")] == [True, False]
    assert ch.drain(q) == [b"m1"]
