"""Users, vhosts and permissions survive SIGKILL, with ``amqpbroker serve`` as a subprocess:
made at boot from a definitions file (``load_definitions``), kept in the data directory, and
served after a restart that no longer loads the file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pika
import pika.exceptions
import pytest
from brokerproc import Node, assert_clean
from procutil import read_first_line

from amqpbroker.access.passwords import SHA512, hash_password

DEFINITIONS = {
    "users": [
        {"name": "alice", "password": "secret", "tags": "management"},
        {
            "name": "bob",
            "password_hash": hash_password("bobs", SHA512),
            "hashing_algorithm": "rabbit_password_hashing_sha512",
            "tags": [],
        },
    ],
    "vhosts": [{"name": "team", "description": "the team's", "tags": ["prod"]}],
    "permissions": [
        {"user": "alice", "vhost": "team", "configure": ".*", "write": ".*", "read": ".*"},
        {"user": "bob", "vhost": "team", "configure": "", "write": "", "read": ".*"},
    ],
    "queues": [
        {"name": "jobs", "vhost": "team", "durable": True, "auto_delete": False, "arguments": {}}
    ],
}


def connect(node: Node, user: str, password: str, vhost: str) -> pika.BlockingConnection:
    params = pika.ConnectionParameters(
        "127.0.0.1",
        node.port,
        vhost,
        pika.PlainCredentials(user, password),
        connection_attempts=1,
        socket_timeout=5,
        stack_timeout=10,
    )
    return pika.BlockingConnection(params)


def assert_refused(node: Node, user: str, password: str, vhost: str) -> None:
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        connect(node, user, password, vhost)


def test_users_and_permissions_from_a_definitions_file_survive_sigkill(
    make_node: Callable[..., Node], tmp_path: Path
) -> None:
    definitions = tmp_path / "definitions.json"
    definitions.write_text(json.dumps(DEFINITIONS))
    config = tmp_path / "rabbitmq.conf"
    config.write_text(f"load_definitions = {definitions}\n")
    node = make_node()
    node.start("--config", str(config))
    with connect(node, "alice", "secret", "team") as connection:
        connection.channel().queue_declare("jobs", passive=True)
    assert_refused(node, "guest", "guest", "/")  # no defaults with load_definitions
    node.kill()

    node.start()  # the data directory alone, without the file
    with connect(node, "alice", "secret", "team") as connection:
        connection.channel().queue_declare("jobs", passive=True)
    connect(node, "bob", "bobs", "team").close()
    assert_refused(node, "alice", "wrong", "team")
    assert_refused(node, "guest", "guest", "/")  # not a blank store: nothing seeded
    node.kill()
    node.start()  # after the compacted rewrite of the definitions log, once more
    connect(node, "alice", "secret", "team").close()
    assert_clean(node.all_logs())


def test_environment_defaults_seed_a_blank_data_dir_and_survive_sigkill(
    tmp_path: Path,
) -> None:
    """RABBITMQ_DEFAULT_USER/PASS/VHOST take precedence over rabbitmq.conf's keys."""
    config = tmp_path / "rabbitmq.conf"
    config.write_text("default_user = conf-user\ndefault_pass = conf-pass\n")
    environment = {
        "RABBITMQ_DEFAULT_USER": "boss",
        "RABBITMQ_DEFAULT_PASS": "b0ss",
        "RABBITMQ_DEFAULT_VHOST": "work",
    }
    node = Node(tmp_path / "data", tmp_path, env=environment)
    try:
        url = f"amqp://boss:b0ss@127.0.0.1:{node.port}/work"
        process = node.spawn("--config", str(config))
        assert read_first_line(process, 20.0) == f"amqpbroker listening on {url}"
        connect(node, "boss", "b0ss", "work").close()
        assert_refused(node, "conf-user", "conf-pass", "work")
        node.kill()
        assert node.env is not None
        node.env["RABBITMQ_DEFAULT_PASS"] = "changed"  # too late: the store is not blank
        process = node.spawn("--config", str(config))
        read_first_line(process, 20.0)
        connect(node, "boss", "b0ss", "work").close()
        assert_refused(node, "boss", "changed", "work")
    finally:
        node.close()
