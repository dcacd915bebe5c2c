"""The user and permissions a broker starts with when its user store is empty."""

from __future__ import annotations

from amqpbroker.config import BrokerConfig

from .control import AccessControl
from .permissions import Permission


def apply_defaults(access: AccessControl, config: BrokerConfig) -> None:
    """Create the default user with its tags and its permissions on the default vhost, as
    RabbitMQ does on a blank database (``default_user``, ``default_pass``...)."""
    access.add_user(config.default_user, config.default_pass, ["administrator"])
    access.set_permissions(config.default_user, config.default_vhost, Permission())


def default_access(config: BrokerConfig) -> AccessControl:
    """A fresh in-memory ``AccessControl`` with the defaults applied."""
    access = AccessControl()
    apply_defaults(access, config)
    return access
