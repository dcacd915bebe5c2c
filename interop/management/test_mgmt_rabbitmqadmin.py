"""rabbitmqadmin 3.10.8, unchanged, against both brokers: the commands for vhosts, users,
permissions, connections, the overview and definitions give the same output, in every
``-f`` format (rows of this test's own names: the reference is shared; values that are the
broker's own left out: password hashes (salted), the cluster name, node names, the totals
of the reference's other objects, ``product_name`` (``amqpbroker`` here, on purpose),
connection names (they hold the brokers' ports: shown as ``<connection>``)).
test_mgmt_rabbitmqadmin_objects.py does queues, exchanges, bindings, publish, get, purge."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import pytest
from mgmt_http import Api
from rabbitmqadmin_tool import (
    INSTALLED,
    admin,
    anonymous_connections,
    blocks_naming,
    differences,
    items_naming,
    rows_naming,
    step,
    topology_steps,
    transcript,
)

from amqpbroker.access.passwords import hash_password
from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.testing.polling import settle

pytestmark = [
    pytest.mark.differential,
    pytest.mark.skipif(not INSTALLED, reason="no rabbitmqadmin"),
]
REFERENCE_AMQP = os.environ.get("AMQPBROKER_REFERENCE_URL", "amqp://guest:guest@127.0.0.1:5673/")


def test_vhost_user_permission_commands(
    reference_api: Api, our_api: Api, new_name: Callable[[], str]
) -> None:
    vhost, user = new_name(), new_name()
    outputs = []
    for api in (reference_api, our_api):
        seen = [
            admin(api, "declare", "vhost", f"name={vhost}"),
            admin(api, "declare", "user", f"name={user}", "password=pw", "tags=management"),
            admin(
                api,
                "declare",
                "permission",
                f"vhost={vhost}",
                f"user={user}",
                "configure=.*",
                "write=.*",
                "read=",
            ),
        ]
        code, listed = admin(api, "list", "permissions")
        seen.append((code, rows_naming(listed, user)))
        code, listed = admin(api, "list", "vhosts", "name")
        seen.append((code, rows_naming(listed, vhost)))
        code, listed = admin(api, "list", "users", "name", "tags")
        seen.append((code, rows_naming(listed, user)))
        code, shown = admin(api, "show", "overview")
        header = [cell.strip() for cell in shown.splitlines()[1].split("|")]
        seen.append((code, " ".join(header)))
        seen.append(admin(api, "delete", "permission", f"vhost={vhost}", f"user={user}"))
        seen.append(admin(api, "delete", "user", f"name={user}"))
        seen.append(admin(api, "delete", "vhost", f"name={vhost}"))
        seen.append(admin(api, "delete", "vhost", f"name={vhost}"))
        outputs.append(seen)
    reference, ours = outputs
    assert ours == reference


def test_the_references_export_imports_here(
    reference_api: Api, our_api: Api, tmp_path: Path
) -> None:
    """``rabbitmqadmin export`` from RabbitMQ, ``import`` into amqpbroker (the reference
    itself is only read: other suites share it), and our export has its sections."""
    theirs, ours = tmp_path / "rabbitmq.json", tmp_path / "amqpbroker.json"
    assert admin(reference_api, "export", str(theirs))[0] == 0
    code, said = admin(our_api, "import", str(theirs))
    assert (code, said.startswith("Uploaded definitions")) == (0, True), said
    assert admin(our_api, "export", str(ours))[0] == 0
    assert list(json.loads(ours.read_text())) == list(json.loads(theirs.read_text()))


# A salted hash made once (a hash is otherwise the broker's own: salted at random).
HASH = hash_password("secret")


def _access_views(api: Api, prefix: str) -> list[Any]:
    """What each format of the user, permission and vhost lists shows of ``prefix``'s rows."""
    code, users = admin(api, "list", "users", "name", "tags", "hashing_algorithm", "limits")
    seen: list[Any] = [(code, rows_naming(users, prefix))]
    code, users = admin(api, "-f", "tsv", "list", "users")  # (hashes: only the given one)
    seen.append((code, rows_naming(users, HASH)))
    for args in (
        ("-f", "tsv", "list", "users", "name", "tags"),
        ("-f", "kvp", "list", "permissions"),
        ("-f", "tsv", "list", "permissions", "vhost", "user", "configure", "write", "read"),
        ("list", "permissions"),
        ("-S", "name", "-R", "list", "users", "name"),
        ("-f", "kvp", "list", "vhosts", "name", "tracing", "description", "tags"),
        ("list", "vhosts", "name", "tracing", "default_queue_type", "metadata.tags"),
    ):
        code, output = admin(api, *args)
        seen.append((args, code, rows_naming(output, prefix)))
    code, output = admin(api, "-f", "long", "list", "users", "name", "tags")
    seen.append((code, blocks_naming(output, prefix)))
    code, output = admin(api, "-f", "raw_json", "list", "users", "name", "tags")
    seen.append((code, items_naming(output, prefix)))
    code, output = admin(api, "-f", "pretty_json", "list", "permissions")
    seen.append((code, items_naming(output, prefix, key="user"), output.startswith("[\n  {")))
    code, output = admin(api, "-f", "pretty_json", "list", "vhosts", "name", "tracing")
    seen.append((code, items_naming(output, prefix)))
    code, output = admin(api, "-f", "bash", "list", "vhosts")
    seen.append((code, [word for word in output.split() if prefix in word]))
    assert all(view[1] if len(view) == 2 else view[2] for view in seen), seen
    return seen


def test_users_permissions_and_vhosts_in_every_format(
    reference_api: Api, our_api: Api, new_name: Callable[[], str]
) -> None:
    vhost, manager, nobody, hashed = new_name(), new_name(), new_name(), new_name()
    prefix = vhost.rpartition("-")[0]
    views = []
    for api in (reference_api, our_api):
        made = transcript(
            api,
            [
                step("declare", "vhost", f"name={vhost}"),
                step("declare", "user", f"name={nobody}", "password_hash=", "tags="),
                step("declare", "user", f"name={hashed}", f"password_hash={HASH}",
                     "tags=administrator"),
                step("declare", "user", f"name={manager}", "password=pw",
                     "tags=monitoring,management"),
                step("declare", "permission", f"vhost={vhost}", f"user={manager}",
                     "configure=^a", "write=.*", "read="),
                step("declare", "permission", f"vhost={vhost}", f"user={nobody}",
                     "configure=", "write=", "read=.*"),
                step("declare", "user", f"name={nobody}", "tags=x"),
            ],
        )  # fmt: skip
        views.append((made, _access_views(api, prefix)))
    reference, ours = views
    assert ours == reference


def test_show_overview_in_every_format(reference_api: Api, our_api: Api) -> None:
    columns = ("rabbitmq_version", "management_version", "rates_mode")
    shown = []
    for api in (reference_api, our_api):
        outputs = [admin(api, "show", "overview", *columns)]
        for form in ("tsv", "kvp", "long", "raw_json", "pretty_json", "bash"):
            outputs.append(admin(api, "-f", form, "show", "overview", *columns))
        code, whole = admin(api, "-f", "raw_json", "show", "overview")
        outputs.append((code, sorted(json.loads(whole)[0])))  # (its keys; values differ)
        code, default = admin(api, "-f", "long", "show", "overview")
        outputs.append((code, [line.partition(":")[0] for line in default.splitlines()]))
        shown.append(outputs)
    reference, ours = shown
    assert ours == reference


def _connection_views(api: Api, amqp: pika.ConnectionParameters) -> list[Any]:
    """Open a connection with pika, list it in each format, close it with rabbitmqadmin."""
    connection = pika.BlockingConnection(amqp)
    channel = connection.channel()
    queue = channel.queue_declare("", exclusive=True).method.queue  # (gone with it)
    channel.basic_qos(prefetch_count=7)
    channel.basic_consume(queue, lambda *_: None, consumer_tag="admin-rabbitmqadmin-tag")
    local_port = connection._impl._transport._sock.getsockname()[1]  # (its name holds it)
    mine = f"127.0.0.1:{local_port} ->"
    columns = ("name", "user", "channels", "vhost", "user_provided_name", "state", "protocol")

    def listed() -> tuple[int, str]:
        code, output = admin(api, "list", "connections", *columns)
        return code, rows_naming(output, mine)

    # RabbitMQ lists a new connection after ~1.5 s, and its channels some seconds later.
    seen: list[Any] = [settle(listed, lambda got: " 1 " in got[1], timeout=30)]
    for args in (
        ("list", "connections"),
        ("-f", "tsv", "list", "connections", "name", "user", "channels", "ssl"),
        ("-f", "kvp", "list", "connections", "name", "auth_mechanism", "type"),
        ("-f", "long", "list", "connections", "name", "client_properties.connection_name"),
    ):
        code, output = admin(api, *args)
        cut = blocks_naming(output, mine) if "long" in args else rows_naming(output, mine)
        seen.append((args, code, anonymous_connections(cut)))
    seen.append(settle(lambda: _channel_rows(api, mine), lambda got: " 1 |" in got[1], timeout=30))
    code, output = admin(api, "list", "consumers", *CONSUMER_COLUMNS)
    seen.append((code, rows_naming(output, "admin-rabbitmqadmin-tag")))
    assert all(view[-1] for view in seen), seen  # (each listed the test's own)
    code, output = admin(api, "-f", "raw_json", "list", "connections", "name", "user", "vhost")
    seen.append((code, [sorted(item.items()) for item in items_naming(output, mine)]))
    name = f"{mine} 127.0.0.1:{amqp.port}"
    seen.append(admin(api, "close", "connection", f"name={name}"))
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as closed:
        for _ in range(100):  # (each call waits at most 0.1 s: the close comes before)
            connection.process_data_events(time_limit=0.1)
    seen.append((closed.value.reply_code, closed.value.reply_text))
    code, output = admin(api, "close", "connection", f"name={name}")
    seen.append((code, anonymous_connections(output)))
    return [anonymous_connections(repr(view)) for view in seen]


CHANNEL_COLUMNS = ("name", "user", "number", "prefetch_count", "confirm", "consumer_count")
CONSUMER_COLUMNS = (
    "consumer_tag",
    "ack_required",
    "prefetch_count",
    "exclusive",
    "active",
    "activity_status",
    "channel_details.number",
)


def _channel_rows(api: Api, connection: str) -> tuple[int, str]:
    code, output = admin(api, "list", "channels", *CHANNEL_COLUMNS)
    return code, rows_naming(output, connection)


def test_connections_channels_consumers_listed_and_closed(
    reference_api: Api, our_api: Api, our_broker: BrokerThread
) -> None:
    properties = {"connection_name": "admin-rabbitmqadmin"}
    reference_amqp = pika.URLParameters(REFERENCE_AMQP)
    reference_amqp.client_properties = properties
    ours_amqp = pika.ConnectionParameters(
        our_broker.host, our_broker.port, client_properties=properties
    )
    reference = _connection_views(reference_api, reference_amqp)
    ours = _connection_views(our_api, ours_amqp)
    assert ours == reference


def test_one_vhosts_definitions_cross_over(
    reference_api: Api, our_api: Api, new_name: Callable[[], str], tmp_path: Path
) -> None:
    """``-V v export`` from each broker, ``-V w import`` of it into the other: the two
    exports (in any order) and what each broker then lists are the same."""
    source, target = new_name(), new_name()
    exported, listings = [], []
    document = tmp_path / "definitions.json"
    for api in (reference_api, our_api):
        transcript(api, [*topology_steps(source), step("declare", "vhost", f"name={target}")])
        said = admin(api, "-V", source, "export", str(document))
        exported.append((said, json.loads(document.read_text())))
    for api, (_, other) in ((reference_api, exported[1]), (our_api, exported[0])):
        document.write_text(json.dumps(other))
        listing = [admin(api, "-V", target, "import", str(document))]
        for kind, columns in (
            ("queues", ("name", "durable", "auto_delete", "arguments", "type")),
            ("exchanges", ("name", "type", "durable", "internal", "arguments")),
            ("bindings", ("source", "destination", "destination_type", "properties_key")),
        ):
            listing.append(admin(api, "-V", target, "-f", "raw_json", "list", kind, *columns))
        listings.append(listing)
    (said_ours, ours), (said_theirs, theirs) = exported[1], exported[0]
    assert said_ours == said_theirs
    assert in_any_order(ours) == in_any_order(theirs)
    assert listings[1] == listings[0]


def in_any_order(document: dict[str, Any]) -> dict[str, Any]:
    """A definitions document with each section's items sorted: RabbitMQ exports queues and
    exchanges in its tables' hash order, which says nothing."""
    return {
        key: sorted(value, key=json.dumps) if isinstance(value, list) else value
        for key, value in document.items()
    }


def test_what_non_administrators_may_do(
    reference_api: Api, our_api: Api, new_name: Callable[[], str], tmp_path: Path
) -> None:
    """rabbitmqadmin as a management user (permitted in one vhost), a monitoring user and a
    user without tags: what each sees, and the refusals (``*** Access refused: PATH``)."""
    vhost, manager, monitor, nobody = new_name(), new_name(), new_name(), new_name()
    as_manager = ("-u", manager, "-p", "pw")
    steps = [
        step("declare", "vhost", f"name={vhost}"),
        step("declare", "user", f"name={manager}", "password=pw", "tags=management"),
        step("declare", "user", f"name={monitor}", "password=pw", "tags=monitoring"),
        step("declare", "user", f"name={nobody}", "password=pw", "tags="),
        step("declare", "permission", f"vhost={vhost}", f"user={manager}", "configure=.*",
             "write=.*", "read=.*"),
        step("-V", vhost, "declare", "queue", "name=q1"),
        step(*as_manager, "list", "vhosts", "name"),
        step(*as_manager, "-V", vhost, "list", "queues", "name", "durable"),
        step(*as_manager, "-V", vhost, "declare", "queue", "name=q2"),
        step(*as_manager, "-V", vhost, "publish", "routing_key=q1", "payload=x"),
        step(*as_manager, "-V", vhost, "get", "queue=q1", "ackmode=ack_requeue_false"),
        step(*as_manager, "-V", vhost, "purge", "queue", "name=q1"),
        step(*as_manager, "-V", vhost, "delete", "queue", "name=q2"),
        step(*as_manager, "declare", "vhost", f"name={vhost}-x"),
        step(*as_manager, "list", "users"),
        step(*as_manager, "list", "permissions"),
        step(*as_manager, "-V", "/", "declare", "queue", f"name={vhost}-q"),
        step(*as_manager, "export", str(tmp_path / "refused.json")),
        step(*as_manager, "show", "overview", "rabbitmq_version"),
        step("-u", monitor, "-p", "pw", "-V", vhost, "list", "queues", "name"),
        step("-u", monitor, "-p", "pw", "-V", vhost, "list", "exchanges", "name"),
        step("-u", nobody, "-p", "pw", "list", "vhosts", "name"),
        step("-u", manager, "-p", "wrong", "list", "vhosts", "name"),
    ]  # fmt: skip
    ours = transcript(our_api, steps)
    theirs = transcript(reference_api, steps)
    assert not differences(ours, theirs), differences(ours, theirs)
