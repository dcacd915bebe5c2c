"""Definitions (RabbitMQ's JSON export): imported at boot (``load_definitions``) and through
the embedded powers, exported in RabbitMQ 3.10.8's shape; users, vhosts and permissions kept
in the data directory across restarts; the defaults seeded only on a blank store.

``data/rabbitmq-3.10.8-definitions.json`` is ``GET /api/definitions`` from the reference
RabbitMQ 3.10.8 (users made there over its HTTP API: their hashes are RabbitMQ's).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import pytest
from clientutil import EXTERNAL_URL
from rawamqp import BrokerClosed, RawAMQP

from amqpbroker.access.passwords import MD5, SHA512, hash_password
from amqpbroker.definitions import DefinitionsError
from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.storage.codec import decode_definition
from amqpbroker.storage.records import encode_record, read_records

pytestmark = pytest.mark.skipif(bool(EXTERNAL_URL), reason="runs brokers of its own")

REFERENCE_EXPORT = Path(__file__).parent / "data" / "rabbitmq-3.10.8-definitions.json"
TOP_KEYS = [
    "rabbit_version",
    "rabbitmq_version",
    "product_name",
    "product_version",
    "users",
    "vhosts",
    "permissions",
    "topic_permissions",
    "parameters",
    "global_parameters",
    "policies",
    "queues",
    "exchanges",
    "bindings",
]


def login(broker: BrokerThread, user: str, password: str, vhost: str = "/") -> None:
    """Open and close a pika connection as ``user`` (pika's errors if refused)."""
    params = pika.ConnectionParameters(
        broker.host,
        broker.port,
        vhost,
        pika.PlainCredentials(user, password),
        connection_attempts=1,
        socket_timeout=5,
        stack_timeout=10,
    )
    pika.BlockingConnection(params).close()


def refused(broker: BrokerThread, user: str, password: str, vhost: str = "/") -> bool:
    try:
        login(broker, user, password, vhost)
    except pika.exceptions.ProbableAuthenticationError:
        return True
    return False


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    """A definitions document without what differs between brokers (versions, product,
    RabbitMQ's internal cluster id), each list in a canonical order."""
    skipped = {"rabbit_version", "rabbitmq_version", "product_name", "product_version"}
    return {
        key: sorted(
            (item for item in value if key != "global_parameters"),
            key=lambda item: json.dumps(item, sort_keys=True),
        )
        for key, value in document.items()
        if key not in skipped
    }


def test_a_fresh_broker_exports_its_defaults_in_rabbitmqs_shape() -> None:
    with BrokerThread() as broker:
        exported = broker.export_definitions()
    assert list(exported) == TOP_KEYS
    assert exported["rabbit_version"] == exported["rabbitmq_version"] == "3.10.8"
    [guest] = exported["users"]
    assert list(guest) == ["name", "password_hash", "hashing_algorithm", "tags", "limits"]
    assert (guest["name"], guest["tags"], guest["limits"]) == ("guest", ["administrator"], {})
    assert guest["hashing_algorithm"] == "rabbit_password_hashing_sha256"
    assert exported["vhosts"] == [{"name": "/"}]
    assert exported["permissions"] == [
        {"user": "guest", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}
    ]
    [cluster_id] = exported["global_parameters"]  # made at the first start, as RabbitMQ's
    assert cluster_id["name"] == "internal_cluster_id"
    assert cluster_id["value"].startswith("rabbitmq-cluster-id-")
    for key in [k for k in TOP_KEYS[7:] if k != "global_parameters"]:
        assert exported[key] == [], key


def test_the_reference_export_loaded_at_boot_exports_back_the_same() -> None:
    reference = json.loads(REFERENCE_EXPORT.read_text())
    with BrokerThread(load_definitions=str(REFERENCE_EXPORT)) as broker:
        exported = broker.export_definitions()
        login(broker, "defs-u1", "pw1", "defs-v1")  # a hash RabbitMQ made
        assert refused(broker, "defs-u1", "wrong", "defs-v1")
        assert refused(broker, "defs-u2", "", "/")  # password-less
    assert list(exported) == TOP_KEYS
    assert comparable(exported) == comparable(reference)
    for key in TOP_KEYS[4:]:
        for ours, theirs in zip(exported[key], reference[key], strict=False):
            assert list(ours) == list(theirs), key  # each object's keys in RabbitMQ's order


def test_load_definitions_seeds_no_default_user_or_vhost(tmp_path: Path) -> None:
    path = tmp_path / "definitions.json"
    path.write_text(json.dumps({"users": [{"name": "alice", "password": "pw", "tags": ""}]}))
    with BrokerThread(load_definitions=str(path)) as broker:
        assert [u.name for u in broker.users] == ["alice"]
        assert broker.vhosts == []
        assert refused(broker, "guest", "guest")


def test_users_in_every_password_form(tmp_path: Path) -> None:
    document = {
        "users": [
            {"name": "plain", "password": "p1", "tags": "management, policymaker"},
            {
                "name": "sha512",
                "password_hash": hash_password("p2", SHA512),
                "hashing_algorithm": "rabbit_password_hashing_sha512",
                "tags": ["monitoring"],
            },
            {
                "name": "md5",
                "password_hash": hash_password("p3", MD5),
                "hashing_algorithm": "rabbit_password_hashing_md5",
                "tags": [],
            },
            {"name": "sha256-by-default", "password_hash": hash_password("p4"), "tags": ""},
            {"name": "nopass", "password_hash": "", "tags": ""},
        ],
        "vhosts": [{"name": "v", "description": "for tests", "tags": ["qa", "blue"]}],
        "permissions": [
            {"user": u, "vhost": "v", "configure": ".*", "write": ".*", "read": ".*"}
            for u in ("plain", "sha512", "md5", "sha256-by-default", "nopass")
        ],
    }
    with BrokerThread() as broker:
        broker.import_definitions(document)
        users = {u.name: u for u in broker.users}
        assert users["plain"].tags == ("management", "policymaker")
        assert users["sha512"].tags == ("monitoring",)
        for user, password in (("plain", "p1"), ("sha512", "p2"), ("md5", "p3")):
            login(broker, user, password, "v")
            assert refused(broker, user, password + "x", "v")
        login(broker, "sha256-by-default", "p4", "v")
        assert refused(broker, "nopass", "", "v")
        with RawAMQP(broker.host, broker.port) as client, pytest.raises(BrokerClosed) as closed:
            client.handshake(user="nopass", password="", vhost="v", mechanism="AMQPLAIN")
        assert closed.value.reply_code == 403
        vhost = broker.server.state.vhosts["v"]
        assert (vhost.description, vhost.tags) == ("for tests", ("qa", "blue"))


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ([], "not a JSON object"),
        ({"users": {}}, "'users' is not a list"),
        ({"users": ["bob"]}, "users[0] is not an object"),
        (
            {"users": [{"name": "bob", "password": "a", "password_hash": "", "tags": ""}]},
            "users[0] ('bob'): both 'password' and 'password_hash' are given",
        ),
        (
            {"users": [{"name": "bob", "hashing_algorithm": "sha1", "tags": ""}]},
            "unknown hashing_algorithm 'sha1'",
        ),
        ({"users": [{"name": "bob", "password_hash": "%%%", "tags": ""}]}, "is not base64"),
        ({"users": [{"name": "bob", "password": "x"}]}, "users[0] ('bob'): 'tags' is missing"),
        ({"users": [{"name": "bob", "tags": 3}]}, "'tags' is neither"),
        ({"vhosts": [{}]}, "vhosts[0]: 'name' is missing"),
        (
            {"permissions": [{"user": "guest", "vhost": "/", "configure": "(", "write": ""}]},
            "permissions[0]: 'read' is missing",
        ),
        (
            {
                "permissions": [
                    {"user": "guest", "vhost": "/", "configure": "(", "write": "", "read": ""}
                ]
            },
            "invalid regular expression",
        ),
        (
            {
                "permissions": [
                    {"user": "nobody", "vhost": "/", "configure": "", "write": "", "read": ""}
                ]
            },
            "permissions of user 'nobody' in vhost '/': no such user",
        ),
        (
            {"queues": [{"name": "q", "vhost": "nowhere", "durable": True}]},
            "queue 'q' in vhost 'nowhere': no such vhost",
        ),
        (
            {"queues": [{"name": "q", "vhost": "/", "durable": "yes"}]},
            "queues[0]: 'durable' is not true or false",
        ),
        (
            {"exchanges": [{"name": "x", "vhost": "/", "type": "nonsense"}]},
            "exchange 'x' in vhost '/': ",
        ),
        (
            {
                "bindings": [
                    {"source": "a", "vhost": "/", "destination": "b", "destination_type": "topic"}
                ]
            },
            "bindings[0]: 'destination_type' is neither queue nor exchange",
        ),
    ],
)
def test_an_invalid_document_is_refused_with_the_reason(document: Any, problem: str) -> None:
    with BrokerThread() as broker:
        before = broker.export_definitions()
        with pytest.raises(DefinitionsError) as error:
            broker.import_definitions(document)
        assert problem in str(error.value)
        assert "\n" not in str(error.value)
        if "no such" not in problem and "exchange 'x'" not in problem:
            assert broker.export_definitions() == before  # checked whole before applying


def test_topology_import_keeps_what_exists_and_skips_reserved_names() -> None:
    document = {
        "queues": [
            {"name": "q", "vhost": "/", "durable": True, "auto_delete": False, "arguments": {}},
            {"name": "amq.q", "vhost": "/", "durable": True, "auto_delete": False, "arguments": {}},
        ],
        "exchanges": [
            {"name": "amq.direct", "vhost": "/", "type": "fanout", "durable": True},
            {"name": "x", "vhost": "/", "type": "direct", "durable": True},
        ],
        "bindings": [
            {
                "source": "x",
                "vhost": "/",
                "destination": "q",
                "destination_type": "queue",
                "routing_key": "k",
                "arguments": {},
            },
            {
                "source": "x",
                "vhost": "/",
                "destination": "missing",
                "destination_type": "queue",
                "routing_key": "k",
                "arguments": {},
            },
        ],
    }
    with BrokerThread() as broker:
        with pika.BlockingConnection(pika.URLParameters(broker.url)) as connection:
            connection.channel().queue_declare("q", durable=True, arguments={"x-max-length": 5})
        broker.import_definitions(document)
        broker.import_definitions(document)  # twice: nothing changes
        exported = broker.export_definitions()
    assert [(q["name"], q["arguments"]) for q in exported["queues"]] == [("q", {"x-max-length": 5})]
    assert [x["name"] for x in exported["exchanges"]] == ["x"]
    assert [(b["source"], b["destination"]) for b in exported["bindings"]] == [("x", "q")]


def test_users_vhosts_and_permissions_survive_a_restart(tmp_path: Path) -> None:
    with BrokerThread(data_dir=str(tmp_path)) as broker:
        broker.add_user("alice", "secret", "management")
        broker.add_user("bob", "pw")
        broker.add_vhost("team", description="the team's", tags=["prod"])
        broker.add_vhost("gone")
        broker.set_permissions("alice", "^a", ".*", "", vhost="team")
        broker.set_permissions("alice", vhost="gone")
        broker.set_permissions("bob", vhost="team")
        broker.set_topic_permissions("alice", "amq.topic", "^x", ".*", vhost="team")
        broker.delete_user("bob")
        broker.delete_vhost("gone")
        broker.change_password("alice", "secret2")
        before = broker.export_definitions()
    with BrokerThread(data_dir=str(tmp_path)) as broker:
        after = broker.export_definitions()
        login(broker, "alice", "secret2", "team")
        assert refused(broker, "alice", "secret", "team")
        team = broker.server.state.vhosts["team"]
        assert (team.description, team.tags) == ("the team's", ("prod",))
    assert after == before
    assert [u["name"] for u in after["users"]] == ["guest", "alice"]
    assert {(p["user"], p["vhost"]) for p in after["permissions"]} == {
        ("guest", "/"),
        ("guest", "team"),
        ("alice", "team"),
    }
    assert after["topic_permissions"] == [
        {"user": "alice", "vhost": "team", "exchange": "amq.topic", "write": "^x", "read": ".*"}
    ]


def test_defaults_only_on_a_blank_store_and_a_deleted_default_vhost_stays_deleted(
    tmp_path: Path,
) -> None:
    options = {
        "data_dir": str(tmp_path),
        "default_user": "admin",
        "default_pass": "pw",
        "default_vhost": "home",
        "default_user_tags": ("monitoring", "custom"),
        "default_permissions": ("^c", "^w", "^r"),
    }
    with BrokerThread(**options) as broker:
        exported = broker.export_definitions()
        broker.delete_vhost("home")
    assert [(u["name"], u["tags"]) for u in exported["users"]] == [
        ("admin", ["monitoring", "custom"])
    ]
    assert exported["vhosts"] == [{"name": "home"}]
    assert exported["permissions"] == [
        {"user": "admin", "vhost": "home", "configure": "^c", "write": "^w", "read": "^r"}
    ]
    with BrokerThread(**{**options, "default_user": "someone-else"}) as broker:
        assert broker.vhosts == []
        assert [u.name for u in broker.users] == ["admin"]


def test_load_definitions_runs_at_every_boot_and_adds_to_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "definitions.json"
    path.write_text(
        json.dumps(
            {
                "users": [{"name": "alice", "password": "from-file", "tags": ""}],
                "vhosts": [{"name": "/"}],
                "permissions": [
                    {"user": "alice", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}
                ],
            }
        )
    )
    options = {"data_dir": str(tmp_path / "data"), "load_definitions": str(path)}
    with BrokerThread(**options) as broker:
        broker.change_password("alice", "changed")
        broker.add_user("carol", "c")
        broker.set_permissions("carol")
    with BrokerThread(**options) as broker:
        login(broker, "alice", "from-file")  # the file's user again, as RabbitMQ
        login(broker, "carol", "c")  # and what was added at run time is kept


def test_a_data_dir_from_before_users_were_kept_counts_as_blank(tmp_path: Path) -> None:
    """A data directory written before users and the default vhost were recorded (simulated
    by dropping those records) gets the defaults seeded, and keeps its queues."""
    with (
        BrokerThread(data_dir=str(tmp_path)) as broker,
        pika.BlockingConnection(pika.URLParameters(broker.url)) as connection,
    ):
        connection.channel().queue_declare("kept", durable=True)
    log = tmp_path / "definitions.log"
    old_ops = {"exchange", "queue", "binding"}
    records = [
        encode_record(payload)
        for _, payload in read_records(log)
        if decode_definition(payload)["op"] in old_ops
    ]
    assert len(records) == 1  # the queue alone
    log.write_bytes(b"".join(records))
    with BrokerThread(data_dir=str(tmp_path)) as broker:
        assert broker.vhosts == ["/"]
        assert [u.name for u in broker.users] == ["guest"]
        with pika.BlockingConnection(pika.URLParameters(broker.url)) as connection:
            connection.channel().queue_declare("kept", passive=True)
    ops = [decode_definition(payload)["op"] for _, payload in read_records(log)]
    assert {"vhost", "user", "permission"} <= set(ops)  # recorded now


def test_an_old_rabbitmq_export_md5_by_default_and_the_administrator_flag() -> None:
    """Files from RabbitMQ before 3.6 have md5 hashes without ``hashing_algorithm`` and may
    say ``administrator`` instead of ``tags``; RabbitMQ 3.10 still reads them."""
    document = {
        "rabbit_version": "3.5.7",
        "users": [
            {"name": "old-admin", "password_hash": hash_password("o", MD5), "administrator": True},
            {
                "name": "old-user",
                "password_hash": hash_password("u", MD5),
                "administrator": "false",
            },
        ],
        "permissions": [
            {"user": u, "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}
            for u in ("old-admin", "old-user")
        ],
    }
    with BrokerThread() as broker:
        broker.import_definitions(document)
        users = {u.name: u for u in broker.users}
        login(broker, "old-admin", "o")
        login(broker, "old-user", "u")
    assert users["old-admin"].tags == ("administrator",)
    assert users["old-user"].tags == ()
    assert users["old-user"].hashing_algorithm == MD5


@pytest.mark.parametrize("on_disk", [False, True], ids=["in-memory", "data-dir"])
def test_users_and_permissions_survive_broker_restart(tmp_path: Path, on_disk: bool) -> None:
    options = {"data_dir": str(tmp_path)} if on_disk else {}
    with BrokerThread(**options) as broker:
        broker.add_user("alice", "secret")
        broker.add_vhost("team")
        broker.set_permissions("alice", vhost="team")
        broker.delete_vhost("/")
        broker.restart()
        login(broker, "alice", "secret", "team")
        assert broker.vhosts == ["team"]  # the deleted default vhost is not seeded again
        assert [u.name for u in broker.users] == ["guest", "alice"]
