"""Users, permissions and topic permissions in the definitions log: ``AccessControl`` journals
each change to the ``DurableStore``; recovery replays them into a fresh ``AccessControl`` and
rewrites the log with one record per surviving definition."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from amqpbroker.access.control import AccessControl
from amqpbroker.access.passwords import MD5, hash_password
from amqpbroker.access.permissions import Permission, TopicPermission
from amqpbroker.access.users import User
from amqpbroker.config import BrokerConfig
from amqpbroker.core.broker import BrokerState
from amqpbroker.server.clock import LoopClock
from amqpbroker.storage.access_log import AccessDefinitions
from amqpbroker.storage.codec import decode_definition
from amqpbroker.storage.records import read_records
from amqpbroker.storage.recovery import recover
from amqpbroker.storage.store import DurableStore


class Lifetime:
    """One start of a durable broker's state and access over ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.store = DurableStore(data_dir)
        self.state = BrokerState(BrokerConfig(), self.store, with_default_vhost=False)
        self.access = AccessControl()
        self.report = recover(self.store, self.state, self.access)
        self.store.start(asyncio.get_running_loop(), LoopClock.running())
        self.access.journal = self.store

    async def close(self) -> None:
        await asyncio.to_thread(self.store.close)


def ops(data_dir: Path) -> Counter[str]:
    path = data_dir / "definitions.log"
    return Counter(decode_definition(payload)["op"] for _, payload in read_records(path))


def snapshot(access: AccessControl) -> tuple[object, ...]:
    return (
        list(access.users),
        dict(access.permissions),
        {key: dict(topics) for key, topics in access.topic_permissions.items()},
    )


async def test_access_comes_back_from_the_log_and_is_compacted(tmp_path: Path) -> None:
    first = Lifetime(tmp_path)
    assert first.report.users == 0
    state, access = first.state, first.access
    for name in ("v1", "v2"):
        state.put_vhost(name)
    state.put_vhost("v3", "described", ("t1", "t2"))
    access.add_user("alice", "a", ["management"])
    access.put_user(User("bob", hash_password("b", MD5), MD5, ("monitoring",)))
    access.add_user("carol", None)
    access.change_password("alice", "a2")
    access.set_user_tags("alice", "administrator,custom")
    access.set_permissions("alice", "v1", Permission("^a", ".*", ""))
    access.set_permissions("alice", "v2", Permission())
    access.set_permissions("bob", "v1", Permission("", "", ".*"))
    access.set_permissions("carol", "v1", Permission())
    access.clear_permissions("bob", "v1")
    access.set_topic_permissions("alice", "v1", TopicPermission("amq.topic", "^x", ".*"))
    access.set_topic_permissions("alice", "v1", TopicPermission("t2", "^y", ""))
    access.set_topic_permissions("alice", "v2", TopicPermission("amq.topic"))
    access.clear_topic_permissions("alice", "v1", "t2")
    access.delete_user("carol")
    state.delete_vhost("v2")
    access.forget_vhost("v2")
    expected = snapshot(access)
    await first.close()

    second = Lifetime(tmp_path)
    assert snapshot(second.access) == expected
    assert second.report.users == 2
    assert set(second.state.vhosts) == {"v1", "v3"}
    assert (second.state.vhosts["v3"].description, second.state.vhosts["v3"].tags) == (
        "described",
        ("t1", "t2"),
    )
    assert ops(tmp_path) == {"vhost": 2, "user": 2, "permission": 1, "topic_permission": 1}
    second.access.delete_user("alice")  # journalled again once recovery is done
    await second.close()

    third = Lifetime(tmp_path)
    assert [u.name for u in third.access.users] == ["bob"]
    assert third.access.permissions == {}
    await third.close()


def test_replay_of_deletions() -> None:
    log = AccessDefinitions()
    for user in ("u1", "u2"):
        log.replay(
            "user", {"name": user, "password_hash": "", "hashing_algorithm": "x", "tags": []}
        )
        for vhost in ("a", "b"):
            entry = {"user": user, "vhost": vhost, "configure": "", "write": "", "read": ""}
            log.replay("permission", entry)
            for exchange in ("x", "y"):
                topic = {
                    "user": user,
                    "vhost": vhost,
                    "exchange": exchange,
                    "write": "",
                    "read": "",
                }
                log.replay("topic_permission", topic)
    log.replay("topic_permission.delete", {"user": "u1", "vhost": "a", "exchange": "x"})
    log.replay("topic_permission.delete", {"user": "u1", "vhost": "b", "exchange": None})
    assert sorted(k for k in log.topic_permissions if k[0] == "u1") == [("u1", "a", "y")]
    log.drop_vhost("a")
    assert sorted(log.permissions) == [("u1", "b"), ("u2", "b")]
    log.replay("user.delete", {"name": "u2"})
    assert list(log.users) == ["u1"]
    assert sorted(log.permissions) == [("u1", "b")]
    assert log.topic_permissions == {}
    assert not log.replay("queue", {"name": "q"})  # not an access op
    assert len(log.records()) == 2
