"""Redelivered flags across a kill: a delivery goes to the socket before its record reaches
the disk, so a kill can lose the record.  After an unclean shutdown every recovered message
counts as delivered (as in RabbitMQ's classic queues); after a clean one only those
recorded as delivered do.

A kill is simulated by copying the data directory while the broker runs: the copy holds
what the writer thread had handed to the OS, not what the loop still held for it.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from datadir import index_dir
from storeutil import Node, bodies, drain, make_message, restart, take

from amqpbroker.storage.clean_shutdown import MARKER_NAME


def killed(node: Node, into: Path) -> Path:
    """The data directory as a SIGKILL would leave it now."""
    shutil.copytree(node.store.data_dir, into, ignore=shutil.ignore_patterns("LOCK"))
    return into


async def test_a_delivery_whose_record_a_kill_lost_comes_back_redelivered(
    open_node: Callable[..., Node], tmp_path: Path
) -> None:
    node = open_node()
    node.declare_queue("q")
    for i in range(5):
        node.publish("", make_message(b"%d" % i))
    node = await restart(node, open_node)  # clean: the marker is there, then taken
    assert not (node.store.data_dir / MARKER_NAME).exists()
    q = node.vhost.queue("q")
    delivered = [await take(q, ack=False) for _ in range(2)]  # their records wait for the tick
    assert bodies(delivered) == [b"0", b"1"]
    crashed = Node(killed(node, tmp_path / "killed"))
    try:
        back = await drain(crashed.vhost.queue("q"), 5)
    finally:
        await crashed.close()
    # conservative, as RabbitMQ: the three never delivered are flagged too
    assert [(e.message.body, e.redelivered) for e in back] == [(b"%d" % i, True) for i in range(5)]


async def test_flags_an_unclean_recovery_set_survive_a_clean_restart(
    open_node: Callable[..., Node], tmp_path: Path
) -> None:
    """Recovery records the flags it sets before serving: a clean stop before they are
    delivered does not lose them."""
    node = open_node()
    node.declare_queue("q")
    for i in range(3):
        node.publish("", make_message(b"%d" % i))
    await node.synced()
    await take(node.vhost.queue("q"), ack=False)
    crashed = Node(killed(node, tmp_path / "killed"))
    await crashed.close()
    again = Node(tmp_path / "killed")
    try:
        back = await drain(again.vhost.queue("q"), 3)
    finally:
        await again.close()
    assert [(e.message.body, e.redelivered) for e in back] == [(b"%d" % i, True) for i in range(3)]


async def test_after_a_clean_shutdown_only_recorded_deliveries_are_flagged(
    open_node: Callable[..., Node],
) -> None:
    node = open_node()
    q = node.declare_queue("q")
    for i in range(4):
        node.publish("", make_message(b"%d" % i))
    await take(q, ack=False)
    node = await restart(node, open_node)
    back = await drain(node.vhost.queue("q"), 4)
    assert [e.redelivered for e in back] == [True, False, False, False]
    # and the clean start after it records nothing more
    node = await restart(node, open_node)
    assert node.vhost.queue("q").message_count == 0


async def test_a_kill_during_recovery_counts_as_unclean(
    open_node: Callable[..., Node], tmp_path: Path
) -> None:
    """The marker goes when recovery starts, so a start cut short leaves no marker."""
    node = open_node()
    node.declare_queue("q")
    node.publish("", make_message(b"m"))
    await node.close()
    assert (node.store.data_dir / MARKER_NAME).exists()
    recovering = open_node()  # recovers; then, as if killed before it stopped
    assert not (recovering.store.data_dir / MARKER_NAME).exists()
    crashed = Node(killed(recovering, tmp_path / "killed"))
    try:
        (back,) = await drain(crashed.vhost.queue("q"), 1)
    finally:
        await crashed.close()
    assert back.redelivered


async def test_a_store_whose_writes_failed_does_not_claim_a_clean_shutdown(
    open_node: Callable[..., Node], caplog: pytest.LogCaptureFixture
) -> None:
    node = open_node()
    node.declare_queue("q")
    await node.synced()
    directory = index_dir(node.store.data_dir, "q")
    directory.parent.mkdir(parents=True, exist_ok=True)
    directory.write_bytes(b"")  # the index's files cannot be created now
    node.publish("", make_message(b"lost"))
    with caplog.at_level(logging.CRITICAL, logger="amqpbroker.storage.writer"):
        await node.close()
    assert not (node.store.data_dir / MARKER_NAME).exists()
