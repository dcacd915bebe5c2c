"""Resource alarms on RabbitMQ 3.10.8 and on amqpbroker: a publishing client told
``connection.blocked`` with the same reason for the memory alarm, the disk alarm and both
(raised in either order), then ``connection.unblocked`` once they clear.

The reference's alarms are raised and cleared with rabbitmqctl's
``set_vm_memory_high_watermark`` and ``set_disk_free_limit``, ours with the embedded
broker's methods of the same names.  Skipped when rabbitmqctl cannot reach the node
(``reference_node.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pika
import pytest

from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.testing.polling import wait_until
from ctl import reference_node

ORDERS = [("memory",), ("disk",), ("memory", "disk"), ("disk", "memory")]
pytestmark = pytest.mark.timeout(300)

Events = list[tuple[str, ...]]
# How each broker raises (True) or clears (False) one alarm.
Switch = Callable[[str, bool], None]


def reference_switch(alarm: str, on: bool) -> None:
    if alarm == "memory":
        args = ["set_vm_memory_high_watermark", *(["absolute", "1"] if on else ["0.4"])]
    else:
        args = ["set_disk_free_limit", "1000GB" if on else "50MB"]
    done = reference_node.rabbitmqctl(args)
    assert done["exit_code"] == 0, done


def our_switch(broker: BrokerThread) -> Switch:
    def switch(alarm: str, on: bool) -> None:
        if alarm == "memory":
            broker.set_vm_memory_high_watermark(1 if on else 2**62)
        else:
            broker.set_disk_free_limit(2**62 if on else 0)

    return switch


def blocked_and_unblocked(url: str, switch: Switch, alarms: tuple[str, ...]) -> Events:
    """Raise ``alarms`` in order, publish, wait to be blocked; clear them, wait to be
    unblocked: what the client was told."""
    events: Events = []
    connection = pika.BlockingConnection(pika.URLParameters(url))
    connection.add_on_connection_blocked_callback(
        lambda _c, frame: events.append(("blocked", frame.method.reason))
    )
    connection.add_on_connection_unblocked_callback(lambda _c, _f: events.append(("unblocked",)))

    def until(done: Callable[[], object], what: str) -> None:
        wait_until(done, what, pause=lambda: connection.process_data_events(time_limit=0.05))

    try:
        for alarm in alarms:
            switch(alarm, True)
        connection.channel().basic_publish("", "nowhere", b"m")
        until(lambda: events, "connection.blocked")
    finally:
        for alarm in alarms:
            switch(alarm, False)
    until(lambda: ("unblocked",) in events, "connection.unblocked")
    connection.close()
    return events


@pytest.fixture(scope="module")
def reference() -> Iterator[dict[tuple[str, ...], Events]]:
    reference_node.require()
    url = reference_node.AMQP_URL
    yield {alarms: blocked_and_unblocked(url, reference_switch, alarms) for alarms in ORDERS}


@pytest.mark.parametrize("alarms", ORDERS, ids=" then ".join)
def test_a_publisher_is_blocked_with_rabbitmqs_reason(
    reference: dict[tuple[str, ...], Events], alarms: tuple[str, ...]
) -> None:
    checks = {"memory_monitor_interval": 0.01, "disk_monitor_interval": 0.01}
    with BrokerThread(**checks) as broker:
        ours = blocked_and_unblocked(broker.url, our_switch(broker), alarms)
    assert ours == reference[alarms]
    assert ours[-1] == ("unblocked",)
