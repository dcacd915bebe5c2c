"""rabbitmqadmin 3.10.8, unchanged, against both brokers: ``declare``/``list``/``delete``
of vhost limits give the same output (rows of this test's own vhost), and the
``/api/vhost-limits`` and ``/api/user-limits`` routes the same statuses and bodies."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

import pytest
from mgmt_http import Api, q
from rabbitmqadmin_tool import admin, rows_naming

pytestmark = [
    pytest.mark.differential,
    pytest.mark.skipif(shutil.which("rabbitmqadmin") is None, reason="no rabbitmqadmin"),
]


def listed(api: Api, vhost: str, *args: str) -> tuple[int, str]:
    code, output = admin(api, *args)
    return code, rows_naming(output, vhost)


def session(api: Api, vhost: str) -> list[tuple[int, str]]:
    return [
        admin(api, "declare", "vhost", f"name={vhost}"),
        admin(api, "declare", "vhost_limit", f"vhost={vhost}", "name=max-queues", "value=3"),
        admin(api, "declare", "vhost_limit", f"vhost={vhost}", "name=max-connections", "value=2"),
        admin(api, "declare", "vhost_limit", f"vhost={vhost}", "name=max-queues", "value=x"),
        admin(api, "declare", "vhost_limit", f"vhost={vhost}", "name=nope", "value=1"),
        listed(api, vhost, "list", "vhost_limits"),
        admin(api, "delete", "vhost_limit", f"vhost={vhost}", "name=max-queues"),
        listed(api, vhost, "list", "vhost_limits"),
        admin(api, "delete", "vhost", f"name={vhost}"),
    ]


def test_vhost_limit_commands(
    reference_api: Api, our_api: Api, new_name: Callable[[], str]
) -> None:
    vhost = new_name()
    reference = session(reference_api, vhost)
    ours = session(our_api, vhost)
    assert ours == reference, (ours, reference)
    assert "max-connections" in reference[5][1]  # (the row was there)


def http_session(api: Api, name: str) -> list[Any]:
    user, vhost = q(name), q(name)
    out: list[Any] = [api.put(f"/api/vhosts/{vhost}", {}).status]
    out.append(api.put(f"/api/users/{user}", {"password": "p", "tags": ""}).status)
    for path, body in [
        (f"/api/vhost-limits/{vhost}/max-queues", {"value": 1}),
        (f"/api/vhost-limits/{vhost}/max-queues", {"value": 1.5}),
        (f"/api/vhost-limits/{vhost}/max-queues", {}),
        (f"/api/user-limits/{user}/max-channels", {"value": 2}),
        (f"/api/user-limits/{user}/max-channels", {"value": "2"}),
        (f"/api/user-limits/{user}/other", {"value": 2}),
        (f"/api/user-limits/{user}x/max-channels", {"value": 2}),
    ]:
        reply = api.put(path, body)
        out.append((reply.status, reply.body))
    for path in [f"/api/vhost-limits/{vhost}", f"/api/user-limits/{user}", f"/api/users/{user}"]:
        reply = api.get(path)
        out.append((reply.status, reply.body if "users" not in path else reply.body["limits"]))
    out.append(api.delete(f"/api/user-limits/{user}/max-channels").status)
    out.append(api.delete(f"/api/user-limits/{user}x/max-channels").status)
    out.append(api.delete(f"/api/vhost-limits/{vhost}/max-queues").status)
    out.append(api.get(f"/api/parameters/vhost-limits/{vhost}/limits").body["value"])
    out.append(api.delete(f"/api/users/{user}").status)
    out.append(api.delete(f"/api/vhosts/{vhost}").status)
    return out


def test_limit_routes(reference_api: Api, our_api: Api, new_name: Callable[[], str]) -> None:
    name = new_name()
    reference = http_session(reference_api, name)
    ours = http_session(our_api, name)
    assert ours == reference, (ours, reference)
