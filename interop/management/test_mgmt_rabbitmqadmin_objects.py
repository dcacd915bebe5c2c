"""rabbitmqadmin 3.10.8, unchanged, against both brokers: declaring, listing and deleting
queues, exchanges and bindings, publish, get, purge, in one vhost of the test's own.  The
transcripts (every command's exit code and output) must be the same.  Nothing in them is
the broker's own except message counts, which the reference refreshes every 5 s: those
steps wait until it agrees (``Step.settle``)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator

import pytest
from mgmt_http import Api, q
from rabbitmqadmin_tool import (
    INSTALLED,
    Step,
    differences,
    step,
    topology_steps,
    transcript,
)

pytestmark = [
    pytest.mark.differential,
    pytest.mark.skipif(not INSTALLED, reason="no rabbitmqadmin"),
    # (a test runs some 30 rabbitmqadmin processes against each broker and waits, up to
    # 30 s a step, for the reference's 5 s statistics: on a loaded CI machine that can
    # pass the suite's 60 s per test)
    pytest.mark.timeout(300),
]
_numbers = itertools.count(1)


@pytest.fixture
def admin_vhost(reference_api: Api, our_api: Api) -> Iterator[Callable[[], str]]:
    """``admin_vhost()``: a fresh vhost name ``admin-PID-N``, deleted from both brokers
    afterwards (its queues and exchanges with it)."""
    made: list[str] = []

    def new() -> str:
        made.append(f"admin-{os.getpid()}-{next(_numbers)}")
        return made[-1]

    yield new
    for api in (reference_api, our_api):
        for name in made:
            api.delete(f"/api/vhosts/{q(name)}")


def compare(reference_api: Api, our_api: Api, steps: list[Step]) -> None:
    ours = transcript(our_api, steps)
    theirs = transcript(reference_api, steps, agree_with=ours)
    assert not differences(ours, theirs), differences(ours, theirs)


def test_declare_list_and_delete_queues_exchanges_and_bindings(
    reference_api: Api, our_api: Api, admin_vhost: Callable[[], str]
) -> None:
    vhost = admin_vhost()
    v = ("-V", vhost)
    steps = [
        *topology_steps(vhost),
        step(*v, "declare", "queue", "name=q1", "durable=false"),  # inequivalent: 400
        step(*v, "declare", "exchange", "name=x3", "type=nosuch"),
        step(*v, "declare", "binding", "source=x1", "destination=nosuch"),
        step(*v, "declare", "binding", "source=amq.direct", "destination=nosuch",
             "destination_type=exchange"),
        step(*v, "declare", "exchange", "name=amq.x", "type=direct"),  # 401: Access refused
        step(*v, "delete", "exchange", "name=amq.direct"),
        step(*v, "declare", "queue", "name=amq.q"),
        step(*v, "declare", "queue", "name=q3", 'arguments={"x-max-length": "ten"}'),
        step("-V", f"{vhost}-nosuch", "declare", "queue", "name=q"),
        step("-V", f"{vhost}-nosuch", "list", "queues"),
        step(*v, "list", "queues", "name", "durable", "auto_delete", "arguments", "type"),
        step(*v, "list", "exchanges"),
        step(*v, "list", "exchanges", "name", "type", "durable", "auto_delete", "internal"),
        step(*v, "list", "bindings"),
        step(*v, "list", "bindings", "source", "destination", "destination_type",
             "routing_key", "properties_key"),
        step(*v, "-f", "raw_json", "list", "bindings", "source", "destination", "arguments"),
        step(*v, "-f", "raw_json", "list", "queues", "name", "arguments"),
        step(*v, "-f", "pretty_json", "list", "exchanges", "name", "arguments", "internal"),
        step(*v, "-f", "tsv", "list", "queues", "name", "durable", "type"),
        step(*v, "-f", "kvp", "list", "exchanges", "name", "type"),
        step(*v, "-f", "long", "list", "bindings", "source", "destination", "routing_key"),
        step(*v, "-f", "bash", "list", "queues"),
        step(*v, "-S", "type", "list", "exchanges", "name", "type"),
        # without -V: every vhost's (the reference's other vhosts are other suites')
        step("-f", "tsv", "list", "queues", "vhost", "name", "durable", keep=vhost),
        step("-f", "tsv", "list", "exchanges", "vhost", "name", "type", keep=vhost),
        step("-f", "kvp", "list", "bindings", "vhost", "source", "destination", keep=vhost),
        step(*v, "-S", "name", "-R", "list", "queues", "name"),
        step(*v, "delete", "binding", "source=x1", "destination_type=queue", "destination=q1",
             "properties_key=a.%23"),
        step(*v, "delete", "binding", "source=x1", "destination_type=queue", "destination=q1",
             "properties_key=a.%23"),
        step(*v, "delete", "binding", "source=x1", "destination_type=queue", "destination=q2"),
        step(*v, "delete", "exchange", "name=x2"),
        step(*v, "delete", "exchange", "name=x2"),
        step(*v, "delete", "queue", "name=qq"),
        step(*v, "delete", "queue", "name=qq"),
        step(*v, "list", "bindings", "source", "destination", "routing_key"),
        step(*v, "-q", "list", "queues", "name"),
        step("delete", "vhost", f"name={vhost}"),
        step(*v, "list", "queues"),
        step(*v, "declare", "queue", "name=q1"),
    ]  # fmt: skip
    compare(reference_api, our_api, steps)


def test_publish_get_and_purge(
    reference_api: Api, our_api: Api, admin_vhost: Callable[[], str]
) -> None:
    vhost = admin_vhost()
    v = ("-V", vhost)
    properties = '{"content_type": "text/plain", "headers": {"z": 1, "a": "x"}, "type": "t"}'
    steps = [
        *topology_steps(vhost),
        step(*v, "delete", "queue", "name=qq"),  # (a quorum queue's counts lag longer)
        step(*v, "publish", "routing_key=q1", "payload=hello"),
        step(*v, "publish", "exchange=x1", "routing_key=a.b", "payload=world",
             f"properties={properties}"),
        step(*v, "publish", "exchange=x1", "routing_key=nowhere", "payload=lost"),
        step(*v, "publish", "routing_key=q2", stdin="from stdin"),
        step(*v, "publish", "routing_key=q2", "payload=\u00e9t\u00e9", "payload_encoding=string"),
        step(*v, "publish", "exchange=nosuch", "routing_key=q1", "payload=x"),
        step(*v, "list", "queues", "name", "messages", "messages_ready", settle=True),
        step(*v, "list", "queues", settle=True),
        step(*v, "-f", "tsv", "list", "queues", "name", "messages", settle=True),
        step(*v, "list", "queues", "name", "messages_unacknowledged", "message_stats.publish",
             settle=True),
        # (RabbitMQ leaves out an exchange's message_stats until it sees traffic: zeros here)
        step(*v, "-f", "kvp", "list", "exchanges", "name", "message_stats.publish_in",
             "message_stats.publish_out", settle=True, keep='publish_in="[1-9]'),
        step(*v, "get", "queue=q1"),
        step(*v, "-d", "2", "get", "queue=q1", "count=5", "ackmode=ack_requeue_false"),
        step(*v, "get", "queue=q2", "encoding=base64"),
        step(*v, "-f", "raw_json", "get", "queue=q2", "count=2", "ackmode=reject_requeue_false"),
        step(*v, "-f", "pretty_json", "get", "queue=q2", "count=1"),
        step(*v, "get", "queue=q1"),
        step(*v, "get", "queue=nosuch"),
        step(*v, "get", "queue=q1", "count=abc"),
        step(*v, "get", "queue=q1", "ackmode=bogus"),  # (a 500: rabbitmqadmin's traceback)
        step(*v, "publish", "routing_key=q1", "payload=again"),
        step(*v, "purge", "queue", "name=q1"),
        step(*v, "purge", "queue", "name=nosuch"),
        step(*v, "list", "queues", "name", "messages", settle=True),
        step(*v, "-f", "kvp", "list", "queues", "name", "messages", settle=True),
        step(*v, "-f", "long", "list", "queues", "name", "messages", settle=True),
        step(*v, "list", "queues", "name", "message_stats.deliver_get", "message_stats.ack",
             "message_stats.redeliver", settle=True),
    ]  # fmt: skip
    compare(reference_api, our_api, steps)
