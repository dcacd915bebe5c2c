"""``amqpbroker definitions export/import`` (run as a subprocess, as a user runs it) between
RabbitMQ 3.10.8 and amqpbroker: the reference's export imported here through the CLI (its
users log in with their passwords), one vhost piped from one broker into the other both
ways, and the CLI against RabbitMQ's own API (it speaks only the management API)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pika
import pytest
from mgmt_http import Api, q
from rabbitmqadmin_tool import INSTALLED, admin, topology_steps, transcript

from amqpbroker.embedded.broker import BrokerThread

pytestmark = [
    pytest.mark.differential,
    pytest.mark.skipif(not INSTALLED, reason="no rabbitmqadmin"),
]
ROOT = Path(__file__).resolve().parents[2]
LISTED = (
    ("queues", "name", "durable", "auto_delete", "arguments", "type"),
    ("exchanges", "name", "type", "durable", "internal", "arguments"),
    ("bindings", "source", "destination", "destination_type", "properties_key"),
)


def definitions(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "amqpbroker", "definitions", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def url_of(api: Api) -> str:
    return f"http://{api.host}:{api.port}"


def listing(api: Api, vhost: str) -> list[str]:
    """What rabbitmqadmin lists in ``vhost``: its queues, exchanges and bindings."""
    return [admin(api, "-V", vhost, "-f", "raw_json", "list", *kind)[1] for kind in LISTED]


def test_the_references_export_imports_here_through_the_cli(
    reference_api: Api,
    our_api: Api,
    our_broker: BrokerThread,
    new_name: Callable[[], str],
    tmp_path: Path,
) -> None:
    vhost, user = new_name(), new_name()
    transcript(reference_api, topology_steps(vhost))
    assert reference_api.put(f"/api/users/{q(user)}", {"password": "s3", "tags": ""}).status == 201
    rights = {"configure": ".*", "write": ".*", "read": ".*"}
    assert reference_api.put(f"/api/permissions/{q(vhost)}/{q(user)}", rights).status == 201
    document = tmp_path / "rabbitmq.json"
    exported = definitions("export", str(document), "--url", url_of(reference_api))
    assert exported.returncode == 0, exported.stderr.decode()
    assert json.loads(document.read_text())["rabbitmq_version"] == "3.10.8"
    imported = definitions("import", str(document), "--url", url_of(our_api))
    assert imported.returncode == 0, imported.stderr.decode()
    assert listing(our_api, vhost) == listing(reference_api, vhost)
    credentials = pika.PlainCredentials(user, "s3")  # (RabbitMQ's hash, checked here)
    params = pika.ConnectionParameters(our_broker.host, our_broker.port, vhost, credentials)
    with pika.BlockingConnection(params) as connection:
        assert connection.channel().queue_declare("q1", passive=True).method.queue == "q1"


@pytest.mark.parametrize("direction", ["rabbitmq-to-amqpbroker", "amqpbroker-to-rabbitmq"])
def test_one_vhost_piped_from_one_broker_into_the_other(
    reference_api: Api, our_api: Api, new_name: Callable[[], str], direction: str
) -> None:
    source_api, target_api = (reference_api, our_api)
    if direction == "amqpbroker-to-rabbitmq":
        source_api, target_api = target_api, source_api
    source, target = new_name(), new_name()
    transcript(source_api, topology_steps(source))
    assert target_api.put(f"/api/vhosts/{q(target)}", {}).status == 201
    exported = definitions("export", "-", "--vhost", source, "--url", url_of(source_api))
    assert exported.returncode == 0, exported.stderr.decode()
    imported = definitions(
        "import", "-", "--vhost", target, "--url", url_of(target_api), stdin=exported.stdout
    )
    assert imported.returncode == 0, imported.stderr.decode()
    assert listing(target_api, target) == listing(source_api, source)


def test_the_references_refusal_comes_through(reference_api: Api) -> None:
    """RabbitMQ's 400 reason, as the CLI shows it for this broker's."""
    refused = definitions("import", "-", "--url", url_of(reference_api), stdin=b"{nope")
    assert refused.returncode == 65
    assert refused.stderr.decode().startswith("Error: failed_to_parse_json (400: POST ")
    wrong = os.environ | {"AMQPBROKER_PASSWORD": "wrong"}
    result = subprocess.run(
        [sys.executable, "-m", "amqpbroker", "definitions", "export", "-"],
        env=wrong | {"AMQPBROKER_MANAGEMENT_URL": url_of(reference_api)},
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 77
    assert "not authorised as 'guest'" in result.stderr.decode()
