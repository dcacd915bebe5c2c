"""Definitions and password hashes move both ways between RabbitMQ 3.10.8 and amqpbroker: a
hash RabbitMQ made (a user created over its HTTP API) logs in on amqpbroker once imported; a
hash amqpbroker made, PUT to RabbitMQ as ``password_hash``, logs in there; and RabbitMQ's
live export loaded by amqpbroker at boot exports back the same.  Runs only when the reference
answers (marker ``differential``); what the tests make there is deleted after."""

from __future__ import annotations

import base64
import json
import os
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlparse

import pika
import pika.exceptions
import pytest

from amqpbroker.access.passwords import SHA512, hash_password
from amqpbroker.embedded.broker import BrokerThread

pytestmark = pytest.mark.differential

REFERENCE = urlparse(
    os.environ.get("AMQPBROKER_REFERENCE_URL", "amqp://guest:guest@127.0.0.1:5673/")
)
MANAGEMENT = os.environ.get("AMQPBROKER_REFERENCE_MANAGEMENT_URL", "http://127.0.0.1:15673")


def management(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        f"{MANAGEMENT}/api/{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "content-type": "application/json",
            "authorization": "Basic " + base64.b64encode(b"guest:guest").decode(),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        data = response.read()
    return json.loads(data) if data else None


@pytest.fixture
def reference_users() -> Iterator[list[str]]:
    """Names of users to delete from the reference afterwards."""
    made: list[str] = []
    yield made
    for name in made:
        management("DELETE", f"users/{quote(name, safe='')}")


def login(host: str, port: int, user: str, password: str) -> None:
    params = pika.ConnectionParameters(
        host,
        port,
        "/",
        pika.PlainCredentials(user, password),
        connection_attempts=1,
        socket_timeout=5,
        stack_timeout=10,
    )
    pika.BlockingConnection(params).close()


def test_a_hash_made_by_rabbitmq_logs_in_on_amqpbroker(reference_users: list[str]) -> None:
    name = "defs-interop-from-rabbitmq"
    reference_users.append(name)
    management("PUT", f"users/{name}", {"password": "s3cret-ü", "tags": "monitoring"})
    made = management("GET", f"users/{name}")
    with BrokerThread() as broker:
        broker.import_definitions(
            {
                "users": [
                    {
                        "name": name,
                        "password_hash": made["password_hash"],
                        "hashing_algorithm": made["hashing_algorithm"],
                        "tags": made["tags"],
                    }
                ],
                "permissions": [
                    {"user": name, "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}
                ],
            }
        )
        login(broker.host, broker.port, name, "s3cret-ü")
        with pytest.raises(pika.exceptions.ProbableAuthenticationError):
            login(broker.host, broker.port, name, "s3cret")


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
def test_a_hash_made_by_amqpbroker_logs_in_on_rabbitmq(
    reference_users: list[str], algorithm: str
) -> None:
    name = f"defs-interop-from-amqpbroker-{algorithm}"
    reference_users.append(name)
    with BrokerThread() as broker:
        broker.add_user(name, "p4ss-ö")
        if algorithm == "sha512":
            broker.import_definitions(
                {
                    "users": [
                        {
                            "name": name,
                            "password_hash": hash_password("p4ss-ö", SHA512),
                            "hashing_algorithm": SHA512,
                            "tags": "",
                        }
                    ]
                }
            )
        [user] = [u for u in broker.export_definitions()["users"] if u["name"] == name]
    management(
        "PUT",
        f"users/{name}",
        {
            "password_hash": user["password_hash"],
            "hashing_algorithm": user["hashing_algorithm"],
            "tags": "",
        },
    )
    management("PUT", f"permissions/%2F/{name}", {"configure": ".*", "write": ".*", "read": ".*"})
    host, port = REFERENCE.hostname or "127.0.0.1", REFERENCE.port or 5672
    login(host, port, name, "p4ss-ö")
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        login(host, port, name, "p4ss")


def test_the_references_live_export_loaded_at_boot_exports_back_the_same(
    reference_users: list[str], tmp_path: Any
) -> None:
    """Definitions made on RabbitMQ 3.10.8 (a vhost, a user, its
    permissions and topic permissions, a classic and a quorum queue with arguments, two
    exchanges, queue and exchange bindings), exported there, loaded by amqpbroker at boot:
    amqpbroker's export of them is RabbitMQ's (hashes included)."""
    vhost, user = "defs-interop-v", "defs-interop-u"
    reference_users.append(user)
    path = f"vhosts/{vhost}"
    management("PUT", path, {"description": "round trip", "tags": "a,b"})
    try:
        management("PUT", f"users/{user}", {"password": "pw", "tags": "management,custom"})
        management(
            "PUT", f"permissions/{vhost}/{user}", {"configure": "^q", "write": ".*", "read": ""}
        )
        management(
            "PUT",
            f"topic-permissions/{vhost}/{user}",
            {"exchange": "amq.topic", "write": "^a", "read": ".*"},
        )
        management(
            "PUT",
            f"queues/{vhost}/qq",
            {"durable": True, "arguments": {"x-queue-type": "quorum", "x-max-length": 10}},
        )
        management(
            "PUT",
            f"queues/{vhost}/q",
            {"durable": True, "arguments": {"x-message-ttl": 5000, "x-dead-letter-exchange": "x"}},
        )
        management(
            "PUT",
            f"exchanges/{vhost}/x",
            {"type": "topic", "durable": True, "arguments": {"alternate-exchange": "x2"}},
        )
        management(
            "PUT", f"exchanges/{vhost}/x2", {"type": "fanout", "durable": True, "internal": True}
        )
        management(
            "POST", f"bindings/{vhost}/e/x/q/q", {"routing_key": "a.#", "arguments": {"k": "v"}}
        )
        management("POST", f"bindings/{vhost}/e/x/e/x2", {"routing_key": "", "arguments": {}})
        policy = {"pattern": "^q", "definition": {"max-length": 5, "ha-mode": "all"}}
        management("PUT", f"policies/{vhost}/p", {**policy, "priority": 2, "apply-to": "queues"})
        management(
            "PUT", f"operator-policies/{vhost}/o", {"pattern": ".", "definition": {"expires": 9}}
        )
        management("PUT", f"parameters/vhost-limits/{vhost}/limits", {"value": {"max-queues": 9}})
        exported = management("GET", "definitions")
    finally:
        management("DELETE", path)
    document = {
        key: [item for item in value if _ours(key, item, user, vhost)]
        if isinstance(value, list)
        else value
        for key, value in exported.items()
    }
    file = tmp_path / "definitions.json"
    file.write_text(json.dumps(document))
    with BrokerThread(load_definitions=str(file)) as broker:
        again = broker.export_definitions()
        # (each broker makes its own cluster id: RabbitMQ's was left out of the document)
        again["global_parameters"] = [
            item for item in again["global_parameters"] if item["name"] != "internal_cluster_id"
        ]
        broker.set_permissions(user, ".*", ".*", ".*", vhost=vhost)
        login_vhost(broker.host, broker.port, user, "pw", vhost)
    assert list(again) == list(exported)
    for key in list(exported)[4:]:
        canonical = sorted(document[key], key=lambda item: json.dumps(item, sort_keys=True))
        assert sorted(again[key], key=lambda item: json.dumps(item, sort_keys=True)) == canonical
        for theirs, mine in zip(document[key], again[key], strict=False):
            assert list(mine) == list(theirs), key


def login_vhost(host: str, port: int, user: str, password: str, vhost: str) -> None:
    params = pika.ConnectionParameters(
        host, port, vhost, pika.PlainCredentials(user, password), connection_attempts=1
    )
    pika.BlockingConnection(params).close()


def _ours(key: str, item: dict[str, Any], user: str, vhost: str) -> bool:
    """Whether an exported item is this test's (the reference is shared with others)."""
    if key == "users":
        return bool(item["name"] == user)
    if key == "vhosts":
        return bool(item["name"] == vhost)
    return item.get("vhost") == vhost and item.get("user", user) == user
