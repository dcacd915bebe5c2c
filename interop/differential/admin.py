"""Users, permissions, vhosts and policies made per scenario run, on either broker.

A scenario that needs a least-privilege user asks ``run.admin``::

    user = run.name("u")
    run.admin.add_user(user, "pw")
    run.admin.set_permissions(user, configure="", write=".*", read="^amq\\.")

The reference RabbitMQ is driven through its management HTTP API (base URL from
``AMQPBROKER_REFERENCE_MANAGEMENT_URL``, default http://127.0.0.1:15673, with the credentials
of the reference AMQP URL); amqpbroker through the embedded powers of its in-process
``BrokerThread``.  Everything made is removed when the run ends (policies, users, then
vhosts).  Policies (``run.admin.set_policy(name, pattern, definition, operator=...)``) are
vhost-wide on a shared reference broker: their patterns must match only the run's own names.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

MANAGEMENT_URL = os.environ.get(
    "AMQPBROKER_REFERENCE_MANAGEMENT_URL", "http://127.0.0.1:15673"
).rstrip("/")


class Backend(Protocol):
    def add_user(self, name: str, password: str, tags: str) -> None: ...
    def delete_user(self, name: str) -> None: ...
    def set_permissions(
        self, user: str, configure: str, write: str, read: str, vhost: str
    ) -> None: ...
    def clear_permissions(self, user: str, vhost: str) -> None: ...
    def set_topic_permissions(
        self, user: str, exchange: str, write: str, read: str, vhost: str
    ) -> None: ...
    def add_vhost(self, name: str) -> None: ...
    def delete_vhost(self, name: str) -> None: ...
    def set_limit(self, kind: str, owner: str, key: str, value: int) -> None: ...
    def set_tracing(self, vhost: str, on: bool) -> None: ...
    def set_policy(self, policy: PolicySpec) -> None: ...
    def clear_policy(self, name: str, vhost: str, operator: bool) -> None: ...


@dataclass(frozen=True)
class PolicySpec:
    """A policy (or operator policy) as ``rabbitmqctl set_policy`` takes it."""

    name: str
    pattern: str
    definition: dict[str, Any]
    apply_to: str = "all"
    priority: int = 0
    vhost: str = "/"
    operator: bool = False


class ManagementAPI:
    """The reference broker, through RabbitMQ's management HTTP API."""

    def __init__(self, user: str, password: str, base_url: str = MANAGEMENT_URL) -> None:
        self.base_url = base_url
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._auth = f"Basic {token}"

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("authorization", self._auth)
        request.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
        except urllib.error.URLError as exc:
            if isinstance(exc, urllib.error.HTTPError):
                raise
            raise RuntimeError(
                f"the reference's management API at {self.base_url} cannot be reached ({exc}): "
                "interop/refbroker.sh enables it, AMQPBROKER_REFERENCE_MANAGEMENT_URL points to it"
            ) from exc

    @staticmethod
    def _q(name: str) -> str:
        return quote(name, safe="")

    def add_user(self, name: str, password: str, tags: str) -> None:
        self._call("PUT", f"/api/users/{self._q(name)}", {"password": password, "tags": tags})

    def delete_user(self, name: str) -> None:
        self._call("DELETE", f"/api/users/{self._q(name)}")

    def set_permissions(self, user: str, configure: str, write: str, read: str, vhost: str) -> None:
        body = {"configure": configure, "write": write, "read": read}
        self._call("PUT", f"/api/permissions/{self._q(vhost)}/{self._q(user)}", body)

    def clear_permissions(self, user: str, vhost: str) -> None:
        self._call("DELETE", f"/api/permissions/{self._q(vhost)}/{self._q(user)}")

    def set_topic_permissions(
        self, user: str, exchange: str, write: str, read: str, vhost: str
    ) -> None:
        body = {"exchange": exchange, "write": write, "read": read}
        self._call("PUT", f"/api/topic-permissions/{self._q(vhost)}/{self._q(user)}", body)

    def add_vhost(self, name: str) -> None:
        self._call("PUT", f"/api/vhosts/{self._q(name)}", {})

    def delete_vhost(self, name: str) -> None:
        self._call("DELETE", f"/api/vhosts/{self._q(name)}")

    def set_limit(self, kind: str, owner: str, key: str, value: int) -> None:
        self._call("PUT", f"/api/{kind}-limits/{self._q(owner)}/{key}", {"value": value})

    def set_tracing(self, vhost: str, on: bool) -> None:
        self._call("PUT", f"/api/vhosts/{self._q(vhost)}", {"tracing": on})

    @staticmethod
    def _policy_path(name: str, vhost: str, operator: bool) -> str:
        kind = "operator-policies" if operator else "policies"
        return f"/api/{kind}/{quote(vhost, safe='')}/{quote(name, safe='')}"

    def set_policy(self, policy: PolicySpec) -> None:
        body = {
            "pattern": policy.pattern,
            "definition": policy.definition,
            "apply-to": policy.apply_to,
            "priority": policy.priority,
        }
        self._call("PUT", self._policy_path(policy.name, policy.vhost, policy.operator), body)

    def clear_policy(self, name: str, vhost: str, operator: bool) -> None:
        self._call("DELETE", self._policy_path(name, vhost, operator))


class Embedded:
    """amqpbroker, through its in-process ``BrokerThread``'s powers."""

    def __init__(self, broker: Any) -> None:
        self.broker = broker

    def add_user(self, name: str, password: str, tags: str) -> None:
        self.broker.add_user(name, password, tags)

    def delete_user(self, name: str) -> None:
        self.broker.delete_user(name)

    def set_permissions(self, user: str, configure: str, write: str, read: str, vhost: str) -> None:
        self.broker.set_permissions(user, configure, write, read, vhost=vhost)

    def clear_permissions(self, user: str, vhost: str) -> None:
        self.broker.clear_permissions(user, vhost=vhost)

    def set_topic_permissions(
        self, user: str, exchange: str, write: str, read: str, vhost: str
    ) -> None:
        self.broker.set_topic_permissions(user, exchange, write, read, vhost=vhost)

    def add_vhost(self, name: str) -> None:
        self.broker.add_vhost(name)

    def delete_vhost(self, name: str) -> None:
        self.broker.delete_vhost(name)

    def set_limit(self, kind: str, owner: str, key: str, value: int) -> None:
        if kind == "vhost":
            limits = self.broker.vhost_limits(owner) | {key: value}
            self.broker.set_vhost_limits(limits, vhost=owner)
        else:
            self.broker.set_user_limits(owner, {key: value})

    def set_tracing(self, vhost: str, on: bool) -> None:
        if on:
            self.broker.trace_on(vhost)
        else:
            self.broker.trace_off(vhost)

    def set_policy(self, policy: PolicySpec) -> None:
        setter = self.broker.set_operator_policy if policy.operator else self.broker.set_policy
        setter(
            policy.name,
            policy.pattern,
            policy.definition,
            apply_to=policy.apply_to,
            priority=policy.priority,
            vhost=policy.vhost,
        )

    def clear_policy(self, name: str, vhost: str, operator: bool) -> None:
        if operator:
            self.broker.clear_operator_policy(name, vhost=vhost)
        else:
            self.broker.clear_policy(name, vhost=vhost)


@dataclass
class Admin:
    """What a scenario may change on its broker; undone by ``cleanup`` when the run ends.
    Names should come from ``run.name()`` so the run token normalises them."""

    backend: Backend
    _users: list[str] = field(default_factory=list)
    _vhosts: list[str] = field(default_factory=list)
    _policies: list[tuple[str, str, bool]] = field(default_factory=list)
    _traced: list[str] = field(default_factory=list)

    def add_user(self, name: str, password: str, tags: str = "") -> str:
        self.backend.add_user(name, password, tags)
        self._users.append(name)
        return name

    def set_permissions(
        self,
        user: str,
        configure: str = ".*",
        write: str = ".*",
        read: str = ".*",
        *,
        vhost: str = "/",
    ) -> None:
        self.backend.set_permissions(user, configure, write, read, vhost)

    def clear_permissions(self, user: str, *, vhost: str = "/") -> None:
        self.backend.clear_permissions(user, vhost)

    def set_topic_permissions(
        self, user: str, exchange: str, write: str = ".*", read: str = ".*", *, vhost: str = "/"
    ) -> None:
        self.backend.set_topic_permissions(user, exchange, write, read, vhost)

    def add_vhost(self, name: str) -> str:
        """A vhost the broker's default user (guest) may use fully, as RabbitMQ's HTTP API
        grants its creator."""
        self.backend.add_vhost(name)
        self._vhosts.append(name)
        return name

    def set_tracing(self, vhost: str, on: bool = True) -> None:
        """Switch the firehose on (or off) for ``vhost`` (RabbitMQ's ``PUT /api/vhosts``
        with ``tracing``); switched off when the run ends."""
        self.backend.set_tracing(vhost, on)
        if on and vhost not in self._traced:
            self._traced.append(vhost)

    def set_policy(
        self,
        name: str,
        pattern: str,
        definition: dict[str, Any],
        *,
        apply_to: str = "all",
        priority: int = 0,
        operator: bool = False,
        vhost: str = "/",
    ) -> str:
        """Add or replace a policy (``operator=True``: an operator policy); cleared when the
        run ends."""
        spec = PolicySpec(name, pattern, definition, apply_to, priority, vhost, operator)
        self.backend.set_policy(spec)
        if (name, vhost, operator) not in self._policies:
            self._policies.append((name, vhost, operator))
        return name

    def clear_policy(self, name: str, *, operator: bool = False, vhost: str = "/") -> None:
        self.backend.clear_policy(name, vhost, operator)
        with contextlib.suppress(ValueError):
            self._policies.remove((name, vhost, operator))

    def set_vhost_limit(self, vhost: str, key: str, value: int) -> None:
        """``PUT /api/vhost-limits/{vhost}/{key}``; use a vhost of the run's (they go with it)."""
        self.backend.set_limit("vhost", vhost, key, value)

    def set_user_limit(self, user: str, key: str, value: int) -> None:
        """``PUT /api/user-limits/{user}/{key}``; use a user of the run's."""
        self.backend.set_limit("user", user, key, value)

    def policy_names(self) -> list[str]:
        """The names of the policies this run set and has not cleared, oldest first."""
        return [name for name, _, _ in self._policies]

    def stop_tracing(self) -> None:
        """Switch tracing off wherever this run switched it on."""
        for vhost in self._traced:
            with contextlib.suppress(Exception):
                self.backend.set_tracing(vhost, False)
        self._traced.clear()

    def cleanup(self) -> None:
        self.stop_tracing()
        for name, vhost, operator in reversed(self._policies):
            with contextlib.suppress(Exception):
                self.backend.clear_policy(name, vhost, operator)
        for name in reversed(self._users):
            with contextlib.suppress(Exception):
                self.backend.delete_user(name)
        for name in reversed(self._vhosts):
            with contextlib.suppress(Exception):
                self.backend.delete_vhost(name)
        self._users.clear()
        self._vhosts.clear()
        self._policies.clear()
