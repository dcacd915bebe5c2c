"""``core.queue_policy``: RabbitMQ 3.10.8's table of which wins, the x-argument or the
effective policy, key by key, for classic and quorum queues (research file §2, §9)."""

from __future__ import annotations

from typing import Any

import pytest

from amqpbroker.core.queue_policy import alternate_under, queue_settings_under
from amqpbroker.core.queue_settings import QueueSettings

REJECT, DLRK = "reject-publish", "dead_letter_routing_key"
# (policy key, its value, x-argument, its value, settings field, classic result, quorum result)
TABLE = [
    ("message-ttl", 100, "x-message-ttl", 50, "message_ttl", 50, 50),
    ("message-ttl", 100, "x-message-ttl", 500, "message_ttl", 100, 100),
    ("max-length", 3, "x-max-length", 9, "max_length", 3, 3),
    ("max-length-bytes", 90, "x-max-length-bytes", 30, "max_bytes", 30, 30),
    ("expires", 9000, "x-expires", 1000, "expires", 1000, 9000),
    ("expires", 500, "x-expires", 1000, "expires", 500, 500),
    ("overflow", "drop-head", "x-overflow", REJECT, "overflow", REJECT, "drop-head"),
    ("dead-letter-exchange", "p", "x-dead-letter-exchange", "a", "dead_letter_exchange", "a", "a"),
    ("dead-letter-exchange", "p", "x-dead-letter-exchange", "", "dead_letter_exchange", "", ""),
    ("dead-letter-routing-key", "p", "x-dead-letter-routing-key", "a", DLRK, "a", "a"),
    ("delivery-limit", 5, "x-delivery-limit", 2, "delivery_limit", 2, 2),
    ("delivery-limit", 5, "x-delivery-limit", 20, "delivery_limit", 20, 5),
]  # fmt: skip


def under(arguments: dict[str, Any], definition: dict[str, Any], quorum: bool) -> QueueSettings:
    own = QueueSettings.parse(arguments)
    return queue_settings_under(own, arguments, definition, quorum=quorum)


@pytest.mark.parametrize(("key", "value", "argument", "own", "field", "classic", "quorum"), TABLE)
def test_each_key_against_its_argument(key, value, argument, own, field, classic, quorum):
    # (delivery-limit on a classic queue: the key is skipped earlier, by ``select``)
    assert getattr(under({argument: own}, {key: value}, True), field) == quorum
    if key != "delivery-limit":
        assert getattr(under({argument: own}, {key: value}, False), field) == classic


@pytest.mark.parametrize("quorum", [False, True])
def test_without_an_argument_the_policy_applies(quorum):
    definition = {"message-ttl": 7, "expires": 8, "max-length": 9, "dead-letter-exchange": "d"}
    settings = under({}, definition, quorum)
    assert (settings.message_ttl, settings.expires, settings.max_length) == (7, 8, 9)
    assert settings.dead_letter_exchange == "d"


def test_no_policy_leaves_the_arguments_settings_and_fixed_ones_stay():
    arguments = {"x-max-priority": 5, "x-single-active-consumer": True, "x-max-length": 3}
    own = QueueSettings.parse(arguments)
    assert queue_settings_under(own, arguments, {}, quorum=False) is own
    changed = queue_settings_under(own, arguments, {"max-length": 1}, quorum=False)
    assert (changed.max_priority, changed.single_active, changed.limited) == (5, True, True)


def test_the_exchanges_own_alternate_exchange_wins():
    assert alternate_under({"alternate-exchange": "own"}, {"alternate-exchange": "p"}) == "own"
    assert alternate_under({}, {"alternate-exchange": "p"}) == "p"
    assert alternate_under({}, {}) is None
