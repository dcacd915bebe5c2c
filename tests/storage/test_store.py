"""The durable store without a network: core APIs in, files out, core back.

Each test runs one or more broker lifetimes (``storeutil.Node``) over a data directory on
``tmp_path``, then looks at the files the store left and at what the next lifetime rebuilt:
definitions, messages (stored once, in order, with their flags) and disk space given back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from storeutil import (
    Node,
    bodies,
    drain,
    eventually,
    index_dir,
    index_files,
    make_message,
    records,
    restart,
    segments,
    take,
)

from amqpbroker.core.ports import ManualClock
from amqpbroker.errors import PreconditionFailed
from amqpbroker.storage import store as store_module
from amqpbroker.storage.codec import DELIVERED, REMOVED, decode_index_entry, decode_run

# -- definitions ----------------------------------------------------------------------------------


async def test_durable_definitions_survive_and_others_do_not(
    open_node: Callable[..., Node],
) -> None:
    node = open_node()
    node.declare_exchange("logs", "topic", arguments={"alternate-exchange": "ae"})
    node.declare_exchange("ae", "fanout", internal=True)
    node.declare_exchange("hdrs", "headers", auto_delete=True)
    node.declare_exchange("scratch", "direct", durable=False)
    orders = node.declare_queue("orders", arguments={"x-max-length": 10, "x-message-ttl": 5000})
    node.declare_queue("temp", durable=False)
    node.declare_queue("mine", exclusive=True)  # exclusive: never durable
    node.declare_queue("lonely", auto_delete=True)
    vhost = node.vhost
    vhost.bind("logs", orders, "order.#", {})
    vhost.bind("ae", orders, "", {})
    vhost.bind("hdrs", orders, "", {"x-match": "any", "kind": "order"})
    vhost.bind("logs", vhost.exchange("hdrs"), "*.hdr", {})  # exchange to exchange, both durable
    vhost.bind("logs", vhost.queue("temp"), "temp.#", {})  # to a non-durable queue
    vhost.bind("scratch", orders, "s", {})  # from a non-durable exchange
    await node.synced()

    node = await restart(node, open_node)
    vhost = node.vhost
    assert node.report.exchanges == 3
    assert node.report.queues == 2
    assert node.report.bindings == 4
    assert set(vhost.queues) == {"orders", "lonely"}
    assert {"logs", "ae", "hdrs"} <= set(vhost.exchanges)
    assert "scratch" not in vhost.exchanges
    logs, ae, hdrs = (vhost.exchange(n) for n in ("logs", "ae", "hdrs"))
    assert (logs.type_name, logs.durable, logs.internal, logs.auto_delete) == (
        "topic",
        True,
        False,
        False,
    )
    assert dict(logs.arguments) == {"alternate-exchange": "ae"}
    assert (ae.type_name, ae.internal) == ("fanout", True)
    assert (hdrs.type_name, hdrs.auto_delete) == ("headers", True)
    orders = vhost.queue("orders")
    assert (orders.durable, orders.auto_delete, orders.exclusive) == (True, False, False)
    assert dict(orders.arguments) == {"x-max-length": 10, "x-message-ttl": 5000}
    assert vhost.queue("lonely").auto_delete
    # the bindings route again (and only the durable ones exist)
    message = make_message(b"m", routing_key="order.new", headers={"kind": "order"})
    assert vhost.route(logs, "order.new", message) == [orders]
    assert vhost.route(ae, "anything", message) == [orders]
    assert vhost.route(hdrs, "", message) == [orders]
    assert vhost.route(hdrs, "", make_message(b"m", headers={"kind": "other"})) == []
    assert vhost.route(logs, "x.hdr", message) == [orders]  # logs -> hdrs -> orders
    assert vhost.route(logs, "temp.x", message) == [orders]  # unroutable: via its alternate
    # and they are not written again by recovery: one record per definition
    assert len(records(node.store.definitions_path)) == 3 + 2 + 4


async def test_recovered_queue_arguments_compare_as_before(open_node: Callable[..., Node]) -> None:
    """Redeclaring with the same arguments works after a restart; different ones fail alike."""
    node = open_node()
    node.declare_queue("q", arguments={"x-max-length": 10, "x-dead-letter-exchange": "dlx"})
    with pytest.raises(PreconditionFailed) as before:
        node.declare_queue("q", arguments={"x-max-length": 11, "x-dead-letter-exchange": "dlx"})
    node = await restart(node, open_node)
    node.declare_queue("q", arguments={"x-max-length": 10, "x-dead-letter-exchange": "dlx"})
    with pytest.raises(PreconditionFailed) as after:
        node.declare_queue("q", arguments={"x-max-length": 11, "x-dead-letter-exchange": "dlx"})
    assert str(after.value) == str(before.value)


async def test_deleted_definitions_stay_deleted(open_node: Callable[..., Node]) -> None:
    node = open_node()
    node.declare_exchange("gone", "fanout")
    node.declare_exchange("kept", "direct")
    keep = node.declare_queue("keep")
    drop = node.declare_queue("drop")
    vhost = node.vhost
    vhost.bind("gone", keep, "", {})
    vhost.bind("kept", keep, "a", {})
    vhost.bind("kept", keep, "b", {})
    vhost.bind("kept", drop, "c", {})
    vhost.delete_exchange("gone", if_unused=False)
    vhost.unbind("kept", keep, "b", {})
    vhost.remove_queue(drop)
    await node.synced()

    node = await restart(node, open_node)
    vhost = node.vhost
    assert "gone" not in vhost.exchanges
    assert set(vhost.queues) == {"keep"}
    kept, keep = vhost.exchange("kept"), vhost.queue("keep")
    assert vhost.route(kept, "a", make_message(b"")) == [keep]
    assert vhost.route(kept, "b", make_message(b"")) == []
    assert vhost.route(kept, "c", make_message(b"")) == []
    # the log was rewritten compactly: kept, keep, kept->keep 'a'
    assert len(records(node.store.definitions_path)) == 3
    assert not index_dir(node.store.data_dir, "drop").exists()


# -- messages -------------------------------------------------------------------------------------


async def test_messages_come_back_in_order_with_redelivered_flags(
    open_node: Callable[..., Node],
) -> None:
    node = open_node()
    q = node.declare_queue("q")
    sent = [
        make_message(
            b"body %d" % i,
            routing_key="q",
            headers={"i": i, "nested": {"list": [1, "two"]}},
            content_type="text/plain",
            correlation_id=f"c{i}",
            priority=i % 10,
        )
        for i in range(10)
    ]
    for message in sent:
        node.publish("", message)
    acked = [await take(q) for _ in range(2)]  # 0, 1: acked, gone
    unacked = [await take(q, ack=False) for _ in range(3)]  # 2, 3, 4: delivered, not acked
    assert bodies(acked + unacked) == [b"body %d" % i for i in range(5)]
    await node.synced()

    node = await restart(node, open_node)
    q = node.vhost.queue("q")
    assert node.report.messages == 8
    assert q.message_count == 8
    back = await drain(q, 8)
    assert bodies(back) == [b"body %d" % i for i in range(2, 10)]
    assert [e.redelivered for e in back] == [True] * 3 + [False] * 5
    for envelope, original in zip(back, sent[2:], strict=True):
        message = envelope.message
        assert message.header == original.header  # properties byte for byte
        assert message.routing == original.routing
        assert (message.exchange, message.routing_key) == ("", "q")
        assert message.properties.headers == {
            "i": int(message.body[5:]),
            "nested": {"list": [1, "two"]},
        }
        assert message.persistent


async def test_deliveries_and_acks_of_a_tick_are_stored_as_runs(
    open_node: Callable[..., Node],
) -> None:
    """Consecutive delivered (or removed) events of a tick make one record; a gap starts
    the next run; recovery sees the events of every run."""
    node = open_node()
    q = node.declare_queue("q")
    for i in range(10):
        node.publish("", make_message(b"%d" % i))
    await node.synced()
    taken = [await take(q, ack=False) for _ in range(6)]  # seqs 1-6, in one tick
    q.forget([taken[i] for i in (0, 1, 3, 4)])  # acks for 1, 2, 4, 5: 3 and 6 stay unacked
    await node.synced()
    (idx,) = index_files(node.store.data_dir, "q")
    events = [decode_run(p) for p in records(index_dir(node.store.data_dir, "q") / idx)[10:]]
    # (a broken run is appended at once, the others at the flush: the order of events
    # among themselves does not matter)
    assert len(events) == 3
    assert set(events) == {
        (DELIVERED, range(1, 7)),
        (REMOVED, range(1, 3)),
        (REMOVED, range(4, 6)),
    }

    node = await restart(node, open_node)
    back = await drain(node.vhost.queue("q"), 6)
    assert [(e.message.body, e.redelivered) for e in back] == [
        (b"2", True),
        (b"5", True),
        *((b"%d" % i, False) for i in range(6, 10)),
    ]


async def test_requeued_message_keeps_its_place_and_flag(open_node: Callable[..., Node]) -> None:
    node = open_node()
    q = node.declare_queue("q")
    for i in range(4):
        node.publish("", make_message(b"%d" % i))
    first = await take(q, ack=False)
    q.requeue([first])  # basic.reject requeue=true
    await node.synced()
    node = await restart(node, open_node)
    back = await drain(node.vhost.queue("q"), 4)
    assert [(e.message.body, e.redelivered) for e in back] == [
        (b"0", True),
        (b"1", False),
        (b"2", False),
        (b"3", False),
    ]


async def test_transient_messages_and_non_durable_queues_are_not_stored(
    open_node: Callable[..., Node],
) -> None:
    node = open_node()
    node.declare_exchange("fan", "fanout")
    durable = node.declare_queue("durable")
    temp = node.declare_queue("temp", durable=False)
    node.vhost.bind("fan", durable, "", {})
    node.vhost.bind("fan", temp, "", {})
    node.publish("fan", make_message(b"persistent 1"))
    node.publish("fan", make_message(b"transient", persistent=False))
    node.publish("fan", make_message(b"persistent 2"))
    assert temp.message_count == 3
    await node.synced()
    seg = node.store.message_path(1)
    assert [p.endswith(b"persistent 1") for p in records(seg)] == [True, False]
    node = await restart(node, open_node)
    assert bodies(await drain(node.vhost.queue("durable"), 2)) == [b"persistent 1", b"persistent 2"]


async def test_a_message_routed_to_two_durable_queues_is_stored_once(
    open_node: Callable[..., Node],
) -> None:
    node = open_node()
    node.declare_exchange("fan", "fanout")
    for name in ("a", "b", "c"):
        node.vhost.bind("fan", node.declare_queue(name), "", {})
    node.publish("fan", make_message(b"x" * 1000, exchange="fan"))
    await node.synced()
    data_dir = node.store.data_dir
    assert segments(data_dir) == ["00000001.seg"]
    assert len(records(node.store.message_path(1))) == 1
    refs = set()
    for name in ("a", "b", "c"):
        (idx,) = index_files(data_dir, name)
        path = index_dir(data_dir, name) / idx
        (entry,) = [decode_index_entry(p) for p in records(path)]
        refs.add(entry[2])
    assert len(refs) == 1, "all three queues refer to the same stored record"

    node = await restart(node, open_node)
    for name in ("a", "b"):
        assert bodies(await drain(node.vhost.queue(name), 1)) == [b"x" * 1000]
    await node.synced()
    assert segments(data_dir) == ["00000001.seg"], "queue c still holds the message"
    assert bodies(await drain(node.vhost.queue("c"), 1)) == [b"x" * 1000]
    node = await restart(node, open_node)
    assert segments(data_dir) == []


async def test_segments_roll_and_go_when_their_messages_are_removed(
    open_node: Callable[..., Node],
) -> None:
    node = open_node(segment_size=4096)
    q = node.declare_queue("q")
    for i in range(40):  # ~1 KiB records: 3 per segment
        node.publish("", make_message(b"%04d" % i + b"." * 1000))
    await node.synced()
    data_dir = node.store.data_dir
    assert len(segments(data_dir)) == 14
    # remove the first segment's messages (3) plus one: segment 1 goes, 2 stays
    for _ in range(4):
        await take(q)
    await node.synced()
    assert segments(data_dir)[0] == "00000002.seg"
    assert len(segments(data_dir)) == 13
    # messages removed out of order: a segment goes only when all of its own are gone
    rest = [await take(q, ack=False) for _ in range(36)]
    q.forget([e for e in rest if e.message.body[:4] != b"0039"])
    await node.synced()
    assert segments(data_dir) == ["00000014.seg"], "0039 still lives in the current segment"
    q.forget([e for e in rest if e.message.body[:4] == b"0039"])
    await node.synced()
    # the current segment stays while it is being appended to; a restart collects it
    node = await restart(node, open_node, segment_size=4096)
    assert segments(data_dir) == []
    node.publish("", make_message(b"after"))
    await node.synced()
    assert segments(data_dir) == ["00000015.seg"], "numbering continues, no segment is reused"


async def test_a_full_segment_with_nothing_live_is_deleted_as_it_closes(
    open_node: Callable[..., Node],
) -> None:
    node = open_node(segment_size=4096)
    q = node.declare_queue("q")
    for i in range(3):
        node.publish("", make_message(b"%d" % i + b"." * 1000))
    assert bodies(await drain(q, 3)) == [b"%d" % i + b"." * 1000 for i in range(3)]
    await node.synced()
    assert segments(node.store.data_dir) == ["00000001.seg"]
    node.publish("", make_message(b"rolls" + b"." * 1000))  # no room: segment 2 begins
    await node.synced()
    assert segments(node.store.data_dir) == ["00000002.seg"]


async def test_index_segments_go_when_their_messages_left(
    open_node: Callable[..., Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "INDEX_SEGMENT_ENTRIES", 5)
    node = open_node()
    q = node.declare_queue("q")
    for i in range(22):
        node.publish("", make_message(b"%d" % i))
    await node.synced()
    data_dir = node.store.data_dir
    assert index_files(data_dir, "q") == [f"{n:08d}.idx" for n in range(1, 6)]
    taken = [await take(q, ack=False) for _ in range(10)]
    # the second index segment's messages leave first: it must wait for the first
    q.forget(taken[5:10])
    await node.synced()
    assert index_files(data_dir, "q")[:2] == ["00000001.idx", "00000002.idx"]
    q.forget(taken[:5])
    await node.synced()
    left = index_files(data_dir, "q")
    assert left[0] == "00000003.idx", "both go once segment 1's messages left too"

    node = await restart(node, open_node)
    q = node.vhost.queue("q")
    assert bodies(await drain(q, 12)) == [b"%d" % i for i in range(10, 22)]
    await node.synced()
    node = await restart(node, open_node)
    assert node.vhost.queue("q").message_count == 0
    assert len(index_files(data_dir, "q")) <= 1, "an empty queue's index shrinks to one file"


async def test_an_idle_index_does_not_grow_without_bound(
    open_node: Callable[..., Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A queue that is always emptied keeps its index small while the broker runs."""
    monkeypatch.setattr(store_module, "INDEX_SEGMENT_ENTRIES", 50)
    node = open_node()
    q = node.declare_queue("q")
    directory = index_dir(node.store.data_dir, "q")
    for i in range(2000):
        node.publish("", make_message(b"%d" % i))
        await take(q)
    await node.synced()
    size = sum(p.stat().st_size for p in directory.glob("*.idx"))
    assert size < 2000 * 3 * 21 // 4, f"{size} bytes of index for an empty queue"


async def test_deleting_a_queue_frees_its_index_and_messages(
    open_node: Callable[..., Node],
) -> None:
    node = open_node(segment_size=4096)
    q = node.declare_queue("doomed")
    other = node.declare_queue("other")
    for i in range(10):
        node.publish("", make_message(b"%d" % i + b"." * 1000, routing_key="doomed"))
    node.publish("", make_message(b"keep", routing_key="other"))
    await node.synced()
    data_dir = node.store.data_dir
    assert index_files(data_dir, "doomed")
    node.vhost.remove_queue(q)
    await node.synced()
    assert index_files(data_dir, "doomed") == []
    assert len(segments(data_dir)) == 1, "only the current segment (holding 'keep') is left"
    node = await restart(node, open_node, segment_size=4096)
    assert set(node.vhost.queues) == {"other"}
    assert bodies(await drain(node.vhost.queue("other"), 1)) == [b"keep"]
    assert other.deleted is False


async def test_purge_is_durable(open_node: Callable[..., Node]) -> None:
    node = open_node()
    q = node.declare_queue("q")
    for i in range(5):
        node.publish("", make_message(b"%d" % i))
    assert q.purge() == 5
    node.publish("", make_message(b"after purge"))
    await node.synced()
    node = await restart(node, open_node)
    assert bodies(await drain(node.vhost.queue("q"), 1)) == [b"after purge"]


async def test_new_messages_after_a_restart_queue_behind_the_recovered_ones(
    open_node: Callable[..., Node],
) -> None:
    node = open_node()
    node.declare_queue("q")
    for i in range(3):
        node.publish("", make_message(b"first life %d" % i))
    node = await restart(node, open_node)
    for i in range(3):
        node.publish("", make_message(b"second life %d" % i))
    q = node.vhost.queue("q")
    assert (await take(q)).message.body == b"first life 0"
    node = await restart(node, open_node)
    assert bodies(await drain(node.vhost.queue("q"), 5)) == [
        b"first life 1",
        b"first life 2",
        b"second life 0",
        b"second life 1",
        b"second life 2",
    ]


async def test_a_drained_queue_reuses_nothing_it_should_not(
    open_node: Callable[..., Node],
) -> None:
    """After a restart with an empty queue, new messages still recover (no seq mix-ups)."""
    node = open_node()
    q = node.declare_queue("q")
    for i in range(5):
        node.publish("", make_message(b"old %d" % i))
    await drain(q, 5)
    node = await restart(node, open_node)
    q = node.vhost.queue("q")
    assert q.message_count == 0
    for i in range(3):
        node.publish("", make_message(b"new %d" % i))
    await take(q)
    node = await restart(node, open_node)
    assert bodies(await drain(node.vhost.queue("q"), 2)) == [b"new 1", b"new 2"]


# -- compaction -----------------------------------------------------------------------------------


async def test_mostly_dead_segments_are_compacted(
    open_node: Callable[..., Node], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="amqpbroker.storage.store")
    node = open_node(segment_size=16384, compact_delay=0)
    q = node.declare_queue("q")
    for i in range(45):  # ~15 records per segment
        node.publish("", make_message(b"%02d" % i + b"." * 1000))
    await node.synced()
    data_dir = node.store.data_dir
    assert segments(data_dir)[:3] == ["00000001.seg", "00000002.seg", "00000003.seg"]
    taken = [await take(q, ack=False) for _ in range(30)]
    q.requeue([taken[7]])  # one message of segment 1 stays in the queue
    q.forget(taken[:7] + taken[8:])
    await eventually(
        node,
        lambda: not {"00000001.seg", "00000002.seg"} & set(segments(data_dir)),
        "segment 1 compacted and segment 2 deleted",
    )
    assert "compacted segment 1: 1 messages moved" in [r.getMessage() for r in caplog.records]

    node = await restart(node, open_node, segment_size=16384, compact_delay=0)
    back = await drain(node.vhost.queue("q"), 16)
    assert [e.message.body[:2] for e in back] == [b"07"] + [b"%02d" % i for i in range(30, 45)]
    assert [e.redelivered for e in back] == [True] + [False] * 15
    assert all(e.message.body[2:] == b"." * 1000 for e in back)


async def test_compaction_waits_its_delay_on_the_stores_clock(
    open_node: Callable[..., Node],
) -> None:
    clock = ManualClock()
    node = open_node(segment_size=16384, compact_delay=30, store_clock=clock)
    q = node.declare_queue("q")
    for i in range(45):  # ~15 records per segment
        node.publish("", make_message(b"%02d" % i + b"." * 1000))
    taken = [await take(q, ack=False) for _ in range(30)]
    q.requeue([taken[7]])  # one message of segment 1 stays in the queue
    q.forget(taken[:7] + taken[8:])
    data_dir = node.store.data_dir
    await eventually(node, lambda: "00000002.seg" not in segments(data_dir), "segment 2 deleted")
    clock.advance(29.9)
    for _ in range(3):  # time enough for a compaction's read to come back and move
        await node.synced()
    assert len(q.ready.stored_in_segment(1)) == 1, "mostly dead, but not for 30 s yet"
    clock.advance(0.1)
    await eventually(node, lambda: "00000001.seg" not in segments(data_dir), "segment 1 compacted")
    assert q.ready.stored_in_segment(1) == []


async def test_an_unacked_delivery_keeps_a_compacted_segment(
    open_node: Callable[..., Node],
) -> None:
    node = open_node(segment_size=16384, compact_delay=0)
    q = node.declare_queue("q")
    for i in range(60):  # ~25 records per segment
        node.publish("", make_message(b"%02d" % i + b"." * 600))
    taken = [await take(q, ack=False) for _ in range(25)]
    q.requeue([taken[3]])
    q.forget(taken[:3] + taken[5:])  # taken[4] stays unacked
    await eventually(node, lambda: q.ready.stored_in_segment(1) == [], "segment 1 compacted")
    await node.synced()
    data_dir = node.store.data_dir
    assert "00000001.seg" in segments(data_dir), "the unacked delivery still refers to it"

    await node.close()  # a stop with the delivery unacked: it comes back
    node = open_node(segment_size=16384, compact_delay=0)
    q = node.vhost.queue("q")
    back = await drain(q, 37, ack=False)
    assert [e.message.body[:2] for e in back] == [b"03", b"04"] + [
        b"%02d" % i for i in range(25, 60)
    ]
    assert all(e.message.body[2:] == b"." * 600 for e in back)
    q.forget(back)
    await eventually(node, lambda: "00000001.seg" not in segments(data_dir), "segment 1 gone")
