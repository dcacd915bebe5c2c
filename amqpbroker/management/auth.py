"""Who may call what: HTTP Basic against the broker's users, then RabbitMQ's tag rules.

The order is RabbitMQ 3.10.8's: no credentials (an empty 401 asking for them), a wrong user
or password (``not_authorized`` "Login failed"), a loopback-only user from elsewhere, a user
without a management tag, a route for administrators only; then, for routes inside a
vhost, the user's permissions there (administrators pass: what they may do is the AMQP
permissions' business, checked by the operation itself).
"""

from __future__ import annotations

import base64
import binascii
import enum
import ipaddress

from amqpbroker.access.control import AccessControl
from amqpbroker.access.sasl import AuthError
from amqpbroker.access.users import User
from amqpbroker.config import BrokerConfig

from .http import credentials_wanted, login_failed, not_authorised

MANAGEMENT_TAGS = ("administrator", "monitoring", "policymaker", "management")


class Level(enum.Enum):
    """What a route asks of its caller."""

    PUBLIC = "public"  # no credentials asked (the login page's own routes)
    MANAGEMENT = "management"  # any user with a management tag
    MONITORING = "monitoring"  # monitoring or administrator
    ADMINISTRATOR = "administrator"


def credentials(header: str | None) -> tuple[str, str] | None:
    """(user, password) from an ``Authorization: Basic`` header, or None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def is_loopback(address: str | None) -> bool:
    if not address:
        return False
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def authenticate(
    access: AccessControl, config: BrokerConfig, header: str | None, peer: str | None
) -> User:
    """The user the request proves to be, with a management tag (``ApiError`` if not)."""
    given = credentials(header)
    if given is None:
        raise credentials_wanted()
    return log_in(access, config, *given, peer)


def log_in(
    access: AccessControl, config: BrokerConfig, name: str, password: str, peer: str | None
) -> User:
    """The user these credentials prove to be, with a management tag (``ApiError`` if not);
    the attempt is counted."""
    response = b"\0" + name.encode() + b"\0" + password.encode()
    try:
        user = access.users.authenticate("PLAIN", response)
    except AuthError:
        access.auth_attempts.record("http", succeeded=False)
        raise login_failed() from None
    access.auth_attempts.record("http", succeeded=True)
    if name in config.loopback_users and not is_loopback(peer):
        raise not_authorised("User can only log in via localhost")
    if not any(user.has_tag(tag) for tag in MANAGEMENT_TAGS):
        raise not_authorised("Not management user")
    return user


def require(user: User, level: Level) -> None:
    if level is Level.ADMINISTRATOR and not is_administrator(user):
        raise not_authorised("Not administrator user")
    if level is Level.MONITORING and not sees_all_vhosts(user):
        raise not_authorised("Not monitor user")


def is_administrator(user: User) -> bool:
    return user.has_tag("administrator")


def sees_all_vhosts(user: User) -> bool:
    """Administrators and monitoring users see every vhost listed."""
    return user.has_tag("administrator") or user.has_tag("monitoring")


def may_use_vhost(access: AccessControl, user: User, vhost: str) -> bool:
    return (user.name, vhost) in access.permissions


def check_vhost(access: AccessControl, user: User, vhost: str) -> None:
    """401 "User not authorised to access virtual host" for a non-administrator without
    permissions there."""
    if not is_administrator(user) and not may_use_vhost(access, user, vhost):
        raise not_authorised("User not authorised to access virtual host")


def visible_vhosts(access: AccessControl, user: User, names: list[str]) -> list[str]:
    """The vhosts a user sees listed: all for administrators and monitoring users, else
    those it has permissions in."""
    if sees_all_vhosts(user):
        return names
    return [name for name in names if may_use_vhost(access, user, name)]


def is_policymaker(user: User) -> bool:
    """Policymakers and administrators may change policies and parameters."""
    return user.has_tag("policymaker") or user.has_tag("administrator")


def check_policymaker(access: AccessControl, user: User, vhost: str | None = None) -> None:
    """401 "User not authorised to access object" unless the user is a policymaker who may
    use ``vhost`` (if one is named and exists: administrators may use any)."""
    allowed = is_policymaker(user) and (
        vhost is None or is_administrator(user) or may_use_vhost(access, user, vhost)
    )
    if not allowed:
        raise not_authorised("User not authorised to access object")


def login_vhosts(access: AccessControl, user: User, names: list[str]) -> list[str]:
    """The vhosts whose policies and parameters a user sees listed: all for administrators,
    else those it has permissions in (RabbitMQ's ``filter_vhost``)."""
    if is_administrator(user):
        return names
    return [name for name in names if may_use_vhost(access, user, name)]
