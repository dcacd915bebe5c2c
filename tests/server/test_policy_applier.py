"""``PolicyApplier``: a policy change reaches every queue of a vhost in slices on the loop
(the loop gets turns in between), a newer change supersedes one under way, and queues
deleted or declared meanwhile are handled."""

from __future__ import annotations

import asyncio

import pytest

from amqpbroker.config import BrokerConfig
from amqpbroker.core.broker import BrokerState
from amqpbroker.core.vhost import VirtualHost
from amqpbroker.policies.model import Policy, check_policy
from amqpbroker.policies.parameters import RuntimeParameters
from amqpbroker.server import policy_applier
from amqpbroker.server.policy_applier import PolicyApplier

QUEUES = 600


def with_queues(count: int) -> tuple[BrokerState, VirtualHost]:
    state = BrokerState(BrokerConfig())
    vhost = state.vhosts["/"]
    for i in range(count):
        vhost.declare_queue(
            f"q{i}",
            passive=False,
            durable=False,
            exclusive=False,
            auto_delete=False,
            arguments={},
            owner=None,
        )
    return state, vhost


def max_lengths(vhost: VirtualHost) -> set[int | None]:
    return {queue.settings.max_length for queue in vhost.queues.values()}


@pytest.fixture
def tiny_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(policy_applier, "SLICE_SECONDS", 0.0)  # one check's worth a slice


def watched(state: BrokerState) -> tuple[RuntimeParameters, PolicyApplier]:
    parameters = RuntimeParameters()
    applier = PolicyApplier(lambda: state, parameters)
    parameters.on_policies_changed(applier.changed)
    return parameters, applier


def cap(length: int) -> Policy:
    return check_policy("/", "cap", "^q", {"max-length": length}, 0, "queues")


async def finished(applier: PolicyApplier) -> int:
    """Loop turns until the applier is done."""
    turns = 0
    while applier.busy:
        await asyncio.sleep(0)
        turns += 1
    return turns


def test_a_change_is_applied_in_slices_between_loop_turns(tiny_slices: None) -> None:
    state, vhost = with_queues(QUEUES)
    parameters, applier = watched(state)

    async def scenario() -> None:
        parameters.set_policy(cap(3))
        assert applier.busy and max_lengths(vhost) == {3, None}, "part now, the rest later"
        assert await finished(applier) > 1
        assert max_lengths(vhost) == {3}

    asyncio.run(scenario())


def test_a_newer_change_supersedes_one_under_way(tiny_slices: None) -> None:
    state, vhost = with_queues(QUEUES)
    parameters, applier = watched(state)

    async def scenario() -> None:
        parameters.set_policy(cap(3))
        await asyncio.sleep(0)
        parameters.set_policy(cap(5))
        vhost.remove_queue(vhost.queues["q599"])  # deleted before its turn
        await finished(applier)
        assert max_lengths(vhost) == {5}
        vhost.declare_queue(
            "q-late",
            passive=False,
            durable=False,
            exclusive=False,
            auto_delete=False,
            arguments={},
            owner=None,
        )
        assert vhost.queues["q-late"].settings.max_length == 5
        parameters.clear_policy("/", "cap")
        await finished(applier)
        assert max_lengths(vhost) == {None}

    asyncio.run(scenario())


def test_without_a_running_loop_the_change_completes_at_once(tiny_slices: None) -> None:
    state, vhost = with_queues(100)
    parameters, applier = watched(state)
    parameters.set_policy(cap(1))
    assert not applier.busy and max_lengths(vhost) == {1}


def test_a_change_to_a_vhost_that_is_gone_is_ignored() -> None:
    state, _ = with_queues(1)
    parameters, applier = watched(state)
    parameters.set_policy(check_policy("elsewhere", "p", ".", {"max-length": 1}))
    assert not applier.busy
