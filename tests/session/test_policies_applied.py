"""Policies and operator policies take effect on queues and exchanges (RabbitMQ 3.10.8's
precedence against x-arguments, per key and queue type; live changes), on virtual time."""

from __future__ import annotations

from typing import Any

import pytest
from sessionutil import deaths, declare, fanout, got

QUORUM = {"x-queue-type": "quorum"}


def quorum(ch, name: str, **arguments: Any) -> str:
    return str(ch.declare(name, arguments={**QUORUM, **arguments}, durable=True).queue)


def settings_of(broker, name: str, vhost: str = "/"):
    return broker.state.vhosts[vhost].queues[name].settings


def publish(ch, queue: str, *bodies: str) -> None:
    for body in bodies:
        ch.publish(body.encode(), queue)


# -- precedence, key by key ----------------------------------------------------------------------

SMALLER_WINS = [
    ("message-ttl", "x-message-ttl", "message_ttl"),
    ("max-length", "x-max-length", "max_length"),
    ("max-length-bytes", "x-max-length-bytes", "max_bytes"),
]


@pytest.mark.parametrize(("key", "argument", "field"), SMALLER_WINS)
@pytest.mark.parametrize("kind", ["classic", "quorum"])
def test_the_smaller_of_argument_and_policy_wins(broker, ch, key, argument, field, kind):
    make = quorum if kind == "quorum" else declare
    make(ch, "low", **{argument: 10})
    make(ch, "high", **{argument: 1000})
    make(ch, "bare")
    broker.set_policy("p", ".*", {key: 100})
    assert getattr(settings_of(broker, "low"), field) == 10
    assert getattr(settings_of(broker, "high"), field) == 100
    assert getattr(settings_of(broker, "bare"), field) == 100


def test_expires_the_smaller_wins_on_classic_the_policy_on_quorum(broker, ch):
    declare(ch, "classic", **{"x-expires": 5000})
    quorum(ch, "quorum", **{"x-expires": 5000})
    broker.set_policy("p", ".*", {"expires": 60000})
    assert settings_of(broker, "classic").expires == 5000
    assert settings_of(broker, "quorum").expires == 60000


def test_overflow_the_argument_wins_on_classic_the_policy_on_quorum(broker, ch):
    declare(ch, "classic", **{"x-overflow": "reject-publish"})
    declare(ch, "classic-bare")
    quorum(ch, "quorum", **{"x-overflow": "reject-publish"})
    broker.set_policy("p", ".*", {"overflow": "drop-head"})
    assert settings_of(broker, "classic").overflow == "reject-publish"
    assert settings_of(broker, "classic-bare").overflow == "drop-head"
    assert settings_of(broker, "quorum").overflow == "drop-head"


def test_dead_lettering_resolves_key_by_key_the_argument_winning(broker, ch):
    declare(ch, "q", **{"x-dead-letter-exchange": "mine"})
    broker.set_policy("p", ".*", {"dead-letter-exchange": "theirs", "dead-letter-routing-key": "k"})
    settings = settings_of(broker, "q")
    assert (settings.dead_letter_exchange, settings.dead_letter_routing_key) == ("mine", "k")


def test_delivery_limit_the_smaller_wins_on_quorum(broker, ch):
    quorum(ch, "low", **{"x-delivery-limit": 1})
    quorum(ch, "high", **{"x-delivery-limit": 50})
    broker.set_policy("p", ".*", {"delivery-limit": 5})
    assert settings_of(broker, "low").delivery_limit == 1
    assert settings_of(broker, "high").delivery_limit == 5


def test_an_operator_policy_caps_the_policy_and_the_argument(broker, ch):
    declare(ch, "q", **{"x-message-ttl": 600000})
    broker.set_policy("p", ".*", {"message-ttl": 5000, "max-length": 10})
    broker.set_policy("op", ".*", {"message-ttl": 1000}, operator=True)
    settings = settings_of(broker, "q")
    assert (settings.message_ttl, settings.max_length) == (1000, 10)


def test_a_policy_with_a_key_the_queue_type_lacks_is_skipped_for_the_next(broker, ch):
    declare(ch, "q")
    broker.set_policy("low", "^q$", {"max-length": 7}, priority=1)
    broker.set_policy("high", "^q$", {"max-length": 3, "delivery-limit": 2}, priority=9)
    assert settings_of(broker, "q").max_length == 7


def test_the_highest_priority_policy_alone_applies(broker, ch):
    declare(ch, "q")
    broker.set_policy("low", "q", {"max-length": 7, "message-ttl": 100}, priority=1)
    broker.set_policy("high", "q", {"max-length": 3}, priority=2)
    settings = settings_of(broker, "q")
    assert (settings.max_length, settings.message_ttl) == (3, None)


def test_apply_to_exchanges_leaves_queues_alone(broker, ch):
    declare(ch, "q")
    broker.set_policy("p", ".*", {"max-length": 1}, apply_to="exchanges")
    assert settings_of(broker, "q").max_length is None


def test_queue_mode_and_ha_keys_are_accepted_with_no_effect(broker, ch):
    declare(ch, "q")
    before = settings_of(broker, "q")
    broker.set_policy("p", ".*", {"queue-mode": "lazy", "ha-mode": "all"})
    assert settings_of(broker, "q") == before


# -- live changes ---------------------------------------------------------------------------------


def test_a_queue_declared_after_the_policy_gets_it(broker, ch):
    broker.set_policy("p", "^limited", {"max-length": 2})
    declare(ch, "limited")
    publish(ch, "limited", "a", "b", "c")
    assert ch.drain("limited") == [b"b", b"c"]


def test_lowering_max_length_drops_the_surplus_oldest_first_as_maxlen(broker, ch):
    dead = declare(ch, "dead")
    fanout(ch, "dlx", dead)
    declare(ch, "q", **{"x-dead-letter-exchange": "dlx"})
    publish(ch, "q", *"abcde")
    broker.set_policy("p", "^q$", {"max-length": 2})
    assert ch.drain("q") == [b"d", b"e"]
    dropped = [got(ch, dead) for _ in range(3)]
    assert [m.body for m in dropped] == [b"a", b"b", b"c"]
    assert deaths(dropped[0]) == [("q", "maxlen", 1)]


def test_a_new_limit_drops_even_when_the_same_policy_sets_reject_publish(broker, ch):
    declare(ch, "q")
    publish(ch, "q", *"abc")
    broker.set_policy("p", "^q$", {"max-length": 1, "overflow": "reject-publish"})
    assert ch.drain("q") == [b"c"]


def test_with_a_reject_publish_argument_the_surplus_stays(broker, ch):
    declare(ch, "q", **{"x-overflow": "reject-publish"})
    publish(ch, "q", *"abc")
    broker.set_policy("p", "^q$", {"max-length": 1})
    assert ch.message_count("q") == 3


def test_a_new_ttl_leaves_queued_messages_alone(broker, ch):
    declare(ch, "q")
    publish(ch, "q", "before")
    broker.set_policy("p", "^q$", {"message-ttl": 1000})
    publish(ch, "q", "after")
    broker.advance(2)
    assert ch.drain("q") == [b"before"]


def test_clearing_the_policy_restores_the_arguments_behaviour(broker, ch):
    declare(ch, "q", **{"x-max-length": 5})
    broker.set_policy("p", "^q$", {"max-length": 1})
    assert settings_of(broker, "q").max_length == 1
    broker.clear_policy("p")
    publish(ch, "q", *"abcdef")
    assert ch.drain("q") == [b"b", b"c", b"d", b"e", b"f"]


def test_expires_by_policy_deletes_an_unused_queue(broker, ch):
    ch.declare("idle")
    broker.set_policy("p", "^idle$", {"expires": 1000})
    broker.advance(0.5)
    assert "idle" in broker.state.vhosts["/"].queues
    broker.advance(0.6)
    assert "idle" not in broker.state.vhosts["/"].queues


def test_quorum_delivery_limit_by_policy_dead_letters_a_returned_message(broker, ch):
    dead = declare(ch, "dead")
    fanout(ch, "dlx", dead)
    quorum(ch, "work")
    broker.set_policy("p", "^work$", {"delivery-limit": 0, "dead-letter-exchange": "dlx"})
    publish(ch, "work", "m")
    message = got(ch, "work", no_ack=False)
    ch.nack(message.method.delivery_tag, requeue=True)
    assert got(ch, dead).body == b"m"


# -- exchanges ------------------------------------------------------------------------------------


def test_alternate_exchange_by_policy_and_the_exchanges_own_argument_wins(broker, ch):
    for name in ("ae-policy", "ae-own"):
        declare(ch, name)
        fanout(ch, name, name)
    ch.exchange("plain", "direct", auto_delete=True)
    ch.exchange("own", "direct", auto_delete=True, arguments={"alternate-exchange": "ae-own"})
    broker.set_policy("p", "^(plain|own)$", {"alternate-exchange": "ae-policy"})
    ch.publish(b"1", "nowhere", exchange="plain")
    ch.publish(b"2", "nowhere", exchange="own")
    assert (ch.drain("ae-policy"), ch.drain("ae-own")) == ([b"1"], [b"2"])
    broker.clear_policy("p")
    ch.publish(b"3", "nowhere", exchange="plain")
    assert ch.drain("ae-policy") == []


# -- retry with delay, configured by policies only -----------------------------------------------


def test_retry_with_delay_topology_configured_only_by_policies(broker, ch):
    """work → (reject) → retry exchange → delay queue (TTL by policy) → back to work."""
    ch.declare("work")
    ch.declare("work.delay")
    fanout(ch, "work.retry", "work.delay")
    broker.set_policy("work", "^work$", {"dead-letter-exchange": "work.retry"})
    broker.set_policy(
        "delay",
        r"^work\.delay$",
        {"message-ttl": 5000, "dead-letter-exchange": "", "dead-letter-routing-key": "work"},
    )
    publish(ch, "work", "job")
    first = got(ch, "work", no_ack=False)
    ch.reject(first.method.delivery_tag, requeue=False)
    assert ch.message_count("work") == 0 and ch.message_count("work.delay") == 1
    broker.advance(4.9)
    assert ch.message_count("work") == 0
    broker.advance(0.2)
    again = got(ch, "work")
    assert again.body == b"job"
    assert deaths(again) == [("work.delay", "expired", 1), ("work", "rejected", 1)]


def test_lowering_max_length_on_a_quorum_queue_drops_the_oldest(broker, ch):
    quorum(ch, "qq")
    publish(ch, "qq", *"abcde")
    broker.set_policy("p", "^qq$", {"max-length": 2})
    assert ch.drain("qq") == [b"d", b"e"]


def test_an_operator_policys_expires_wins_on_quorum_even_when_larger(broker, ch):
    quorum(ch, "qq", **{"x-expires": 5000})
    broker.set_policy("op", ".*", {"expires": 90000}, operator=True)
    assert settings_of(broker, "qq").expires == 90000


def test_a_policy_applies_only_in_its_own_vhost(broker, ch):
    broker.add_vhost("other")
    other = broker.connect(vhost="other").channel()
    declare(ch, "q")
    declare(other, "q")
    broker.set_policy("p", ".*", {"max-length": 1}, vhost="other")
    assert settings_of(broker, "q").max_length is None
    assert settings_of(broker, "q", vhost="other").max_length == 1


def test_reject_publish_dlx_by_policy_dead_letters_the_refused_message(broker, ch):
    dead = declare(ch, "dead")
    fanout(ch, "dlx", dead)
    declare(ch, "q")
    policy = {"max-length": 1, "overflow": "reject-publish-dlx", "dead-letter-exchange": "dlx"}
    broker.set_policy("p", "^q$", policy)
    publish(ch, "q", "kept", "refused")
    assert ch.drain("q") == [b"kept"]
    assert deaths(got(ch, dead)) == [("q", "maxlen", 1)]


def test_a_changed_policy_replaces_the_old_definition_entirely(broker, ch):
    declare(ch, "q")
    broker.set_policy("p", "^q$", {"max-length": 1, "message-ttl": 100})
    broker.set_policy("p", "^q$", {"message-ttl": 200})
    settings = settings_of(broker, "q")
    assert (settings.max_length, settings.message_ttl) == (None, 200)
