"""RabbitMQ's password hashes, so that hashes move both ways between it and this broker.

A hash is base64(salt(4 random bytes) + H(salt + UTF-8 password)) with H named by the
``hashing_algorithm`` (``rabbit_password_hashing_sha256`` by default; sha512 and md5 are
accepted on import, as RabbitMQ accepts them).  An empty hash is a password-less user.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

SHA256 = "rabbit_password_hashing_sha256"
SHA512 = "rabbit_password_hashing_sha512"
MD5 = "rabbit_password_hashing_md5"
ALGORITHMS = {SHA256: "sha256", SHA512: "sha512", MD5: "md5"}
SALT_SIZE = 4


class UnknownHashingAlgorithm(ValueError):
    pass


def _digest(algorithm: str, data: bytes) -> bytes:
    try:
        name = ALGORITHMS[algorithm]
    except KeyError:
        raise UnknownHashingAlgorithm(algorithm) from None
    return hashlib.new(name, data).digest()


def hash_password(password: str, algorithm: str = SHA256, salt: bytes | None = None) -> str:
    """The base64 hash RabbitMQ stores for ``password`` (a fresh random salt unless given)."""
    salt = os.urandom(SALT_SIZE) if salt is None else salt
    return base64.b64encode(salt + _digest(algorithm, salt + password.encode())).decode()


def check_password(password_hash: str, algorithm: str, password: str) -> bool:
    """Whether ``password`` matches the hash (constant time; never for a password-less user)."""
    if not password_hash:
        return False
    try:
        decoded = base64.b64decode(password_hash, validate=True)
    except (binascii.Error, ValueError):
        return False
    salt, expected = decoded[:SALT_SIZE], decoded[SALT_SIZE:]
    return hmac.compare_digest(_digest(algorithm, salt + password.encode()), expected)
