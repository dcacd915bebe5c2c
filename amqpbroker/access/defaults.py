"""The user and permissions a broker starts with when its user store is blank.

RabbitMQ seeds its database once, on first boot: ``default_user`` with ``default_pass``,
tagged ``default_user_tags``, with ``default_permissions`` on ``default_vhost`` (the vhost
itself is the core's; ``BrokerServer`` creates it).  A store that already has users keeps
them, and a broker told to ``load_definitions`` seeds nothing.
"""

from __future__ import annotations

from amqpbroker.config import BrokerConfig

from .control import AccessControl
from .permissions import Permission


def apply_defaults(access: AccessControl, config: BrokerConfig) -> None:
    """Create the default user with its tags and its permissions on the default vhost."""
    access.add_user(config.default_user, config.default_pass, config.default_user_tags)
    access.set_permissions(
        config.default_user, config.default_vhost, Permission(*config.default_permissions)
    )


def default_access(config: BrokerConfig) -> AccessControl:
    """A fresh in-memory ``AccessControl`` with the defaults applied."""
    access = AccessControl()
    apply_defaults(access, config)
    return access
