"""Scenario modules, one per area; importing this package registers them all."""

from . import (  # noqa: F401
    basic,
    channels,
    clients,
    confirms_tx,
    connection,
    consumers,
    content,
    dlx,
    exchanges,
    limits,
    malformed,
    priorities,
    queues,
    quorum,
    routing,
    ttl,
)
