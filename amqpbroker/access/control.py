"""``AccessControl``: the broker's users, permissions and topic permissions, in one place.

Every change is told to a journal (the durable store's definitions log, or nothing for an
in-memory broker) as one operation with plain fields, and replayed from it at start-up with
the journal switched off.  Live ``VhostAccess`` objects (one per open connection) are
refreshed in place when their user's permissions change.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import asdict, replace
from typing import Any, Protocol

from .attempts import AuthAttempts
from .permissions import Permission, TopicPermission, VhostAccess
from .users import User, UserStore


class AccessJournal(Protocol):
    def access_changed(self, op: str, fields: dict[str, Any]) -> None: ...


class _NoJournal:
    def access_changed(self, op: str, fields: dict[str, Any]) -> None:
        pass


class AccessControl:
    """Users, their permissions per vhost, and their topic permissions per exchange."""

    def __init__(self, journal: AccessJournal | None = None) -> None:
        self.users = UserStore()
        self.journal: AccessJournal = journal or _NoJournal()
        self.permissions: dict[tuple[str, str], Permission] = {}  # (user, vhost)
        self.topic_permissions: dict[tuple[str, str], dict[str, TopicPermission]] = {}
        self._live: weakref.WeakSet[VhostAccess] = weakref.WeakSet()
        self.auth_attempts = AuthAttempts()

    # -- users ----------------------------------------------------------------------------------

    def put_user(self, user: User) -> User:
        self.users.put(user)
        self.journal.access_changed("user", asdict(user))
        return user

    def add_user(self, name: str, password: str | None, tags: str | Iterable[str] = ()) -> User:
        user = self.users.add(name, password, tags)
        self.journal.access_changed("user", asdict(user))
        return user

    def change_password(self, name: str, password: str | None) -> User:
        return self.put_user(self.users.change_password(name, password))

    def set_user_tags(self, name: str, tags: str | Iterable[str]) -> User:
        return self.put_user(self.users.set_tags(name, tags))

    def delete_user(self, name: str) -> None:
        """Remove a user and every permission it had (``LookupError`` if none)."""
        self.users.delete(name)
        for key in [k for k in self.permissions if k[0] == name]:
            del self.permissions[key]
        for key in [k for k in self.topic_permissions if k[0] == name]:
            del self.topic_permissions[key]
        self.journal.access_changed("user.delete", {"name": name})
        self._refresh(name, None)

    # -- limits (RabbitMQ keeps them on the user; core/limits.py enforces them) ------------

    def user_limits(self, name: str) -> dict[str, int]:
        user = self.users.get(name)
        return dict(user.limits) if user is not None else {}

    def set_user_limit(self, name: str, key: str, value: int) -> User:
        """One limit of an existing user (``LookupError`` if none), the others kept."""
        user = self.users.get(name)
        if user is None:
            raise LookupError(name)
        limits = dict(user.limits) | {key: value}
        return self.put_user(replace(user, limits=tuple(sorted(limits.items()))))

    def clear_user_limit(self, name: str, key: str | None = None) -> User:
        """One limit (``key``), or all (None), of an existing user (``LookupError``)."""
        user = self.users.get(name)
        if user is None:
            raise LookupError(name)
        limits = tuple(item for item in user.limits if key not in (None, item[0]))
        return self.put_user(replace(user, limits=limits))

    # -- permissions ----------------------------------------------------------------------------

    def set_permissions(self, user: str, vhost: str, permission: Permission) -> None:
        self.permissions[(user, vhost)] = permission
        self.journal.access_changed(
            "permission", {"user": user, "vhost": vhost, **asdict(permission)}
        )
        self._refresh(user, vhost)

    def clear_permissions(self, user: str, vhost: str) -> None:
        self.permissions.pop((user, vhost), None)
        self.journal.access_changed("permission.delete", {"user": user, "vhost": vhost})
        self._refresh(user, vhost)

    def set_topic_permissions(self, user: str, vhost: str, topic: TopicPermission) -> None:
        self.topic_permissions.setdefault((user, vhost), {})[topic.exchange] = topic
        fields = {"user": user, "vhost": vhost, **asdict(topic)}
        self.journal.access_changed("topic_permission", fields)
        self._refresh(user, vhost)

    def clear_topic_permissions(self, user: str, vhost: str, exchange: str | None = None) -> None:
        """Clear one exchange's topic permission, or all of the user's in the vhost."""
        topics = self.topic_permissions.get((user, vhost), {})
        if exchange is None:
            topics.clear()
        else:
            topics.pop(exchange, None)
        if not topics:
            self.topic_permissions.pop((user, vhost), None)
        fields = {"user": user, "vhost": vhost, "exchange": exchange}
        self.journal.access_changed("topic_permission.delete", fields)
        self._refresh(user, vhost)

    def forget_vhost(self, vhost: str) -> None:
        """A vhost was deleted: its permissions go with it (as RabbitMQ's do), journalled."""
        for user, name in [k for k in self.permissions if k[1] == vhost]:
            self.clear_permissions(user, name)
        for user, name in [k for k in self.topic_permissions if k[1] == vhost]:
            self.clear_topic_permissions(user, name)

    # -- what a connection may do ---------------------------------------------------------------

    def access_for(self, user: str, vhost: str) -> VhostAccess | None:
        """The user's rights in the vhost, or None if it may not use it at all."""
        permission = self.permissions.get((user, vhost))
        if permission is None:
            return None
        topics = self.topic_permissions.get((user, vhost), {})
        account = self.users.get(user)
        # (As in RabbitMQ, the tags are the user's at login: a later change leaves it be.)
        impersonator = account is not None and account.may_impersonate
        access = VhostAccess(user, vhost, permission, topics, impersonator=impersonator)
        self._live.add(access)
        return access

    def _refresh(self, user: str, vhost: str | None) -> None:
        """Bring open connections' accesses up to date; one that lost its permission keeps
        an access refusing everything."""
        for access in list(self._live):
            if access.user != user or (vhost is not None and access.vhost != vhost):
                continue
            permission = self.permissions.get((access.user, access.vhost), Permission("", "", ""))
            access.refresh(permission, self.topic_permissions.get((access.user, access.vhost), {}))
