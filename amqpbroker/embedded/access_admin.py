"""Embedded brokers' powers: users, permissions and topic permissions."""

from __future__ import annotations

from collections.abc import Iterable

from amqpbroker.access.permissions import Permission, TopicPermission
from amqpbroker.access.users import User

from .powers import LoopAccess


class AccessAdmin(LoopAccess):
    """What ``rabbitmqctl add_user`` / ``set_permissions`` / ``set_topic_permissions`` do,
    for a test that checks least-privilege code.  Each takes effect when it returns, open
    connections included."""

    @property
    def users(self) -> list[User]:
        return self._on_loop(lambda: list(self.server.access.users))

    def add_user(self, name: str, password: str | None, tags: str | Iterable[str] = ()) -> None:
        """Add (or replace) a user; ``password=None`` makes a password-less one (it can
        log in only with EXTERNAL)."""
        self._on_loop(self.server.access.add_user, name, password, tags)

    def delete_user(self, name: str) -> None:
        self._on_loop(self.server.access.delete_user, name)

    def change_password(self, name: str, password: str | None) -> None:
        self._on_loop(self.server.access.change_password, name, password)

    def set_user_tags(self, name: str, tags: str | Iterable[str]) -> None:
        self._on_loop(self.server.access.set_user_tags, name, tags)

    def set_permissions(
        self,
        user: str,
        configure: str = ".*",
        write: str = ".*",
        read: str = ".*",
        *,
        vhost: str = "/",
    ) -> None:
        """``rabbitmqctl set_permissions -p VHOST USER CONF WRITE READ`` (regexes; "" is none)."""
        permission = Permission(configure, write, read)
        self._on_loop(self.server.access.set_permissions, user, vhost, permission)

    def clear_permissions(self, user: str, *, vhost: str = "/") -> None:
        self._on_loop(self.server.access.clear_permissions, user, vhost)

    def set_topic_permissions(
        self, user: str, exchange: str, write: str = ".*", read: str = ".*", *, vhost: str = "/"
    ) -> None:
        """``rabbitmqctl set_topic_permissions -p VHOST USER EXCHANGE WRITE READ``."""
        topic = TopicPermission(exchange, write, read)
        self._on_loop(self.server.access.set_topic_permissions, user, vhost, topic)

    def clear_topic_permissions(
        self, user: str, exchange: str | None = None, *, vhost: str = "/"
    ) -> None:
        self._on_loop(self.server.access.clear_topic_permissions, user, vhost, exchange)
