"""The data directory: one broker per directory, where it lives by default, what start-up
does with torn and corrupt files, and disk space given back.

Brokers run as subprocesses (``brokerproc.Node``) driven by pika; files are damaged while
the broker is stopped, the way a crash or a bad disk would leave them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pika
import pika.exceptions
import pytest
from brokerproc import Node, assert_clean, read_first_line
from pikahelpers import (
    PERSISTENT,
    channel_error,
    get_all,
    index_dir,
    pika_channel,
    segment_files,
)

from amqpbroker.testing.polling import wait_until

# -- where state lives ---------------------------------------------------------------------------


def test_in_memory_mode_keeps_nothing(make_node: Callable[..., Node], tmp_path: Path) -> None:
    node = make_node(data_dir=Path(":memory:")).start()
    with pika_channel(node) as ch:
        ch.queue_declare("q", durable=True)
        ch.basic_publish("", "q", b"gone", pika.BasicProperties(delivery_mode=PERSISTENT))
    node.restart()
    with pika_channel(node) as ch:
        assert channel_error(ch.connection, lambda c: c.queue_declare("q", passive=True))[0] == 404
    assert not Path(":memory:").exists()
    assert not (Path(__file__).parents[2] / ":memory:").exists()
    assert not list(tmp_path.glob("data-*"))


def test_default_data_dir_is_per_port_under_xdg_data_home(tmp_path: Path) -> None:
    """Without --data-dir, ``serve`` keeps state in $XDG_DATA_HOME/amqpbroker/PORT."""
    home = tmp_path / "xdg"
    node = Node(None, tmp_path, env={"XDG_DATA_HOME": str(home)})
    try:
        node.start()
        with pika_channel(node) as ch:
            ch.queue_declare("q", durable=True)
            ch.basic_publish("", "q", b"kept", pika.BasicProperties(delivery_mode=PERSISTENT))
        assert (home / "amqpbroker" / str(node.port) / "definitions.log").exists()
        node.restart()
        with pika_channel(node) as ch:
            assert [body for _, _, body in get_all(ch, "q")] == [b"kept"]
        assert node.stop() == 0
    finally:
        node.close()


# -- one broker per data directory ----------------------------------------------------------------


def test_second_broker_on_the_same_data_dir_refuses_to_start(
    make_node: Callable[..., Node],
) -> None:
    first = make_node().start()
    second = make_node(data_dir=first.data_dir)
    second.spawn()
    assert second.wait() == 1
    log = second.log
    assert first.proc is not None
    assert (
        f"Error: data directory {first.data_dir} is in use by another amqpbroker "
        f"(pid {first.proc.pid})"
    ) in log
    assert "Traceback" not in log
    assert second.proc is not None and second.proc.stdout is not None
    assert second.proc.stdout.read() == b"", "it never announced a URL"
    with pika_channel(first) as ch:  # the first one is unharmed
        ch.queue_declare("still-here", durable=True)
    assert first.stop() == 0
    second.start()  # the lock went with the first broker
    with pika_channel(second) as ch:
        ch.queue_declare("still-here", durable=True, passive=True)
    second.kill()  # a crash releases the lock too
    second.start()
    assert second.stop() == 0


# -- damaged files --------------------------------------------------------------------------------


def filled_node(make_node: Callable[..., Node], count: int = 5) -> Node:
    """A stopped broker whose durable queue 'q' holds ``count`` persistent messages (and
    two more definitions, so records follow the first one everywhere)."""
    node = make_node().start()
    with pika_channel(node) as ch:
        ch.queue_declare("q", durable=True)
        ch.exchange_declare("x", "fanout", durable=True)
        ch.queue_bind("q", "x")
        for i in range(count):
            ch.basic_publish("", "q", b"m%d" % i, pika.BasicProperties(delivery_mode=PERSISTENT))
    assert node.stop() == 0
    return node


def damaged_file(node: Node, which: str) -> Path:
    if which == "definitions":
        return node.data_dir / "definitions.log"
    if which == "index":
        (path,) = index_dir(node.data_dir, "q").glob("*.idx")
        return path
    (path,) = (node.data_dir / "messages").glob("*.seg")
    return path


@pytest.mark.parametrize("which", ["definitions", "index", "segment"])
def test_garbage_after_the_last_record_is_truncated_with_a_warning(
    make_node: Callable[..., Node], which: str
) -> None:
    node = filled_node(make_node)
    path = damaged_file(node, which)
    good_size = path.stat().st_size
    garbage = b"\xab\x51\x00\x00\x00\x40torn write" + b"\x00" * 20
    with path.open("ab") as handle:
        handle.write(garbage)
    node.start()
    if which != "segment":  # message segments are not read at start-up (only what it must)
        assert (
            f"WARNING amqpbroker.storage.records: {path}: torn record at offset {good_size} "
            f"(crash mid-write); truncating {len(garbage)} bytes"
        ) in node.log
        assert path.stat().st_size == good_size
    with pika_channel(node) as ch:
        assert [body for _, _, body in get_all(ch, "q")] == [b"m%d" % i for i in range(5)]
        ch.basic_publish("", "q", b"after", pika.BasicProperties(delivery_mode=PERSISTENT))
    node.restart()
    assert "torn record" not in node.log
    with pika_channel(node) as ch:
        assert [body for _, _, body in get_all(ch, "q")] == [b"after"]
    assert node.stop() == 0
    assert_clean(node.all_logs())


def test_a_torn_last_index_record_loses_only_that_message(make_node: Callable[..., Node]) -> None:
    """A crash mid-write of the last enqueue (never confirmed): that message is gone, the
    rest are served."""
    node = filled_node(make_node)
    path = damaged_file(node, "index")
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.truncate(size - 3)
    node.start()
    assert "torn record at offset" in node.log
    with pika_channel(node) as ch:
        assert [body for _, _, body in get_all(ch, "q")] == [b"m%d" % i for i in range(4)]


@pytest.mark.parametrize("which", ["definitions", "index"])
def test_corruption_in_the_middle_stops_start_up(
    make_node: Callable[..., Node], which: str
) -> None:
    node = filled_node(make_node)
    path = damaged_file(node, which)
    data = bytearray(path.read_bytes())
    data[12] ^= 0x20  # inside the first record; valid records follow it
    path.write_bytes(bytes(data))
    proc = node.spawn()
    assert read_first_line(proc, 20) == "", "it must not start serving"
    assert node.wait() == 1
    log = node.log
    assert f"Error: {path}: damaged record at offset 0 followed by valid data at offset" in log
    assert "refusing to start on a corrupt store" in log
    assert "Traceback" not in log
    assert path.read_bytes() == bytes(data), "the evidence is left as it was"


def test_a_torn_message_segment_tail_costs_only_the_torn_message(
    make_node: Callable[..., Node],
) -> None:
    """A crash mid-write can cut the last message record of a segment while its queue index
    entry made it to disk (see tests/storage: the index can reach the disk first).  That
    message was never confirmed; the others must still be served, without errors."""
    node = filled_node(make_node)
    path = damaged_file(node, "segment")
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size - 3)
    node.start()
    with pika_channel(node) as ch:
        got = [body for _, _, body in get_all(ch, "q")]
    assert got == [b"m%d" % i for i in range(4)]
    assert_clean(node.log)


# -- disk space -----------------------------------------------------------------------------------


def test_disk_space_is_given_back(make_node: Callable[..., Node]) -> None:
    """70 MiB of 1 MiB messages roll the 64 MiB segment; consuming and acking them all deletes
    the full segment while the broker runs, and the rest at the next start."""
    node = make_node().start()
    body = bytes(range(256)) * 4096
    with pika_channel(node) as ch:
        ch.queue_declare("big", durable=True)
        for i in range(70):
            ch.basic_publish("", "big", b"%02d" % i + body, pika.BasicProperties(delivery_mode=2))
        assert segment_files(node) == ["00000001.seg", "00000002.seg"]
        for i in range(70):
            method, _, got = ch.basic_get("big")
            assert got == b"%02d" % i + body
            ch.basic_ack(method.delivery_tag)
        assert ch.queue_declare("big", passive=True).method.message_count == 0
        wait_until(lambda: "00000001.seg" not in segment_files(node), "segment 1 deleted")
    node.restart()
    assert segment_files(node) == []
    used = sum(p.stat().st_size for p in node.data_dir.rglob("*") if p.is_file())
    assert used < 64 * 1024, f"{used} bytes left in the data directory"
