"""VhostAccess: answers right, and its caches bounded."""

from __future__ import annotations

import pytest

from amqpbroker.access.permissions import CACHE_LIMIT, Permission, VhostAccess
from amqpbroker.errors import AccessRefused


def test_cached_permission_answers_stay_bounded_and_right() -> None:
    access = VhostAccess("u", "/", Permission("^keep", "^keep", "^keep"))
    for number in range(CACHE_LIMIT * 3):
        assert access.allows("configure", "queue", f"keep-{number}")
        access.check_publish(f"keep-{number}")
    assert len(access._answers) <= CACHE_LIMIT
    assert len(access._publishable) <= CACHE_LIMIT
    assert not access.allows("configure", "queue", "other")
    with pytest.raises(AccessRefused):
        access.check_publish("other")
