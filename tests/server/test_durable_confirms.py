"""Publisher confirms of persistent messages wait for the fsync that covers them.

The store writes in group commits: a confirm goes out only once the batch holding the
message's records is fsynced, and one callback per batch serves all its confirms.  These
tests hold the writer inside its fsync of message segments (``SegmentFsyncGate``) and use
a round trip on the same connection to see what the broker has sent meanwhile: replies
leave in order, so an ack the broker had already sent arrives before the round trip's
reply.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pamqp import commands
from rawamqp import RawAMQP

from amqpbroker.storage import writer as writer_module

TIMEOUT = 10.0
PERSISTENT = commands.Basic.Properties(delivery_mode=2)


class SegmentFsyncGate:
    """Every fsync of a message segment (``*.seg``) waits until the test lets it through;
    other fsyncs (queue indexes, directories, definitions) pass freely."""

    def __init__(self, real_fsync: Callable[[int], None]) -> None:
        self._real_fsync = real_fsync
        self._condition = threading.Condition()
        self.entered = 0  # segment fsyncs begun
        self.allowed = 0  # segment fsyncs allowed to finish
        self._open = False

    def fsync(self, fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".seg"):
            with self._condition:
                self.entered += 1
                number = self.entered
                self._condition.notify_all()
                self._condition.wait_for(lambda: self._open or self.allowed >= number, TIMEOUT)
        self._real_fsync(fd)

    def wait_entered(self, count: int) -> None:
        """Until the writer is in (or past) its ``count``-th segment fsync."""
        with self._condition:
            assert self._condition.wait_for(lambda: self.entered >= count, TIMEOUT)

    def allow_one(self) -> None:
        with self._condition:
            self.allowed += 1
            self._condition.notify_all()

    def open(self) -> None:
        with self._condition:
            self._open = True
            self._condition.notify_all()


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[SegmentFsyncGate]:
    gate = SegmentFsyncGate(os.fsync)
    monkeypatch.setattr(writer_module.os, "fsync", gate.fsync)
    yield gate
    gate.open()  # never leave the broker's writer parked (it is stopped after this)


def confirmed_before_round_trip(c: RawAMQP) -> list[Any]:
    """The basic.acks the broker sent before answering a basic.qos sent now."""
    c.send_method(1, commands.Basic.Qos(prefetch_count=0))
    acks = []
    while True:
        _, frame = c.recv_frame(TIMEOUT)
        if isinstance(frame, commands.Basic.QosOk):
            return acks
        assert isinstance(frame, commands.Basic.Ack), frame
        acks.append(frame)


@pytest.fixture
def client(broker_factory: Callable[..., Any], tmp_path: Any) -> Iterator[RawAMQP]:
    """A client of a broker on disk: channel 1 in confirm mode, durable queue "durable-q"."""
    broker = broker_factory(data_dir=str(tmp_path))
    with RawAMQP.connect(broker.host, broker.port, timeout=TIMEOUT) as c:
        c.open_channel(1)
        c.send_method(1, commands.Queue.Declare(queue="durable-q", durable=True))
        c.expect_method(commands.Queue.DeclareOk)
        c.send_method(1, commands.Confirm.Select())
        c.expect_method(commands.Confirm.SelectOk)
        yield c


def test_a_persistent_publish_is_confirmed_only_after_its_fsync(
    client: RawAMQP, gate: SegmentFsyncGate
) -> None:
    client.publish(1, "", "durable-q", b"first", PERSISTENT)
    gate.wait_entered(1)  # the writer is syncing the batch with the first message
    assert confirmed_before_round_trip(client) == []
    client.publish(1, "", "durable-q", b"second", PERSISTENT)
    assert confirmed_before_round_trip(client) == [], "the second message is in a later batch"

    gate.allow_one()  # the first batch reaches the disk; the second waits in its fsync
    _, ack = client.expect_method(commands.Basic.Ack)
    assert ack.delivery_tag == 1
    gate.wait_entered(2)
    assert confirmed_before_round_trip(client) == [], "confirmed before its own batch's fsync"

    gate.allow_one()
    _, ack = client.expect_method(commands.Basic.Ack)
    assert ack.delivery_tag == 2


def test_one_batch_confirms_all_its_publishes_with_one_multiple_ack(
    client: RawAMQP, gate: SegmentFsyncGate
) -> None:
    """Publishes that share a batch are settled together (as RabbitMQ's multiple acks)."""
    client.publish(1, "", "durable-q", b"first", PERSISTENT)
    gate.wait_entered(1)
    # While the writer is busy, the next publishes gather in batches behind it.
    client.send(RawAMQP.publish_bytes(1, "", "durable-q", b"m", PERSISTENT) * 20)
    assert confirmed_before_round_trip(client) == []
    gate.open()
    acks = []
    while not acks or acks[-1].delivery_tag < 21:
        acks.append(client.expect_method(commands.Basic.Ack)[1])
    assert acks[0].delivery_tag == 1
    assert len(acks) < 21, "one ack per message: the batch was not confirmed as one"
    assert all(ack.multiple for ack in acks[1:])
