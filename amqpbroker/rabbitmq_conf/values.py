"""How rabbitmq.conf values are read: each reader returns the value or raises ValueError."""

from __future__ import annotations

from collections.abc import Callable


def boolean(value: str) -> bool:
    if value not in ("true", "false"):
        raise ValueError(value)
    return value == "true"


def one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(value)
        return value

    return check


def natural(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


def milliseconds(value: str) -> float:
    return natural(value) / 1000


def port(value: str) -> int:
    number = int(value)
    if not 0 <= number <= 65535:
        raise ValueError(value)
    return number
