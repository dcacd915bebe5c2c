"""FrameReader: bytes in, (type, channel, payload) frames out; frame_max and frame-end checks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amqpbroker.errors import FrameError
from amqpbroker.protocol.framing import (
    FRAME_BODY,
    FRAME_HEADER,
    FRAME_HEARTBEAT,
    FRAME_METHOD,
    HEARTBEAT_FRAME,
    PROTOCOL_HEADER,
    FrameReader,
    check_protocol_header,
    encode_frame,
)

FRAMES = [
    (FRAME_METHOD, 1, b"\x00\x3c\x00\x28method"),
    (FRAME_HEADER, 1, b"\x00\x3c\x00\x00" + bytes(10)),
    (FRAME_BODY, 1, b"hello world"),
    (FRAME_HEARTBEAT, 0, b""),
    (FRAME_BODY, 65535, bytes(range(256))),
]
STREAM = b"".join(encode_frame(*frame) for frame in FRAMES)

frame_strategy = st.tuples(
    st.sampled_from([FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT]),
    st.integers(0, 65535),
    st.binary(max_size=300),
)


def feed_in_chunks(reader: FrameReader, data: bytes, sizes: list[int]) -> list[tuple]:
    frames = []
    position = 0
    for size in sizes:
        frames += reader.feed(data[position : position + size])
        position += size
    frames += reader.feed(data[position:])
    return frames


def test_encode_frame_layout():
    assert encode_frame(FRAME_BODY, 258, b"ab") == b"\x03\x01\x02\x00\x00\x00\x02ab\xce"
    assert encode_frame(FRAME_HEARTBEAT, 0, b"") == HEARTBEAT_FRAME


def test_whole_stream_in_one_feed():
    assert list(FrameReader().feed(STREAM)) == FRAMES


def test_stream_fed_byte_by_byte():
    reader = FrameReader()
    frames = []
    for index in range(len(STREAM)):
        frames += reader.feed(STREAM[index : index + 1])
    assert frames == FRAMES


def test_frame_completed_across_feeds():
    reader = FrameReader()
    frame = encode_frame(FRAME_BODY, 7, b"split payload")
    assert list(reader.feed(frame[:3])) == []  # not even a full header
    assert list(reader.feed(frame[3:10])) == []  # header but partial payload
    assert list(reader.feed(frame[10:-1])) == []  # payload complete, frame-end missing
    assert list(reader.feed(frame[-1:])) == [(FRAME_BODY, 7, b"split payload")]


def test_partial_next_frame_is_kept():
    reader = FrameReader()
    second = encode_frame(FRAME_METHOD, 2, b"second")
    assert list(reader.feed(encode_frame(FRAME_BODY, 1, b"first") + second[:5])) == [
        (FRAME_BODY, 1, b"first")
    ]
    assert list(reader.feed(second[5:])) == [(FRAME_METHOD, 2, b"second")]


@given(
    frames=st.lists(frame_strategy, max_size=8),
    sizes=st.lists(st.integers(0, 40), max_size=60),
)
def test_random_chunking_yields_the_same_frames(frames, sizes):
    data = b"".join(encode_frame(*frame) for frame in frames)
    assert feed_in_chunks(FrameReader(frame_max=4096), data, sizes) == frames


def test_payload_equal_to_frame_max_is_accepted():
    reader = FrameReader(frame_max=4096)
    assert list(reader.feed(encode_frame(FRAME_BODY, 1, bytes(4096)))) == [
        (FRAME_BODY, 1, bytes(4096))
    ]


def test_payload_over_frame_max_is_frame_too_large():
    reader = FrameReader(frame_max=4096)
    with pytest.raises(FrameError) as error:
        list(reader.feed(encode_frame(FRAME_BODY, 1, bytes(4097))))
    assert error.value.message == "type 3, all octets = <<>>: {frame_too_large,4097,4088}"
    assert error.value.reply_code == 501
    assert error.value.reply_text.startswith("FRAME_ERROR - type 3")


def test_frame_too_large_is_raised_from_the_header_alone():
    reader = FrameReader(frame_max=131072)
    header = encode_frame(FRAME_METHOD, 1, bytes(200000))[:7]
    with pytest.raises(
        FrameError, match=r"^type 1, all octets = <<>>: \{frame_too_large,200000,131064\}$"
    ):
        list(reader.feed(header))


def test_frame_max_can_be_raised_after_tune():
    reader = FrameReader()
    reader.frame_max = 131072
    payload = bytes(100000)
    assert list(reader.feed(encode_frame(FRAME_BODY, 1, payload))) == [(FRAME_BODY, 1, payload)]


def test_bad_frame_end_octet():
    reader = FrameReader()
    frame = encode_frame(FRAME_METHOD, 1, b"abc")[:-1] + b"\x00"
    with pytest.raises(FrameError) as error:
        list(reader.feed(frame))
    assert error.value.message == 'type 1, all octets = <<"abc">>: {invalid_frame_end_marker,0}'


def test_bad_frame_end_renders_long_payload_as_first_16_octets():
    reader = FrameReader()
    frame = encode_frame(FRAME_BODY, 1, bytes(range(20)))[:-1] + b"\xcd"
    with pytest.raises(FrameError) as error:
        list(reader.feed(frame))
    prefix = "type 3, first 16 octets = <<0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15>>: "
    # Erlang's ~p breaks a tuple that would pass column 80, indenting past its brace.
    assert error.value.message == (
        prefix + "{invalid_frame_end_marker,\n" + " " * (len(prefix) + 1) + "205}"
    )


def test_frames_before_an_error_are_still_yielded():
    reader = FrameReader(frame_max=4096)
    good = encode_frame(FRAME_METHOD, 1, b"good") + encode_frame(FRAME_BODY, 2, b"also good")
    bad = encode_frame(FRAME_BODY, 3, bytes(5000))
    received = []
    with pytest.raises(FrameError, match="frame_too_large"):
        for frame in reader.feed(good + bad):
            received.append(frame)
    assert received == [(FRAME_METHOD, 1, b"good"), (FRAME_BODY, 2, b"also good")]


def test_frames_before_a_bad_frame_end_are_still_yielded():
    reader = FrameReader()
    bad = encode_frame(FRAME_BODY, 3, b"x")[:-1] + b"!"
    received = []
    with pytest.raises(FrameError, match="invalid_frame_end_marker,33"):
        for frame in reader.feed(encode_frame(FRAME_METHOD, 1, b"ok") + bad):
            received.append(frame)
    assert received == [(FRAME_METHOD, 1, b"ok")]


@pytest.mark.parametrize("header", [PROTOCOL_HEADER, b"AMQP\x01\x01\x00\x09"])
def test_accepted_protocol_headers(header):
    assert check_protocol_header(header)


@pytest.mark.parametrize(
    "header",
    [
        b"AMQP\x00\x00\x09\x00",
        b"AMQP\x00\x00\x08\x00",
        b"AMQP\x01\x01\x00\x0a",
        b"AMQP\x03\x01\x00\x00",  # AMQP 1.0 SASL header
        b"amqp\x00\x00\x09\x01",
        b"GET / HTTP/1.1\r\n",
        b"AMQP\x00\x00\x09",
        b"",
    ],
)
def test_rejected_protocol_headers(header):
    assert not check_protocol_header(header)
