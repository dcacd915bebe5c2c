"""consumer_timeout in the session layer, on the ManualClock: a delivery unacknowledged
longer than the timeout closes its channel with 406 (RabbitMQ 3.10's text), its messages go
back to the queue; acknowledged in time, nothing happens.  No per-delivery stamp: a sweep
(``session/consumer_timeout.py``) notices within one interval."""

from __future__ import annotations

from pamqp import commands

from amqpbroker.session.consumer_timeout import sweep_interval
from amqpbroker.testing.harness import SessionBroker

TIMEOUT_MS = 10_000
TEXT = (
    "PRECONDITION_FAILED - delivery acknowledgement on channel 1 timed out. Timeout value "
    "used: 10000 ms. This timeout value can be configured, see consumers doc guide to "
    "learn more"
)


def consuming(broker: SessionBroker) -> tuple:
    client = broker.connect()
    ch = client.channel()
    ch.declare("q")
    ch.publish(b"m", "q")
    ch.consume("q")
    return client, ch


def test_an_unacked_delivery_times_out_and_closes_its_channel() -> None:
    broker = SessionBroker(consumer_timeout=TIMEOUT_MS)
    client, ch = consuming(broker)
    assert len(ch.deliveries()) == 1
    broker.advance(TIMEOUT_MS / 1000 - 1)
    assert ch.next() is None  # not yet
    broker.advance(1 + sweep_interval(TIMEOUT_MS) * 2)
    close = ch.expect_close(406)
    assert (close.reply_text, close.class_id, close.method_id) == (TEXT, 0, 0)
    other = client.channel()
    assert other.message_count("q") == 1  # back in the queue
    assert not client.closed


def test_an_ack_in_time_keeps_the_channel() -> None:
    broker = SessionBroker(consumer_timeout=TIMEOUT_MS)
    _client, ch = consuming(broker)
    delivery = ch.deliveries()[0]
    broker.advance(TIMEOUT_MS / 1000 - 1)
    ch.ack(delivery.method.delivery_tag)
    ch.publish(b"n", "q")
    broker.advance(TIMEOUT_MS / 1000 - 1)  # the second delivery is younger than the timeout
    assert not [r for r in ch.received() if isinstance(r, commands.Channel.Close)]


def test_no_timeout_when_switched_off() -> None:
    broker = SessionBroker(consumer_timeout=None)
    _client, ch = consuming(broker)
    broker.advance(3600 * 24)
    assert not [r for r in ch.received() if isinstance(r, commands.Channel.Close)]


def test_the_default_is_30_minutes() -> None:
    assert SessionBroker().config.consumer_timeout == 1_800_000
