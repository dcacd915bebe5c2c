"""Policies, operator policies, runtime and global parameters on RabbitMQ 3.10.8 and on
amqpbroker: the same statuses, the same 400 texts (HTML-escaped or not), the same tag rules,
the same items (compared whole within the test's own vhost), and definitions carrying them
from one broker to the other and back.

Only ``vhost-limits`` is used as a plain parameter component: the reference has the shovel
plugin, and a shovel parameter would start a real shovel there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import test_mgmt_differential
from mgmt_http import Api, q
from test_mgmt_differential import Both

pytestmark = pytest.mark.differential
both = test_mgmt_differential.both  # (the fixture: both brokers' replies, compared)

POLICY = {"pattern": "^a", "definition": {"max-length": 1, "message-ttl": 5000}}


def mine(items: Any, vhost: str) -> list[Any]:
    """The items of ``vhost``; parameters in a canonical order (RabbitMQ lists them in its
    table's hash order), policies as listed (by priority)."""
    found = [item for item in items if item.get("vhost") == vhost]
    if found and "component" in found[0]:
        return sorted(found, key=lambda item: json.dumps(item, sort_keys=True))
    return found


@pytest.fixture
def vhost(both: Both, new_name: Callable[[], str]) -> str:
    name = new_name()
    both("PUT", f"/api/vhosts/{q(name)}", {})
    return name


def test_policy_lifecycle(both: Both, vhost: str) -> None:
    v = q(vhost)
    path = f"/api/policies/{v}/p1"
    both("PUT", "/api/policies/mgmt-diff-nosuch/p1", POLICY)
    both("GET", "/api/policies/mgmt-diff-nosuch")
    both("GET", path)
    both("DELETE", path)
    both("PUT", path, POLICY)
    both("PUT", path, {**POLICY, "priority": 3, "apply-to": "queues", "ignored": 1})
    both("PUT", f"/api/policies/{v}/p2", {**POLICY, "priority": 1.5, "apply-to": "exchanges"})
    both(
        "PUT", f"/api/policies/{v}/p3", {"pattern": "x", "definition": {"z": 1}}, exact_errors=True
    )
    reference, ours = both("GET", path)
    assert ours.body == reference.body
    for listing in (f"/api/policies/{v}", "/api/policies", f"/api/parameters/policy/{v}"):
        reference, ours = both("GET", listing)
        assert mine(ours.body, vhost) == mine(reference.body, vhost), listing
    reference, ours = both("GET", "/api/parameters")  # policies are not listed there
    assert mine(ours.body, vhost) == mine(reference.body, vhost) == []
    reference, ours = both("GET", f"/api/parameters/policy/{v}/p1")
    assert ours.body == reference.body
    both("DELETE", f"/api/parameters/policy/{v}/p1")  # (RabbitMQ: 500)
    both("PUT", f"/api/parameters/policy/{v}/p1", {"value": POLICY})
    both("DELETE", path)
    both("DELETE", path)
    both("GET", path)


BAD_POLICIES: list[Any] = [
    {},
    {"pattern": "^a"},
    {"definition": {"max-length": 1}},
    {"pattern": "^a", "definition": {}},
    {"pattern": "^a", "definition": []},
    {"pattern": "^a", "definition": "x"},
    {"pattern": "^a", "definition": {"max-length": "1"}, "priority": "1"},
    {"pattern": "^a", "definition": {"max-length": -1}},
    {"pattern": "^a", "definition": {"max-length": 1.5}},
    {"pattern": "^a", "definition": {"max-length": True}},
    {"pattern": "^a", "definition": {"bogus": 2, "zz": "q", "max-length": 1}},
    {"pattern": "^a", "definition": {"a": {"b": [1, "c", None, True, 1.5]}}},
    {"pattern": "^a", "definition": {"message-ttl": 4294967296}},
    {"pattern": "^a", "definition": {"expires": 0}},
    {"pattern": "^a", "definition": {"overflow": "nope"}},
    {"pattern": "^a", "definition": {"queue-mode": "x", "dead-letter-exchange": 1}},
    {"pattern": "^a", "definition": {"ha-mode": "exactly"}},
    {"pattern": "^a", "definition": {"ha-mode": 1}},
    {"pattern": "^a", "definition": {"max-age": 1}},
    {"pattern": "^a", "definition": {"max-age": "7X"}},
    {"pattern": "^a", "definition": {"ha-mode": "all", "ha-sync-mode": "x"}},
    {"pattern": "^a", "definition": {"ha-mode": "nodes"}},
    {"pattern": "^a", "definition": {"ha-params": 2}},
    {"pattern": "^a", "definition": {"queue-master-locator": "x", "expires": 0}},
    {"pattern": "^a", "definition": {"dead-letter-strategy": "x", "delivery-limit": "x"}},
    {"pattern": "a(", "definition": {"max-length": 1}},
    {"pattern": "(", "definition": {"max-length": "x"}, "priority": "2", "apply-to": "bogus"},
    {"pattern": "[a", "definition": {"max-length": 1}},
    {"pattern": 1, "definition": {"max-length": 1}},
    {"pattern": "^a", "definition": {"max-length": 1}, "priority": None},
    {"pattern": "^a", "definition": {"max-length": 1}, "apply-to": None},
    {"pattern": "^a", "definition": {"max-length": 1}, "apply-to": "quorum_queues"},
    {"pattern": "^a", "definition": {"max-length": 1}, "apply-to": 1},
]


@pytest.mark.parametrize("operator", [False, True], ids=["policy", "operator-policy"])
def test_policy_validation(both: Both, vhost: str, operator: bool) -> None:
    kind = "operator-policies" if operator else "policies"
    path = f"/api/{kind}/{q(vhost)}/bad"
    for body in BAD_POLICIES:
        both("PUT", path, body)
    both("PUT", path, raw=b"{bad")
    both("PUT", path, raw=b'"doubly encoded"')
    both("PUT", path, raw=b"[1]")
    both("PUT", path, {"pattern": "^a", "definition": {"overflow": "drop-head"}})
    both("PUT", path, {"pattern": "^a", "definition": {"dead-letter-exchange": "x"}})
    both("GET", f"/api/{kind}/{q(vhost)}")


def test_operator_policies(both: Both, vhost: str) -> None:
    v = q(vhost)
    path = f"/api/operator-policies/{v}/o1"
    both("GET", path)
    both("PUT", path, {**POLICY, "apply-to": "queues"})
    both("PUT", path, POLICY)
    reference, ours = both("GET", path)
    assert ours.body == reference.body
    for listing in (f"/api/operator-policies/{v}", "/api/operator-policies", "/api/parameters"):
        reference, ours = both("GET", listing)
        assert mine(ours.body, vhost) == mine(reference.body, vhost), listing
    value = {"pattern": "^b", "definition": {"expires": 10}}
    both("PUT", f"/api/parameters/operator_policy/{v}/o2", {"value": value})
    both("PUT", f"/api/parameters/operator_policy/{v}/o2", {"value": {**value, "priority": 1}})
    reference, ours = both("GET", f"/api/operator-policies/{v}/o2")
    assert ours.body == reference.body
    both("DELETE", f"/api/parameters/operator_policy/{v}/o2")
    both("DELETE", path)
    both("DELETE", path)


def test_parameters(both: Both, vhost: str) -> None:
    v = q(vhost)
    path = f"/api/parameters/vhost-limits/{v}/limits"
    both("GET", path)
    both("PUT", "/api/parameters/vhost-limits/mgmt-diff-nosuch/limits", {"value": {}})
    both("GET", "/api/parameters/vhost-limits/mgmt-diff-nosuch")
    both("PUT", path, {})
    both("PUT", path, {"value": {"max-queues": "x"}})
    both("PUT", path, {"value": {"bogus": 1, "max-connections": "y"}})
    both("PUT", f"/api/parameters/mgmt-diff-nosuch/{v}/x", {"value": {"a": 1}})
    both("PUT", f"/api/parameters/federation-upstream-nosuch/{v}/x", {"value": 1})
    both("PUT", path, {"value": {"max-queues": 10}})
    both("PUT", path, {"value": {"max-queues": 10, "max-connections": 5}})
    for listing in (path, f"/api/parameters/vhost-limits/{v}"):
        reference, ours = both("GET", listing)
        assert ours.body == reference.body, listing
    for listing in ("/api/parameters", "/api/parameters/vhost-limits"):
        reference, ours = both("GET", listing)
        assert mine(ours.body, vhost) == mine(reference.body, vhost), listing
    both("DELETE", path)
    both("DELETE", path)


@pytest.fixture
def global_name(reference_api: Api, our_api: Api) -> Iterator[str]:
    name = f"mgmt-diff-{os.getpid()}-global"
    yield name
    for api in (reference_api, our_api):
        api.delete(f"/api/global-parameters/{q(name)}")


def test_global_parameters(both: Both, global_name: str) -> None:
    path = f"/api/global-parameters/{q(global_name)}"
    both("GET", path)
    both("DELETE", path)
    both("PUT", path, {})
    both("PUT", path, {"value": {"b": [1, 2], "a": None}})
    both("PUT", path, {"value": "s", "name": "other"})
    reference, ours = both("GET", path)
    assert ours.body == reference.body
    assert ours.raw.index(b'"value"') < ours.raw.index(b'"name"')
    reference, ours = both("GET", "/api/global-parameters")
    ids = [item["name"] for item in ours.body]
    assert "internal_cluster_id" in ids
    assert [i for i in ours.body if i["name"] == global_name] == [
        i for i in reference.body if i["name"] == global_name
    ]
    both("GET", "/api/global-parameters/internal_cluster_id")
    both("DELETE", path)
    both("DELETE", path)


def test_tags_and_vhost_rights(both: Both, vhost: str, new_name: Callable[[], str]) -> None:
    v = q(vhost)
    both("PUT", f"/api/policies/{v}/p", POLICY)
    both("PUT", f"/api/operator-policies/{v}/o", POLICY)
    both("PUT", f"/api/parameters/vhost-limits/{v}/limits", {"value": {"max-queues": 10}})
    users = {}
    for tags, granted in (
        ("management", True),
        ("monitoring", True),
        ("policymaker", True),
        ("policymaker", False),
    ):
        user = new_name()
        users[user] = tags
        both("PUT", f"/api/users/{q(user)}", {"password": "pw", "tags": tags})
        if granted:
            rights = {"configure": ".*", "write": ".*", "read": ".*"}
            both("PUT", f"/api/permissions/{v}/{q(user)}", rights)
    reads = [
        "/api/policies",
        f"/api/policies/{v}",
        f"/api/policies/{v}/p",
        "/api/operator-policies",
        f"/api/operator-policies/{v}",
        f"/api/operator-policies/{v}/o",
        "/api/parameters",
        "/api/parameters/vhost-limits",
        f"/api/parameters/vhost-limits/{v}",
        f"/api/parameters/vhost-limits/{v}/limits",
        "/api/global-parameters",
        "/api/global-parameters/internal_cluster_id",
    ]
    for user in users:
        as_user = {"user": (user, "pw")}
        for path in reads:
            reference, ours = both("GET", path, **as_user)
            if reference.status == 200 and isinstance(reference.body, list):
                assert mine(ours.body, vhost) == mine(reference.body, vhost), (user, path)
        both("PUT", f"/api/policies/{v}/by-user", POLICY, **as_user)
        both("DELETE", f"/api/policies/{v}/by-user", **as_user)
        both("PUT", f"/api/operator-policies/{v}/by-user", POLICY, **as_user)
        both("PUT", f"/api/parameters/vhost-limits/{v}/limits", {"value": {}}, **as_user)
        both("DELETE", f"/api/parameters/vhost-limits/{v}/nosuch", **as_user)


def _without_versions(document: dict[str, Any]) -> dict[str, Any]:
    return {k: document[k] for k in ("parameters", "policies")}


def test_definitions_carry_policies_and_parameters(
    reference_api: Api, our_api: Api, both: Both, new_name: Callable[[], str]
) -> None:
    """A vhost's policies, operator policies and parameters exported by RabbitMQ import
    here and export the same; and ours import into RabbitMQ and export the same there."""
    first, second = new_name(), new_name()
    for name in (first, second):
        both("PUT", f"/api/vhosts/{q(name)}", {})
    v = q(first)
    both("PUT", f"/api/policies/{v}/p", {**POLICY, "priority": 2, "apply-to": "queues"})
    both("PUT", f"/api/policies/{v}/ha", {"pattern": ".", "definition": {"ha-mode": "all"}})
    both("PUT", f"/api/operator-policies/{v}/o", POLICY)
    both("PUT", f"/api/parameters/vhost-limits/{v}/limits", {"value": {"max-queues": 10}})
    exported = reference_api.get(f"/api/definitions/{v}").body
    assert our_api.call("POST", f"/api/definitions/{q(second)}", exported).status == 204
    ours = our_api.get(f"/api/definitions/{q(second)}").body
    expected = _without_versions(exported)
    for section in expected.values():
        for item in section:
            item["vhost"] = second

    def key(item: Any) -> str:
        return json.dumps(item, sort_keys=True)

    assert sorted(map(key, _without_versions(ours)["policies"])) == sorted(
        map(key, expected["policies"])
    )
    assert sorted(map(key, _without_versions(ours)["parameters"])) == sorted(
        map(key, expected["parameters"])
    )
    # and back: ours into RabbitMQ
    ours_first = our_api.get(f"/api/definitions/{v}").body
    assert reference_api.call("POST", f"/api/definitions/{q(second)}", ours_first).status == 204
    back = reference_api.get(f"/api/definitions/{q(second)}").body
    assert sorted(map(key, back["policies"])) == sorted(map(key, expected["policies"]))
    assert sorted(map(key, back["parameters"])) == sorted(map(key, expected["parameters"]))
