"""Publisher confirms and transactions in the session layer
(tests/server/test_confirms_tx.py asserts the same over sockets)."""

from __future__ import annotations

import pytest
from pamqp import commands
from sessionutil import got

from amqpbroker.testing.harness import Client, ClientChannel


@pytest.fixture
def plain(client: Client) -> ClientChannel:
    """A channel in neither mode, with the queue 'q' declared."""
    channel = client.channel()
    channel.declare("q")
    return channel


def ready(client: Client) -> int:
    return client.channel().message_count("q")


def redelivered(client: Client) -> list[tuple[bytes, bool]]:
    """What 'q' holds, taken by basic.get on a new channel: (body, redelivered)."""
    channel = client.channel()
    out = []
    while (message := channel.get("q")) is not None:
        out.append((message.body, message.method.redelivered))
    return out


# -- confirms --------------------------------------------------------------------------------------
def test_confirm_delivery_tags_are_1_to_n_one_ack_per_publish(plain):
    plain.select_confirms()
    plain.confirming = False  # read the acks themselves
    for i in range(5):
        plain.publish(b"%d" % i, "q")
    acks = plain.received()
    assert [(type(a), a.delivery_tag, a.multiple) for a in acks] == [
        (commands.Basic.Ack, tag, False) for tag in range(1, 6)
    ]
    assert plain.message_count("q") == 5


def test_publishes_in_one_read_are_confirmed_together(plain, client):
    plain.select_confirms()
    client.send_bytes(b"".join(client.publish_bytes(plain.number, b"x", "", "q") for _ in range(4)))
    [ack] = plain.received()
    assert (type(ack), ack.delivery_tag, ack.multiple) == (commands.Basic.Ack, 4, True)


def test_confirm_select_nowait_then_tags_start_at_1(plain):
    plain.send(commands.Confirm.Select(nowait=True))
    plain.publish(b"x", "q")
    ack = plain.expect(commands.Basic.Ack)  # no select-ok first
    assert (ack.delivery_tag, ack.multiple) == (1, False)


def test_confirm_select_twice_is_ok(plain):
    plain.select_confirms()
    plain.select_confirms()
    assert plain.publish(b"x", "q")


def test_mandatory_unroutable_in_confirm_mode_is_return_then_ack(plain):
    plain.select_confirms()
    plain.confirming = False
    plain.publish(b"lost", "nowhere", mandatory=True)
    returned, ack = plain.received()
    assert dict(returned.method) == {
        "reply_code": 312,
        "reply_text": "NO_ROUTE",
        "exchange": "",
        "routing_key": "nowhere",
    }
    assert returned.body == b"lost"
    assert (type(ack), ack.delivery_tag) == (commands.Basic.Ack, 1)


def test_non_mandatory_unroutable_is_acked(plain):
    plain.select_confirms()
    assert plain.publish(b"lost", "nowhere") is True
    assert plain.received() == []


def test_publish_to_missing_exchange_in_confirm_mode_closes_channel_without_confirm(plain):
    plain.select_confirms()
    assert plain.publish(b"x", "rk", exchange="nox") is None
    close = plain.expect_close(404)
    assert (close.reply_text, close.class_id, close.method_id) == (
        "NOT_FOUND - no exchange 'nox' in vhost '/'",
        60,
        40,
    )


@pytest.mark.parametrize(
    ("first", "second", "text", "ids"),
    [
        (commands.Confirm.Select(), commands.Tx.Select(), "confirm to tx", (90, 10)),
        (commands.Tx.Select(), commands.Confirm.Select(), "tx to confirm", (85, 10)),
    ],
    ids=["confirm-then-tx", "tx-then-confirm"],
)
def test_mode_switch_is_406(plain, first, second, text, ids):
    plain.send(first)
    plain.next()
    plain.send(second)
    close = plain.expect_close(406)
    assert (close.reply_text, (close.class_id, close.method_id)) == (
        f"PRECONDITION_FAILED - cannot switch from {text} mode",
        ids,
    )


# -- transactions ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "ids"),
    [(commands.Tx.Commit(), (90, 20)), (commands.Tx.Rollback(), (90, 30))],
    ids=["commit", "rollback"],
)
def test_tx_without_select_is_406(plain, method, ids):
    plain.send(method)
    close = plain.expect_close(406)
    assert (close.reply_text, (close.class_id, close.method_id)) == (
        "PRECONDITION_FAILED - channel is not transactional",
        ids,
    )


def test_tx_select_twice_and_empty_commit_rollback_are_ok(plain):
    plain.call(commands.Tx.Select(), commands.Tx.SelectOk)
    plain.call(commands.Tx.Select(), commands.Tx.SelectOk)
    plain.call(commands.Tx.Commit(), commands.Tx.CommitOk)
    plain.call(commands.Tx.Rollback(), commands.Tx.RollbackOk)
    plain.call(commands.Tx.Commit(), commands.Tx.CommitOk)


def test_tx_publishes_are_routed_only_on_commit(plain, client):
    plain.call(commands.Tx.Select(), commands.Tx.SelectOk)
    for i in range(3):
        plain.publish(b"%d" % i, "q")
    assert ready(client) == 0
    plain.call(commands.Tx.Commit(), commands.Tx.CommitOk)
    assert plain.drain("q") == [b"0", b"1", b"2"]


def test_tx_rollback_drops_publishes(plain):
    plain.call(commands.Tx.Select(), commands.Tx.SelectOk)
    plain.publish(b"rolled-back", "q")
    plain.call(commands.Tx.Rollback(), commands.Tx.RollbackOk)
    plain.publish(b"kept", "q")
    plain.call(commands.Tx.Commit(), commands.Tx.CommitOk)
    assert plain.drain("q") == [b"kept"]


def test_tx_publishes_dropped_when_channel_closes_uncommitted(plain, client):
    plain.call(commands.Tx.Select(), commands.Tx.SelectOk)
    plain.publish(b"never", "q")
    plain.close()
    assert ready(client) == 0


def unacked_in_tx(ch: ClientChannel, *bodies: bytes) -> list[int]:
    """Publish ``bodies`` to 'q', take them unacked, then tx.select: their delivery tags."""
    for body in bodies:
        ch.publish(body, "q")
    tags = [got(ch, "q", no_ack=False).method.delivery_tag for _ in bodies]
    ch.call(commands.Tx.Select(), commands.Tx.SelectOk)
    return tags


def test_tx_ack_takes_effect_on_commit(plain, client):
    tags = unacked_in_tx(plain, b"a", b"b")
    plain.ack(tags[0])
    plain.call(commands.Tx.Commit(), commands.Tx.CommitOk)
    plain.close()
    assert redelivered(client) == [(b"b", True)]


def test_tx_ack_not_applied_when_channel_closes_uncommitted(plain, client):
    tags = unacked_in_tx(plain, b"a", b"b")
    plain.ack(tags[0])
    plain.close()
    assert redelivered(client) == [(b"a", True), (b"b", True)]


def test_tx_rolled_back_ack_leaves_message_unacked(plain, client):
    [tag] = unacked_in_tx(plain, b"a")
    plain.ack(tag)
    plain.call(commands.Tx.Rollback(), commands.Tx.RollbackOk)
    assert ready(client) == 0  # not requeued by the rollback: still unacked
    plain.ack(tag)
    plain.call(commands.Tx.Commit(), commands.Tx.CommitOk)
    plain.close()
    assert ready(client) == 0


def test_tx_rolled_back_ack_requeues_on_close(plain, client):
    [tag] = unacked_in_tx(plain, b"a")
    plain.ack(tag)
    plain.call(commands.Tx.Rollback(), commands.Tx.RollbackOk)
    plain.close()
    assert redelivered(client) == [(b"a", True)]


def test_tx_reject_requeue_takes_effect_on_commit(plain, client):
    [tag] = unacked_in_tx(plain, b"a")
    plain.reject(tag, requeue=True)
    assert ready(client) == 0
    plain.call(commands.Tx.Commit(), commands.Tx.CommitOk)
    assert ready(client) == 1


def test_tx_double_ack_is_406_at_the_commit(plain):
    [tag] = unacked_in_tx(plain, b"a")
    plain.ack(tag)
    plain.ack(tag)
    plain.send(commands.Tx.Commit())
    assert plain.expect_close(406).reply_text == f"PRECONDITION_FAILED - unknown delivery tag {tag}"


def test_tx_mandatory_unroutable_returned_at_commit_before_commit_ok(plain):
    plain.call(commands.Tx.Select(), commands.Tx.SelectOk)
    plain.publish(b"lost", "nowhere", mandatory=True)
    plain.call(commands.Basic.Qos(prefetch_count=1), commands.Basic.QosOk)
    assert plain.received() == []  # nothing is returned before the commit
    plain.send(commands.Tx.Commit())
    returned, commit_ok = plain.received()
    assert (returned.method.reply_code, returned.method.routing_key, returned.body) == (
        312,
        "nowhere",
        b"lost",
    )
    assert isinstance(commit_ok, commands.Tx.CommitOk)
