"""``import_definitions``: a definitions document into the broker, as RabbitMQ 3.10 imports one.

Theory of operation: the whole document is checked first (each section a list of objects
with the fields RabbitMQ reads), so a malformed file changes nothing; then it is applied in
RabbitMQ's order: users, vhosts, permissions, topic permissions, parameters, global
parameters, policies (``parameter_sections.py``), exchanges, queues, bindings.  Like
RabbitMQ the import only adds and updates: a user in the file replaces the broker's (hash
and tags), a vhost's description and tags are set, permissions and policies are set;
exchanges and queues that exist already are kept as they are; ``amq.*`` ones and the
default exchange are skipped.  A user takes ``password_hash`` (with ``hashing_algorithm``;
without one sha256, or md5 in a file from RabbitMQ before 3.6) or a plaintext ``password``,
hashed here; both at once is refused, and so is a user without ``tags``.  Parameters and
policies are checked as the management API checks them.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from amqpbroker.access.control import AccessControl
from amqpbroker.access.passwords import ALGORITHMS, MD5, SHA256, hash_password
from amqpbroker.access.permissions import Permission, TopicPermission
from amqpbroker.access.users import User, parse_tags
from amqpbroker.core.broker import BrokerState
from amqpbroker.core.exchanges import Destination
from amqpbroker.core.journeys import switch_tracing
from amqpbroker.core.limits import USER_LIMIT_KEYS
from amqpbroker.errors import AMQPError
from amqpbroker.policies.parameters import RuntimeParameters

from .parameter_sections import (
    CheckedParameters,
    apply_parameter_sections,
    check_parameter_sections,
)

log = logging.getLogger(__name__)

_MISSING: Any = object()


class DefinitionsError(ValueError):
    """A definitions document that cannot be imported; the message is one line."""


def read_definitions_file(path: str | Path) -> dict[str, Any]:
    """The parsed JSON object in ``path`` (``DefinitionsError`` naming the file if not)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise DefinitionsError(f"{path}: {error.strerror or error}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DefinitionsError(f"{path}: not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise DefinitionsError(f"{path}: not a JSON object")
    return document


# -- checking the document ------------------------------------------------------------------------


def _section(document: Mapping[str, Any], name: str) -> list[tuple[str, Mapping[str, Any]]]:
    items = document.get(name)
    if items is None:
        return []
    if not isinstance(items, list):
        raise DefinitionsError(f"'{name}' is not a list")
    for number, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise DefinitionsError(f"{name}[{number}] is not an object")
    return [(f"{name}[{number}]", item) for number, item in enumerate(items)]


def _text(entry: Mapping[str, Any], key: str, where: str, default: Any = _MISSING) -> str:
    value = entry.get(key, default)
    if value is _MISSING:
        raise DefinitionsError(f"{where}: '{key}' is missing")
    if not isinstance(value, str):
        raise DefinitionsError(f"{where}: '{key}' is not a string")
    return value


def _flag(entry: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = entry.get(key, default)
    if not isinstance(value, bool):
        raise DefinitionsError(f"{where}: '{key}' is not true or false")
    return value


def _table(entry: Mapping[str, Any], where: str) -> dict[str, Any]:
    value = entry.get("arguments")
    if value is None or value == []:
        return {}
    if not isinstance(value, dict):
        raise DefinitionsError(f"{where}: 'arguments' is not an object")
    return dict(value)


def _tags(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(t, str) for t in value)
    ):
        return parse_tags(value)
    raise DefinitionsError(f"{where}: 'tags' is neither a comma-separated string nor a list")


def _user_tags(entry: Mapping[str, Any], where: str) -> tuple[str, ...]:
    """``tags``, or else the old boolean ``administrator``; RabbitMQ refuses neither."""
    if "tags" in entry:
        return _tags(entry["tags"], where)
    if isinstance(entry.get("administrator"), bool | str):
        return ("administrator",) if entry["administrator"] in (True, "true") else ()
    raise DefinitionsError(f"{where}: 'tags' is missing")


def _default_algorithm(version: object) -> str:
    """A hash without ``hashing_algorithm``: md5 from RabbitMQ before 3.6, else sha256."""
    if isinstance(version, str) and re.match(r"3\.[0-5]\.", version):
        return MD5
    return SHA256


def _user(where: str, entry: Mapping[str, Any], version: object = None) -> User:
    user = _user_account(where, entry, version)
    limits = entry.get("limits")
    if isinstance(limits, Mapping) and limits:
        pairs = [(k, v) for k, v in limits.items() if isinstance(v, int) and k in USER_LIMIT_KEYS]
        user = replace(user, limits=tuple(sorted(pairs)))
    return user


def _user_account(where: str, entry: Mapping[str, Any], version: object = None) -> User:
    name = _text(entry, "name", where)
    where = f"{where} ('{name}')"
    tags = _user_tags(entry, where)
    if "password" in entry and "password_hash" in entry:
        raise DefinitionsError(f"{where}: both 'password' and 'password_hash' are given")
    if "password" in entry:
        return User(name, hash_password(_text(entry, "password", where)), SHA256, tags)
    password_hash = _text(entry, "password_hash", where, "")
    algorithm = _text(entry, "hashing_algorithm", where, _default_algorithm(version))
    if algorithm not in ALGORITHMS:
        known = ", ".join(ALGORITHMS)
        raise DefinitionsError(f"{where}: unknown hashing_algorithm '{algorithm}' ({known})")
    try:
        base64.b64decode(password_hash, validate=True)
    except (binascii.Error, ValueError):
        raise DefinitionsError(f"{where}: 'password_hash' is not base64") from None
    return User(name, password_hash, algorithm, tags)


@dataclass(frozen=True)
class _Vhost:
    name: str
    description: str
    tags: tuple[str, ...]
    tracing: bool | None  # RabbitMQ's import switches tracing when the entry says


def _vhost(where: str, entry: Mapping[str, Any]) -> _Vhost:
    name = _text(entry, "name", where)
    metadata = entry.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise DefinitionsError(f"{where}: 'metadata' is not an object")
    description = _text(entry, "description", where, metadata.get("description", ""))
    tags = _tags(entry.get("tags", metadata.get("tags", [])), where)
    tracing = entry.get("tracing")
    return _Vhost(name, description, tags, tracing if isinstance(tracing, bool) else None)


def _permission(where: str, entry: Mapping[str, Any]) -> tuple[str, str, Permission]:
    user, vhost = _text(entry, "user", where), _text(entry, "vhost", where)
    rights = [_text(entry, key, where) for key in ("configure", "write", "read")]
    try:
        return user, vhost, Permission(*rights)
    except re.error as error:
        raise DefinitionsError(f"{where}: invalid regular expression: {error}") from None


def _topic_permission(where: str, entry: Mapping[str, Any]) -> tuple[str, str, TopicPermission]:
    user, vhost = _text(entry, "user", where), _text(entry, "vhost", where)
    exchange = _text(entry, "exchange", where)
    try:
        topic = TopicPermission(exchange, _text(entry, "write", where), _text(entry, "read", where))
    except re.error as error:
        raise DefinitionsError(f"{where}: invalid regular expression: {error}") from None
    return user, vhost, topic


def _exchange(where: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "vhost": _text(entry, "vhost", where),
        "name": _text(entry, "name", where),
        "type_name": _text(entry, "type", where),
        "durable": _flag(entry, "durable", where, True),
        "auto_delete": _flag(entry, "auto_delete", where, False),
        "internal": _flag(entry, "internal", where, False),
        "arguments": _table(entry, where),
    }


def _queue(where: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "vhost": _text(entry, "vhost", where),
        "name": _text(entry, "name", where),
        "durable": _flag(entry, "durable", where, True),
        "auto_delete": _flag(entry, "auto_delete", where, False),
        "arguments": _table(entry, where),
    }


def _binding(where: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    kind = _text(entry, "destination_type", where)
    if kind not in ("queue", "exchange"):
        raise DefinitionsError(f"{where}: 'destination_type' is neither queue nor exchange")
    return {
        "vhost": _text(entry, "vhost", where),
        "source": _text(entry, "source", where),
        "destination": _text(entry, "destination", where),
        "destination_type": kind,
        "routing_key": _text(entry, "routing_key", where, ""),
        "arguments": _table(entry, where),
    }


@dataclass
class _Checked:
    users: list[User]
    vhosts: list[_Vhost]
    permissions: list[tuple[str, str, Permission]]
    topic_permissions: list[tuple[str, str, TopicPermission]]
    exchanges: list[dict[str, Any]]
    queues: list[dict[str, Any]]
    bindings: list[dict[str, Any]]
    parameters: CheckedParameters | None = None  # (checked last)


def check_definitions(document: Mapping[str, Any]) -> _Checked:
    """The document's definitions, checked (``DefinitionsError`` at the first problem)."""
    checked = _Checked([], [], [], [], [], [], [])
    for _ in _check_steps(document, checked):
        pass
    return checked


def _check_steps(document: Mapping[str, Any], checked: _Checked) -> Iterator[None]:
    """Check the document into ``checked``, a definition a step."""
    if not isinstance(document, Mapping):
        raise DefinitionsError("not a JSON object")
    version = document.get("rabbitmq_version", document.get("rabbit_version"))

    def user(where: str, entry: Mapping[str, Any]) -> User:
        return _user(where, entry, version)

    sections: list[tuple[str, Callable[[str, Mapping[str, Any]], Any], list[Any]]] = [
        ("users", user, checked.users),
        ("vhosts", _vhost, checked.vhosts),
        ("permissions", _permission, checked.permissions),
        ("topic_permissions", _topic_permission, checked.topic_permissions),
        ("exchanges", _exchange, checked.exchanges),
        ("queues", _queue, checked.queues),
        ("bindings", _binding, checked.bindings),
    ]
    for name, check, into in sections:
        for where, entry in _section(document, name):
            into.append(check(where, entry))
            yield
    checked.parameters = _parameters(document)


def _parameters(document: Mapping[str, Any]) -> CheckedParameters:
    try:
        return check_parameter_sections(
            _section(document, "parameters"),
            _section(document, "global_parameters"),
            _section(document, "policies"),
            _text,
        )
    except ValueError as error:
        raise DefinitionsError(str(error)) from None


# -- applying it ----------------------------------------------------------------------------------


def import_definitions(
    document: Mapping[str, Any],
    state: BrokerState,
    access: AccessControl,
    parameters: RuntimeParameters | None = None,
) -> None:
    """Check ``document`` whole, then apply it (``DefinitionsError``: one line, why).
    Without ``parameters`` its parameters and policies are checked, not kept."""
    for _ in import_steps(document, state, access, parameters):
        pass


def import_steps(
    document: Mapping[str, Any],
    state: BrokerState,
    access: AccessControl,
    parameters: RuntimeParameters | None = None,
) -> Iterator[None]:
    """``import_definitions`` a step at a time, so that the management API may give the
    event loop back between two (an import of 10,000 queues): each step checks a
    definition, then, once all are checked, each applies one."""
    checked = _Checked([], [], [], [], [], [], [])
    yield from _check_steps(document, checked)
    for user in checked.users:
        access.put_user(user)
    for vhost in checked.vhosts:
        added = state.put_vhost(vhost.name, vhost.description, vhost.tags)
        if vhost.tracing is not None:
            log.info("%s", switch_tracing(added, vhost.tracing))
    for user_name, vhost_name, permission in checked.permissions:
        _check_grantee(state, access, user_name, vhost_name)
        access.set_permissions(user_name, vhost_name, permission)
    for user_name, vhost_name, topic in checked.topic_permissions:
        _check_grantee(state, access, user_name, vhost_name)
        access.set_topic_permissions(user_name, vhost_name, topic)
    if parameters is not None and checked.parameters is not None:
        try:
            apply_parameter_sections(checked.parameters, state, parameters)
        except ValueError as error:
            raise DefinitionsError(str(error)) from None
    for exchange in checked.exchanges:
        yield
        _declare_exchange(state, **exchange)
    for queue in checked.queues:
        yield
        _declare_queue(state, **queue)
    for binding in checked.bindings:
        yield
        _bind(state, **binding)


def _check_grantee(state: BrokerState, access: AccessControl, user: str, vhost: str) -> None:
    if user not in access.users:
        raise DefinitionsError(f"permissions of user '{user}' in vhost '{vhost}': no such user")
    if vhost not in state.vhosts:
        raise DefinitionsError(f"permissions of user '{user}' in vhost '{vhost}': no such vhost")


def _vhost_of(state: BrokerState, name: str, what: str) -> Any:
    vhost = state.vhosts.get(name)
    if vhost is None:
        raise DefinitionsError(f"{what} in vhost '{name}': no such vhost")
    return vhost


def _declare_exchange(state: BrokerState, *, vhost: str, name: str, **fields: Any) -> None:
    target = _vhost_of(state, vhost, f"exchange '{name}'")
    if not name or name.startswith("amq."):
        log.warning("definitions: exchange '%s' in vhost '%s' skipped (reserved)", name, vhost)
        return
    if name in target.exchanges:
        return
    try:
        target.declare_exchange(name, passive=False, **fields)
    except AMQPError as error:
        raise DefinitionsError(f"exchange '{name}' in vhost '{vhost}': {error}") from None


def _declare_queue(state: BrokerState, *, vhost: str, name: str, **fields: Any) -> None:
    target = _vhost_of(state, vhost, f"queue '{name}'")
    if name.startswith("amq."):
        log.warning("definitions: queue '%s' in vhost '%s' skipped (reserved)", name, vhost)
        return
    if name in target.queues:
        return
    try:
        target.declare_queue(name, passive=False, exclusive=False, owner=None, **fields)
    except AMQPError as error:
        raise DefinitionsError(f"queue '{name}' in vhost '{vhost}': {error}") from None


def _bind(
    state: BrokerState,
    *,
    vhost: str,
    source: str,
    destination: str,
    destination_type: str,
    routing_key: str,
    arguments: dict[str, Any],
) -> None:
    target = _vhost_of(state, vhost, f"binding of '{source}'")
    names = target.queues if destination_type == "queue" else target.exchanges
    end: Destination | None = names.get(destination)
    if source not in target.exchanges or end is None:
        log.warning(
            "definitions: binding '%s' -> %s '%s' in vhost '%s' skipped: an end is missing",
            source,
            destination_type,
            destination,
            vhost,
        )
        return
    try:
        target.bind(source, end, routing_key, arguments)
    except AMQPError as error:
        raise DefinitionsError(f"binding of '{source}' in vhost '{vhost}': {error}") from None
