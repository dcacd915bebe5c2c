"""A small client of the management HTTP API (RabbitMQ's ``/api/...``) for the command line:
``amqpbroker definitions export/import`` (and ``amqpbroker ctl`` to come).  Standard library
only (``urllib``), so a command that talks to a running broker starts fast."""

from .client import (
    DEFAULT_URL,
    ApiSettings,
    ManagementApiError,
    ManagementClient,
    vhost_segment,
)

__all__ = [
    "DEFAULT_URL",
    "ApiSettings",
    "ManagementApiError",
    "ManagementClient",
    "vhost_segment",
]
