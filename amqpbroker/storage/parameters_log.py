"""Runtime parameters, global parameters and policies in the definitions log.

``DurableStore.parameters_changed`` appends ``RuntimeParameters``' journal as definition
records (ops ``parameter`` and ``global_parameter``, and their ``.delete``; a policy is a
``parameter`` of component ``policy`` or ``operator_policy``); at start-up recovery replays
them here, puts what survives into the server's ``RuntimeParameters`` (its journal off),
and writes them back compacted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from amqpbroker.policies.model import ValidationFailed
from amqpbroker.policies.parameters import RuntimeParameters

from .codec import encode_definition
from .records import encode_record

log = logging.getLogger(__name__)


@dataclass
class ParameterDefinitions:
    """The latest record of each parameter and global parameter."""

    parameters: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    global_parameters: dict[str, dict[str, Any]] = field(default_factory=dict)

    def replay(self, op: str, entry: dict[str, Any]) -> bool:
        """Apply one record; False if ``op`` is not a parameter op."""
        if op == "parameter":
            self.parameters[(entry["vhost"], entry["component"], entry["name"])] = entry
        elif op == "parameter.delete":
            self.parameters.pop((entry["vhost"], entry["component"], entry["name"]), None)
        elif op == "global_parameter":
            self.global_parameters[entry["name"]] = entry
        elif op == "global_parameter.delete":
            self.global_parameters.pop(entry["name"], None)
        else:
            return False
        return True

    def drop_vhost(self, vhost: str) -> None:
        """A deleted vhost's parameters go with it (recorded one by one too)."""
        self.parameters = {k: e for k, e in self.parameters.items() if k[0] != vhost}

    def apply(self, parameters: RuntimeParameters) -> None:
        """Put what survived into ``parameters`` (whose journal is not the store yet)."""
        for (vhost, component, name), entry in self.parameters.items():
            try:
                parameters.set_parameter(vhost, component, name, entry["value"])
            except ValidationFailed as error:  # (a record from a broker that knew more)
                log.warning("parameter %s/%s/%s not restored: %s", component, vhost, name, error)
        for name, entry in self.global_parameters.items():
            parameters.set_global(name, entry["value"])

    def records(self) -> list[bytes]:
        """One record per surviving parameter, for the compacted log."""
        tables = (
            ("parameter", self.parameters.values()),
            ("global_parameter", self.global_parameters.values()),
        )
        return [
            encode_record(encode_definition(op, **entry))
            for op, entries in tables
            for entry in entries
        ]
