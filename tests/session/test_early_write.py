"""Output written in the middle of a loop tick (OUTPUT_EARLY_WRITE): a consumer hears of
deliveries while another connection's long read of publishes is still being handled."""

from __future__ import annotations

from amqpbroker.bench.hotpath import publishes
from amqpbroker.session.connection import OUTPUT_EARLY_WRITE
from amqpbroker.testing.harness import SessionBroker


def test_a_consumer_output_is_written_while_a_publisher_is_still_being_read():
    broker = SessionBroker()
    publisher = broker.connect().channel()
    consumer = broker.connect().channel()
    publisher.declare("q")
    consumer.consume("q", "c", no_ack=True)
    read = publishes("", "q", 1024)  # ~60 publishes of 1 KiB
    for _ in range(20):  # one long tick: ~1,200 deliveries, over a MiB of output
        publisher.client.session.receive_data(read)
    writes = consumer.client.early_writes
    assert len(writes) >= 4
    assert all(OUTPUT_EARLY_WRITE <= size < OUTPUT_EARLY_WRITE + 2048 for size in writes)
    delivered = consumer.deliveries()  # with what the end of the tick flushes
    assert len(delivered) == 20 * read.count(b"\x00\x3c\x00\x28")
