"""FrameReader.read_commands: a publish whose three frames are all there comes out whole;
anything else comes out frame by frame, exactly as ``feed`` gives it."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amqpbroker.errors import FrameError
from amqpbroker.protocol.framing import (
    FRAME_BODY,
    FRAME_HEADER,
    FRAME_METHOD,
    FRAME_PUBLISH,
    FrameReader,
    encode_frame,
)

PUBLISH = b"\x00\x3c\x00\x28\x00\x00\x00\x01q\x00"  # basic.publish to '' with key 'q'


def content_header(body_size: int, class_id: int = 60, weight: int = 0) -> bytes:
    return struct.pack(">HHQH", class_id, weight, body_size, 0)


def publish_frames(channel: int, body: bytes, **header: int) -> list[tuple[int, int, bytes]]:
    frames = [
        (FRAME_METHOD, channel, PUBLISH),
        (FRAME_HEADER, channel, content_header(len(body), **header)),
    ]
    if body:
        frames.append((FRAME_BODY, channel, body))
    return frames


def wire(frames: list[tuple[int, int, bytes]]) -> bytes:
    return b"".join(encode_frame(*frame) for frame in frames)


def as_frames(commands: list[tuple[int, int, bytes, bytes, bytes]]) -> list[tuple]:
    """The frames the items stand for (a whole publish back as its frames)."""
    frames: list[tuple] = []
    for kind, channel, payload, header, body in commands:
        if kind != FRAME_PUBLISH:
            frames.append((kind, channel, payload))
            continue
        frames.append((FRAME_METHOD, channel, payload))
        frames.append((FRAME_HEADER, channel, header))
        if body:
            frames.append((FRAME_BODY, channel, body))
    return frames


def test_a_whole_publish_is_one_item():
    header = content_header(5)
    items = list(FrameReader().read_commands(wire(publish_frames(3, b"hello"))))
    assert items == [(FRAME_PUBLISH, 3, PUBLISH, header, b"hello")]


def test_an_empty_body_has_no_body_frame():
    items = list(FrameReader().read_commands(wire(publish_frames(1, b""))))
    assert items == [(FRAME_PUBLISH, 1, PUBLISH, content_header(0), b"")]


@pytest.mark.parametrize(
    "frames",
    [
        # a body in two frames
        [*publish_frames(1, b"ab")[:2], (FRAME_BODY, 1, b"a"), (FRAME_BODY, 1, b"b")],
        # another channel's frame in between
        [
            *publish_frames(1, b"ab")[:2],
            (FRAME_METHOD, 2, b"\x00\x14\x00\x0a"),
            *publish_frames(1, b"ab")[2:],
        ],
        # the header on another channel
        [(FRAME_METHOD, 1, PUBLISH), (FRAME_HEADER, 2, content_header(0))],
        # not class 60, a weight, a short header, a body of another size
        publish_frames(1, b"", class_id=50),
        publish_frames(1, b"", weight=1),
        [(FRAME_METHOD, 1, PUBLISH), (FRAME_HEADER, 1, b"\x00\x3c\x00\x00")],
        [*publish_frames(1, b"abc")[:2], (FRAME_BODY, 1, b"ab")],
        # on channel 0
        publish_frames(0, b"x"),
    ],
)
def test_anything_unusual_comes_frame_by_frame(frames):
    items = list(FrameReader().read_commands(wire(frames)))
    assert all(kind != FRAME_PUBLISH for kind, *_ in items)
    assert as_frames(items) == frames


def test_a_bad_frame_end_inside_a_publish_is_reported_where_feed_reports_it():
    data = wire(publish_frames(1, b"body"))
    broken = data[:-1] + b"\x00"
    seen = []
    with pytest.raises(FrameError, match="invalid_frame_end_marker,0"):
        for item in FrameReader().read_commands(broken):
            seen.append(item)
    assert as_frames(seen) == publish_frames(1, b"body")[:2]


def test_a_body_over_frame_max_is_frame_too_large():
    frames = publish_frames(1, bytes(5000))
    with pytest.raises(FrameError, match="frame_too_large"):
        list(FrameReader(frame_max=4096).read_commands(wire(frames)))


item_strategy = st.one_of(
    st.tuples(st.integers(1, 3), st.binary(max_size=40)).map(
        lambda spec: publish_frames(spec[0], spec[1])
    ),
    st.tuples(
        st.sampled_from([FRAME_METHOD, FRAME_BODY]), st.integers(0, 3), st.binary(max_size=20)
    ).map(lambda frame: [frame]),
)


@given(
    groups=st.lists(item_strategy, max_size=8),
    sizes=st.lists(st.integers(0, 60), max_size=40),
)
def test_any_chunking_gives_the_frames_feed_gives(groups, sizes):
    frames = [frame for group in groups for frame in group]
    data = wire(frames)
    reader = FrameReader()
    items: list[tuple[int, int, bytes, bytes, bytes]] = []
    position = 0
    for size in [*sizes, len(data)]:
        items += reader.read_commands(data[position : position + size])
        position += size
    assert as_frames(items) == frames


def test_publish_octets_in_a_body_frame_are_not_a_publish():
    frames = [(FRAME_BODY, 1, PUBLISH), (FRAME_HEADER, 1, content_header(0))]
    items = list(FrameReader().read_commands(wire(frames)))
    assert as_frames(items) == frames
    assert all(kind != FRAME_PUBLISH for kind, *_ in items)
