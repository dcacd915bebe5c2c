"""The ``parameters``, ``global_parameters`` and ``policies`` sections of a definitions
document: checked with the rest of the document, applied after the permissions, as
RabbitMQ 3.10 imports them (operator policies travel as parameters of component
``operator_policy``, policies in their own section).

Mirroring (``ha-*``) and federation policy keys, and the parameters of plugins this broker
does not have (shovels, federation upstreams), are kept and exported again but have no
effect: the log says so once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from amqpbroker.core.broker import BrokerState
from amqpbroker.policies.components import PLUGIN_COMPONENTS, check_parameter
from amqpbroker.policies.definition_keys import FEDERATION_CHECKS, MIRROR_KEYS
from amqpbroker.policies.model import (
    OPERATOR_POLICY,
    POLICY,
    Policy,
    ValidationFailed,
    check_policy,
    policy_from_value,
)
from amqpbroker.policies.parameters import RuntimeParameters

log = logging.getLogger(__name__)

Section = list[tuple[str, Mapping[str, Any]]]
Text = Callable[..., str]
_INERT_KEYS = frozenset(MIRROR_KEYS) | frozenset(FEDERATION_CHECKS)
_told: set[str] = set()  # what the log already said once


@dataclass
class CheckedParameters:
    parameters: list[tuple[str, str, str, Any]] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)  # operator policies too
    global_parameters: list[tuple[str, Any]] = field(default_factory=list)


def check_parameter_sections(
    parameters: Section, global_parameters: Section, policies: Section, text: Text
) -> CheckedParameters:
    """The three sections, each item checked as the management API checks it;
    ``ValueError`` (the caller's ``DefinitionsError``) naming the first bad item."""
    checked = CheckedParameters()
    for where, entry in parameters:
        vhost, component, name = (text(entry, k, where) for k in ("vhost", "component", "name"))
        value = entry.get("value")
        try:
            if component in (POLICY, OPERATOR_POLICY):
                operator = component == OPERATOR_POLICY
                checked.policies.append(policy_from_value(vhost, name, value, operator=operator))
            else:
                check_parameter(component, name, value)
                checked.parameters.append((vhost, component, name, value))
        except ValidationFailed as error:
            raise ValueError(f"{where}: {error}") from None
    for where, entry in global_parameters:
        checked.global_parameters.append((text(entry, "name", where), entry.get("value")))
    for where, entry in policies:
        checked.policies.append(_policy(where, entry, text))
    return checked


def _policy(where: str, entry: Mapping[str, Any], text: Text) -> Policy:
    vhost, name = text(entry, "vhost", where), text(entry, "name", where)
    definition = entry.get("definition")
    if not isinstance(definition, Mapping):
        raise ValueError(f"{where}: 'definition' is not an object")
    try:
        return check_policy(
            vhost,
            name,
            entry.get("pattern"),
            definition,
            entry.get("priority"),
            entry.get("apply-to"),
        )
    except ValidationFailed as error:
        raise ValueError(f"{where}: {error}") from None


def apply_parameter_sections(
    checked: CheckedParameters, state: BrokerState, parameters: RuntimeParameters
) -> None:
    """Set what was checked: parameters, global parameters, then policies (``ValueError``
    for an item in a vhost that does not exist)."""
    for vhost, component, name, value in checked.parameters:
        _vhost_exists(state, vhost, f"parameter '{name}' of component '{component}'")
        parameters.set_parameter(vhost, component, name, value)
        note_inert_component(component)
    for name, value in checked.global_parameters:
        parameters.set_global(name, value)
    for policy in checked.policies:
        _vhost_exists(state, policy.vhost, f"policy '{policy.name}'")
        parameters.set_policy(policy)
        note_inert_keys(policy)


def _vhost_exists(state: BrokerState, vhost: str, what: str) -> None:
    if vhost not in state.vhosts:
        raise ValueError(f"{what} in vhost '{vhost}': no such vhost")


def note_inert_keys(policy: Policy) -> None:
    """Say once (per set of keys) that a policy's mirroring or federation keys do nothing
    here (the management API's PUT says it too)."""
    inert = sorted(_INERT_KEYS.intersection(policy.definition))
    _tell_once(bool(inert), f"policy keys {', '.join(inert)}")


def note_inert_component(component: str) -> None:
    """Say once that a plugin's parameters (shovels, federation) do nothing here."""
    _tell_once(component in PLUGIN_COMPONENTS, f"'{component}' parameters")


def _tell_once(inert: bool, what: str) -> None:
    if inert and what not in _told:
        _told.add(what)
        log.info("%s are kept and exported but have no effect here", what)
