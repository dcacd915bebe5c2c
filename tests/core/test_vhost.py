"""VirtualHost: RabbitMQ's declare/delete/bind rules and texts, routing and lifetimes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pamqp import commands
from pamqp.header import ContentHeader

from amqpbroker.config import BrokerConfig
from amqpbroker.core.broker import BrokerState
from amqpbroker.core.consumers import Consumer
from amqpbroker.core.message import Message
from amqpbroker.core.ports import ManualClock, NullStore, StoredQueue
from amqpbroker.core.queue import Queue
from amqpbroker.core.quorum import QuorumQueue
from amqpbroker.core.vhost import VirtualHost
from amqpbroker.errors import (
    AccessRefused,
    CommandInvalid,
    NotAllowed,
    NotFound,
    PreconditionFailed,
    ResourceLocked,
)
from amqpbroker.protocol.fieldtable import TypedTable

ME, OTHER = object(), object()
LOCKED = (
    "cannot obtain exclusive access to locked queue 'q' in vhost '/'. It could be originally "
    "declared on another connection or the exclusive property value does not match that of "
    "the original declaration."
)


def declare_exchange(vhost: VirtualHost, name: str, type_name: str = "direct", **options: Any):
    fields = {"passive": False, "durable": False, "auto_delete": False, "internal": False}
    fields["arguments"] = options.pop("arguments", {})
    fields.update(options)
    return vhost.declare_exchange(name, type_name, **fields)


def declare_queue(vhost: VirtualHost, name: str, owner: object = ME, **options: Any) -> Queue:
    fields = {"passive": False, "durable": False, "exclusive": False, "auto_delete": False}
    fields["arguments"] = options.pop("arguments", {})
    fields.update(options)
    return vhost.declare_queue(name, owner=owner, **fields)


def message(headers: dict | None = None) -> Message:
    header = ContentHeader(0, 0, commands.Basic.Properties(headers=headers)).marshal()
    return Message("x", "k", b"\x01x\x01k", header, b"")


def routed(vhost: VirtualHost, exchange: str, key: str, msg: Message | None = None) -> list[str]:
    return sorted(q.name for q in vhost.route(vhost.exchange(exchange), key, msg or message()))


class RecordingSink:
    def __init__(self) -> None:
        self.cancelled: list[str] = []

    def has_capacity(self) -> bool:
        return True

    def deliver(self, consumer, envelope) -> None:
        pass

    def consumer_cancelled(self, consumer) -> None:
        self.cancelled.append(consumer.tag)


def add_consumer(queue: Queue, sink: RecordingSink, tag: str = "c") -> Consumer[Queue]:
    c = Consumer(tag, b"", queue, sink, no_ack=False, exclusive=False, prefetch=0, arguments={})
    queue.add_consumer(c)
    return c


@pytest.fixture
def vhost() -> VirtualHost:
    return VirtualHost("/")


class RecordingStore(NullStore):
    """An in-memory store that notes the queues declared to it."""

    def __init__(self) -> None:
        self.declared: list[str] = []

    def queue_declared(self, queue: StoredQueue) -> None:
        self.declared.append(queue.name)


# -- exchanges ------------------------------------------------------------------------------


def test_default_exchanges(vhost):
    types = {name: ex.type_name for name, ex in vhost.exchanges.items()}
    assert types == {
        "": "direct",
        "amq.direct": "direct",
        "amq.fanout": "fanout",
        "amq.topic": "topic",
        "amq.headers": "headers",
        "amq.match": "headers",
        "amq.rabbitmq.trace": "topic",
    }
    assert all(ex.durable for ex in vhost.exchanges.values())


def test_declare_exchange_and_redeclare_returns_it(vhost):
    logs = declare_exchange(vhost, "logs", "fanout", durable=True)
    assert declare_exchange(vhost, "logs", "fanout", durable=True) is logs
    assert declare_exchange(vhost, "logs", passive=True) is logs
    assert vhost.exchange("logs") is logs


def test_declare_default_exchange_is_refused(vhost):
    for passive in (False, True):
        with pytest.raises(AccessRefused) as error:
            declare_exchange(vhost, "", passive=passive)
        assert error.value.reply_text == (
            "ACCESS_REFUSED - operation not permitted on the default exchange"
        )
        assert error.value.reply_code == 403


def test_declare_reserved_exchange_name_is_refused(vhost):
    with pytest.raises(AccessRefused) as error:
        declare_exchange(vhost, "amq.custom", "topic")
    assert error.value.message == "exchange name 'amq.custom' contains reserved prefix 'amq.*'"
    assert "amq.custom" not in vhost.exchanges


def test_redeclaring_a_builtin_amq_exchange_is_allowed(vhost):
    assert (
        declare_exchange(vhost, "amq.direct", "direct", durable=True)
        is vhost.exchanges["amq.direct"]
    )


def test_unknown_exchange_type(vhost):
    with pytest.raises(CommandInvalid) as error:
        declare_exchange(vhost, "x", "x-unknown")
    assert error.value.message == "unknown exchange type 'x-unknown'"
    assert error.value.reply_code == 503


def test_exchange_type_is_checked_before_the_name(vhost):
    # rabbit_channel checks the type first (rabbit_exchange:check_type), then the default
    # exchange and the amq. prefix.
    for name in ("", "amq.custom"):
        with pytest.raises(CommandInvalid, match=r"^unknown exchange type 'bogus'$"):
            declare_exchange(vhost, name, "bogus")


def test_passive_declare_of_missing_exchange(vhost):
    with pytest.raises(NotFound) as error:
        declare_exchange(vhost, "nope", passive=True)
    assert error.value.reply_text == "NOT_FOUND - no exchange 'nope' in vhost '/'"


@pytest.mark.parametrize(
    ("options", "arg", "detail"),
    [
        ({"type_name": "topic"}, "type", "received 'topic' but current is 'direct'"),
        ({"durable": True}, "durable", "received 'true' but current is 'false'"),
        ({"auto_delete": True}, "auto_delete", "received 'true' but current is 'false'"),
        ({"internal": True}, "internal", "received 'true' but current is 'false'"),
        (
            {"arguments": {"alternate-exchange": "ae"}},
            "alternate-exchange",
            "received the value 'ae' of type 'longstr' but current is none",
        ),
    ],
)
def test_inequivalent_exchange_redeclare(vhost, options, arg, detail):
    declare_exchange(vhost, "x", "direct")
    type_name = options.pop("type_name", "direct")
    with pytest.raises(PreconditionFailed) as error:
        declare_exchange(vhost, "x", type_name, **options)
    assert (
        error.value.message == f"inequivalent arg '{arg}' for exchange 'x' in vhost '/': {detail}"
    )


def test_alternate_exchange_compared_by_value(vhost):
    declare_exchange(vhost, "x", arguments={"alternate-exchange": "ae1"})
    declare_exchange(vhost, "x", arguments={"alternate-exchange": "ae1", "other": 1})
    with pytest.raises(PreconditionFailed) as error:
        declare_exchange(vhost, "x", arguments={"alternate-exchange": "ae2"})
    assert error.value.message == (
        "inequivalent arg 'alternate-exchange' for exchange 'x' in vhost '/': "
        "received 'ae2' but current is 'ae1'"
    )


def test_delete_exchange_rules(vhost):
    with pytest.raises(AccessRefused, match=r"^operation not permitted on the default exchange$"):
        vhost.delete_exchange("", if_unused=False)
    with pytest.raises(AccessRefused) as error:
        vhost.delete_exchange("amq.topic", if_unused=False)
    assert error.value.message == "deletion of system exchange 'amq.topic' in vhost '/' not allowed"
    # rabbit_channel:check_exchange_deletion refuses every amq. name, existing or not
    with pytest.raises(AccessRefused, match=r"^deletion of system exchange 'amq\.custom'"):
        vhost.delete_exchange("amq.custom", if_unused=False)
    vhost.delete_exchange("missing", if_unused=False)  # not an error


def test_delete_exchange_if_unused(vhost):
    declare_exchange(vhost, "x")
    q = declare_queue(vhost, "q")
    vhost.bind("x", q, "k", {})
    with pytest.raises(PreconditionFailed) as error:
        vhost.delete_exchange("x", if_unused=True)
    assert error.value.message == "exchange 'x' in vhost '/' in use"
    vhost.unbind("x", q, "k", {})
    vhost.delete_exchange("x", if_unused=True)
    assert "x" not in vhost.exchanges


def test_deleting_an_exchange_drops_bindings_to_it(vhost):
    declare_exchange(vhost, "src", "fanout")
    dst = declare_exchange(vhost, "dst", "fanout")
    q = declare_queue(vhost, "q")
    vhost.bind("src", dst, "", {})
    vhost.bind("dst", q, "", {})
    assert routed(vhost, "src", "") == ["q"]
    vhost.delete_exchange("dst", if_unused=False)
    assert vhost.exchanges["src"].bindings == {}
    assert routed(vhost, "src", "") == []


# -- queues ---------------------------------------------------------------------------------


def test_server_named_queue(vhost):
    q = declare_queue(vhost, "")
    assert re.fullmatch(r"amq\.gen-[A-Za-z0-9_-]{22}", q.name)
    assert vhost.queues[q.name] is q
    assert declare_queue(vhost, "").name != q.name


def test_declare_reserved_queue_name_is_refused(vhost):
    with pytest.raises(AccessRefused) as error:
        declare_queue(vhost, "amq.q")
    assert error.value.reply_text == (
        "ACCESS_REFUSED - queue name 'amq.q' contains reserved prefix 'amq.*'"
    )


def test_passive_declare_of_a_server_named_queue(vhost):
    q = declare_queue(vhost, "")
    assert declare_queue(vhost, q.name, passive=True) is q


def test_redeclaring_a_server_named_queue_is_refused(vhost):
    # rabbit_channel calls check_name before looking the queue up, so a non-passive declare
    # of an existing amq.gen-... queue is 403 too (only passive declares may name it).
    q = declare_queue(vhost, "")
    with pytest.raises(AccessRefused) as error:
        declare_queue(vhost, q.name)
    assert error.value.message == f"queue name '{q.name}' contains reserved prefix 'amq.*'"


def test_passive_declare_of_missing_queue(vhost):
    with pytest.raises(NotFound) as error:
        declare_queue(vhost, "q", passive=True)
    assert error.value.message == "no queue 'q' in vhost '/'"
    assert error.value.reply_code == 404


def test_exclusive_queue_is_locked_to_its_connection(vhost):
    q = declare_queue(vhost, "q", exclusive=True)
    assert q.exclusive_owner is ME
    assert declare_queue(vhost, "q", exclusive=True) is q
    for call in (
        lambda: declare_queue(vhost, "q", owner=OTHER, exclusive=True),
        lambda: declare_queue(vhost, "q", owner=OTHER, passive=True),
        lambda: vhost.queue("q", OTHER),
        lambda: vhost.purge_queue("q", OTHER),
        lambda: vhost.queue_to_delete("q", if_unused=False, if_empty=False, owner=OTHER),
    ):
        with pytest.raises(ResourceLocked) as error:
            call()
        assert error.value.message == LOCKED
        assert error.value.reply_code == 405


def test_exclusive_flag_mismatch_is_locked(vhost):
    declare_queue(vhost, "q")
    with pytest.raises(ResourceLocked, match=r"^cannot obtain exclusive access"):
        declare_queue(vhost, "q", exclusive=True)
    declare_queue(vhost, "e", exclusive=True)
    with pytest.raises(ResourceLocked, match=r"^cannot obtain exclusive access"):
        declare_queue(vhost, "e", exclusive=False)


def test_exclusive_queue_is_never_durable(vhost):
    # rabbit_channel: Durable = DurableDeclare andalso not ExclusiveDeclare
    q = declare_queue(vhost, "q", exclusive=True, durable=True)
    assert not q.durable
    assert declare_queue(vhost, "q", exclusive=True, durable=False) is q


@pytest.mark.parametrize(
    ("options", "arg", "detail"),
    [
        ({"durable": True}, "durable", "received 'true' but current is 'false'"),
        ({"auto_delete": True}, "auto_delete", "received 'true' but current is 'false'"),
        ({"arguments": {"x-max-length": 20}}, "x-max-length", "received '20' but current is '10'"),
        (
            {"arguments": {}},
            "x-max-length",
            "received none but current is the value '10' of type 'long'",
        ),
        (
            {"arguments": {"x-max-length": 10, "x-message-ttl": 5}},
            "x-message-ttl",
            "received the value '5' of type 'long' but current is none",
        ),
    ],
)
def test_inequivalent_queue_redeclare(vhost, options, arg, detail):
    declare_queue(vhost, "q", arguments={"x-max-length": 10})
    with pytest.raises(PreconditionFailed) as error:
        declare_queue(vhost, "q", **options)
    assert error.value.message == f"inequivalent arg '{arg}' for queue 'q' in vhost '/': {detail}"
    assert error.value.reply_code == 406


def test_inequivalence_text_names_the_wire_type(vhost):
    declare_queue(vhost, "q")
    arguments = TypedTable({"x-max-length": 5}, {"x-max-length": "signedint"})
    with pytest.raises(PreconditionFailed) as error:
        declare_queue(vhost, "q", arguments=arguments)
    assert error.value.message == (
        "inequivalent arg 'x-max-length' for queue 'q' in vhost '/': "
        "received the value '5' of type 'signedint' but current is none"
    )


def test_queue_arguments_compared_by_value_across_integer_widths(vhost):
    declare_queue(vhost, "q", arguments=TypedTable({"x-max-length": 10}, {"x-max-length": "byte"}))
    wider = TypedTable(
        {"x-max-length": 10, "x-custom": "ignored"}, {"x-max-length": "long", "x-custom": "longstr"}
    )
    assert declare_queue(vhost, "q", arguments=wider) is vhost.queues["q"]


def test_queue_argument_bool_is_not_an_integer(vhost):
    declare_queue(vhost, "q", arguments={"x-single-active-consumer": True})
    with pytest.raises(PreconditionFailed, match="inequivalent arg 'x-single-active-consumer'"):
        declare_queue(vhost, "q", arguments={"x-single-active-consumer": 1})


@pytest.mark.parametrize(
    ("arguments", "detail"),
    [
        ({"x-expires": 0}, "{value_zero,0}"),
        ({"x-expires": -1}, "{value_negative,-1}"),
        ({"x-expires": "soon"}, '"expected integer, got longstr"'),
        ({"x-message-ttl": -5}, "{value_negative,-5}"),
        ({"x-message-ttl": 1.5}, '"expected integer, got double"'),
        ({"x-max-length": True}, '"expected integer, got bool"'),
        ({"x-max-length-bytes": -1}, "{value_negative,-1}"),
        ({"x-max-priority": 256}, "{max_value_exceeded,256}"),
        ({"x-max-priority": -1}, "{value_negative,-1}"),
        ({"x-overflow": "drop-tail"}, "invalid_overflow"),
        ({"x-overflow": 1}, "{unacceptable_type,long}"),
        ({"x-queue-mode": "fast"}, "\"unsupported queue mode 'fast'\""),
        ({"x-queue-type": "weird"}, "\"unsupported queue type 'weird'\""),
        ({"x-single-active-consumer": "yes"}, "{unacceptable_type,longstr}"),
        ({"x-dead-letter-routing-key": "rk"}, "routing_key_but_no_dlx_defined"),
        (
            {"x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": 5},
            "{unacceptable_type,long}",
        ),
    ],
)
def test_invalid_queue_arguments(vhost, arguments, detail):
    key = list(arguments)[-1]  # the argument under test comes last
    with pytest.raises(PreconditionFailed) as error:
        declare_queue(vhost, "q", arguments=arguments)
    assert error.value.message == f"invalid arg '{key}' for queue 'q' in vhost '/': {detail}"
    assert "q" not in vhost.queues


def test_invalid_argument_text_uses_the_wire_type(vhost):
    arguments = TypedTable({"x-overflow": 1}, {"x-overflow": "byte"})
    with pytest.raises(PreconditionFailed) as error:
        declare_queue(vhost, "q", arguments=arguments)
    assert (
        error.value.message
        == "invalid arg 'x-overflow' for queue 'q' in vhost '/': {unacceptable_type,byte}"
    )


def test_dead_letter_routing_key_type_is_checked_before_the_exchange(vhost):
    # rabbit_amqqueue:check_dlxrk_arg matches {longstr, _} first; any other type is
    # unacceptable whether or not x-dead-letter-exchange is present.
    arguments = TypedTable(
        {"x-dead-letter-routing-key": 5}, {"x-dead-letter-routing-key": "signedint"}
    )
    with pytest.raises(PreconditionFailed) as error:
        declare_queue(vhost, "q", arguments=arguments)
    assert error.value.message == (
        "invalid arg 'x-dead-letter-routing-key' for queue 'q' in vhost '/': "
        "{unacceptable_type,signedint}"
    )


@pytest.mark.parametrize("key", ["x-message-ttl", "x-expires"])
def test_expiry_longer_than_ten_years_is_too_large(vhost, key):
    # rabbit_misc:check_expiry: N > 315_360_000_000 (ten years in ms) -> {value_too_large,N}
    declare_queue(vhost, "ok", arguments={key: 315_360_000_000})
    with pytest.raises(PreconditionFailed) as error:
        declare_queue(vhost, "q", arguments={key: 315_360_000_001})
    assert error.value.message == (
        f"invalid arg '{key}' for queue 'q' in vhost '/': {{value_too_large,315360000001}}"
    )


def test_queue_type_is_validated_before_other_arguments(vhost):
    # rabbit_amqqueue:check_declare_arguments checks x-queue-type first.
    with pytest.raises(PreconditionFailed) as error:
        declare_queue(vhost, "q", arguments={"x-message-ttl": -1, "x-queue-type": "weird"})
    assert error.value.message == (
        "invalid arg 'x-queue-type' for queue 'q' in vhost '/': \"unsupported queue type 'weird'\""
    )


def test_classic_queue_type_equals_no_queue_type(vhost):
    # rabbit_misc:assert_field_equivalence special-cases x-queue-type 'classic' vs undefined.
    plain = declare_queue(vhost, "plain")
    assert declare_queue(vhost, "plain", arguments={"x-queue-type": "classic"}) is plain
    typed = declare_queue(vhost, "typed", arguments={"x-queue-type": "classic"})
    assert declare_queue(vhost, "typed") is typed


def test_dead_letter_exchange_must_be_a_string(vhost):
    with pytest.raises(PreconditionFailed) as error:
        declare_queue(vhost, "q", arguments={"x-dead-letter-exchange": 5})
    assert error.value.message == (
        "invalid type 'long' for arg 'x-dead-letter-exchange' in queue 'q' in vhost '/'"
    )


def test_valid_queue_arguments(vhost):
    arguments = {
        "x-expires": 1,
        "x-message-ttl": 0,
        "x-max-length": 0,
        "x-max-length-bytes": 2**40,
        "x-max-priority": 255,
        "x-overflow": "reject-publish-dlx",
        "x-queue-mode": "lazy",
        "x-queue-type": "classic",
        "x-single-active-consumer": False,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": "dead",
        "x-unknown": object(),
    }
    assert declare_queue(vhost, "q", arguments=arguments).arguments is arguments


def test_queue_to_delete_checks(vhost):
    assert vhost.queue_to_delete("missing", if_unused=True, if_empty=True, owner=ME) is None
    q = declare_queue(vhost, "q")
    q.enqueue(message())
    with pytest.raises(PreconditionFailed, match=r"^queue 'q' in vhost '/' not empty$"):
        vhost.queue_to_delete("q", if_unused=False, if_empty=True, owner=ME)
    add_consumer(q, RecordingSink())
    with pytest.raises(PreconditionFailed, match=r"^queue 'q' in vhost '/' in use$"):
        vhost.queue_to_delete("q", if_unused=True, if_empty=False, owner=ME)
    assert vhost.queue_to_delete("q", if_unused=False, if_empty=False, owner=ME) is q


def test_remove_queue_unbinds_and_cancels_consumers(vhost):
    q = declare_queue(vhost, "q")
    vhost.bind("amq.topic", q, "a.#", {})
    vhost.bind("amq.fanout", q, "", {})
    sink = RecordingSink()
    add_consumer(q, sink, "c1")
    add_consumer(q, sink, "c2")
    vhost.remove_queue(q)
    assert "q" not in vhost.queues
    assert q.deleted
    assert sink.cancelled == ["c1", "c2"]
    assert q.consumers == []
    assert vhost.exchanges["amq.topic"].bindings == {}
    assert routed(vhost, "amq.topic", "a.b") == []
    vhost.remove_queue(q)  # a second removal is a no-op


def test_purge_queue(vhost):
    q = declare_queue(vhost, "q")
    q.enqueue(message())
    q.enqueue(message())
    assert vhost.purge_queue("q", ME) == 2
    with pytest.raises(NotFound):
        vhost.purge_queue("missing", ME)


def test_connection_closed_removes_only_its_exclusive_queues(vhost):
    declare_queue(vhost, "mine", exclusive=True)
    declare_queue(vhost, "theirs", owner=OTHER, exclusive=True)
    declare_queue(vhost, "shared")
    vhost.bind("amq.direct", vhost.queues["mine"], "k", {})
    vhost.connection_closed(ME)
    assert sorted(vhost.queues) == ["shared", "theirs"]
    assert routed(vhost, "amq.direct", "k") == []


def test_auto_delete_queue_goes_with_its_last_consumer(vhost):
    q = declare_queue(vhost, "q", auto_delete=True)
    vhost.consumer_removed(q)  # never had a consumer: stays
    assert "q" in vhost.queues
    sink = RecordingSink()
    c1, c2 = add_consumer(q, sink, "c1"), add_consumer(q, sink, "c2")
    q.remove_consumer(c1)
    vhost.consumer_removed(q)
    assert "q" in vhost.queues
    q.remove_consumer(c2)
    vhost.consumer_removed(q)
    assert "q" not in vhost.queues


def test_non_auto_delete_queue_outlives_its_consumers(vhost):
    q = declare_queue(vhost, "q")
    c = add_consumer(q, RecordingSink())
    q.remove_consumer(c)
    vhost.consumer_removed(q)
    assert "q" in vhost.queues


# -- bindings and routing -------------------------------------------------------------------


def test_bindings_on_the_default_exchange_are_refused(vhost):
    q = declare_queue(vhost, "q")
    for call in (
        lambda: vhost.bind("", q, "q", {}),
        lambda: vhost.unbind("", q, "q", {}),
        lambda: vhost.bindable_source(""),
    ):
        with pytest.raises(
            AccessRefused, match=r"^operation not permitted on the default exchange$"
        ):
            call()


def test_bind_to_missing_exchange(vhost):
    q = declare_queue(vhost, "q")
    with pytest.raises(NotFound, match=r"^no exchange 'nope' in vhost '/'$"):
        vhost.bind("nope", q, "k", {})


def test_bind_validates_headers_arguments(vhost):
    q = declare_queue(vhost, "q")
    with pytest.raises(PreconditionFailed, match=r"^Invalid x-match field value"):
        vhost.bind("amq.headers", q, "", {"x-match": "none"})
    assert vhost.exchanges["amq.headers"].bindings == {}


def test_unbind_of_missing_things_is_not_an_error(vhost):
    q = declare_queue(vhost, "q")
    vhost.unbind("amq.direct", q, "never-bound", {})
    vhost.unbind("no-such-exchange", q, "k", {})


def test_unbind_checks_exclusive_ownership(vhost):
    q = declare_queue(vhost, "q", exclusive=True)
    vhost.bind("amq.direct", q, "k", {})
    with pytest.raises(ResourceLocked):
        vhost.unbind("amq.direct", q, "k", {}, owner=OTHER)
    vhost.unbind("amq.direct", q, "k", {}, owner=ME)
    assert routed(vhost, "amq.direct", "k") == []


def test_unbind_matches_arguments(vhost):
    q = declare_queue(vhost, "q")
    vhost.bind("amq.direct", q, "k", {"a": 1})
    vhost.unbind("amq.direct", q, "k", {"a": 2})
    assert routed(vhost, "amq.direct", "k") == ["q"]
    vhost.unbind("amq.direct", q, "k", {"a": 1})
    assert routed(vhost, "amq.direct", "k") == []


def test_default_exchange_routes_by_queue_name(vhost):
    declare_queue(vhost, "orders")
    assert routed(vhost, "", "orders") == ["orders"]
    assert routed(vhost, "", "missing") == []


def test_route_deduplicates_queues(vhost):
    q = declare_queue(vhost, "q")
    vhost.bind("amq.topic", q, "a.*", {})
    vhost.bind("amq.topic", q, "#", {})
    vhost.bind("amq.topic", q, "a.b", {"x": 1})
    assert routed(vhost, "amq.topic", "a.b") == ["q"]


def test_exchange_to_exchange_routing_deduplicates(vhost):
    declare_exchange(vhost, "x1", "topic")
    declare_exchange(vhost, "x2", "fanout")
    declare_exchange(vhost, "x3", "direct")
    q, other = declare_queue(vhost, "q"), declare_queue(vhost, "other")
    vhost.bind("x1", q, "#", {})  # direct
    vhost.bind("x1", vhost.exchange("x2"), "a.*", {})  # via x2
    vhost.bind("x1", vhost.exchange("x3"), "#", {})  # via x3
    vhost.bind("x2", q, "", {})
    vhost.bind("x3", q, "a.b", {})
    vhost.bind("x3", other, "a.b", {})
    queues = vhost.route(vhost.exchange("x1"), "a.b", message())
    assert len(queues) == 2
    assert {x.name for x in queues} == {"q", "other"}
    assert routed(vhost, "x1", "z") == ["q"]


def test_exchange_cycles_terminate(vhost):
    declare_exchange(vhost, "x1", "fanout")
    declare_exchange(vhost, "x2", "fanout")
    q1, q2 = declare_queue(vhost, "q1"), declare_queue(vhost, "q2")
    vhost.bind("x1", vhost.exchange("x2"), "", {})
    vhost.bind("x2", vhost.exchange("x1"), "", {})
    vhost.bind("x2", vhost.exchange("x2"), "", {})
    vhost.bind("x1", q1, "", {})
    vhost.bind("x2", q2, "", {})
    assert routed(vhost, "x1", "k") == ["q1", "q2"]
    assert routed(vhost, "x2", "k") == ["q1", "q2"]


def test_headers_exchange_in_a_chain(vhost):
    declare_exchange(vhost, "h", "headers")
    q = declare_queue(vhost, "q")
    vhost.bind("amq.fanout", vhost.exchange("h"), "", {})
    vhost.bind("h", q, "", {"x-match": "any", "kind": "pdf"})
    assert routed(vhost, "amq.fanout", "", message({"kind": "pdf"})) == ["q"]
    assert routed(vhost, "amq.fanout", "", message({"kind": "txt"})) == []


def test_sender_keys_route_through_every_exchange_on_the_way(vhost):
    declare_exchange(vhost, "src", "direct")
    declare_exchange(vhost, "dst", "direct")
    q_k, q_cc = declare_queue(vhost, "k"), declare_queue(vhost, "cc")
    vhost.bind("src", vhost.exchange("dst"), "cc", {})
    vhost.bind("dst", q_k, "k", {})
    msg = message()
    msg.sender_keys = ("cc",)
    assert routed(vhost, "src", "k", msg) == ["k"]  # cc leads to dst, k picks the queue
    vhost.bind("src", q_cc, "cc", {})
    assert routed(vhost, "src", "k", msg) == ["cc", "k"]
    assert routed(vhost, "", "k", msg) == ["cc", "k"]  # the default exchange: by name


def test_alternate_exchange_only_when_no_key_routes(vhost):
    declare_exchange(vhost, "ae", "fanout")
    declare_exchange(vhost, "x", "direct", arguments={"alternate-exchange": "ae"})
    vhost.bind("ae", declare_queue(vhost, "caught"), "", {})
    vhost.bind("x", declare_queue(vhost, "q"), "k", {})
    with_unroutable_cc = message()
    with_unroutable_cc.sender_keys = ("none",)
    assert routed(vhost, "x", "k", with_unroutable_cc) == ["q"]
    assert routed(vhost, "x", "none", with_unroutable_cc) == ["caught"]


def test_alternate_exchanges_chain_and_cycles_end(vhost):
    declare_exchange(vhost, "x", "direct", arguments={"alternate-exchange": "y"})
    declare_exchange(vhost, "y", "direct", arguments={"alternate-exchange": "x"})
    vhost.bind("y", declare_queue(vhost, "q"), "k", {})
    assert routed(vhost, "x", "k") == ["q"]
    assert routed(vhost, "x", "other") == []


@pytest.mark.parametrize(
    ("value", "type_name"),
    [(5, "long"), (None, "void"), (b"ae", "binary"), ({"a": 1}, "table")],
)
def test_alternate_exchange_must_be_a_longstr(vhost, value, type_name):
    with pytest.raises(PreconditionFailed) as info:
        declare_exchange(vhost, "x", arguments={"alternate-exchange": value})
    assert info.value.message == (
        f"invalid type '{type_name}' for arg 'alternate-exchange' in exchange 'x' in vhost '/'"
    )
    assert "x" not in vhost.exchanges


def test_alternate_exchange_binary_equals_longstr_on_redeclare(vhost):
    declare_exchange(vhost, "x", arguments={"alternate-exchange": "ae"})
    declare_exchange(vhost, "x", arguments={"alternate-exchange": b"ae"})
    with pytest.raises(PreconditionFailed) as info:
        declare_exchange(vhost, "x", arguments={"alternate-exchange": None})
    assert info.value.message.endswith("received none but current is 'ae'")


def test_exchange_without_bindings_routes_nowhere(vhost):
    declare_exchange(vhost, "x", "fanout")
    assert routed(vhost, "x", "k") == []


def test_auto_delete_exchange_goes_with_its_last_binding(vhost):
    declare_exchange(vhost, "ad", "direct", auto_delete=True)
    q = declare_queue(vhost, "q")
    vhost.bind("ad", q, "k1", {})
    vhost.bind("ad", q, "k2", {})
    vhost.unbind("ad", q, "k1", {})
    assert "ad" in vhost.exchanges
    vhost.unbind("ad", q, "k2", {})
    assert "ad" not in vhost.exchanges


def test_auto_delete_exchange_without_bindings_stays(vhost):
    declare_exchange(vhost, "ad", "fanout", auto_delete=True)
    assert "ad" in vhost.exchanges


def test_auto_delete_exchange_goes_when_its_queue_is_deleted(vhost):
    declare_exchange(vhost, "ad", "fanout", auto_delete=True)
    q = declare_queue(vhost, "q")
    vhost.bind("ad", q, "", {})
    vhost.remove_queue(q)
    assert "ad" not in vhost.exchanges


def test_auto_delete_cascades_through_exchange_chains(vhost):
    declare_exchange(vhost, "upstream", "fanout", auto_delete=True)
    declare_exchange(vhost, "middle", "fanout")
    vhost.bind("upstream", vhost.exchange("middle"), "", {})
    vhost.delete_exchange("middle", if_unused=False)
    assert "upstream" not in vhost.exchanges


# -- broker ---------------------------------------------------------------------------------


def test_broker_state_vhosts():
    state = BrokerState(BrokerConfig())
    default = state.vhost(BrokerConfig().default_vhost)
    assert isinstance(default, VirtualHost)
    assert state.add_vhost(default.name) is default
    assert state.add_vhost("other").name == "other"
    with pytest.raises(NotAllowed, match=r"^vhost missing not found$"):
        state.vhost("missing")


def test_deleting_a_vhost_removes_its_queues_then_its_exchanges():
    state = BrokerState(BrokerConfig())
    doomed = state.add_vhost("doomed")
    declare_exchange(doomed, "events", "fanout")
    queue = declare_queue(doomed, "orders")
    doomed.bind("events", queue, "", {})
    sink = RecordingSink()
    add_consumer(queue, sink, "ctag")
    queue.enqueue(message())
    assert state.delete_vhost("doomed") is doomed
    assert sink.cancelled == ["ctag"]
    assert queue.deleted and queue.message_count == 0
    assert doomed.queues == {} and doomed.exchanges == {}
    assert list(state.vhosts) == ["/"]
    with pytest.raises(NotAllowed, match=r"^vhost doomed not found$"):
        state.vhost("doomed")
    with pytest.raises(LookupError, match=r"^no vhost 'doomed'$"):
        state.delete_vhost("doomed")


def test_deleting_a_vhost_leaves_the_others_alone():
    state = BrokerState(BrokerConfig())
    declare_queue(state.vhost("/"), "orders")
    declare_queue(state.add_vhost("doomed"), "orders")
    state.delete_vhost("doomed")
    assert set(state.vhost("/").queues) == {"orders"}
    assert state.add_vhost("doomed").queues == {}


# -- queues read back from the store ------------------------------------------------------------


def test_a_restored_queue_is_durable_shared_and_in_the_vhost():
    store, clock = RecordingStore(), ManualClock()
    vhost = VirtualHost("/", store, clock)
    queue = vhost.restore_queue("orders", auto_delete=True, arguments={"x-max-length": 5})
    assert vhost.queue("orders") is queue
    assert (queue.durable, queue.exclusive, queue.auto_delete) == (True, False, True)
    assert queue.arguments == {"x-max-length": 5}
    assert queue.store is store and queue.clock is clock
    assert store.declared == []  # read back from the store: not recorded again
    declare_queue(vhost, "fresh", durable=True)
    assert store.declared == ["fresh"]


def test_a_restored_queue_gets_the_class_of_its_type():
    vhost = VirtualHost("/")
    quorum = vhost.restore_queue("q", auto_delete=False, arguments={"x-queue-type": "quorum"})
    classic = vhost.restore_queue("c", auto_delete=False, arguments={})
    assert type(quorum) is QuorumQueue and type(classic) is Queue


def test_a_restored_queue_dead_letters_through_its_vhost():
    clock = ManualClock()
    vhost = VirtualHost("/", clock=clock)
    declare_exchange(vhost, "dlx", "fanout")
    dead = declare_queue(vhost, "dead")
    vhost.bind("dlx", dead, "", {})
    queue = vhost.restore_queue(
        "q", auto_delete=False, arguments={"x-dead-letter-exchange": "dlx", "x-message-ttl": 100}
    )
    queue.enqueue(message())
    clock.advance(0.2)
    assert (queue.message_count, dead.message_count) == (0, 1)


def test_a_restored_queue_expires_out_of_its_vhost():
    clock = ManualClock()
    vhost = VirtualHost("/", clock=clock)
    queue = vhost.restore_queue("q", auto_delete=False, arguments={"x-expires": 1000})
    clock.advance(0.5)
    assert "q" in vhost.queues
    clock.advance(0.6)
    assert "q" not in vhost.queues and queue.deleted
