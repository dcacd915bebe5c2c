"""``RuntimeParameters``: the broker's runtime parameters, global parameters and policies.

As in RabbitMQ, a policy is a runtime parameter of component ``policy`` (an operator
policy of ``operator_policy``) whose value is ``{pattern, definition, priority, apply-to}``;
they are kept here parsed (``Policy``) and shown as parameters too.  Other components are
checked by ``components.check_parameter`` and kept as given.  Every change is told to a
journal (the durable store's definitions log, or nothing) as one operation with plain
fields, and replayed from it at start-up with the journal off.  Whoever applies policies
(the core, issue 15) subscribes with ``on_policies_changed``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from .components import VHOST_LIMITS, check_parameter
from .model import OPERATOR_POLICY, POLICY, Policy, policy_from_value
from .terms import erlang_sorted

LIMITS_NAME = "limits"  # the one vhost-limits parameter RabbitMQ reads
CLUSTER_NAME = "cluster_name"  # the global parameter ``PUT /api/cluster-name`` sets


class ParameterJournal(Protocol):
    def parameters_changed(self, op: str, fields: dict[str, Any]) -> None: ...


class _NoJournal:
    def parameters_changed(self, op: str, fields: dict[str, Any]) -> None:
        pass


class RuntimeParameters:
    """Per-vhost parameters (by vhost, component, name), global parameters, policies."""

    def __init__(self, journal: ParameterJournal | None = None) -> None:
        self.journal: ParameterJournal = journal or _NoJournal()
        self.values: dict[tuple[str, str, str], Any] = {}  # other components' values
        self.global_values: dict[str, Any] = {}
        self.policies: dict[tuple[str, str], Policy] = {}  # (vhost, name)
        self.operator_policies: dict[tuple[str, str], Policy] = {}
        self._listeners: list[Callable[[str], None]] = []
        self._limit_listeners: list[Callable[[str, Any], None]] = []

    # -- per-vhost parameters -------------------------------------------------------------------

    def set_parameter(self, vhost: str, component: str, name: str, value: Any) -> bool:
        """Set a parameter (checked: ``ValidationFailed``); True if it is new.  A policy's
        or operator policy's value becomes that policy."""
        if component in (POLICY, OPERATOR_POLICY):
            operator = component == OPERATOR_POLICY
            return self.set_policy(policy_from_value(vhost, name, value, operator=operator))
        check_parameter(component, name, value)
        key = (vhost, component, name)
        created = key not in self.values
        self.values[key] = erlang_sorted(value)
        self._journal_parameter(vhost, component, name, self.values[key])
        if component == VHOST_LIMITS and name == LIMITS_NAME:
            self._limits_changed(vhost)
        return created

    def clear_parameter(self, vhost: str, component: str, name: str) -> None:
        """Remove a parameter (``LookupError`` if there is none)."""
        if component in (POLICY, OPERATOR_POLICY):
            self.clear_policy(vhost, name, operator=component == OPERATOR_POLICY)
            return
        del self.values[(vhost, component, name)]
        fields = {"vhost": vhost, "component": component, "name": name}
        self.journal.parameters_changed("parameter.delete", fields)
        if component == VHOST_LIMITS and name == LIMITS_NAME:
            self._limits_changed(vhost)

    def parameter(self, vhost: str, component: str, name: str) -> dict[str, Any] | None:
        """One parameter as an ``/api/parameters`` item, or None."""
        found = [item for item in self.parameters(component, vhost) if item["name"] == name]
        return found[0] if found else None

    def parameters(
        self, component: str | None = None, vhost: str | None = None
    ) -> list[dict[str, Any]]:
        """``/api/parameters`` items, sorted by vhost, component and name; policies only
        when asked for by component (RabbitMQ's list hides them, not operator policies)."""
        items = [
            _parameter_item(v, c, n, value)
            for (v, c, n), value in self.values.items()
            if component in (None, c)
        ]
        if component in (None, OPERATOR_POLICY):
            items += [_policy_parameter(p) for p in self.operator_policies.values()]
        if component == POLICY:
            items += [_policy_parameter(p) for p in self.policies.values()]
        items = [item for item in items if vhost in (None, item["vhost"])]
        return sorted(items, key=lambda i: (i["vhost"], i["component"], i["name"]))

    # -- vhost limits: the ``vhost-limits`` parameter named ``limits`` -------------------------

    def vhost_limits(self, vhost: str) -> Any:
        """The vhost's limits (a dict, ``[]`` once emptied as RabbitMQ leaves it), or None."""
        return self.values.get((vhost, VHOST_LIMITS, LIMITS_NAME))

    def set_vhost_limit(self, vhost: str, key: str, value: Any) -> None:
        """``PUT /api/vhost-limits/{vhost}/{key}``: one key set, the others kept (checked
        as the whole parameter is: ``ValidationFailed``)."""
        current = self.vhost_limits(vhost)
        merged = dict(current) if isinstance(current, dict) else {}
        merged[key] = value
        self.set_parameter(vhost, VHOST_LIMITS, LIMITS_NAME, merged)

    def clear_vhost_limit(self, vhost: str, key: str) -> None:
        """``DELETE /api/vhost-limits/{vhost}/{key}``: the key goes; the parameter stays,
        ``[]`` when it was the last (as RabbitMQ 3.10.8 leaves it)."""
        current = self.vhost_limits(vhost)
        if not isinstance(current, dict) or key not in current:
            return
        rest = {k: v for k, v in current.items() if k != key}
        key_ = (vhost, VHOST_LIMITS, LIMITS_NAME)
        self.values[key_] = erlang_sorted(rest) if rest else []
        self._journal_parameter(vhost, VHOST_LIMITS, LIMITS_NAME, self.values[key_])
        self._limits_changed(vhost)

    def on_limits_changed(self, listener: Callable[[str, Any], None]) -> None:
        """Call ``listener(vhost, limits)`` after each change of a vhost's limits."""
        self._limit_listeners.append(listener)

    def _limits_changed(self, vhost: str) -> None:
        for listener in self._limit_listeners:
            listener(vhost, self.vhost_limits(vhost))

    # -- policies -------------------------------------------------------------------------------

    def _table(self, operator: bool) -> dict[tuple[str, str], Policy]:
        return self.operator_policies if operator else self.policies

    def set_policy(self, policy: Policy) -> bool:
        """Add or replace a (checked) policy or operator policy; True if it is new."""
        table = self._table(policy.operator)
        key = (policy.vhost, policy.name)
        created = key not in table
        table[key] = policy
        self._journal_parameter(policy.vhost, policy.component, policy.name, policy.value())
        self._changed(policy.vhost)
        return created

    def clear_policy(self, vhost: str, name: str, *, operator: bool = False) -> None:
        """Remove a policy (``LookupError`` if there is none)."""
        del self._table(operator)[(vhost, name)]
        component = OPERATOR_POLICY if operator else POLICY
        fields = {"vhost": vhost, "component": component, "name": name}
        self.journal.parameters_changed("parameter.delete", fields)
        self._changed(vhost)

    def policy(self, vhost: str, name: str, *, operator: bool = False) -> Policy | None:
        return self._table(operator).get((vhost, name))

    def policies_in(self, vhost: str | None = None, *, operator: bool = False) -> list[Policy]:
        """A vhost's policies (all vhosts' for None), in RabbitMQ's listing order: by
        priority, then vhost and name."""
        found = [p for p in self._table(operator).values() if vhost in (None, p.vhost)]
        return sorted(found, key=lambda p: (p.priority, p.vhost, p.name))

    def on_policies_changed(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(vhost)`` after each change of a vhost's policies."""
        self._listeners.append(listener)

    def _changed(self, vhost: str) -> None:
        for listener in self._listeners:
            listener(vhost)

    # -- global parameters ----------------------------------------------------------------------

    def set_global(self, name: str, value: Any) -> bool:
        created = name not in self.global_values
        self.global_values[name] = erlang_sorted(value)
        self.journal.parameters_changed("global_parameter", {"name": name, "value": value})
        return created

    def clear_global(self, name: str) -> None:
        """Remove a global parameter (``LookupError`` if there is none)."""
        del self.global_values[name]
        self.journal.parameters_changed("global_parameter.delete", {"name": name})

    def global_parameters(self) -> list[dict[str, Any]]:
        """``/api/global-parameters`` items, by name."""
        return [{"name": n, "value": self.global_values[n]} for n in sorted(self.global_values)]

    # -- vhosts ---------------------------------------------------------------------------------

    def forget_vhost(self, vhost: str) -> None:
        """A vhost was deleted: its parameters and policies go with it, journalled."""
        for v, component, name in [k for k in self.values if k[0] == vhost]:
            self.clear_parameter(v, component, name)
        for operator in (False, True):
            for v, name in [k for k in self._table(operator) if k[0] == vhost]:
                self.clear_policy(v, name, operator=operator)

    def _journal_parameter(self, vhost: str, component: str, name: str, value: Any) -> None:
        fields = {"vhost": vhost, "component": component, "name": name, "value": value}
        self.journal.parameters_changed("parameter", fields)


def _parameter_item(vhost: str, component: str, name: str, value: Any) -> dict[str, Any]:
    return {"value": value, "vhost": vhost, "component": component, "name": name}


def _policy_parameter(policy: Policy) -> dict[str, Any]:
    return _parameter_item(policy.vhost, policy.component, policy.name, policy.value())
