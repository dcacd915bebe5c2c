"""Fixtures for the storage tests (data directories on ``tmp_path``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from storeutil import Node


@pytest.fixture
async def open_node(tmp_path: Path) -> AsyncIterator[Callable[..., Node]]:
    """``open_node()`` starts a broker lifetime on ``tmp_path / 'data'``; all closed at the end."""
    nodes: list[Node] = []

    def start(**store_options: Any) -> Node:
        node = Node(tmp_path / "data", **store_options)
        nodes.append(node)
        return node

    yield start
    for node in nodes:
        await node.close()
