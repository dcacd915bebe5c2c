"""Which runtime parameter components are accepted, and their checks.

A stock RabbitMQ 3.10.8 with only the management plugin knows ``policy``,
``operator_policy`` (``model.py``) and ``vhost-limits`` (checked here as it checks them:
numbers only, no other keys); any other component is refused with "component NAME not
found".  This broker also accepts, unchecked, the components of the plugins RabbitMQ ships
(shovels, federation upstreams): definitions from brokers that use them import here and
export again, although nothing here acts on them.
"""

from __future__ import annotations

from typing import Any

from .model import ValidationFailed
from .terms import Tuple, format_term

VHOST_LIMITS = "vhost-limits"
PLUGIN_COMPONENTS = frozenset({"shovel", "federation-upstream", "federation-upstream-set"})
_LIMITS = ("max-connections", "max-queues")


def check_parameter(component: str, name: str, value: Any) -> None:
    """``ValidationFailed`` with RabbitMQ's texts if ``value`` is not one ``component``
    takes (policies are checked by ``model.check_policy`` instead)."""
    if component == VHOST_LIMITS:
        _check_limits(name, value)
    elif component not in PLUGIN_COMPONENTS:
        raise ValidationFailed([f"component {component} not found"])


def _check_limits(name: str, value: Any) -> None:
    if not isinstance(value, dict):
        raise ValidationFailed([format_term(f"{name} not a list ~p", value)])
    terms = sorted(value.items(), key=lambda item: item[0].encode())
    # (RabbitMQ checks each known key in turn and reports in the reverse order, unknown
    # keys first.)
    errors = [
        format_term(f"{key} should be a number, actually was ~p", value[key])
        for key in reversed(_LIMITS)
        if key in value and not _is_number(value[key])
    ]
    unknown = [Tuple(term) for term in terms if term[0] not in _LIMITS]
    if unknown:
        errors.insert(0, format_term(f"Unrecognised terms ~p in {name}", unknown))
    if errors:
        raise ValidationFailed(errors)


def _is_number(value: Any) -> bool:
    # ("number" in RabbitMQ's text, but it takes integers only: 1.5 is refused)
    return isinstance(value, int) and not isinstance(value, bool)
