"""Pure tests of access/passwords.py and access/users.py: RabbitMQ's salted hashes (sha256,
sha512, md5), tags, and logins by PLAIN and AMQPLAIN, password-less users included."""

from __future__ import annotations

import base64
import hashlib

import pytest
from pamqp import encode

from amqpbroker.access.passwords import (
    MD5,
    SHA256,
    SHA512,
    UnknownHashingAlgorithm,
    check_password,
    hash_password,
)
from amqpbroker.access.sasl import AuthError
from amqpbroker.access.users import User, UserStore, parse_tags

# Made by RabbitMQ 3.10.8 (PUT /api/users/defs-u1 {"password": "pw1"}, then GET its hash).
RABBITMQ_HASH = "nj0IxeLBiUOaYUI8pzNlNqz69IZE3u78jqKCUDQvh0yjoejV"


@pytest.mark.parametrize(
    ("algorithm", "name", "size"),
    [(SHA256, "sha256", 32), (SHA512, "sha512", 64), (MD5, "md5", 16)],
)
def test_the_hash_is_salt_then_digest_of_salt_and_password(
    algorithm: str, name: str, size: int
) -> None:
    salt = b"\x01\x02\x03\x04"
    made = base64.b64decode(hash_password("pässword", algorithm, salt))
    assert made == salt + hashlib.new(name, salt + "pässword".encode()).digest()
    assert len(made) == 4 + size
    assert check_password(hash_password("pässword", algorithm), algorithm, "pässword")
    assert not check_password(hash_password("pässword", algorithm), algorithm, "password")


def test_a_hash_made_by_rabbitmq_checks() -> None:
    assert check_password(RABBITMQ_HASH, SHA256, "pw1")
    assert not check_password(RABBITMQ_HASH, SHA256, "pw2")
    assert not check_password(RABBITMQ_HASH, SHA512, "pw1")


def test_fresh_salts_make_different_hashes_of_one_password() -> None:
    assert hash_password("same") != hash_password("same")


@pytest.mark.parametrize("stored", ["", "not base64!", "AAAA"])
def test_an_empty_or_broken_hash_matches_no_password(stored: str) -> None:
    assert not check_password(stored, SHA256, "")
    assert not check_password(stored, SHA256, "anything")


def test_an_unknown_algorithm_is_refused() -> None:
    with pytest.raises(UnknownHashingAlgorithm):
        hash_password("x", "rabbit_password_hashing_sha1")
    with pytest.raises(UnknownHashingAlgorithm):
        UserStore().put(User("u", "", "rabbit_password_hashing_sha1"))


def test_tags_from_a_comma_separated_string_or_a_list() -> None:
    assert parse_tags("administrator, monitoring,,custom ") == (
        "administrator",
        "monitoring",
        "custom",
    )
    assert parse_tags(["management", " management", ""]) == ("management",)
    assert parse_tags("") == ()


def plain(user: str, password: str) -> bytes:
    return b"\x00" + user.encode() + b"\x00" + password.encode()


def amqplain(user: str, password: str) -> bytes:
    return encode.field_table({"LOGIN": user, "PASSWORD": password})[4:]


@pytest.mark.parametrize(("mechanism", "response"), [("PLAIN", plain), ("AMQPLAIN", amqplain)])
def test_login_by_password(mechanism: str, response: object) -> None:
    users = UserStore()
    users.add("alice", "secret", "management")
    users.put(User("bob", hash_password("bobs", SHA512), SHA512))
    users.put(User("carol", hash_password("carols", MD5), MD5))
    make = response  # PLAIN or AMQPLAIN encoding
    assert callable(make)
    assert users.authenticate(mechanism, make("alice", "secret")).name == "alice"
    assert users.authenticate(mechanism, make("bob", "bobs")).name == "bob"
    assert users.authenticate(mechanism, make("carol", "carols")).name == "carol"
    for user, password in (("alice", "wrong"), ("nobody", "secret")):
        with pytest.raises(AuthError) as error:
            users.authenticate(mechanism, make(user, password))
        assert error.value.credentials_checked
        assert password not in str(error.value)


@pytest.mark.parametrize(("mechanism", "response"), [("PLAIN", plain), ("AMQPLAIN", amqplain)])
def test_a_password_less_user_cannot_log_in_by_password(mechanism: str, response: object) -> None:
    users = UserStore()
    users.add("service", None)
    assert users.get("service") == User("service", "", SHA256, ())
    assert callable(response)
    for password in ("", "x"):
        with pytest.raises(AuthError):
            users.authenticate(mechanism, response("service", password))


def test_password_changes_rehash_with_sha256_and_keep_tags() -> None:
    users = UserStore()
    users.put(User("bob", hash_password("old", MD5), MD5, ("monitoring",)))
    changed = users.change_password("bob", "new")
    assert (changed.hashing_algorithm, changed.tags) == (SHA256, ("monitoring",))
    assert users.authenticate("PLAIN", plain("bob", "new")).name == "bob"
    assert users.change_password("bob", None).password_hash == ""
    with pytest.raises(LookupError):
        users.change_password("nobody", "x")
    with pytest.raises(LookupError):
        users.delete("nobody")


def test_external_takes_the_certificate_name() -> None:
    users = UserStore()
    users.add("CN=client", None)
    assert users.authenticate("EXTERNAL", b"", certificate_name="CN=client").name == "CN=client"
    with pytest.raises(AuthError):
        users.authenticate("EXTERNAL", b"", certificate_name=None)
