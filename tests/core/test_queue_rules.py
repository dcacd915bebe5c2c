"""The queue's rules, instantly, with a ManualClock and a recording sink: TTL (queue and
message, TTL 0), x-expires, length limits with each overflow mode, priorities, dead-letter
hand-off reasons, paging through a queue, and settings applied again on a live queue."""

from __future__ import annotations

from typing import Any

import pytest
from fakes import (
    DeadLetters,
    MemoryStore,
    Sink,
    make_queue,
    message,
    publish,
    ready_bodies,
    subscribe,
)

from amqpbroker.core.ports import ManualClock
from amqpbroker.core.queue import Queue
from amqpbroker.core.queue_settings import QueueSettings
from amqpbroker.core.quorum import QuorumQueue
from amqpbroker.core.vhost import VirtualHost


def declare(vhost: VirtualHost, name: str, arguments: dict[str, Any] | None = None) -> Queue:
    """A plain queue, as a client's queue.declare makes it."""
    return vhost.declare_queue(
        name,
        passive=False,
        durable=False,
        exclusive=False,
        auto_delete=False,
        arguments=arguments or {},
        owner=None,
    )


def queue_with(clock: ManualClock | None = None, **arguments: Any) -> tuple[Queue, DeadLetters]:
    queue = make_queue(clock or ManualClock(), **arguments)
    return queue, DeadLetters(queue)


# -- TTL ----------------------------------------------------------------------------------------


def test_queue_ttl_expires_the_head_when_its_time_comes() -> None:
    clock = ManualClock()
    queue, dead = queue_with(clock, **{"x-message-ttl": 1000})
    publish(queue, "a")
    clock.advance(0.5)
    publish(queue, "b")
    clock.advance(0.5)
    assert dead == [(b"a", "expired")] and ready_bodies(queue) == [b"b"]
    clock.advance(0.5)
    assert dead[-1] == (b"b", "expired") and queue.message_count == 0


def test_message_ttl_is_the_expiration_property() -> None:
    clock = ManualClock()
    queue, dead = queue_with(clock)
    queue.enqueue(message("short", ttl=100))
    queue.enqueue(message("forever"))
    clock.advance(0.1)
    assert dead == [(b"short", "expired")] and ready_bodies(queue) == [b"forever"]


@pytest.mark.parametrize(
    ("queue_ttl", "message_ttl", "expires"), [(1000, 200, 0.2), (200, 1000, 0.2)]
)
def test_the_lower_ttl_wins(queue_ttl: int, message_ttl: int, expires: float) -> None:
    clock = ManualClock()
    queue, dead = queue_with(clock, **{"x-message-ttl": queue_ttl})
    queue.enqueue(message("m", ttl=message_ttl))
    clock.advance(expires - 0.001)
    assert dead == []
    clock.advance(0.001)
    assert dead == [(b"m", "expired")]


def test_an_expired_message_behind_the_head_waits_for_the_head() -> None:
    """As in RabbitMQ: only the head is checked."""
    clock = ManualClock()
    queue, dead = queue_with(clock)
    queue.enqueue(message("long", ttl=10_000))
    queue.enqueue(message("short", ttl=100))
    clock.advance(1)
    assert dead == [] and queue.message_count == 2
    assert queue.get().message.body == b"long"  # the short one, now at the head, goes
    assert dead == [(b"short", "expired")] and queue.message_count == 0


def test_ttl_zero_goes_to_a_consumer_that_can_take_it() -> None:
    queue, dead = queue_with(**{"x-message-ttl": 0})
    sink = Sink()
    subscribe(queue, sink, "c")
    publish(queue, "now")
    assert sink.bodies() == [b"now"] and dead == []


def test_ttl_zero_without_a_consumer_dead_letters_at_once() -> None:
    queue, dead = queue_with(**{"x-message-ttl": 0})
    subscribe(queue, Sink(capacity=False), "busy")
    assert publish(queue, "never") == [True]
    assert dead == [(b"never", "expired")] and queue.message_count == 0


def test_ttl_zero_behind_waiting_messages_waits_its_turn_and_expires() -> None:
    clock = ManualClock()
    queue, dead = queue_with(clock)
    publish(queue, "first")
    queue.enqueue(message("zero", ttl=0))
    assert ready_bodies(queue) == [b"first", b"zero"]
    queue.get()
    assert dead == [(b"zero", "expired")]


def test_expired_messages_are_not_delivered() -> None:
    clock = ManualClock()
    queue, dead = queue_with(clock, **{"x-message-ttl": 100})
    sink = Sink(capacity=False)
    subscribe(queue, sink, "c")
    publish(queue, "a", "b")
    clock.advance(0.2)
    sink.capacity = True
    queue.dispatch()
    assert sink.delivered == [] and dead == [(b"a", "expired"), (b"b", "expired")]


# -- x-expires ----------------------------------------------------------------------------------


def expiring_queue(clock: ManualClock, ms: int = 1000) -> tuple[Queue, list[str]]:
    queue = make_queue(clock, **{"x-expires": ms})
    gone: list[str] = []
    queue.on_expired = lambda q: gone.append(q.name)
    return queue, gone


def test_an_unused_queue_expires() -> None:
    clock = ManualClock()
    _, gone = expiring_queue(clock)
    clock.advance(0.999)
    assert gone == []
    clock.advance(0.001)
    assert gone == ["q"]


def test_use_postpones_expiry() -> None:
    clock = ManualClock()
    queue, gone = expiring_queue(clock)
    clock.advance(0.6)
    queue.get()  # basic.get is use
    clock.advance(0.6)
    assert gone == []
    clock.advance(0.4)
    assert gone == ["q"]


def test_a_queue_with_consumers_does_not_expire_until_they_leave() -> None:
    clock = ManualClock()
    queue, gone = expiring_queue(clock)
    consumer = subscribe(queue, Sink(), "c")
    clock.advance(5)
    assert gone == []
    queue.remove_consumer(consumer)
    clock.advance(0.999)
    assert gone == []
    clock.advance(0.001)
    assert gone == ["q"]


def test_a_deleted_queue_does_not_expire() -> None:
    clock = ManualClock()
    queue, gone = expiring_queue(clock)
    queue.deleted = True
    clock.advance(2)
    assert gone == []


# -- length limits ------------------------------------------------------------------------------


def test_drop_head_drops_the_oldest_as_maxlen() -> None:
    queue, dead = queue_with(**{"x-max-length": 2})
    assert publish(queue, "a", "b", "c") == [True, True, True]
    assert ready_bodies(queue) == [b"b", b"c"] and dead == [(b"a", "maxlen")]


def test_max_length_bytes_counts_bodies() -> None:
    queue, dead = queue_with(**{"x-max-length-bytes": 5})
    publish(queue, "aa", "bb", "cc")
    assert ready_bodies(queue) == [b"bb", b"cc"] and dead == [(b"aa", "maxlen")]


def test_reject_publish_refuses_without_dead_lettering() -> None:
    queue, dead = queue_with(**{"x-max-length": 1, "x-overflow": "reject-publish"})
    assert publish(queue, "a", "b") == [True, False]
    assert ready_bodies(queue) == [b"a"] and dead == []


def test_reject_publish_dlx_refuses_and_dead_letters_the_refused() -> None:
    queue, dead = queue_with(**{"x-max-length-bytes": 2, "x-overflow": "reject-publish-dlx"})
    assert publish(queue, "ab", "c") == [True, False]
    assert dead == [(b"c", "maxlen")]


def test_max_length_zero_drops_everything_but_what_a_consumer_takes() -> None:
    queue, dead = queue_with(**{"x-max-length": 0})
    publish(queue, "a")
    assert dead == [(b"a", "maxlen")]
    sink = Sink()
    subscribe(queue, sink, "c")
    publish(queue, "b")
    assert sink.bodies() == [b"b"] and dead == [(b"a", "maxlen")]


def test_returned_messages_count_against_the_limit() -> None:
    queue, dead = queue_with(**{"x-max-length": 2})
    publish(queue, "a", "b")
    taken = queue.get()
    publish(queue, "c")
    queue.requeue([taken])  # a is back at the head: the queue is over its limit
    assert dead == [(b"a", "maxlen")] and ready_bodies(queue) == [b"b", b"c"]


# -- priorities ---------------------------------------------------------------------------------


def test_a_priority_queue_delivers_higher_priorities_first() -> None:
    queue = make_queue(**{"x-max-priority": 5})
    for body, priority in (("low", 0), ("high", 5), ("mid", 3), ("top", 9)):
        queue.enqueue(message(body, priority=priority))
    assert [queue.get().message.body for _ in range(4)] == [b"high", b"top", b"mid", b"low"]


def test_a_queue_without_max_priority_ignores_priorities() -> None:
    queue = make_queue()
    queue.enqueue(message("a", priority=0))
    queue.enqueue(message("b", priority=9))
    assert ready_bodies(queue) == [b"a", b"b"]


def test_drop_head_in_a_priority_queue_drops_from_the_highest_priority() -> None:
    queue, dead = queue_with(**{"x-max-priority": 2, "x-max-length": 1})
    queue.enqueue(message("low", priority=0))
    queue.enqueue(message("high", priority=2))
    assert dead == [(b"high", "maxlen")] and ready_bodies(queue) == [b"low"]


# -- dead-letter hand-off -----------------------------------------------------------------------


def test_a_quorum_queue_dead_letters_beyond_its_delivery_limit() -> None:
    queue = QuorumQueue(
        "q",
        "/",
        durable=True,
        exclusive_owner=None,
        auto_delete=False,
        arguments={"x-queue-type": "quorum", "x-delivery-limit": 0},
    )
    dead = DeadLetters(queue)
    publish(queue, "m")
    queue.requeue([queue.get()])
    assert dead == [(b"m", "delivery_limit")] and queue.message_count == 0


def test_the_vhost_routes_each_reason_to_the_dead_letter_exchange() -> None:
    """expired, maxlen and rejected reach the dead-letter queue through the vhost."""
    clock = ManualClock()
    vhost = VirtualHost("/", clock=clock)
    reasons: list[str] = []

    def rewrite(header: bytes, queue: str, reason: str, *rest: Any) -> bytes:
        reasons.append(reason)
        return header

    vhost.rewrite_dead_letter = rewrite
    vhost.declare_exchange(
        "dlx",
        "fanout",
        passive=False,
        durable=False,
        auto_delete=False,
        internal=False,
        arguments={},
    )
    dlq = declare(vhost, "dlq")
    vhost.bind("dlx", dlq, "", {})
    source = declare(
        vhost, "src", {"x-dead-letter-exchange": "dlx", "x-max-length": 1, "x-message-ttl": 1000}
    )
    publish(source, "old", "new")  # old: maxlen
    clock.advance(1)  # new: expired
    publish(source, "rejected")
    source.dead_letter(source, [source.get()], "rejected")  # as basic.reject does
    assert reasons == ["maxlen", "expired", "rejected"]
    assert ready_bodies(dlq) == [b"old", b"new", b"rejected"]


def test_the_dead_letter_routing_key_replaces_the_original() -> None:
    vhost = VirtualHost("/")
    dlq = declare(vhost, "dlq")
    source = declare(
        vhost, "src", {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dlq"}
    )
    publish(source, "m")
    source.dead_letter(source, [source.get()], "rejected")
    assert ready_bodies(dlq) == [b"m"]


# -- a paging queue -----------------------------------------------------------------------------


def test_a_durable_queue_pages_beyond_its_window_and_delivers_in_order() -> None:
    store = MemoryStore(window=3, refill_batch=2)
    queue = make_queue(durable=True, store=store)
    publish(queue, *"abcdefgh", persistent=True)
    assert queue.ready.in_memory_count == 3 and queue.message_count == 8
    sink = Sink()
    subscribe(queue, sink, "c", no_ack=True)
    while store.complete_reads():
        pass
    assert sink.bodies() == [c.encode() for c in "abcdefgh"]
    assert sorted(store.removed_seqs) == list(range(1, 9))  # no ack will come: removed


def test_a_basic_get_waits_for_the_head_to_come_back_from_disk() -> None:
    store = MemoryStore(window=2, refill_batch=2)
    queue = make_queue(durable=True, store=store)
    publish(queue, *"abcd", persistent=True)
    assert [queue.get().message.body for _ in range(2)] == [b"a", b"b"]
    assert not queue.ready.head_ready()
    answers: list[bytes] = []
    queue.ready.when_head_ready(lambda: answers.append(queue.get().message.body))
    store.complete_reads()
    assert answers == [b"c"]


# -- settings applied again (policies) ---------------------------------------------------------


def test_settings_are_read_once_from_the_arguments() -> None:
    settings = QueueSettings.parse(
        {
            "x-message-ttl": 5,
            "x-expires": True,
            "x-max-length": "10",
            "x-overflow": b"reject-publish",
            "x-dead-letter-exchange": b"dlx",
            "x-max-priority": 3,
            "x-single-active-consumer": True,
            "x-delivery-limit": 2.5,
        }
    )
    assert (settings.message_ttl, settings.expires, settings.max_length) == (5, None, None)
    assert (settings.overflow, settings.dead_letter_exchange) == ("reject-publish", "dlx")
    assert (settings.max_priority, settings.single_active, settings.delivery_limit) == (
        3,
        True,
        2.5,
    )
    assert not settings.limited and QueueSettings(max_bytes=0).limited


def test_a_lower_max_length_on_a_live_queue_drops_the_surplus_now() -> None:
    queue, dead = queue_with()
    publish(queue, *"abcde")
    queue.apply_settings(QueueSettings(max_length=2))
    assert dead == [(b"a", "maxlen"), (b"b", "maxlen"), (b"c", "maxlen")]
    assert ready_bodies(queue) == [b"d", b"e"]


def test_a_new_limit_with_reject_publish_keeps_the_surplus_and_refuses_more() -> None:
    queue, dead = queue_with()
    publish(queue, *"abc")
    queue.apply_settings(QueueSettings(max_length=1, overflow="reject-publish"))
    assert dead == [] and queue.message_count == 3
    assert publish(queue, "d") == [False]


def test_a_new_ttl_applies_to_new_messages_and_the_head_timer_follows() -> None:
    clock = ManualClock()
    queue, dead = queue_with(clock)
    publish(queue, "before")
    queue.apply_settings(QueueSettings(message_ttl=100))
    publish(queue, "after")
    clock.advance(0.1)
    assert dead == [] and queue.message_count == 2  # the head never expires
    assert queue.get().message.body == b"before"
    assert dead == [(b"after", "expired")]


def test_a_shorter_ttl_re_times_the_head_timer() -> None:
    clock = ManualClock()
    queue, dead = queue_with(clock, **{"x-message-ttl": 10_000})
    publish(queue, "long")
    queue.apply_settings(QueueSettings(message_ttl=50))
    publish(queue, "short")
    queue.get()  # "long" leaves; "short" becomes the head and its timer is armed
    clock.advance(0.05)
    assert dead == [(b"short", "expired")]


def test_a_new_x_expires_re_arms_the_timer_from_now() -> None:
    clock = ManualClock()
    queue, gone = expiring_queue(clock, ms=10_000)
    clock.advance(5)
    queue.apply_settings(QueueSettings(expires=1000))
    clock.advance(0.999)
    assert gone == []
    clock.advance(0.001)
    assert gone == ["q"]


def test_removing_x_expires_stops_the_timer() -> None:
    clock = ManualClock()
    queue, gone = expiring_queue(clock, ms=1000)
    queue.apply_settings(QueueSettings())
    clock.advance(10)
    assert gone == []


def test_priorities_and_single_active_consumer_stay_as_declared() -> None:
    queue = make_queue(**{"x-max-priority": 2, "x-single-active-consumer": True})
    queue.apply_settings(QueueSettings(max_length=5))
    assert (queue.settings.max_priority, queue.settings.single_active) == (2, True)
    assert queue.settings.max_length == 5


def test_a_new_dead_letter_exchange_takes_effect() -> None:
    vhost = VirtualHost("/")
    dlq = declare(vhost, "dlq")
    source = declare(vhost, "src")
    publish(source, "a", "b")
    source.apply_settings(
        QueueSettings(max_length=1, dead_letter_exchange="", dead_letter_routing_key="dlq")
    )
    assert ready_bodies(dlq) == [b"a"]
