"""Queue declare, exclusivity, auto-delete, bind, purge and delete in the session layer
(tests/server/test_queues.py asserts the same over sockets, polling for the deletions that
happen asynchronously there)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from pamqp import commands

from amqpbroker.testing.harness import ClientChannel, SessionBroker

LOCKED = (
    "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '{}' in vhost '/'. "
    "It could be originally declared on another connection or the exclusive property value "
    "does not match that of the original declaration."
)


def refused(ch: ClientChannel, method: object, code: int) -> str:
    """Send ``method`` on a new channel of ``ch``'s connection: the reply text closing it."""
    other = ch.client.channel()
    other.send(method)
    return other.expect_close(code).reply_text


def test_declare_ok_returns_name_and_counts(ch):
    ok = ch.declare("q", exclusive=True)
    assert (ok.queue, ok.message_count, ok.consumer_count) == ("q", 0, 0)
    ch.publish(b"m", "q")
    ch.client.channel().consume("q")
    ok = ch.declare("q", exclusive=True)
    assert (ok.message_count, ok.consumer_count) == (0, 1)  # delivered, so not counted


def test_passive_declare_of_missing_queue_is_not_found(ch):
    method = commands.Queue.Declare(queue="missing", passive=True)
    assert refused(ch, method, 404) == "NOT_FOUND - no queue 'missing' in vhost '/'"


def test_passive_declare_ignores_flags_and_arguments(ch):
    ch.declare("q", exclusive=True)
    ok = ch.declare(
        "q", passive=True, durable=True, auto_delete=True, arguments={"x-message-ttl": 5}
    )
    assert ok.queue == "q"


def test_server_named_queues_have_amq_gen_names(ch):
    names = {ch.declare("", exclusive=True).queue for _ in range(5)}
    assert len(names) == 5
    assert all(re.fullmatch(r"amq\.gen-[A-Za-z0-9_-]{22}", name) for name in names), names


@pytest.mark.parametrize("name", ["amq.foo", "amq.gen-x"])
def test_declare_amq_prefixed_queue_is_access_refused(ch, name):
    assert refused(ch, commands.Queue.Declare(queue=name), 403) == (
        f"ACCESS_REFUSED - queue name '{name}' contains reserved prefix 'amq.*'"
    )


def test_passive_declare_of_empty_name_is_not_the_last_declared_queue(ch):
    ch.declare("", exclusive=True)
    ch.send(commands.Queue.Declare(queue="", passive=True))
    assert ch.expect_close(404).reply_text == "NOT_FOUND - no queue '' in vhost '/'"


def test_inequivalent_redeclare_is_precondition_failed(ch):
    ch.declare("q", exclusive=True, arguments={"x-message-ttl": 100})
    method = commands.Queue.Declare(queue="q", exclusive=True, arguments={"x-message-ttl": 200})
    assert refused(ch, method, 406).startswith(
        "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/'"
    )


EXCLUSIVE_ACTIONS: dict[str, Callable[[str], object]] = {
    "consume": lambda q: commands.Basic.Consume(queue=q),
    "get": lambda q: commands.Basic.Get(queue=q),
    "bind": lambda q: commands.Queue.Bind(queue=q, exchange="amq.fanout", routing_key="k"),
    "purge": lambda q: commands.Queue.Purge(queue=q),
    "delete": lambda q: commands.Queue.Delete(queue=q),
    "redeclare": lambda q: commands.Queue.Declare(queue=q),
}


@pytest.mark.parametrize("action", sorted(EXCLUSIVE_ACTIONS))
def test_exclusive_queue_is_locked_to_other_connections(broker: SessionBroker, ch, action):
    ch.declare("excl", exclusive=True)
    other = broker.connect().channel()
    other.send(EXCLUSIVE_ACTIONS[action]("excl"))
    assert other.expect_close(405).reply_text == LOCKED.format("excl")


def test_other_connections_may_publish_to_an_exclusive_queue(broker, ch):
    ch.declare("excl", exclusive=True)
    other = broker.connect().channel()
    other.select_confirms()
    assert other.publish(b"from-other", "excl")
    assert ch.drain("excl") == [b"from-other"]


def test_exclusive_flag_mismatch_is_resource_locked(ch):
    ch.declare("excl", exclusive=True)
    ch.declare("shared")
    assert refused(ch, commands.Queue.Declare(queue="excl"), 405) == LOCKED.format("excl")
    method = commands.Queue.Declare(queue="shared", exclusive=True)
    assert refused(ch, method, 405) == LOCKED.format("shared")


@pytest.mark.parametrize("how", ["close", "drop"])
def test_exclusive_queue_is_deleted_when_its_connection_ends(broker, how):
    owner = broker.connect()
    owner.channel().declare("excl", exclusive=True)
    if how == "close":
        owner.close()
    else:
        owner.drop()
    other = broker.connect().channel()
    assert refused(other, commands.Queue.Declare(queue="excl", passive=True), 404)


def test_auto_delete_queue_is_deleted_when_last_consumer_cancels(ch):
    ch.declare("auto", auto_delete=True)
    first, second = ch.consume("auto"), ch.consume("auto")
    assert ch.declare("auto", passive=True).consumer_count == 2
    ch.call(commands.Basic.Cancel(consumer_tag=first), commands.Basic.CancelOk)
    assert ch.declare("auto", passive=True).consumer_count == 1
    ch.call(commands.Basic.Cancel(consumer_tag=second), commands.Basic.CancelOk)
    assert refused(ch, commands.Queue.Declare(queue="auto", passive=True), 404)


def test_auto_delete_queue_without_consumers_stays(ch):
    ch.declare("auto", auto_delete=True)
    assert ch.declare("auto", passive=True).queue == "auto"


def test_auto_delete_queue_is_deleted_when_the_consuming_channel_closes(ch):
    consumer = ch.client.channel()
    consumer.declare("auto", auto_delete=True)
    consumer.consume("auto")
    consumer.close()
    assert refused(ch, commands.Queue.Declare(queue="auto", passive=True), 404)


def test_binding_twice_routes_once_and_unbind_stops_routing(ch):
    ch.declare("q", exclusive=True)
    ch.bind("q", "amq.direct", "k")
    ch.bind("q", "amq.direct", "k")
    ch.publish(b"once", "k", exchange="amq.direct")
    assert ch.drain("q") == [b"once"]
    unbind = commands.Queue.Unbind(queue="q", exchange="amq.direct", routing_key="k")
    ch.call(unbind, commands.Queue.UnbindOk)
    ch.publish(b"gone", "k", exchange="amq.direct")
    assert ch.drain("q") == []


def test_unbind_of_missing_binding_queue_or_exchange_is_ok(ch):
    ch.declare("q", exclusive=True)
    for queue, exchange in (("q", "amq.direct"), ("missing", "amq.direct"), ("q", "missing")):
        unbind = commands.Queue.Unbind(queue=queue, exchange=exchange, routing_key="k")
        ch.call(unbind, commands.Queue.UnbindOk)


@pytest.mark.parametrize(
    ("queue", "exchange", "missing"),
    [
        ("missing", "amq.direct", "queue 'missing'"),
        ("q", "nox", "exchange 'nox'"),
        ("missing", "nox", "exchange 'nox'"),
    ],
    ids=["queue", "exchange", "both-reports-the-exchange"],
)
def test_bind_to_missing_queue_or_exchange_is_not_found(ch, queue, exchange, missing):
    ch.declare("q", exclusive=True)
    ch.send(commands.Queue.Bind(queue=queue, exchange=exchange, routing_key="k"))
    close = ch.expect_close(404)
    assert (close.reply_text, close.class_id, close.method_id) == (
        f"NOT_FOUND - no {missing} in vhost '/'",
        50,
        20,
    )


def test_purge_returns_the_number_of_messages_removed(ch):
    ch.declare("q", exclusive=True)
    for i in range(4):
        ch.publish(b"%d" % i, "q")
    purge = commands.Queue.Purge(queue="q")
    assert ch.call(purge, commands.Queue.PurgeOk).message_count == 4
    assert ch.call(purge, commands.Queue.PurgeOk).message_count == 0


def test_purge_of_missing_queue_is_not_found_with_purge_ids(ch):
    ch.send(commands.Queue.Purge(queue="missing"))
    close = ch.expect_close(404)
    assert (close.class_id, close.method_id) == (50, 30)


def test_delete_returns_the_message_count_and_removes_bindings(ch):
    ch.declare("q", exclusive=True)
    ch.bind("q", "amq.fanout")
    for i in range(3):
        ch.publish(b"%d" % i, "q")
    assert ch.call(commands.Queue.Delete(queue="q"), commands.Queue.DeleteOk).message_count == 3
    ch.declare("q", exclusive=True)
    ch.publish(b"m", exchange="amq.fanout")
    assert ch.drain("q") == []


@pytest.mark.parametrize(
    ("flags", "text"),
    [({"if_unused": True}, "in use"), ({"if_empty": True}, "not empty")],
    ids=["if-unused", "if-empty"],
)
def test_conditional_delete_is_precondition_failed(ch, flags, text):
    ch.declare("q", exclusive=True)
    ch.publish(b"m", "q")
    if "if_unused" in flags:
        ch.client.channel().consume("q")
    method = commands.Queue.Delete(queue="q", **flags)
    assert refused(ch, method, 406) == f"PRECONDITION_FAILED - queue 'q' in vhost '/' {text}"


def test_delete_of_missing_queue_is_ok_with_zero_count(ch):
    for flags in ({}, {"if_unused": True, "if_empty": True}):
        delete = commands.Queue.Delete(queue="missing", **flags)
        assert ch.call(delete, commands.Queue.DeleteOk).message_count == 0


def test_explicit_classic_queue_type_is_equivalent_to_none(ch):
    ch.declare("q", exclusive=True)
    ch.declare("q", exclusive=True, arguments={"x-queue-type": "classic"})
    ch.declare("q", exclusive=True)
