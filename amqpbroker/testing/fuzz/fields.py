"""Field values a seeded session carries: typed tables of every AMQP type, queue arguments
valid and not, message headers (CC/BCC, x-death) and content-header properties."""

from __future__ import annotations

import random
from typing import Any

from .wire import Entry


def random_value(rng: random.Random, depth: int = 0) -> tuple[bytes, Any]:
    """A well-formed field value of any type (nested tables and arrays a few levels deep)."""
    tag = rng.choice(b"tbBsuIilfdDSxTVFA" if depth < 3 else b"tbBsuIilfdDSxTV")
    kind = bytes((tag,))
    simple: dict[bytes, Any] = {
        b"t": rng.random() < 0.5,
        b"b": rng.randint(-128, 127),
        b"B": rng.randint(0, 255),
        b"s": rng.randint(-(2**15), 2**15 - 1),
        b"u": rng.randint(0, 2**16 - 1),
        b"I": rng.choice((0, 1, -1, 5, 1000, 2**31 - 1, -(2**31))),
        b"i": rng.choice((0, 1, 2**32 - 1)),
        b"l": rng.choice((0, 7, -7, 2**63 - 1, -(2**63))),
        b"f": rng.choice((0.5, -1.0, float("inf"), float("nan"))),
        b"d": rng.choice((1.5, -0.0, 1e308, float("nan"))),
        b"D": (rng.randint(0, 255), rng.randint(-(2**31), 2**31 - 1)),
        b"S": rng.choice((b"", b"v", b"all", b"any", b"x0", "\u00e9".encode(), b"\xff\xfe")),
        b"x": rng.randbytes(rng.randint(0, 8)),
        b"T": rng.choice((0, 1_700_000_000, 1_700_000_000, 2**64 - 1)),
        b"V": None,
    }
    if kind in simple:
        return kind, simple[kind]
    if kind == b"F":
        return kind, random_table(rng, depth + 1)
    return kind, [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]


def random_table(rng: random.Random, depth: int = 0, keys: tuple[bytes, ...] = ()) -> list[Entry]:
    entries = []
    for _ in range(rng.randint(0, 3)):
        key = rng.choice(keys) if keys and rng.random() < 0.7 else rng.choice((b"k", b"n", b""))
        tag, value = random_value(rng, depth)
        entries.append((key, tag, value))
    return entries


def _int_arg(rng: random.Random, key: bytes) -> Entry:
    tag = rng.choice((b"I", b"l", b"s", b"S", b"t", b"d"))
    values: dict[bytes, Any] = {
        b"I": rng.choice((0, 1, 10, 1000, -1)),
        b"l": rng.choice((0, 5, 60_000, 2**40)),
        b"s": rng.choice((0, 3, -3)),
        b"S": rng.choice((b"10", b"abc")),
        b"t": True,
        b"d": 1.5,
    }
    return key, tag, values[tag]


def _str_arg(rng: random.Random, key: bytes, choices: tuple[bytes, ...]) -> Entry:
    if rng.random() < 0.85:
        return key, b"S", rng.choice(choices)
    return key, b"I", 1


QUEUE_ARGUMENTS: dict[bytes, Any] = {
    b"x-message-ttl": _int_arg,
    b"x-expires": _int_arg,
    b"x-max-length": _int_arg,
    b"x-max-length-bytes": _int_arg,
    b"x-max-priority": _int_arg,
    b"x-delivery-limit": _int_arg,
    b"x-overflow": lambda rng, key: _str_arg(
        rng, key, (b"drop-head", b"reject-publish", b"reject-publish-dlx", b"bogus")
    ),
    b"x-dead-letter-exchange": lambda rng, key: _str_arg(rng, key, (b"x0", b"", b"amq.fanout")),
    b"x-dead-letter-routing-key": lambda rng, key: _str_arg(rng, key, (b"q1", b"")),
    b"x-queue-type": lambda rng, key: _str_arg(rng, key, (b"classic", b"quorum", b"stream")),
    b"x-queue-mode": lambda rng, key: _str_arg(rng, key, (b"lazy", b"default", b"odd")),
    b"x-single-active-consumer": lambda rng, key: (key, b"t", rng.random() < 0.5),
}


def queue_arguments(rng: random.Random) -> list[Entry]:
    keys = rng.sample(sorted(QUEUE_ARGUMENTS), rng.choice((0, 0, 1, 2, 3)))
    entries = [QUEUE_ARGUMENTS[key](rng, key) for key in keys]
    if rng.random() < 0.1:
        entries += random_table(rng)
    return entries


def message_headers(rng: random.Random) -> list[Entry]:
    """Headers for a publish: routing headers (CC, BCC), x-death, x-match keys, anything."""
    entries = random_table(rng, keys=(b"k", b"x-match", b"x-delivery-count"))
    roll = rng.random()
    if roll < 0.15:
        entries.append((rng.choice((b"CC", b"BCC")), b"A", [(b"S", b"q1"), (b"S", b"q2")]))
    elif roll < 0.25:
        entries.append((b"CC", b"S", b"q1"))
    elif roll < 0.35:
        death = [(b"queue", b"S", b"q0"), (b"reason", b"S", b"expired"), (b"count", b"l", 1)]
        entries.append((b"x-death", b"A", [(b"F", death)]))
    return entries


def properties(rng: random.Random) -> dict[str, Any]:
    chosen: dict[str, Any] = {}
    options: dict[str, Any] = {
        "content_type": lambda: b"text/plain",
        "content_encoding": lambda: b"gzip",
        "headers": lambda: message_headers(rng),
        "delivery_mode": lambda: rng.choice((1, 2, 0, 3)),
        "priority": lambda: rng.choice((0, 5, 9, 255)),
        "correlation_id": lambda: b"c-1",
        "reply_to": lambda: rng.choice((b"amq.rabbitmq.reply-to", b"q1", b"")),
        "expiration": lambda: rng.choice((b"0", b"10", b"60000", b"-1", b"abc", b"")),
        "message_id": lambda: b"m-1",
        "timestamp": lambda: rng.choice((0, 1_700_000_000)),
        "type": lambda: b"t",
        "user_id": lambda: rng.choice((b"guest", b"other")),
        "app_id": lambda: b"fuzz",
        "cluster_id": lambda: b"",
    }
    for name, make in options.items():
        if rng.random() < 0.25:
            chosen[name] = make()
    return chosen
