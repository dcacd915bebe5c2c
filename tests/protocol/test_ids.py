"""The class and method ids the hand-written codecs use are pamqp's."""

from __future__ import annotations

import pytest
from pamqp import commands, frame

from amqpbroker.protocol import ids
from amqpbroker.protocol.methods import method_ids

METHODS = {
    ids.PUBLISH_INDEX: commands.Basic.Publish,
    ids.RETURN_INDEX: commands.Basic.Return,
    ids.DELIVER_INDEX: commands.Basic.Deliver,
    ids.GET_OK_INDEX: commands.Basic.GetOk,
    ids.ACK_INDEX: commands.Basic.Ack,
    ids.REJECT_INDEX: commands.Basic.Reject,
    ids.NACK_INDEX: commands.Basic.Nack,
}


@pytest.mark.parametrize(("index", "method"), METHODS.items(), ids=lambda v: getattr(v, "name", ""))
def test_each_index_is_pamqps(index: int, method: type[commands.Basic.Ack]) -> None:
    assert index == method.index
    assert ids.class_and_method(index) == (ids.BASIC_CLASS, method.index & 0xFFFF)


def test_the_ids_errors_carry() -> None:
    assert ids.PUBLISH_IDS == method_ids(commands.Basic.Publish()) == (60, 40)
    assert ids.ACK_IDS == method_ids(commands.Basic.Ack()) == (60, 80)


def test_a_prefix_is_how_a_method_frame_payload_starts() -> None:
    payload = frame.marshal(commands.Basic.Ack(delivery_tag=7), 1)[7:-1]
    assert payload.startswith(ids.prefix(ids.ACK_INDEX))
