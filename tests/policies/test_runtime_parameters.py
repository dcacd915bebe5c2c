"""``RuntimeParameters``: what it keeps, lists and journals (in-process)."""

from __future__ import annotations

from typing import Any

import pytest

from amqpbroker.policies.model import ValidationFailed, check_policy
from amqpbroker.policies.parameters import RuntimeParameters


class Journal:
    def __init__(self) -> None:
        self.ops: list[tuple[str, dict[str, Any]]] = []

    def parameters_changed(self, op: str, fields: dict[str, Any]) -> None:
        self.ops.append((op, fields))


def test_policies_are_parameters_hidden_from_the_full_list() -> None:
    journal = Journal()
    store = RuntimeParameters(journal)
    changed: list[str] = []
    store.on_policies_changed(changed.append)
    assert store.set_policy(check_policy("v", "p", "^a", {"max-length": 1})) is True
    assert store.set_policy(check_policy("v", "p", "^a", {"max-length": 2})) is False
    store.set_policy(check_policy("v", "o", "^a", {"max-length": 1}, operator=True))
    assert store.set_parameter("v", "vhost-limits", "limits", {"max-queues": 1}) is True
    assert [i["component"] for i in store.parameters()] == ["operator_policy", "vhost-limits"]
    assert [i["name"] for i in store.parameters("policy")] == ["p"]
    assert store.parameter("v", "policy", "p") == {
        "value": {
            "pattern": "^a",
            "definition": {"max-length": 2},
            "priority": 0,
            "apply-to": "all",
        },
        "vhost": "v",
        "component": "policy",
        "name": "p",
    }
    assert changed == ["v", "v", "v"]
    assert [op for op, _ in journal.ops] == ["parameter"] * 4


def test_a_policy_value_set_as_a_parameter_becomes_a_policy() -> None:
    store = RuntimeParameters()
    value = {"pattern": "^b", "definition": {"expires": 10}, "priority": 1, "apply-to": "queues"}
    store.set_parameter("v", "operator_policy", "o", value)
    made = store.policy("v", "o", operator=True)
    assert made is not None and made.value() == value


def test_components_are_checked_as_rabbitmq_checks_them() -> None:
    store = RuntimeParameters()
    with pytest.raises(ValidationFailed) as failed:
        store.set_parameter("v", "nosuch", "x", {})
    assert failed.value.errors == ["component nosuch not found"]
    with pytest.raises(ValidationFailed) as failed:
        store.set_parameter("v", "vhost-limits", "limits", {"bogus": 1, "max-queues": "x"})
    assert failed.value.reason() == (
        'Validation failed\n\nUnrecognised terms [{&lt;&lt;"bogus"&gt;&gt;,1}] in limits\n'
        'max-queues should be a number, actually was &lt;&lt;"x"&gt;&gt;\n'
    )
    store.set_parameter("v", "shovel", "s", {"src-uri": "amqp://"})  # kept, not acted on


def test_a_deleted_vhost_takes_its_parameters_and_policies() -> None:
    journal = Journal()
    store = RuntimeParameters(journal)
    for vhost in ("a", "b"):
        store.set_policy(check_policy(vhost, "p", ".", {"expires": 1}))
        store.set_policy(check_policy(vhost, "o", ".", {"expires": 1}, operator=True))
        store.set_parameter(vhost, "vhost-limits", "limits", {})
    journal.ops.clear()
    store.forget_vhost("a")
    assert {p.vhost for p in store.policies_in()} == {"b"}
    assert {i["vhost"] for i in store.parameters()} == {"b"}
    assert [op for op, _ in journal.ops] == ["parameter.delete"] * 3
    with pytest.raises(LookupError):
        store.clear_policy("a", "p")


def test_global_parameters() -> None:
    journal = Journal()
    store = RuntimeParameters(journal)
    assert store.set_global("b", {"z": 1, "a": 2}) is True
    assert store.set_global("a", 1) is True
    assert store.set_global("a", 2) is False
    assert store.global_parameters() == [
        {"name": "a", "value": 2},
        {"name": "b", "value": {"a": 2, "z": 1}},
    ]
    store.clear_global("a")
    with pytest.raises(LookupError):
        store.clear_global("a")
    assert journal.ops[-1] == ("global_parameter.delete", {"name": "a"})


def test_policies_list_by_priority() -> None:
    store = RuntimeParameters()
    for name, priority in (("z", 0), ("a", 2), ("m", 0)):
        store.set_policy(check_policy("v", name, ".", {"expires": 1}, priority))
    assert [p.name for p in store.policies_in("v")] == ["m", "z", "a"]
