"""loopback_users: RabbitMQ lets guest connect from this host only, unless configured."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import pytest

from amqpbroker.rabbitmq_conf import load_config
from amqpbroker.session.handshake import is_loopback


def _non_loopback_address() -> str | None:
    """An address of this host that is not loopback (a UDP 'connect' sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 9))
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


EXTERNAL_ADDRESS = _non_loopback_address()
needs_external_address = pytest.mark.skipif(
    EXTERNAL_ADDRESS is None, reason="this host has no non-loopback address"
)


def _connect(port: int, host: str) -> pika.BlockingConnection:
    return pika.BlockingConnection(
        pika.ConnectionParameters(host, port, blocked_connection_timeout=5)
    )


@needs_external_address
def test_guest_is_refused_from_another_address(broker_factory: Callable[..., Any]) -> None:
    broker = broker_factory(host="0.0.0.0")
    assert EXTERNAL_ADDRESS is not None
    with pytest.raises(pika.exceptions.ProbableAuthenticationError) as info:
        _connect(broker.port, EXTERNAL_ADDRESS)
    assert "403" in str(info.value)
    assert "Login was refused using authentication mechanism PLAIN" in str(info.value)
    _connect(broker.port, "127.0.0.1").close()  # from this host it is fine


@needs_external_address
def test_loopback_users_none_lets_guest_in_from_anywhere(
    broker_factory: Callable[..., Any],
) -> None:
    broker = broker_factory(host="0.0.0.0", loopback_users=())
    assert EXTERNAL_ADDRESS is not None
    connection = _connect(broker.port, EXTERNAL_ADDRESS)
    assert connection.is_open
    connection.close()


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([], ("guest",)),
        (["loopback_users = none"], ()),
        (["loopback_users.guest = false"], ()),
        (["loopback_users.guest = false", "loopback_users.admin = true"], ("admin",)),
        (["loopback_users = none", "loopback_users.ops = true"], ("ops",)),
    ],
)
def test_config_file_loopback_users(
    tmp_path: Path, lines: list[str], expected: tuple[str, ...]
) -> None:
    path = tmp_path / "rabbitmq.conf"
    path.write_text("\n".join(lines) + "\n")
    assert load_config(path).loopback_users == expected


@pytest.mark.parametrize(
    ("peer", "loopback"),
    [
        ("127.0.0.1:5000", True),
        ("127.8.9.1:1", True),
        ("::1:5000", True),
        ("192.0.2.2:5", False),
        ("?", False),
    ],
)
def test_is_loopback(peer: str, loopback: bool) -> None:
    assert is_loopback(peer) is loopback
