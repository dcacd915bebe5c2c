"""Message statistics on a running broker: the sampler's timer and the inspection views.

A broker sampling every 0.2 s (``stats_interval``) and a pika publisher and consumer: the
counters show in ``broker.queue``, ``exchanges()``, ``connections`` and ``overview()``, and
the timer's rounds turn them into rates.  Needs the embedded broker (skipped with
AMQPBROKER_TEST_URL).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pika
import pytest

from amqpbroker.testing.polling import wait_until

pytestmark = pytest.mark.timeout(60)


def test_counters_and_rates_of_a_running_broker(broker_factory: Callable[..., Any]) -> None:
    broker = broker_factory(stats_interval=0.2)
    connection = pika.BlockingConnection(pika.URLParameters(broker.url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.queue_declare("stats-q")
        for _ in range(5):
            channel.basic_publish("", "stats-q", b"m")
        method, _, _ = channel.basic_get("stats-q", auto_ack=False)
        assert method is not None
        channel.basic_ack(method.delivery_tag)
        view = wait_until(
            lambda: (q := broker.queue("stats-q")).message_stats["ack"] == 1 and q,
            "the ack counted",
        )
        assert view.message_stats["publish"] == 5 and view.message_stats["get"] == 1
        default = next(x for x in broker.exchanges() if x.name == "")
        assert default.message_stats == {"publish_in": 5, "publish_out": 5}
        (conn,) = broker.connections
        assert conn.recv_oct > 0 and conn.send_oct > 0 and conn.recv_cnt and conn.send_cnt
        assert conn.channels[0].message_stats["confirm"] == 5
        overview = broker.overview()
        assert overview.message_stats["publish"] == 5
        assert overview.queue_totals == {
            "messages": 4,
            "messages_ready": 4,
            "messages_unacknowledged": 0,
        }
        # The timer samples every 0.2 s: publishing on shows as a rate; once it stops, the
        # queue becomes idle.
        wait_until(
            lambda: broker.queue("stats-q").message_rates["publish"] > 0,
            "a publish rate",
            pause=lambda: channel.basic_publish("", "stats-q", b"more"),
        )
        wait_until(
            lambda: broker.overview().message_rates["publish"] > 0,
            "a publish rate in the overview",
            pause=lambda: channel.basic_publish("", "stats-q", b"more"),
        )
        wait_until(lambda: broker.queue("stats-q").idle_since is not None, "idle queue")
    finally:
        connection.close()
    overview = wait_until(
        lambda: (o := broker.overview()).churn["connection_closed"] == 1 and o,
        "the connection counted closed",
    )
    assert overview.churn["connection_created"] == 1 and overview.churn["channel_closed"] == 1
    assert overview.message_stats["publish"] == overview.message_stats["confirm"] > 5
