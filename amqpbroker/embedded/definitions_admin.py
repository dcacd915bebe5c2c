"""Embedded brokers' powers: importing and exporting definitions (RabbitMQ's JSON)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from amqpbroker.definitions import read_definitions_file

from .powers import LoopAccess


class DefinitionsAdmin(LoopAccess):
    """What ``rabbitmqctl import_definitions`` / ``export_definitions`` do."""

    def import_definitions(self, definitions: Mapping[str, Any] | str | Path) -> None:
        """Import a definitions document (a parsed dict, or the path of a JSON file) as
        ``load_definitions`` does at boot; ``DefinitionsError`` if it cannot be."""
        if isinstance(definitions, str | Path):
            definitions = read_definitions_file(definitions)
        self._on_loop(self.server.import_definitions, definitions)

    def export_definitions(self) -> dict[str, Any]:
        """The broker's definitions in RabbitMQ 3.10.8's export shape."""
        return self._on_loop(self.server.export_definitions)
