"""Users, permissions and topic permissions in the definitions log.

``DurableStore.access_changed`` appends ``AccessControl``'s journal as definition records
(ops ``user``, ``permission``, ``topic_permission`` and their ``.delete``); at start-up
recovery replays them here, puts what survives into the server's ``AccessControl`` (its
journal off), and writes them back compacted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from amqpbroker.access.control import AccessControl
from amqpbroker.access.permissions import Permission, TopicPermission
from amqpbroker.access.users import User

from .codec import encode_definition
from .records import encode_record


@dataclass
class AccessDefinitions:
    """The latest record of each user, permission and topic permission."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    permissions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    topic_permissions: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)

    def replay(self, op: str, entry: dict[str, Any]) -> bool:
        """Apply one record; False if ``op`` is not an access op."""
        if op == "user":
            self.users[entry["name"]] = entry
        elif op == "user.delete":
            self._delete_user(entry["name"])
        elif op == "permission":
            self.permissions[(entry["user"], entry["vhost"])] = entry
        elif op == "permission.delete":
            self.permissions.pop((entry["user"], entry["vhost"]), None)
        elif op == "topic_permission":
            key = (entry["user"], entry["vhost"], entry["exchange"])
            self.topic_permissions[key] = entry
        elif op == "topic_permission.delete":
            self._delete_topic(entry["user"], entry["vhost"], entry.get("exchange"))
        else:
            return False
        return True

    def _delete_user(self, name: str) -> None:
        self.users.pop(name, None)
        self.permissions = {k: e for k, e in self.permissions.items() if k[0] != name}
        self.topic_permissions = {k: e for k, e in self.topic_permissions.items() if k[0] != name}

    def _delete_topic(self, user: str, vhost: str, exchange: str | None) -> None:
        """One exchange's topic permission, or (``exchange`` None) all in the vhost."""
        for key in list(self.topic_permissions):
            if key[:2] == (user, vhost) and exchange in (None, key[2]):
                del self.topic_permissions[key]

    def drop_vhost(self, vhost: str) -> None:
        """A deleted vhost's permissions go with it (recorded one by one too)."""
        self.permissions = {k: e for k, e in self.permissions.items() if k[1] != vhost}
        self.topic_permissions = {k: e for k, e in self.topic_permissions.items() if k[1] != vhost}

    def apply(self, access: AccessControl) -> None:
        """Put what survived into ``access`` (whose journal is not the store yet)."""
        for entry in self.users.values():
            user = User(
                entry["name"],
                entry["password_hash"],
                entry["hashing_algorithm"],
                tuple(entry["tags"]),
                tuple((key, value) for key, value in entry.get("limits", ())),
            )
            access.put_user(user)
        for (user_name, vhost), entry in self.permissions.items():
            permission = Permission(entry["configure"], entry["write"], entry["read"])
            access.set_permissions(user_name, vhost, permission)
        for (user_name, vhost, exchange), entry in self.topic_permissions.items():
            topic = TopicPermission(exchange, entry["write"], entry["read"])
            access.set_topic_permissions(user_name, vhost, topic)

    def records(self) -> list[bytes]:
        """One record per surviving definition, for the compacted log."""
        tables = (
            ("user", self.users.values()),
            ("permission", self.permissions.values()),
            ("topic_permission", self.topic_permissions.values()),
        )
        return [
            encode_record(encode_definition(op, **entry))
            for op, entries in tables
            for entry in entries
        ]
