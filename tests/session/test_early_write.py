"""Output written in the middle of a loop tick (OUTPUT_EARLY_WRITE): a consumer hears of
deliveries while another connection's long read of publishes is still being handled."""

from __future__ import annotations

from pamqp import commands

from amqpbroker.bench.hotpath import SansIOBroker, publishes
from amqpbroker.session.connection import OUTPUT_EARLY_WRITE, ConnectionSession


def test_a_consumer_output_is_written_while_a_publisher_is_still_being_read():
    broker = SansIOBroker()
    writes: list[bytes] = []
    consumer: ConnectionSession | None = None

    def write_now() -> None:
        assert consumer is not None
        writes.append(consumer.take_output())

    publisher = broker.session()
    consumer = broker.session(write_now)
    broker.call(publisher, commands.Queue.Declare(queue="q"))
    broker.call(consumer, commands.Basic.Consume(queue="q", consumer_tag="c", no_ack=True))
    read = publishes("", "q", 1024)  # ~60 publishes of 1 KiB
    for _ in range(20):  # one long tick: ~1,200 deliveries, over a MiB of output
        publisher.receive_data(read)
    assert len(writes) >= 4
    assert all(OUTPUT_EARLY_WRITE <= len(w) < OUTPUT_EARLY_WRITE + 2048 for w in writes)
    rest = consumer.data_to_send()  # what the end of the tick flushes
    delivered = b"".join([*writes, rest]).count(b"\x00\x3c\x00\x3c")
    assert delivered == 20 * read.count(b"\x00\x3c\x00\x28")
