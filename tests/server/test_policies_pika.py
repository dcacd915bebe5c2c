"""Policies set through the embedded broker (``broker.set_policy``) take effect for pika
clients at once, on the virtual clock: a retry-with-delay topology configured only by
policies, a max-length lowered on a queue that holds messages, and a policy cleared."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from amqpbroker.testing.polling import wait_until

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def broker(broker_factory: Callable[..., Any]) -> Any:
    return broker_factory(virtual_clock=True)


def test_retry_with_delay_configured_only_by_policies_pika(broker, channel):
    channel.queue_declare("jobs", exclusive=True)
    channel.queue_declare("jobs.delay", exclusive=True)
    channel.exchange_declare("jobs.retry", "fanout", auto_delete=True)
    channel.queue_bind("jobs.delay", "jobs.retry")
    broker.set_policy("jobs", "^jobs$", {"dead-letter-exchange": "jobs.retry"}, apply_to="queues")
    delay = {"message-ttl": 60_000, "dead-letter-exchange": "", "dead-letter-routing-key": "jobs"}
    broker.set_policy("delay", r"^jobs\.delay$", delay, priority=1)

    channel.basic_publish("", "jobs", b"job")
    method, _, _ = channel.basic_get("jobs")
    channel.basic_reject(method.delivery_tag, requeue=False)
    wait_until(lambda: broker.queue("jobs.delay").messages_ready == 1, "in the delay queue")
    broker.clock.advance(59)
    assert broker.queue("jobs.delay").messages_ready == 1, "not yet"
    broker.clock.advance(1)
    method, properties, body = channel.basic_get("jobs", auto_ack=True)
    assert body == b"job"
    reasons = [(d["queue"], d["reason"]) for d in properties.headers["x-death"]]
    assert reasons == [("jobs.delay", "expired"), ("jobs", "rejected")]


def test_a_lowered_max_length_drops_the_oldest_and_clearing_restores_the_argument(broker, channel):
    channel.queue_declare("capped", exclusive=True, arguments={"x-max-length": 4})
    for body in (b"a", b"b", b"c", b"d"):
        channel.basic_publish("", "capped", body)
    broker.set_policy("cap", "^capped$", {"max-length": 2})
    assert [m.body for m in broker.queue("capped").messages] == [b"c", b"d"]
    broker.clear_policy("cap")
    for body in (b"e", b"f", b"g"):
        channel.basic_publish("", "capped", body)
    assert [m.body for m in broker.queue("capped").messages] == [b"d", b"e", b"f", b"g"]
