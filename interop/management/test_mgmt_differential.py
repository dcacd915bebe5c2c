"""The same requests to RabbitMQ 3.10.8's management API and to amqpbroker's: status codes,
error bodies and JSON key sets must agree (values such as versions, hashes, node names and
timestamps are not compared).  Where amqpbroker knowingly says more (counters RabbitMQ shows
only once a vhost is busy) the extra keys are listed in ``EXTRA_KEYS``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from mgmt_http import Api, Reply, q

pytestmark = pytest.mark.differential

# Keys RabbitMQ shows only after activity, or (idle_since) only while an object has been
# still since its last statistics emission: whether either broker shows them depends on
# when each sampled last, so their presence is not compared.
EXTRA_KEYS = {
    "idle_since",
    "message_stats",
    "messages",
    "messages_details",
    "messages_ready",
    "messages_ready_details",
    "messages_unacknowledged",
    "messages_unacknowledged_details",
    "recv_oct",
    "recv_oct_details",
    "send_oct",
    "send_oct_details",
}


def keys(value: Any) -> set[str]:
    """The keys of an object, or the union of the keys of a list's objects."""
    if isinstance(value, dict):
        return set(value)
    if isinstance(value, list):
        return {key for item in value if isinstance(item, dict) for key in item}
    return set()


def same(reference: Reply, ours: Reply, *, what: str, exact_errors: bool = True) -> None:
    """Same status; an error's body exactly (a failed health check's and, when told, any
    error's by its keys); a success's keys."""
    assert ours.status == reference.status, f"{what}: {ours.status} != {reference.status}"
    if reference.status >= 400 and exact_errors and reference.status != 503:
        assert ours.body == reference.body, what
        challenged = "www-authenticate" in reference.headers
        assert ("www-authenticate" in ours.headers) == challenged, what
    elif reference.raw:
        assert keys(ours.body) - EXTRA_KEYS == keys(reference.body) - EXTRA_KEYS, what
    else:
        assert ours.raw == reference.raw, what


Both = Callable[..., tuple[Reply, Reply]]


@pytest.fixture
def both(reference_api: Api, our_api: Api) -> Both:
    """``both(method, path, body, user=(name, password), **options)``: the two replies."""

    def call(
        method: str,
        path: str,
        body: Any = None,
        user: tuple[str, str] | None = None,
        exact_errors: bool = True,
        **options: Any,
    ) -> tuple[Reply, Reply]:
        apis = (reference_api, our_api)
        if user is not None:
            apis = (reference_api.as_user(*user), our_api.as_user(*user))
        reference, ours = (api.call(method, path, body, **options) for api in apis)
        same(reference, ours, what=f"{method} {path}", exact_errors=exact_errors)
        return reference, ours

    return call


def test_unknown_paths_methods_and_credentials(both: Both) -> None:
    both("GET", "/api/nosuch")
    both("GET", "/api/nosuch", auth=False)
    reference, ours = both("PATCH", "/api/overview", auth=False)
    assert ours.headers["allow"] == reference.headers["allow"]
    both("POST", "/api/vhosts")
    both("GET", "/api/overview", auth=False)
    both("GET", "/api/overview", user=("guest", "wrong"))
    both("GET", "/api/whoami", user=("mgmt-diff-nobody", "x"))


def test_tags_decide(both: Both, new_name: Callable[[], str]) -> None:
    plain, manager, admin, vhost = new_name(), new_name(), new_name(), new_name()
    both("PUT", f"/api/users/{q(plain)}", {"password": "pw", "tags": ""})
    both("PUT", f"/api/users/{q(manager)}", {"password": "pw", "tags": "management"})
    both("PUT", f"/api/users/{q(admin)}", {"password": "pw", "tags": ["administrator"]})
    both("PUT", f"/api/vhosts/{q(vhost)}", {})
    both("GET", "/api/whoami", user=(plain, "pw"))
    for path in ("/api/whoami", "/api/overview", "/api/vhosts", "/api/extensions"):
        both("GET", path, user=(manager, "pw"))
    for path in ("/api/users", "/api/permissions", "/api/definitions", f"/api/vhosts/{q(vhost)}"):
        both("GET", path, user=(manager, "pw"))
    both("PUT", "/api/cluster-name", {"name": "x"}, user=(manager, "pw"))
    both("GET", f"/api/aliveness-test/{q(vhost)}", user=(manager, "pw"))
    both("GET", f"/api/aliveness-test/{q(vhost)}", user=(admin, "pw"))
    both("GET", "/api/aliveness-test/mgmt-diff-nosuch", user=(manager, "pw"))
    both(
        "PUT",
        f"/api/permissions/{q(vhost)}/{q(manager)}",
        {"configure": ".*", "write": ".*", "read": ".*"},
    )
    both("GET", f"/api/aliveness-test/{q(vhost)}", user=(manager, "pw"))
    both("GET", "/api/overview", user=(admin, "pw"))


def test_vhost_lifecycle(both: Both, new_name: Callable[[], str]) -> None:
    vhost = new_name()
    path = f"/api/vhosts/{q(vhost)}"
    both("PUT", path, {})
    both("PUT", path, {"description": "d", "tags": "a,b"})
    reference, ours = both("GET", path)
    assert ours.body["tags"] == reference.body["tags"] == ["a", "b"]
    both("GET", f"{path}/permissions")
    both("GET", f"{path}/topic-permissions")
    both("PUT", path, raw=b"{bad")
    both("PUT", path, {"tracing": "maybe"})
    both(
        "PUT",
        f"/api/permissions/{q(vhost)}/guest",
        {"configure": ".*", "write": ".*", "read": ".*"},
    )
    both("DELETE", path)
    both("DELETE", path)
    both("GET", path)
    both("GET", f"{path}/permissions")


def test_vhost_tracing(both: Both, new_name: Callable[[], str]) -> None:
    """The tracing flag: switched by PUT, shown by GET, not exported, and kept by the
    vhost's name when the vhost is deleted and made again (RabbitMQ keeps it per name)."""
    vhost = new_name()
    path = f"/api/vhosts/{q(vhost)}"
    both("PUT", path, {"tracing": True})
    reference, ours = both("GET", path)
    assert ours.body["tracing"] is reference.body["tracing"] is True
    both("PUT", path, {"tracing": "false"})
    reference, ours = both("GET", path)
    assert ours.body["tracing"] is reference.body["tracing"] is False
    both("PUT", path, {"tracing": True})
    reference, ours = both("GET", f"/api/definitions/{q(vhost)}")
    assert "tracing" not in json.dumps(reference.body) and "tracing" not in json.dumps(ours.body)
    both("DELETE", path)
    both("PUT", path, {})
    reference, ours = both("GET", path)
    assert ours.body["tracing"] is reference.body["tracing"] is True
    both("PUT", path, {"tracing": False})
    both("DELETE", path)


def test_user_lifecycle(both: Both, new_name: Callable[[], str]) -> None:
    user = new_name()
    path = f"/api/users/{q(user)}"
    both("PUT", path, {})
    both("PUT", path, {"password": "p"})
    both("GET", path)
    both("PUT", path, {"password": "p", "tags": "management,monitoring"})
    both("PUT", path, {"password": "p", "tags": ["management"]})
    both("GET", path)
    both("GET", "/api/whoami", user=(user, "p"))
    both("PUT", path, {"tags": "management"})
    both("GET", "/api/whoami", user=(user, "p"))
    both("PUT", path, {"password_hash": "notbase64!!", "tags": ""})
    both("PUT", path, {"password": "a", "password_hash": "", "tags": ""})
    both("PUT", path, {"password": 5, "tags": ""})
    both("PUT", path, raw=b"[1,2]")
    both("GET", f"{path}/permissions")
    both("GET", f"{path}/topic-permissions")
    both("GET", "/api/users")
    both("DELETE", path)
    both("DELETE", path)
    both("GET", f"{path}/permissions")


def test_permissions(both: Both, new_name: Callable[[], str]) -> None:
    user, vhost = new_name(), new_name()
    both("PUT", f"/api/users/{q(user)}", {"password": "p", "tags": ""})
    both("PUT", f"/api/vhosts/{q(vhost)}", {})
    path = f"/api/permissions/{q(vhost)}/{q(user)}"
    rights = {"configure": "", "write": ".*", "read": "^r"}
    both("GET", path)
    both("PUT", path, {})
    both("PUT", path, {"configure": ".*"})
    both("PUT", path, rights)
    both("PUT", path, rights)
    both("GET", path)
    both("GET", "/api/permissions")
    both("PUT", f"/api/permissions/mgmt-diff-nosuch/{q(user)}", rights)
    both("PUT", f"/api/permissions/{q(vhost)}/mgmt-diff-nosuch", rights)
    reference, ours = both("PUT", path, {**rights, "configure": "("}, exact_errors=False)
    assert ours.body["reason"][0] == reference.body["reason"][0] == "invalid_regexp"
    both("DELETE", path)
    both("DELETE", path)


def test_topic_permissions(both: Both, new_name: Callable[[], str]) -> None:
    user, vhost = new_name(), new_name()
    both("PUT", f"/api/users/{q(user)}", {"password": "p", "tags": ""})
    both("PUT", f"/api/vhosts/{q(vhost)}", {})
    path = f"/api/topic-permissions/{q(vhost)}/{q(user)}"
    both("GET", path)
    both("PUT", path, {"exchange": "amq.topic", "write": "^a", "read": ".*"})
    both("PUT", path, {"exchange": "x2", "write": "^b", "read": ".*"})
    both("PUT", path, {"write": "^b"})
    both(
        "PUT",
        f"/api/topic-permissions/{q(vhost)}/mgmt-diff-nosuch",
        {"exchange": "x", "write": "", "read": ""},
    )
    both("GET", path)
    both("GET", f"/api/users/{q(user)}/topic-permissions")
    both("GET", f"/api/vhosts/{q(vhost)}/topic-permissions")
    both("DELETE", path)
    both("DELETE", path)


def test_node_routes(both: Both, new_name: Callable[[], str]) -> None:
    vhost = new_name()  # (aliveness-test leaves a queue behind: not in the reference's /)
    both("PUT", f"/api/vhosts/{q(vhost)}", {})
    both("GET", "/api/overview")
    both("GET", "/api/overview/")
    both(
        "GET",
        "/api/overview?columns=rabbitmq_version,cluster_name,queue_totals.messages,object_totals.queues",
    )
    both("GET", "/api/overview?columns=nosuch")
    both("GET", "/api/whoami")
    both("GET", "/api/extensions")
    both("GET", "/api/cluster-name")
    both("PUT", "/api/cluster-name", {})
    both("PUT", "/api/cluster-name", raw=b"{x")
    both("GET", f"/api/aliveness-test/{q(vhost)}")
    both("GET", "/api/aliveness-test/mgmt-diff-nosuch")
    for check in ("alarms", "local-alarms", "virtual-hosts", "node-is-quorum-critical"):
        both("GET", f"/api/health/checks/{check}")
    both("GET", "/api/healthchecks/node")
    both("GET", "/api/health/checks/port-listener/1")
    both("GET", "/api/health/checks/protocol-listener/amqp")
    both("GET", "/api/health/checks/protocol-listener/mqtt")


def test_definitions(both: Both, new_name: Callable[[], str]) -> None:
    vhost = new_name()
    document = {
        "vhosts": [{"name": vhost}],
        "queues": [
            {"name": "dq", "vhost": vhost, "durable": True, "auto_delete": False, "arguments": {}}
        ],
        "exchanges": [
            {
                "name": "dx",
                "vhost": vhost,
                "type": "topic",
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
        ],
        "bindings": [
            {
                "source": "dx",
                "vhost": vhost,
                "destination": "dq",
                "destination_type": "queue",
                "routing_key": "a.#",
                "arguments": {},
            }
        ],
    }
    both("POST", "/api/definitions", document)
    both("GET", "/api/definitions")
    reference, ours = both("GET", f"/api/definitions/{q(vhost)}")
    assert list(ours.body) == list(reference.body)
    assert ours.body["queues"] == reference.body["queues"]
    assert keys(ours.body["bindings"]) == keys(reference.body["bindings"])
    both(
        "POST",
        f"/api/definitions/{q(vhost)}",
        {
            "queues": [
                {
                    "name": "dq2",
                    "vhost": "x",
                    "durable": False,
                    "auto_delete": False,
                    "arguments": {},
                }
            ]
        },
    )
    reference, ours = both("GET", f"/api/definitions/{q(vhost)}")
    by_name = lambda item: item["name"]  # noqa: E731
    assert sorted(ours.body["queues"], key=by_name) == sorted(reference.body["queues"], key=by_name)
    both("POST", "/api/definitions", raw=b"{nope")
    both("GET", "/api/definitions/mgmt-diff-nosuch")
    both("POST", "/api/definitions/mgmt-diff-nosuch", {})
