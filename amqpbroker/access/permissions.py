"""Per-vhost permissions and the checks the session makes before each AMQP method.

RabbitMQ 3.10's rules: three regular expressions per user per vhost (configure, write,
read), matched unanchored against the resource name (``""`` names ``amq.default``); an
empty expression matches nothing.  Topic permissions add write/read expressions per topic
exchange, matched against routing keys, with ``{username}`` and ``{vhost}`` expanded; an
exchange the user has no topic permission for is unrestricted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from amqpbroker.errors import AccessRefused

Kind = Literal["queue", "exchange"]
Right = Literal["configure", "write", "read"]
DEFAULT_EXCHANGE_NAME = "amq.default"
FULL = ".*"
# Cached answers per connection, at most (RabbitMQ keeps 12 per channel).
CACHE_LIMIT = 1024


def compile_permission(pattern: str) -> re.Pattern[str]:
    """An expression as RabbitMQ matches it; ``""`` matches nothing (``^$`` on a name that
    is never empty: the default exchange is checked as ``amq.default``).  ``re.error`` for
    an invalid expression."""
    return re.compile(pattern or "^$")


@dataclass(frozen=True, slots=True)
class Permission:
    """configure / write / read expressions of one user in one vhost."""

    configure: str = FULL
    write: str = FULL
    read: str = FULL

    def __post_init__(self) -> None:
        for pattern in (self.configure, self.write, self.read):
            compile_permission(pattern)  # refuse an invalid one when it is set

    @property
    def unrestricted(self) -> bool:
        return self.configure == self.write == self.read == FULL


@dataclass(frozen=True, slots=True)
class TopicPermission:
    """write / read expressions for routing keys on one topic exchange."""

    exchange: str
    write: str = FULL
    read: str = FULL

    def __post_init__(self) -> None:
        compile_permission(self.write)
        compile_permission(self.read)


def refusal(kind: str, name: str, vhost: str, user: str) -> str:
    """RabbitMQ 3.10's 403 text (3.12 added a "configure "/"write "/"read " prefix)."""
    return f"access to {kind} '{name}' in vhost '{vhost}' refused for user '{user}'"


@dataclass(slots=True, weakref_slot=True, eq=False)
class VhostAccess:
    """What one user may do in one vhost, with the answers cached per resource name (as
    RabbitMQ's channel caches its permission checks): the first check of a name matches the
    expression, later ones are a dict lookup.  ``AccessControl`` refreshes it in place when
    the permissions change."""

    user: str
    vhost: str
    permission: Permission
    topics: dict[str, TopicPermission] = field(default_factory=dict)
    unrestricted: bool = False  # configure/write/read all ".*" and no topic permissions
    impersonator: bool = False  # may publish any user-id (the user's tags at login)
    _patterns: dict[str, re.Pattern[str]] = field(default_factory=dict)
    _answers: dict[tuple[str, str, str], bool] = field(default_factory=dict)
    _topic_patterns: dict[tuple[str, str], re.Pattern[str]] = field(default_factory=dict)
    _publishable: dict[str, bool] = field(default_factory=dict)  # write on exchange, by name

    def __post_init__(self) -> None:
        self.refresh(self.permission, self.topics)

    def refresh(self, permission: Permission, topics: dict[str, TopicPermission]) -> None:
        self.permission = permission
        self.topics = dict(topics)
        self.unrestricted = permission.unrestricted and not topics
        self._patterns = {
            "configure": compile_permission(permission.configure),
            "write": compile_permission(permission.write),
            "read": compile_permission(permission.read),
        }
        self._answers.clear()
        self._topic_patterns.clear()
        self._publishable.clear()

    def allows(self, right: Right, kind: Kind, name: str) -> bool:
        key = (right, kind, name)
        answer = self._answers.get(key)
        if answer is None:
            resource = name or DEFAULT_EXCHANGE_NAME
            answer = self._patterns[right].search(resource) is not None
            if len(self._answers) >= CACHE_LIMIT:  # a client naming ever new resources
                self._answers.clear()
            self._answers[key] = answer
        return answer

    def check(self, right: Right, kind: Kind, name: str) -> None:
        """``AccessRefused`` (403) unless the user has ``right`` on the resource."""
        if not self.allows(right, kind, name):
            raise AccessRefused(refusal(kind, name or DEFAULT_EXCHANGE_NAME, self.vhost, self.user))

    def check_publish(self, exchange: str) -> None:
        """``check("write", "exchange", exchange)`` with its own cache keyed by the name
        alone: basic.publish makes it for every message of a restricted user."""
        allowed = self._publishable.get(exchange)
        if allowed is None:
            if len(self._publishable) >= CACHE_LIMIT:
                self._publishable.clear()
            allowed = self._publishable[exchange] = self.allows("write", "exchange", exchange)
        if not allowed:
            self.check("write", "exchange", exchange)

    def check_topic(self, right: Literal["write", "read"], exchange: str, routing_key: str) -> None:
        """``AccessRefused`` unless the routing key passes the user's topic permission on
        ``exchange`` (call it for topic exchanges only)."""
        topic = self.topics.get(exchange)
        if topic is None:
            return
        pattern = self._topic_patterns.get((right, exchange))
        if pattern is None:
            source = topic.write if right == "write" else topic.read
            expanded = source.replace("{username}", self.user).replace("{vhost}", self.vhost)
            pattern = self._topic_patterns[(right, exchange)] = compile_permission(expanded)
        if pattern.search(routing_key) is None:
            raise AccessRefused(
                f"access to topic '{routing_key}' in exchange '{exchange}' in vhost "
                f"'{self.vhost}' refused for user '{self.user}'"
            )
