"""The garbage collector's policy of ``amqpbroker serve`` (``server/collector.py``): the
survivors of a collection of the middle generation are frozen; cyclic garbage among frozen
objects is freed by a full pass once the frozen objects have doubled.  Each case runs in a
process of its own: freezing is process-wide, and this test process's collector is not
ours to change."""

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

async def started():
    policy = collector.CollectorPolicy()
    policy.start()
    return policy

async def turn():
    await asyncio.sleep(0)  # (a full pass asked for runs on the loop)
"""


def run(script: str) -> list[str]:
    code = PRELUDE + textwrap.dedent(script)
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_middle_collection_frees_young_garbage_and_freezes_the_survivors() -> None:
    out = run(
        """
        async def main():
            policy = await started()
            garbage = cyclic()
            dead = weakref.ref(garbage)
            del garbage
            kept = cyclic()
            frozen = gc.get_freeze_count()
            gc.collect(1)
            print(dead() is None, gc.get_freeze_count() > frozen, gc.get_objects(2) == [])
            print(policy.full_passes, gc.get_threshold()[:2] == (50_000, 2))
            return kept

        asyncio.run(main())
        """
    )
    assert out == ["True", "True", "True", "0", "True"]


def test_frozen_cyclic_garbage_waits_for_the_full_pass_when_the_frozen_objects_double() -> None:
    out = run(
        """
        collector.FULL_PASS_FLOOR = 0

        async def main():
            policy = await started()
            old = cyclic()
            dead = weakref.ref(old)
            gc.collect(1)  # frozen
            del old
            gc.collect()
            await turn()
            print(dead() is None, policy.full_passes)  # cyclic: not freed by its references
            many = [cyclic() for _ in range(policy.frozen_after_full_pass + 1)]
            gc.collect(1)  # the frozen objects have doubled: a full pass is asked for
            print(dead() is None)
            await turn()
            print(dead() is None, policy.full_passes, gc.get_freeze_count() >= len(many))

        asyncio.run(main())
        """
    )
    assert out == ["False", "0", "False", "True", "1", "True"]


def test_frozen_objects_are_still_freed_by_their_references() -> None:
    out = run(
        """
        async def main():
            policy = await started()
            plain = Node()
            dead = weakref.ref(plain)
            gc.collect(1)
            frozen = gc.get_freeze_count()
            del plain
            print(dead() is None, gc.get_freeze_count() == frozen - 1)

        asyncio.run(main())
        """
    )
    assert out == ["True", "True"]


def test_no_full_pass_when_the_frozen_objects_were_freed_meanwhile() -> None:
    out = run(
        """
        collector.FULL_PASS_FLOOR = 0

        async def main():
            policy = await started()
            many = [Node() for _ in range(policy.frozen_after_full_pass + 1)]
            gc.collect(1)  # frozen: they may have doubled, to be counted on the loop
            del many  # freed by their references before they are counted
            await turn()
            print(policy.full_passes, policy.frozen_at_most < 2 * policy.frozen_after_full_pass)

        asyncio.run(main())
        """
    )
    assert out == ["0", "True"]
