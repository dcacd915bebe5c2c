"""declaration_checks: RabbitMQ's declare/delete checks, their texts and their order."""

from __future__ import annotations

import re

import pytest

from amqpbroker.core.declaration_checks import (
    check_alternate_argument,
    check_deletable_exchange,
    check_exchange_equivalence,
    check_not_default_exchange,
    check_queue_equivalence,
    check_quorum_properties,
    check_unreserved_name,
    server_generated_name,
    unknown_type_text,
    where,
)
from amqpbroker.core.exchanges import DirectExchange
from amqpbroker.core.queue import Queue
from amqpbroker.errors import AccessRefused, PreconditionFailed

HERE = where("exchange", "x", "/")


def test_where_names_the_object_as_the_texts_do():
    assert where("queue", "q", "v") == "queue 'q' in vhost 'v'"


def test_unknown_type_text():
    assert unknown_type_text("") == "invalid exchange type ''"
    assert unknown_type_text("fan") == "unknown exchange type 'fan'"


def test_server_generated_names_are_unique_and_url_safe():
    names = {server_generated_name("amq.gen-") for _ in range(100)}
    assert len(names) == 100
    assert all(re.fullmatch(r"amq\.gen-[A-Za-z0-9_-]{22}", name) for name in names)


def test_names_clients_may_not_use():
    check_not_default_exchange("x")
    check_unreserved_name("queue", "amqx")
    with pytest.raises(AccessRefused, match=r"^operation not permitted on the default exchange$"):
        check_not_default_exchange("")
    with pytest.raises(AccessRefused, match=r"^queue name 'amq.q' contains reserved prefix"):
        check_unreserved_name("queue", "amq.q")
    with pytest.raises(AccessRefused, match=r"^operation not permitted on the default"):
        check_deletable_exchange("", "/")
    with pytest.raises(AccessRefused, match=r"^deletion of system exchange 'amq.x' in vhost 'v'"):
        check_deletable_exchange("amq.x", "v")


def test_exchange_equivalence_reports_type_then_the_first_flag_then_arguments():
    exchange = DirectExchange("x", "/", durable=True, arguments={"alternate-exchange": "ae"})
    same = {"durable": True, "auto_delete": False, "internal": False}
    check_exchange_equivalence(
        exchange, "direct", **same, arguments={"alternate-exchange": "ae"}, where=HERE
    )
    with pytest.raises(
        PreconditionFailed, match=r"arg 'type' .* received 'topic' but current is 'direct'"
    ):
        check_exchange_equivalence(exchange, "topic", False, True, True, {}, HERE)
    with pytest.raises(PreconditionFailed) as error:
        check_exchange_equivalence(exchange, "direct", False, False, True, {}, HERE)
    assert error.value.message == (
        "inequivalent arg 'durable' for exchange 'x' in vhost '/': "
        "received 'false' but current is 'true'"
    )
    with pytest.raises(
        PreconditionFailed, match=r"arg 'internal' .* received 'true' but current is 'false'"
    ):
        check_exchange_equivalence(exchange, "direct", True, False, True, {}, HERE)
    with pytest.raises(PreconditionFailed, match="inequivalent arg 'alternate-exchange'"):
        check_exchange_equivalence(exchange, "direct", **same, arguments={}, where=HERE)


def test_queue_equivalence_reports_the_first_flag_then_arguments():
    queue = Queue(
        "q",
        "/",
        durable=True,
        exclusive_owner=None,
        auto_delete=False,
        arguments={"x-max-length": 1},
    )
    here = where("queue", "q", "/")
    check_queue_equivalence(queue, True, False, {"x-max-length": 1}, here)
    with pytest.raises(PreconditionFailed, match=r"arg 'durable' .* received 'false'"):
        check_queue_equivalence(queue, False, True, {}, here)
    with pytest.raises(PreconditionFailed, match=r"arg 'auto_delete' .* received 'true'"):
        check_queue_equivalence(queue, True, True, {}, here)
    with pytest.raises(PreconditionFailed, match="inequivalent arg 'x-max-length'"):
        check_queue_equivalence(queue, True, False, {"x-max-length": 2}, here)


@pytest.mark.parametrize(
    ("durable", "exclusive", "auto_delete", "reported"),
    [
        (False, True, True, "auto-delete"),
        (False, True, False, "exclusive-owner"),
        (False, False, False, "non-durable"),
        (True, False, False, None),
    ],
)
def test_quorum_properties_in_rabbitmqs_order(durable, exclusive, auto_delete, reported):
    if reported is None:
        check_quorum_properties("q", durable, exclusive, auto_delete)
        return
    with pytest.raises(PreconditionFailed) as error:
        check_quorum_properties("queue 'q' in vhost '/'", durable, exclusive, auto_delete)
    assert error.value.message == f"invalid property '{reported}' for queue 'q' in vhost '/'"


def test_alternate_exchange_argument_must_be_a_longstr():
    check_alternate_argument({"alternate-exchange": "ae"}, HERE)
    check_alternate_argument({}, HERE)
    with pytest.raises(PreconditionFailed) as error:
        check_alternate_argument({"alternate-exchange": 5}, HERE)
    assert error.value.message == (
        "invalid type 'long' for arg 'alternate-exchange' in exchange 'x' in vhost '/'"
    )
