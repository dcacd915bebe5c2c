"""Queue and exchange JSON show the policies that apply to them as RabbitMQ 3.10.8 does
(recorded against the reference broker): ``policy``, ``operator_policy`` and the merged
``effective_policy_definition`` on queues (never the x-arguments); ``policy`` on exchanges,
present only while one applies."""

from __future__ import annotations

import pytest
from mgmt_http import Api, q

COLUMNS = "?columns=name,arguments,policy,operator_policy,effective_policy_definition"


@pytest.fixture
def vhost(api: Api, name: str) -> str:
    assert api.put(f"/api/vhosts/{q(name)}", {}).status == 201
    return name


def test_a_queue_shows_its_policy_operator_policy_and_their_merge(api: Api, vhost: str) -> None:
    v = q(vhost)
    api.put(f"/api/queues/{v}/jobs", {"durable": False, "arguments": {"x-message-ttl": 600000}})
    policy = {"pattern": "^jobs$", "definition": {"message-ttl": 5000, "max-length": 10}}
    assert api.put(f"/api/policies/{v}/p1", policy).status == 201
    capped = {"pattern": "jobs", "definition": {"message-ttl": 1000}}
    assert api.put(f"/api/operator-policies/{v}/op", capped).status == 201
    assert api.get(f"/api/queues/{v}/jobs{COLUMNS}").body == {
        "arguments": {"x-message-ttl": 600000},
        "effective_policy_definition": {"max-length": 10, "message-ttl": 1000},
        "name": "jobs",
        "operator_policy": "op",
        "policy": "p1",
    }
    assert api.delete(f"/api/policies/{v}/p1").status == 204
    assert api.delete(f"/api/operator-policies/{v}/op").status == 204
    listed = api.get(f"/api/queues/{v}{COLUMNS}").body
    assert listed == [
        {
            "arguments": {"x-message-ttl": 600000},
            "effective_policy_definition": {},
            "name": "jobs",
            "operator_policy": None,
            "policy": None,
        }
    ]


def test_an_exchange_shows_its_policy_only_while_one_applies(api: Api, vhost: str) -> None:
    v = q(vhost)
    api.put(f"/api/exchanges/{v}/orders", {"type": "direct", "durable": False})
    definition = {"alternate-exchange": "amq.fanout"}
    body = {"pattern": "^orders$", "definition": definition, "apply-to": "exchanges"}
    assert api.put(f"/api/policies/{v}/ae", body).status == 201
    detail = api.get(f"/api/exchanges/{v}/orders").body
    assert detail["policy"] == "ae"
    assert list(detail) == sorted(detail)
    assert api.get(f"/api/exchanges/{v}/orders?columns=name,policy").body == {
        "name": "orders",
        "policy": "ae",
    }
    assert api.delete(f"/api/policies/{v}/ae").status == 204
    assert "policy" not in api.get(f"/api/exchanges/{v}/orders").body
