"""Policies, operator policies, runtime and global parameters are kept in the data
directory: set over HTTP (answered once on disk) in a broker process that is SIGKILLed
right after the last answer, they are all there for the next broker on that directory (and
after its compacted rewrite of the log, once more); deleted ones stay deleted, with the
vhost they were in."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pika
from procutil import read_first_line

from amqpbroker.embedded.broker import BrokerThread

MAKER = textwrap.dedent(
    """
    import json, sys, time, urllib.request, base64
    from amqpbroker.embedded.broker import BrokerThread

    def call(base, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(base + path, data=data, method=method)
        token = base64.b64encode(b"guest:guest").decode()
        request.add_header("Authorization", "Basic " + token)
        request.add_header("Content-Type", "application/json")
        urllib.request.urlopen(request).read()

    broker = BrokerThread(data_dir=sys.argv[1], management=True)
    broker.start()
    base = broker.management_url.rstrip("/")
    call(base, "PUT", "/api/vhosts/team", {})
    call(base, "PUT", "/api/vhosts/gone", {})
    call(base, "PUT", "/api/policies/team/ttl",
         {"pattern": "^jobs$", "definition": {"message-ttl": 5000}, "priority": 2,
          "apply-to": "queues"})
    call(base, "PUT", "/api/policies/team/dropped", {"pattern": ".", "definition": {"expires": 9}})
    call(base, "DELETE", "/api/policies/team/dropped")
    call(base, "PUT", "/api/operator-policies/team/cap",
         {"pattern": ".", "definition": {"max-length": 100}})
    call(base, "PUT", "/api/parameters/vhost-limits/team/limits", {"value": {"max-queues": 5}})
    call(base, "PUT", "/api/policies/gone/p", {"pattern": ".", "definition": {"expires": 9}})
    call(base, "DELETE", "/api/vhosts/gone")
    broker.set_policy("embedded", "^e", {"max-length": 3}, vhost="team")
    call(base, "PUT", "/api/global-parameters/colour", {"value": {"name": "blue"}})
    call(base, "PUT", "/api/cluster-name", {"name": "kept-name"})  # answered once on disk
    print("ready", flush=True)
    time.sleep(3600)
    """
)


def made_then_killed(data_dir: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", MAKER, str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ) as process:
        try:
            assert read_first_line(process, 30.0) == "ready"
        finally:
            process.kill()  # SIGKILL: nothing flushed on the way out
            process.wait(10)


def check(broker: BrokerThread) -> None:
    names = [(p.vhost, p.name) for p in broker.policies()]
    assert names == [("team", "embedded"), ("team", "ttl")]
    [ttl] = [p for p in broker.policies() if p.name == "ttl"]
    assert (ttl.pattern, dict(ttl.definition), ttl.priority, ttl.apply_to) == (
        "^jobs$",
        {"message-ttl": 5000},
        2,
        "queues",
    )
    [cap] = broker.policies("team", operator=True)
    assert dict(cap.definition) == {"max-length": 100}
    exported = broker.export_definitions()
    assert exported["parameters"] == [
        {
            "value": {
                "pattern": ".",
                "definition": {"max-length": 100},
                "priority": 0,
                "apply-to": "all",
            },
            "vhost": "team",
            "component": "operator_policy",
            "name": "cap",
        },
        {
            "value": {"max-queues": 5},
            "vhost": "team",
            "component": "vhost-limits",
            "name": "limits",
        },
    ]
    globals_ = {item["name"]: item["value"] for item in exported["global_parameters"]}
    assert globals_["colour"] == {"name": "blue"}
    assert globals_["cluster_name"] == "kept-name"
    assert globals_["internal_cluster_id"].startswith("rabbitmq-cluster-id-")


def test_policies_and_parameters_survive_sigkill(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    made_then_killed(data_dir)
    with BrokerThread(data_dir=str(data_dir)) as broker:
        check(broker)
        cluster_id = broker.export_definitions()["global_parameters"]
        broker.restart()  # the log was rewritten compactly at the start: read it again
        check(broker)
        assert broker.export_definitions()["global_parameters"] == cluster_id


def publish_to(url: str, queue: str, count: int) -> None:
    with pika.BlockingConnection(pika.URLParameters(url)) as connection:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.queue_declare(queue, durable=True, arguments={"x-max-length": 10})
        for n in range(count):
            channel.basic_publish("", queue, str(n).encode())


def test_policies_apply_again_to_recovered_queues(tmp_path: Path) -> None:
    """A durable queue recovered after a restart runs under the recovered policy (and
    under its own argument again once the policy is cleared)."""
    with BrokerThread(data_dir=str(tmp_path)) as broker:
        publish_to(broker.url, "capped", 0)
        broker.set_policy("cap", "^capped$", {"max-length": 2}, apply_to="queues")
    with BrokerThread(data_dir=str(tmp_path)) as broker:
        publish_to(broker.url, "capped", 4)
        assert [m.body for m in broker.queue("capped").messages] == [b"2", b"3"]
        broker.clear_policy("cap")
        publish_to(broker.url, "capped", 10)
        assert broker.queue("capped").messages_ready == 10
