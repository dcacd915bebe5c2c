"""Checksummed records in append-only files.

Theory of operation: every file the store writes is a sequence of records
``MAGIC(2) | length(4) | crc32(4) | payload(length)``, the CRC covering length and payload.
Reading stops at the first record that is incomplete or fails its checksum.  If no valid
record follows it, it is a torn tail (a crash mid-write): the file is truncated there with a
warning naming the file and offset.  If a valid record does follow, the damage is in the
middle of the file and reading refuses with ``CorruptStore`` rather than serve wrong data.
"""

from __future__ import annotations

import logging
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

MAGIC = b"\xab\x51"
HEAD = struct.Struct(">2sII")  # magic, payload length, crc32
HEAD_SIZE = HEAD.size
MAX_RECORD = 512 * 1024 * 1024


def segment_name(number: int, suffix: str) -> str:
    """The name of numbered record file ``number`` (message and index segments)."""
    return f"{number:08d}.{suffix}"


class CorruptStore(Exception):
    """A store file is damaged somewhere other than its tail."""


def encode_record(payload: bytes) -> bytes:
    length = len(payload)
    crc = zlib.crc32(payload, length_crc(length))
    return HEAD.pack(MAGIC, length, crc) + payload


def length_crc(length: int) -> int:
    """The CRC of a record's length field, which the CRC of its payload continues (for
    encoders that build whole records in one go, with ``HEAD``)."""
    return zlib.crc32(length.to_bytes(4, "big"))


def _record_at(data: bytes | memoryview, offset: int) -> tuple[bytes, int] | None:
    """The payload at ``offset`` and the offset after it, or None if not a valid record."""
    if len(data) - offset < HEAD_SIZE:
        return None
    magic, length, crc = HEAD.unpack_from(data, offset)
    start, end = offset + HEAD_SIZE, offset + HEAD_SIZE + length
    if magic != MAGIC or length > MAX_RECORD or end > len(data):
        return None
    payload = bytes(data[start:end])
    if zlib.crc32(payload, zlib.crc32(length.to_bytes(4, "big"))) != crc:
        return None
    return payload, end


def _valid_record_after(data: bytes, offset: int) -> int | None:
    """Offset of a valid record somewhere after ``offset`` (a magic that checks out)."""
    position = data.find(MAGIC, offset + 1)
    while position != -1:
        if _record_at(data, position) is not None:
            return position
        position = data.find(MAGIC, position + 1)
    return None


def read_records(path: Path, data: bytes | None = None) -> Iterator[tuple[int, bytes]]:
    """Yield ``(offset, payload)`` for each record; repair a torn tail, refuse other damage."""
    if data is None:
        data = path.read_bytes()
    offset = 0
    while offset < len(data):
        found = _record_at(data, offset)
        if found is None:
            later = _valid_record_after(data, offset)
            if later is not None:
                raise CorruptStore(
                    f"{path}: damaged record at offset {offset} followed by valid data at "
                    f"offset {later}; refusing to start on a corrupt store"
                )
            log.warning(
                "%s: torn record at offset %d (crash mid-write); truncating %d bytes",
                path,
                offset,
                len(data) - offset,
            )
            with path.open("r+b") as handle:
                handle.truncate(offset)
            return
        payload, next_offset = found
        yield offset, payload
        offset = next_offset


def read_records_at(path: Path, spans: list[tuple[int, int]]) -> list[bytes]:
    """The payloads of the records at ``(offset, size)`` spans of a file, checked."""
    payloads = []
    with path.open("rb") as handle:
        for offset, size in spans:
            handle.seek(offset)
            data = handle.read(size)
            found = _record_at(data, 0)
            if found is None:
                raise CorruptStore(f"{path}: damaged message record at offset {offset}")
            payloads.append(found[0])
    return payloads
