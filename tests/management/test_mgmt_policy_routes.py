"""Policies, operator policies, runtime and global parameters over HTTP, as RabbitMQ 3.10.8
answers (its texts and rules were recorded against the reference broker; the differential
suite compares them live)."""

from __future__ import annotations

from typing import Any

import pytest
from mgmt_http import Api, q

from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.policies.model import ValidationFailed

POLICY = {"pattern": "^jobs$", "definition": {"message-ttl": 5000, "max-length": 10}}


@pytest.fixture
def vhost(api: Api, name: str) -> str:
    assert api.put(f"/api/vhosts/{q(name)}", {}).status == 201
    return name


def test_a_policy_is_201_then_204_listed_and_deleted(api: Api, vhost: str) -> None:
    path = f"/api/policies/{q(vhost)}/ttl"
    assert api.put(path, POLICY).status == 201
    assert api.put(path, {**POLICY, "priority": 2, "apply-to": "queues"}).status == 204
    reply = api.get(path)
    assert reply.status == 200
    assert reply.raw.startswith(b'{"vhost":')
    assert reply.body == {
        "vhost": vhost,
        "name": "ttl",
        "pattern": "^jobs$",
        "apply-to": "queues",
        "definition": {"max-length": 10, "message-ttl": 5000},
        "priority": 2,
    }
    assert api.get(f"/api/policies/{q(vhost)}").body == [reply.body]
    assert reply.body in api.get("/api/policies").body
    [parameter] = api.get(f"/api/parameters/policy/{q(vhost)}").body
    assert parameter == {
        "value": {
            "pattern": "^jobs$",
            "definition": {"max-length": 10, "message-ttl": 5000},
            "priority": 2,
            "apply-to": "queues",
        },
        "vhost": vhost,
        "component": "policy",
        "name": "ttl",
    }
    assert all(item["component"] != "policy" for item in api.get("/api/parameters").body)
    assert api.delete(path).status == 204
    assert api.delete(path).body == {"error": "Object Not Found", "reason": "Not Found"}
    assert api.get(path).status == 404


def test_rabbitmqs_validation_texts(api: Api, vhost: str) -> None:
    reply = api.put(
        f"/api/policies/{q(vhost)}/bad",
        {"pattern": "(", "definition": {"max-length": "ten"}, "priority": "1"},
    )
    assert (reply.status, reply.body) == (
        400,
        {
            "error": "bad_request",
            "reason": "Validation failed\n\n"
            '&lt;&lt;"ten"&gt;&gt; is not a valid maximum length\n'
            'pattern should be regular expression but is invalid: {"missing )",1}\n'
            'priority should be a number, actually was &lt;&lt;"1"&gt;&gt;\n',
        },
    )
    reply = api.put(
        f"/api/operator-policies/{q(vhost)}/bad",
        {"pattern": ".", "definition": {"overflow": "drop-head"}},
    )
    assert reply.body["reason"] == (
        'Validation failed\n\n[{<<"overflow">>,<<"drop-head">>}] '
        "are not recognised policy settings\n"
    )
    reply = api.put(f"/api/policies/{q(vhost)}/bad", {"definition": {}})
    assert reply.body["reason"] == "[{key_missing,pattern}]"
    assert (
        api.put(f"/api/policies/{q(vhost)}/bad", {"pattern": ".", "definition": []}).status == 500
    )
    reply = api.put("/api/policies/no-such-vhost/p", POLICY)
    assert (reply.status, reply.body) == (404, {"error": "not_found", "reason": "vhost_not_found"})
    assert api.get(f"/api/policies/{q(vhost)}").body == []


def test_strings_as_rabbitmqadmin_sends_them(api: Api, vhost: str) -> None:
    """rabbitmqadmin JSON-decodes priority and definition; apply-to stays a string."""
    body = {
        "pattern": "^a",
        "definition": {"expires": 9},
        "priority": 3,
        "apply-to": "exchanges",
        "vhost": vhost,
        "name": "p",
    }
    assert api.put(f"/api/policies/{q(vhost)}/p", body).status == 201
    assert api.get(f"/api/policies/{q(vhost)}/p").body["apply-to"] == "exchanges"


def test_operator_policies_are_for_administrators(
    api: Api, mgmt_broker: BrokerThread, vhost: str, name: str
) -> None:
    path = f"/api/operator-policies/{q(vhost)}/cap"
    assert api.put(path, {"pattern": ".", "definition": {"max-length": 5}}).status == 201
    mgmt_broker.add_user(name, "pw", ["policymaker"])
    mgmt_broker.set_permissions(name, vhost=vhost)
    policymaker = api.as_user(name, "pw")
    assert policymaker.get(path).body == {
        "error": "not_authorised",
        "reason": "Not administrator user",
    }
    [listed] = policymaker.get("/api/operator-policies").body
    assert listed["name"] == "cap"
    assert policymaker.put(f"/api/policies/{q(vhost)}/mine", POLICY).status == 201
    [parameter] = policymaker.get("/api/parameters").body
    assert parameter["component"] == "operator_policy"


def test_tags_decide_who_may_touch_policies(
    api: Api, mgmt_broker: BrokerThread, vhost: str, name: str
) -> None:
    api.put(f"/api/policies/{q(vhost)}/p", POLICY)
    refused = {"error": "not_authorised", "reason": "User not authorised to access object"}
    for tags, granted in (("management", True), ("policymaker", False), ("monitoring", True)):
        user = f"{name}-{tags}-{granted}"
        mgmt_broker.add_user(user, "pw", [tags])
        if granted:
            mgmt_broker.set_permissions(user, vhost=vhost)
        caller = api.as_user(user, "pw")
        assert caller.get(f"/api/policies/{q(vhost)}/p").body == refused
        assert caller.put(f"/api/policies/{q(vhost)}/x", POLICY).body == refused
        assert caller.delete(f"/api/policies/{q(vhost)}/p").body == refused
        listed = [p["name"] for p in caller.get("/api/policies").body if p["vhost"] == vhost]
        assert listed == (["p"] if granted else [])
        if tags != "policymaker":
            assert caller.get("/api/parameters").body == refused
            assert caller.get("/api/global-parameters").body == refused


def test_parameters(api: Api, vhost: str) -> None:
    path = f"/api/parameters/vhost-limits/{q(vhost)}/limits"
    assert api.put(path, {"value": {"max-queues": 5}}).status == 201
    assert api.put(path, {"value": {"max-queues": 6}}).status == 204
    assert api.get(path).body == {
        "value": {"max-queues": 6},
        "vhost": vhost,
        "component": "vhost-limits",
        "name": "limits",
    }
    shovel = f"/api/parameters/shovel/{q(vhost)}/s"
    assert api.put(shovel, {"value": {"src-uri": "amqp://", "dest-uri": "amqp://"}}).status == 201
    assert api.get(shovel).body["value"] == {"dest-uri": "amqp://", "src-uri": "amqp://"}
    reply = api.put(f"/api/parameters/nosuch/{q(vhost)}/x", {"value": 1})
    assert reply.body["reason"] == "Validation failed\n\ncomponent nosuch not found\n"
    reply = api.put(f"/api/parameters/policy/{q(vhost)}/x", {"value": POLICY})
    assert reply.body["reason"] == "policies may not be set using this method"
    assert api.put(path, {}).body["reason"] == "[{key_missing,value}]"
    assert [i["name"] for i in api.get(f"/api/parameters/vhost-limits/{q(vhost)}").body] == [
        "limits"
    ]
    assert api.delete(path).status == 204
    assert api.delete(path).status == 404


def test_global_parameters_and_the_cluster_name(api: Api, name: str) -> None:
    path = f"/api/global-parameters/{q(name)}"
    assert api.put(path, {"value": {"b": 1, "a": [1]}}).status == 201
    assert api.put(path, {"value": {"b": 2, "a": [1]}}).status == 204
    assert api.get(path).raw == b'{"value":{"a":[1],"b":2},"name":"%s"}' % name.encode()
    names = [item["name"] for item in api.get("/api/global-parameters").body]
    assert "internal_cluster_id" in names and name in names
    assert api.delete(path).status == 204
    assert api.delete(path).status == 404

    default = api.get("/api/cluster-name").body["name"]
    try:
        assert api.put("/api/cluster-name", {"name": "renamed"}).status == 204
        assert api.get("/api/global-parameters/cluster_name").body["value"] == "renamed"
        assert api.get("/api/overview?columns=cluster_name").body == {"cluster_name": "renamed"}
        api.put("/api/global-parameters/cluster_name", {"value": "by-parameter"})
        assert api.get("/api/cluster-name").body == {"name": "by-parameter"}
    finally:
        api.delete("/api/global-parameters/cluster_name")
    assert api.get("/api/cluster-name").body == {"name": default}


def test_deleting_a_vhost_deletes_its_policies_and_parameters(api: Api, vhost: str) -> None:
    v = q(vhost)
    api.put(f"/api/policies/{v}/p", POLICY)
    api.put(f"/api/operator-policies/{v}/o", {"pattern": ".", "definition": {"expires": 5}})
    api.put(f"/api/parameters/vhost-limits/{v}/limits", {"value": {"max-queues": 1}})
    assert api.delete(f"/api/vhosts/{v}").status == 204
    assert api.put(f"/api/vhosts/{v}", {}).status == 201
    assert api.get(f"/api/policies/{v}").body == []
    assert api.get(f"/api/operator-policies/{v}").body == []
    assert api.get(f"/api/parameters/vhost-limits/{v}").body == []


def test_definitions_carry_them_both_ways(api: Api, vhost: str) -> None:
    document: dict[str, Any] = {
        "parameters": [
            {
                "value": {
                    "pattern": ".",
                    "definition": {"max-length": 7},
                    "priority": 0,
                    "apply-to": "all",
                },
                "vhost": vhost,
                "component": "operator_policy",
                "name": "cap",
            },
            {
                "value": {"max-queues": 3},
                "vhost": vhost,
                "component": "vhost-limits",
                "name": "limits",
            },
        ],
        "policies": [
            {
                "vhost": vhost,
                "name": "ha",
                "pattern": ".",
                "apply-to": "all",
                "definition": {"ha-mode": "all", "ha-sync-mode": "automatic"},
                "priority": 0,
            }
        ],
    }
    assert api.post("/api/definitions", document).status == 204
    exported = api.get(f"/api/definitions/{q(vhost)}").body
    assert sorted(exported["parameters"], key=lambda p: p["name"]) == document["parameters"]
    assert exported["policies"] == document["policies"]
    bad = {"policies": [{**document["policies"][0], "definition": {"max-length": "x"}}]}
    reply = api.post("/api/definitions", bad)
    assert reply.status == 400
    assert "is not a valid maximum length" in reply.body["reason"]


def test_the_embedded_powers_show_in_the_api(
    api: Api, mgmt_broker: BrokerThread, vhost: str
) -> None:
    mgmt_broker.set_policy("dlx", "^work$", {"dead-letter-exchange": "retry"}, "queues", 4, vhost)
    mgmt_broker.set_operator_policy("cap", ".", {"max-length": 50}, vhost=vhost)
    mgmt_broker.set_parameter("vhost-limits", "limits", {"max-queues": 9}, vhost=vhost)
    [shown] = api.get(f"/api/policies/{q(vhost)}").body
    assert (shown["name"], shown["priority"], shown["apply-to"]) == ("dlx", 4, "queues")
    assert [p.name for p in mgmt_broker.policies(vhost, operator=True)] == ["cap"]
    with pytest.raises(ValidationFailed, match="is not a valid message TTL"):
        mgmt_broker.set_policy("bad", ".", {"message-ttl": -1}, vhost=vhost)
    with pytest.raises(LookupError):
        mgmt_broker.set_policy("p", ".", {"expires": 1}, vhost="no-such-vhost")
    mgmt_broker.clear_policy("dlx", vhost=vhost)
    mgmt_broker.clear_operator_policy("cap", vhost=vhost)
    mgmt_broker.clear_parameter("vhost-limits", "limits", vhost=vhost)
    assert api.get(f"/api/policies/{q(vhost)}").body == []
    assert api.get(f"/api/parameters/vhost-limits/{q(vhost)}").body == []


def test_a_restart_keeps_them(api: Api, mgmt_broker: BrokerThread, vhost: str) -> None:
    """An in-memory broker's restart keeps its definitions (durable ones: the data
    directory keeps them, tests/durability)."""
    api.put(f"/api/policies/{q(vhost)}/p", POLICY)
    api.put(f"/api/parameters/vhost-limits/{q(vhost)}/limits", {"value": {"max-queues": 1}})
    mgmt_broker.restart()
    assert [p["name"] for p in api.get(f"/api/policies/{q(vhost)}").body] == ["p"]
    assert api.get(f"/api/parameters/vhost-limits/{q(vhost)}/limits").status == 200
