"""Scenario modules, one per area; importing this package registers them all."""

from . import (  # noqa: F401
    alternate,
    basic,
    channels,
    clients,
    confirms_tx,
    connection,
    consumers,
    content,
    direct_reply,
    dlx,
    exchanges,
    limits,
    malformed,
    prefetch,
    priorities,
    queues,
    quorum,
    routing,
    sender_selected,
    ttl,
)
