"""The garbage collector's policy of ``amqpbroker serve`` (``server/collector.py``): rounds
collect what is young and freeze the rest; cyclic garbage among frozen objects is freed
by a full pass once the frozen objects have doubled.  Each case runs in a process of its
own: freezing is process-wide, and this test process's collector is not ours to change."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PRELUDE = """
import asyncio, gc, weakref
from amqpbroker.server import collector

class Node:
    pass

def cyclic():
    node = Node()
    node.me = node
    return node

async def started(**options):
    policy = collector.CollectorPolicy(round_seconds=3600)  # rounds by hand below
    policy.start()
    policy.stop()
    return policy
"""


def run(script: str) -> list[str]:
    code = PRELUDE + textwrap.dedent(script)
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_round_collects_young_cyclic_garbage_and_freezes_the_survivors() -> None:
    out = run(
        """
        async def main():
            policy = await started()
            garbage = cyclic()
            dead = weakref.ref(garbage)
            del garbage
            kept = cyclic()
            frozen = gc.get_freeze_count()
            policy.round()
            print(dead() is None, gc.get_freeze_count() > frozen, gc.get_count()[0] < 10)
            print(policy.full_passes)
            return kept

        asyncio.run(main())
        """
    )
    assert out == ["True", "True", "True", "0"]


def test_frozen_cyclic_garbage_waits_for_the_full_pass_when_the_frozen_objects_double() -> None:
    out = run(
        """
        collector.FULL_PASS_FLOOR = 0

        async def main():
            policy = await started()
            old = cyclic()
            dead = weakref.ref(old)
            policy.round()  # frozen
            del old
            policy.round()
            print(dead() is None, policy.full_passes)  # cyclic: not freed by its references
            many = [cyclic() for _ in range(policy.frozen_after_full_pass + 1)]
            policy.round()  # the frozen objects have doubled
            print(dead() is None, policy.full_passes, gc.get_freeze_count() >= len(many))

        asyncio.run(main())
        """
    )
    assert out == ["False", "0", "True", "1", "True"]


def test_frozen_objects_are_still_freed_by_their_references() -> None:
    out = run(
        """
        async def main():
            policy = await started()
            plain = Node()
            dead = weakref.ref(plain)
            policy.round()
            frozen = gc.get_freeze_count()
            del plain
            print(dead() is None, gc.get_freeze_count() == frozen - 1)

        asyncio.run(main())
        """
    )
    assert out == ["True", "True"]
