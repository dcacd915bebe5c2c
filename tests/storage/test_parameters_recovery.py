"""Parameters, global parameters and policies in the definitions log: ``RuntimeParameters``
journals each change to the ``DurableStore``; recovery replays them into a fresh one and
rewrites the log with one record per surviving parameter."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from amqpbroker.config import BrokerConfig
from amqpbroker.core.broker import BrokerState
from amqpbroker.policies.model import check_policy
from amqpbroker.policies.parameters import RuntimeParameters
from amqpbroker.server.clock import LoopClock
from amqpbroker.storage.codec import decode_definition
from amqpbroker.storage.parameters_log import ParameterDefinitions
from amqpbroker.storage.records import read_records
from amqpbroker.storage.recovery import recover
from amqpbroker.storage.store import DurableStore


class Lifetime:
    def __init__(self, data_dir: Path) -> None:
        self.store = DurableStore(data_dir)
        self.state = BrokerState(BrokerConfig(), self.store, with_default_vhost=False)
        self.parameters = RuntimeParameters()
        recover(self.store, self.state, None, self.parameters)
        self.store.start(asyncio.get_running_loop(), LoopClock.running())
        self.parameters.journal = self.store

    async def close(self) -> None:
        await asyncio.to_thread(self.store.close)


def ops(data_dir: Path) -> Counter[str]:
    path = data_dir / "definitions.log"
    return Counter(decode_definition(payload)["op"] for _, payload in read_records(path))


def snapshot(parameters: RuntimeParameters) -> tuple[object, ...]:
    return (
        [p.item() for p in parameters.policies_in()],
        [p.item() for p in parameters.policies_in(operator=True)],
        parameters.parameters(),
        parameters.global_parameters(),
    )


async def test_parameters_come_back_from_the_log_and_are_compacted(tmp_path: Path) -> None:
    first = Lifetime(tmp_path)
    state, parameters = first.state, first.parameters
    for name in ("v1", "v2"):
        state.put_vhost(name)
    parameters.set_policy(check_policy("v1", "p", "^q", {"max-length": 1}, 2.5, "queues"))
    parameters.set_policy(check_policy("v1", "p", "^q", {"max-length": 2}, 2.5, "queues"))
    parameters.set_policy(check_policy("v1", "gone", ".", {"expires": 1}))
    parameters.clear_policy("v1", "gone")
    parameters.set_policy(check_policy("v1", "o", ".", {"expires": 9}, operator=True))
    parameters.set_parameter("v1", "vhost-limits", "limits", {"max-queues": 3})
    parameters.set_parameter("v1", "shovel", "s", {"src-uri": "amqp://"})
    parameters.set_policy(check_policy("v2", "p", ".", {"expires": 1}))
    parameters.set_global("g", [1, {"b": 2, "a": 1}])
    parameters.set_global("dropped", 1)
    parameters.clear_global("dropped")
    state.delete_vhost("v2")
    parameters.forget_vhost("v2")
    expected = snapshot(parameters)
    await first.close()

    second = Lifetime(tmp_path)
    assert snapshot(second.parameters) == expected
    assert ops(tmp_path) == {"vhost": 1, "parameter": 4, "global_parameter": 1}
    second.parameters.clear_parameter("v1", "shovel", "s")  # journalled again
    await second.close()

    third = Lifetime(tmp_path)
    assert [i["component"] for i in third.parameters.parameters()] == [
        "operator_policy",
        "vhost-limits",
    ]
    await third.close()


def test_a_deleted_vhost_drops_its_parameters_on_replay() -> None:
    log = ParameterDefinitions()
    for vhost in ("a", "b"):
        entry = {"vhost": vhost, "component": "vhost-limits", "name": "limits", "value": {}}
        log.replay("parameter", entry)
    log.replay("global_parameter", {"name": "g", "value": 1})
    log.drop_vhost("a")
    assert list(log.parameters) == [("b", "vhost-limits", "limits")]
    assert log.replay("vhost", {"vhost": "a"}) is False
    log.replay("global_parameter.delete", {"name": "g"})
    assert log.global_parameters == {}
