"""The user table: names, password hashes and tags; login by SASL PLAIN, AMQPLAIN, EXTERNAL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from .passwords import ALGORITHMS, SHA256, UnknownHashingAlgorithm, check_password, hash_password
from .sasl import EXTERNAL, AuthError, parse_amqplain, parse_plain

# The tags RabbitMQ gives meaning to; any other tag is kept and shown, as RabbitMQ does.
KNOWN_TAGS = ("administrator", "monitoring", "management", "policymaker", "impersonator")


@dataclass(frozen=True, slots=True)
class User:
    """A user as RabbitMQ stores one: no plaintext password, only its salted hash."""

    name: str
    password_hash: str = ""
    hashing_algorithm: str = SHA256
    tags: tuple[str, ...] = ()
    # per-user limits as RabbitMQ keeps them on the user: (key, value) pairs, sorted
    limits: tuple[tuple[str, int], ...] = ()

    def has_tag(self, tag: str) -> bool:
        return tag in self.tags

    @property
    def may_impersonate(self) -> bool:
        """An ``impersonator`` may publish with any user-id property."""
        return "impersonator" in self.tags


def parse_tags(tags: str | Iterable[str]) -> tuple[str, ...]:
    """Tags as RabbitMQ takes them: a comma-separated string or a list; blanks dropped."""
    items = tags.split(",") if isinstance(tags, str) else tags
    return tuple(dict.fromkeys(t.strip() for t in items if t.strip()))


class UserStore:
    """Users by name, in the order they were added."""

    def __init__(self) -> None:
        self._users: dict[str, User] = {}

    def __iter__(self) -> Iterator[User]:
        return iter(list(self._users.values()))

    def __len__(self) -> int:
        return len(self._users)

    def __contains__(self, name: object) -> bool:
        return name in self._users

    def get(self, name: str) -> User | None:
        return self._users.get(name)

    def put(self, user: User) -> User:
        """Add or replace a user as given (a hash already made: import, recovery)."""
        if user.hashing_algorithm not in ALGORITHMS:
            raise UnknownHashingAlgorithm(user.hashing_algorithm)
        self._users[user.name] = user
        return user

    def add(self, name: str, password: str | None, tags: str | Iterable[str] = ()) -> User:
        """Add or replace ``name`` with a fresh sha256 hash of ``password`` (None: none)."""
        password_hash = "" if password is None else hash_password(password)
        return self.put(User(name, password_hash, SHA256, parse_tags(tags)))

    def delete(self, name: str) -> User:
        """Remove a user; ``LookupError`` if there is none."""
        try:
            return self._users.pop(name)
        except KeyError:
            raise LookupError(f"no user '{name}'") from None

    def change_password(self, name: str, password: str | None) -> User:
        user = self._existing(name)
        password_hash = "" if password is None else hash_password(password)
        return self.put(replace(user, password_hash=password_hash, hashing_algorithm=SHA256))

    def set_tags(self, name: str, tags: str | Iterable[str]) -> User:
        return self.put(replace(self._existing(name), tags=parse_tags(tags)))

    def _existing(self, name: str) -> User:
        user = self._users.get(name)
        if user is None:
            raise LookupError(f"no user '{name}'")
        return user

    def authenticate(
        self, mechanism: str, response: bytes, *, certificate_name: str | None = None
    ) -> User:
        """The user a SASL response proves to be.  EXTERNAL takes the name from the client
        certificate (``certificate_name``, from the TLS layer) and ignores the response
        bytes, as RabbitMQ's rabbitmq_auth_mechanism_ssl does."""
        if mechanism == EXTERNAL:
            return self._external(certificate_name)
        if mechanism == "PLAIN":
            name, password = parse_plain(response)
        elif mechanism == "AMQPLAIN":
            name, password = parse_amqplain(response)
        else:
            raise AuthError(f"unsupported authentication mechanism '{mechanism}'")
        user = self._users.get(name)
        if user is None or not check_password(user.password_hash, user.hashing_algorithm, password):
            raise AuthError(
                f"{mechanism} login refused: user '{name}' - invalid credentials",
                credentials_checked=True,
            )
        return user

    def _external(self, certificate_name: str | None) -> User:
        if certificate_name is None:
            raise AuthError("EXTERNAL login refused: no peer certificate", credentials_checked=True)
        user = self._users.get(certificate_name)
        if user is None:
            raise AuthError(
                f"EXTERNAL login refused: user '{certificate_name}' - invalid credentials",
                credentials_checked=True,
            )
        return user
