"""Reading a broker's data directory from tests (storage and durability tests share this)."""

from __future__ import annotations

from pathlib import Path

from amqpbroker.storage.codec import decode_definition
from amqpbroker.storage.queue_index import queue_directory_name
from amqpbroker.storage.records import read_records


def index_dir(data_dir: Path, name: str, vhost: str = "/") -> Path:
    """Where queue ``name``'s index lives: the directory its latest declaration names."""
    directory = queue_directory_name(vhost, name)
    log = data_dir / "definitions.log"
    if log.exists():
        for _, payload in read_records(log, log.read_bytes()):
            entry = decode_definition(payload)
            if entry.get("op") == "queue" and (entry["vhost"], entry["name"]) == (vhost, name):
                directory = entry.get("directory", directory)
    return data_dir / "queues" / directory
