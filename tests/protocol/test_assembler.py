"""CommandAssembler: method, content header and body frames in; methods and whole publishes out."""

from __future__ import annotations

import pytest
from pamqp import commands, frame
from pamqp.header import ContentHeader

from amqpbroker.errors import FrameError, UnexpectedFrame
from amqpbroker.protocol.assembler import (
    EXPECTED_BODY,
    EXPECTED_HEADER,
    EXPECTED_METHOD,
    CommandAssembler,
    Content,
)
from amqpbroker.protocol.fastcodec import Publish
from amqpbroker.protocol.framing import FRAME_BODY, FRAME_HEADER


def publish(exchange: str = "x", routing_key: str = "k", *, mandatory: bool = False) -> bytes:
    method = commands.Basic.Publish(exchange=exchange, routing_key=routing_key, mandatory=mandatory)
    return frame.marshal(method, 1)[7:-1]


def header(body_size: int, class_id: int = 60, **properties) -> bytes:
    raw = ContentHeader(0, body_size, commands.Basic.Properties(**properties)).marshal()
    return class_id.to_bytes(2, "big") + raw[2:]


def method(value) -> bytes:
    return frame.marshal(value, 1)[7:-1]


def test_publish_header_and_body_parts_make_one_content():
    assembler = CommandAssembler()
    raw_header = header(11, content_type="text/plain", delivery_mode=2)
    assert assembler.method_frame(1, publish("logs", "a.b", mandatory=True)) is None
    assert assembler.content_frame(FRAME_HEADER, 1, raw_header) is None
    assert assembler.content_frame(FRAME_BODY, 1, b"hello ") is None
    content = assembler.content_frame(FRAME_BODY, 1, b"world")
    assert isinstance(content, Content)
    assert content.body == b"hello world"
    assert content.header == raw_header  # the client's bytes, unchanged
    assert content.body_size == 11
    assert content.publish == Publish("logs", "a.b", True, False, b"\x04logs\x03a.b")


def test_single_body_frame():
    assembler = CommandAssembler()
    assembler.method_frame(1, publish())
    assembler.content_frame(FRAME_HEADER, 1, header(3))
    content = assembler.content_frame(FRAME_BODY, 1, b"abc")
    assert content is not None
    assert content.body == b"abc"
    assert content.parts == [b"abc"]


def test_zero_size_body_completes_at_header():
    assembler = CommandAssembler()
    assembler.method_frame(1, publish())
    content = assembler.content_frame(FRAME_HEADER, 1, header(0))
    assert content is not None
    assert content.body == b""
    # the next frame on the channel is a method again
    with pytest.raises(UnexpectedFrame, match=rf"^{EXPECTED_METHOD}$"):
        assembler.content_frame(FRAME_BODY, 1, b"")


def test_empty_body_frames_are_skipped():
    assembler = CommandAssembler()
    assembler.method_frame(1, publish())
    assembler.content_frame(FRAME_HEADER, 1, header(2))
    assert assembler.content_frame(FRAME_BODY, 1, b"") is None
    content = assembler.content_frame(FRAME_BODY, 1, b"ok")
    assert content is not None
    assert content.parts == [b"ok"]


def test_other_methods_are_decoded_at_once():
    assembler = CommandAssembler()
    decoded = assembler.method_frame(1, method(commands.Basic.Ack(delivery_tag=5, multiple=True)))
    assert isinstance(decoded, commands.Basic.Ack)
    assert (decoded.delivery_tag, decoded.multiple) == (5, True)


def test_interleaved_channels_assemble_independently():
    assembler = CommandAssembler()
    assembler.method_frame(1, publish("one"))
    assembler.method_frame(2, publish("two"))
    assembler.content_frame(FRAME_HEADER, 2, header(4))
    assembler.content_frame(FRAME_HEADER, 1, header(3))
    assert isinstance(assembler.method_frame(3, method(commands.Tx.Select())), commands.Tx.Select)
    assert assembler.content_frame(FRAME_BODY, 1, b"1") is None
    second = assembler.content_frame(FRAME_BODY, 2, b"2222")
    first = assembler.content_frame(FRAME_BODY, 1, b"11")
    assert (second.publish.exchange, second.body) == ("two", b"2222")
    assert (first.publish.exchange, first.body) == ("one", b"111")


def test_overshooting_body_never_completes():
    assembler = CommandAssembler()
    assembler.method_frame(1, publish())
    assembler.content_frame(FRAME_HEADER, 1, header(5))
    assert assembler.content_frame(FRAME_BODY, 1, b"123456") is None
    assert assembler.content_frame(FRAME_BODY, 1, b"7") is None
    with pytest.raises(UnexpectedFrame, match=rf"^{EXPECTED_BODY}$"):
        assembler.method_frame(1, publish())


def unexpected(call, *args) -> UnexpectedFrame:
    with pytest.raises(UnexpectedFrame) as error:
        call(*args)
    assert error.value.reply_code == 505
    assert error.value.connection_level
    return error.value


def test_content_frame_without_a_publish():
    assembler = CommandAssembler()
    for frame_type, payload in ((FRAME_HEADER, header(1)), (FRAME_BODY, b"x")):
        error = unexpected(assembler.content_frame, frame_type, 1, payload)
        assert error.message == "expected method frame, got non method frame instead"
        assert (error.class_id, error.method_id) == (0, 0)


def test_method_instead_of_content_header():
    assembler = CommandAssembler()
    assembler.method_frame(1, publish())
    error = unexpected(assembler.method_frame, 1, method(commands.Basic.Ack()))
    assert (
        error.message
        == "expected content header for class 60, got non content header frame instead"
    )
    assert error.reply_text.startswith("UNEXPECTED_FRAME - expected content header")
    assert (error.class_id, error.method_id) == (60, 40)


def test_body_instead_of_content_header():
    assembler = CommandAssembler()
    assembler.method_frame(1, publish())
    error = unexpected(assembler.content_frame, FRAME_BODY, 1, b"x")
    assert error.message == EXPECTED_HEADER
    assert (error.class_id, error.method_id) == (60, 40)


def test_method_instead_of_content_body():
    assembler = CommandAssembler()
    assembler.method_frame(1, publish())
    assembler.content_frame(FRAME_HEADER, 1, header(10))
    error = unexpected(assembler.method_frame, 1, publish())
    assert error.message == "expected content body, got non content body frame instead"
    assert (error.class_id, error.method_id) == (60, 40)


def test_second_header_instead_of_content_body():
    assembler = CommandAssembler()
    assembler.method_frame(1, publish())
    assembler.content_frame(FRAME_HEADER, 1, header(10))
    error = unexpected(assembler.content_frame, FRAME_HEADER, 1, header(10))
    assert error.message == EXPECTED_BODY
    assert (error.class_id, error.method_id) == (60, 40)


def test_content_header_for_another_class():
    assembler = CommandAssembler()
    assembler.method_frame(1, publish())
    error = unexpected(assembler.content_frame, FRAME_HEADER, 1, header(3, class_id=50))
    assert error.message == "expected content header for class 60, got one for class 50 instead"
    assert (error.class_id, error.method_id) == (60, 40)


def test_short_method_frame_is_frame_error():
    with pytest.raises(FrameError) as error:
        CommandAssembler().method_frame(1, b"\x00\x3c")
    assert error.value.message == "type 1, all octets = <<0,60>>: unknown_frame"
    assert error.value.reply_code == 501


def test_short_content_header_is_frame_error():
    assembler = CommandAssembler()
    assembler.method_frame(1, publish())
    with pytest.raises(FrameError) as error:
        assembler.content_frame(FRAME_HEADER, 1, b"\x00\x3c\x00")
    assert error.value.message == "type 2, all octets = <<0,60,0>>: unknown_frame"


def test_errors_on_one_channel_leave_others_alone():
    assembler = CommandAssembler()
    assembler.method_frame(1, publish())
    assembler.method_frame(2, publish())
    unexpected(assembler.method_frame, 1, publish())
    assembler.content_frame(FRAME_HEADER, 2, header(1))
    assert assembler.content_frame(FRAME_BODY, 2, b"z").body == b"z"


def test_discard_forgets_a_half_assembled_publish():
    assembler = CommandAssembler()
    assembler.method_frame(4, publish())
    assembler.content_frame(FRAME_HEADER, 4, header(100))
    assembler.discard(4)
    assembler.discard(4)  # idempotent
    assert assembler.method_frame(4, publish()) is None
    assert assembler.content_frame(FRAME_HEADER, 4, header(0)) is not None


# A content header whose flags announce content-type and delivery-mode, cut short in each.
TRUNCATED_PROPERTIES = [
    header(1, content_type="text/plain", delivery_mode=2)[:cut] for cut in (14, 20, 25)
]


@pytest.mark.parametrize("raw_header", TRUNCATED_PROPERTIES)
def test_properties_are_left_to_the_session_frame_by_frame(raw_header: bytes) -> None:
    """RabbitMQ decodes the properties after the publish's exchange checks: a header that
    does not decode is the session's to refuse (541), and a 404 comes first."""
    assembler = CommandAssembler()
    assembler.method_frame(1, publish())
    assembler.content_frame(FRAME_HEADER, 1, raw_header)
    content = assembler.content_frame(FRAME_BODY, 1, b"z")
    assert content is not None and content.header == raw_header


def test_a_whole_publish_is_its_decoded_method() -> None:
    assert CommandAssembler().whole_publish(1, publish("x", "k")) == Publish(
        "x", "k", False, False, b"\x01x\x01k"
    )
