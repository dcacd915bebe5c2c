"""``AuthAttempts``: login attempts per protocol, as ``/api/auth/attempts/{node}`` shows them."""

from __future__ import annotations

from amqpbroker.access.attempts import AuthAttempts


def test_counts_per_protocol_in_the_order_first_tried() -> None:
    attempts = AuthAttempts()
    attempts.record("http", succeeded=True)
    attempts.record("amqp091", succeeded=False)
    attempts.record("http", succeeded=False)
    attempts.record("http", succeeded=True)
    assert attempts.items() == [
        {
            "protocol": "http",
            "auth_attempts": 3,
            "auth_attempts_failed": 1,
            "auth_attempts_succeeded": 2,
        },
        {
            "protocol": "amqp091",
            "auth_attempts": 1,
            "auth_attempts_failed": 1,
            "auth_attempts_succeeded": 0,
        },
    ]
    attempts.reset()
    assert attempts.items() == []
