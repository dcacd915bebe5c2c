"""Definitions: RabbitMQ's JSON document of users, vhosts, permissions, topic permissions,
queues, exchanges and bindings (what ``rabbitmqctl export_definitions`` and
``GET /api/definitions`` write, and ``load_definitions`` reads at boot).

One model for every user of it: the boot import (``load_definitions`` in rabbitmq.conf),
the embedded powers (``broker.import_definitions`` / ``export_definitions``) and the
management API.  It works on the core's ``BrokerState`` and the ``AccessControl``; reading
a file is the only I/O here.
"""

from __future__ import annotations

from .exporter import export_definitions, export_sections
from .importer import DefinitionsError, import_definitions, import_steps, read_definitions_file

__all__ = [
    "DefinitionsError",
    "export_definitions",
    "export_sections",
    "import_definitions",
    "import_steps",
    "read_definitions_file",
]
