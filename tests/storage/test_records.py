"""Checksummed records: round trip, torn tails repaired, damage elsewhere refused."""

from __future__ import annotations

import logging
import os
import struct
import zlib
from pathlib import Path

import pytest

from amqpbroker.storage.records import (
    HEAD_SIZE,
    MAGIC,
    CorruptStore,
    encode_record,
    read_records,
    read_records_at,
)

PAYLOADS = [b"", b"a", b"hello world", bytes(range(256)) * 40, MAGIC * 7, b"\x00" * 1000]


def write(path: Path, payloads: list[bytes]) -> list[int]:
    """Write records; return each one's offset."""
    offsets, data = [], b""
    for payload in payloads:
        offsets.append(len(data))
        data += encode_record(payload)
    path.write_bytes(data)
    return offsets


def torn_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "torn record" in r.getMessage()
    ]


def test_layout_is_magic_length_crc_payload() -> None:
    record = encode_record(b"abc")
    assert len(record) == HEAD_SIZE + 3 == 13
    magic, length, crc = struct.unpack(">2sII", record[:HEAD_SIZE])
    assert (magic, length, record[HEAD_SIZE:]) == (MAGIC, 3, b"abc")
    assert crc == zlib.crc32(b"abc", zlib.crc32((3).to_bytes(4, "big")))


def test_round_trip(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "file.log"
    offsets = write(path, PAYLOADS)
    size = path.stat().st_size
    assert list(read_records(path)) == list(zip(offsets, PAYLOADS, strict=True))
    assert path.stat().st_size == size
    assert not caplog.records


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    assert list(read_records(path)) == []


def test_data_given_instead_of_read(tmp_path: Path) -> None:
    path = tmp_path / "file.log"
    offsets = write(path, PAYLOADS[:3])
    assert list(read_records(path, path.read_bytes())) == list(
        zip(offsets, PAYLOADS[:3], strict=True)
    )


def test_every_cut_through_the_last_record_is_a_torn_tail(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A crash mid-write leaves any prefix of the last record: each is truncated away."""
    caplog.set_level(logging.WARNING, logger="amqpbroker.storage.records")
    full = b"".join(encode_record(p) for p in (b"first", b"second", b"third record"))
    last = len(encode_record(b"first")) + len(encode_record(b"second"))
    path = tmp_path / "00000001.idx"
    for cut in range(last + 1, len(full)):
        caplog.clear()
        path.write_bytes(full[:cut])
        assert [p for _, p in read_records(path)] == [b"first", b"second"], cut
        assert path.stat().st_size == last, cut
        assert torn_warnings(caplog) == [
            f"{path}: torn record at offset {last} (crash mid-write); truncating {cut - last} bytes"
        ]


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(b"\xff" * 37, id="junk"),
        pytest.param(b"\x00" * 4096, id="zeros"),  # a file extended but never written
        pytest.param(MAGIC + b"\x00\x00\x00\x05\x00\x00\x00\x00abc", id="magic-then-short"),
        pytest.param(MAGIC + b"\x00\x00\x00\x01\x00\x00\x00\x00x", id="magic-bad-crc"),
        pytest.param(MAGIC + b"\xff\xff\xff\xff" + b"\x00" * 20, id="huge-length"),
        pytest.param(MAGIC, id="magic-only"),
    ],
)
def test_garbage_after_the_last_record_is_truncated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, garbage: bytes
) -> None:
    caplog.set_level(logging.WARNING, logger="amqpbroker.storage.records")
    path = tmp_path / "definitions.log"
    write(path, [b"one", b"two"])
    good = path.stat().st_size
    with path.open("ab") as handle:
        handle.write(garbage)
    assert [p for _, p in read_records(path)] == [b"one", b"two"]
    assert path.read_bytes() == encode_record(b"one") + encode_record(b"two")
    warnings = torn_warnings(caplog)
    assert len(warnings) == 1
    assert str(path) in warnings[0]
    assert f"offset {good}" in warnings[0]
    # appending after the repair gives a clean file again
    with path.open("ab") as handle:
        handle.write(encode_record(b"three"))
    caplog.clear()
    assert [p for _, p in read_records(path)] == [b"one", b"two", b"three"]
    assert not torn_warnings(caplog)


def test_bit_flip_in_the_last_record_is_a_torn_tail(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="amqpbroker.storage.records")
    path = tmp_path / "f.log"
    offsets = write(path, [b"one", b"two", b"three"])
    data = bytearray(path.read_bytes())
    data[-2] ^= 0x01
    path.write_bytes(bytes(data))
    assert [p for _, p in read_records(path)] == [b"one", b"two"]
    assert path.stat().st_size == offsets[2]
    assert len(torn_warnings(caplog)) == 1


@pytest.mark.parametrize(
    ("record", "position"),
    [
        pytest.param(0, 0, id="first-magic"),
        pytest.param(0, 3, id="first-length"),
        pytest.param(1, 7, id="second-crc"),
        pytest.param(1, HEAD_SIZE + 1, id="second-payload"),
        pytest.param(2, HEAD_SIZE, id="third-payload"),
    ],
)
def test_damage_followed_by_valid_records_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, record: int, position: int
) -> None:
    path = tmp_path / "00000003.idx"
    offsets = write(path, [b"one-payload", b"two-payload", b"three-payload", b"four-payload"])
    data = bytearray(path.read_bytes())
    data[offsets[record] + position] ^= 0x40
    path.write_bytes(bytes(data))
    seen = []
    with pytest.raises(CorruptStore) as error:
        seen.extend(p for _, p in read_records(path))
    damaged, following = offsets[record], offsets[record + 1]
    assert str(error.value) == (
        f"{path}: damaged record at offset {damaged} followed by valid data at offset "
        f"{following}; refusing to start on a corrupt store"
    )
    assert seen == [b"one-payload", b"two-payload", b"three-payload"][:record]
    assert path.read_bytes() == bytes(data), "a corrupt file must not be truncated"
    assert not torn_warnings(caplog)


def test_missing_bytes_in_the_middle_are_refused(tmp_path: Path) -> None:
    """A record that lost bytes (a hole, not a flip) still cannot hide the valid data behind."""
    path = tmp_path / "f.log"
    offsets = write(path, [b"alpha", b"bravo", b"charlie"])
    data = path.read_bytes()
    path.write_bytes(data[: offsets[1] + 5] + data[offsets[1] + 6 :])
    with pytest.raises(CorruptStore, match=f"damaged record at offset {offsets[1]}"):
        list(read_records(path))


def test_read_records_at_checks_each_record(tmp_path: Path) -> None:
    path = tmp_path / "00000001.seg"
    offsets = write(path, [b"m1", b"message two", b"m3"])
    spans = [
        (offset, len(encode_record(p)))
        for offset, p in zip(offsets, [b"m1", b"message two", b"m3"], strict=True)
    ]
    assert read_records_at(path, [spans[2], spans[0]]) == [b"m3", b"m1"]
    data = bytearray(path.read_bytes())
    data[offsets[1] + HEAD_SIZE] ^= 0x01
    path.write_bytes(bytes(data))
    assert read_records_at(path, [spans[0], spans[2]]) == [b"m1", b"m3"]
    with pytest.raises(
        CorruptStore, match=f"{path}: damaged message record at offset {offsets[1]}"
    ):
        read_records_at(path, spans)


def test_read_records_at_refuses_a_span_past_the_end(tmp_path: Path) -> None:
    path = tmp_path / "00000001.seg"
    write(path, [b"only"])
    size = os.path.getsize(path)
    with pytest.raises(CorruptStore, match=f"offset {size}"):
        read_records_at(path, [(size, 20)])
