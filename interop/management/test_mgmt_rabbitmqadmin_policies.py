"""rabbitmqadmin 3.10.8, unchanged, against both brokers: ``declare``/``list``/``delete``
of policies, operator policies and parameters give the same output (rows of this test's
own vhost; RabbitMQ lists parameters in its table's hash order, so those rows are sorted)."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest
from mgmt_http import Api
from rabbitmqadmin_tool import admin, rows_naming

pytestmark = [
    pytest.mark.differential,
    pytest.mark.skipif(shutil.which("rabbitmqadmin") is None, reason="no rabbitmqadmin"),
]


def listed(api: Api, vhost: str, *args: str, ordered: bool = True) -> tuple[int, str]:
    code, output = admin(api, *args)
    rows = rows_naming(output, vhost).splitlines()
    return code, "\n".join(rows if ordered else sorted(rows))


def session(api: Api, vhost: str) -> list[tuple[int, str]]:
    in_vhost = ("-V", vhost)
    return [
        admin(api, "declare", "vhost", f"name={vhost}"),
        admin(
            api,
            *in_vhost,
            "declare",
            "policy",
            "name=ttl",
            "pattern=^jobs$",
            'definition={"message-ttl": 5000, "dead-letter-exchange": "dlx"}',
            "priority=1",
            "apply-to=queues",
        ),
        admin(
            api,
            *in_vhost,
            "declare",
            "policy",
            "name=all",
            "pattern=.",
            'definition={"expires": 9}',
        ),
        admin(
            api,
            *in_vhost,
            "declare",
            "policy",
            "name=bad",
            "pattern=.",
            'definition={"max-length": "x"}',
        ),
        admin(api, *in_vhost, "declare", "policy", "name=bad", "pattern=(", 'definition={"z": 1}'),
        admin(
            api,
            *in_vhost,
            "declare",
            "operator_policy",
            "name=cap",
            "pattern=.",
            'definition={"max-length": 100}',
        ),
        admin(
            api,
            *in_vhost,
            "declare",
            "operator_policy",
            "name=bad",
            "pattern=.",
            'definition={"overflow": "drop-head"}',
        ),
        admin(
            api,
            *in_vhost,
            "declare",
            "parameter",
            "component=vhost-limits",
            "name=limits",
            'value={"max-queues": 3}',
        ),
        listed(api, vhost, "list", "policies"),
        admin(api, *in_vhost, "list", "policies", "name", "priority", "apply-to"),
        listed(api, vhost, "list", "operator_policies"),
        listed(api, vhost, "list", "parameters", ordered=False),
        listed(api, vhost, "-f", "raw_json", *in_vhost, "list", "policies"),
        admin(api, *in_vhost, "delete", "policy", "name=ttl"),
        admin(api, *in_vhost, "delete", "policy", "name=ttl"),
        admin(api, *in_vhost, "delete", "operator_policy", "name=cap"),
        admin(api, *in_vhost, "delete", "parameter", "component=vhost-limits", "name=limits"),
        listed(api, vhost, "list", "policies"),
        admin(api, "delete", "vhost", f"name={vhost}"),
        listed(api, vhost, "list", "policies"),
    ]


def test_policy_and_parameter_commands(
    reference_api: Api, our_api: Api, new_name: Callable[[], str]
) -> None:
    vhost = new_name()
    reference = session(reference_api, vhost)
    ours = session(our_api, vhost)
    assert ours == reference, (ours, reference)
    assert "ttl" in reference[8][1] and "cap" in reference[10][1]  # (the rows were there)
