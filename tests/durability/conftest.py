"""Fixtures for the durability tests: brokers run as subprocesses on a data directory."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from brokerproc import Node

REPORTS = pytest.StashKey[list[str]]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("AMQPBROKER_TEST_URL"):
        skip = pytest.mark.skip(reason="runs amqpbroker itself as a subprocess")
        for item in items:
            if "durability" in item.path.parts:
                item.add_marker(skip)


@pytest.fixture
def make_node(tmp_path: Path) -> Iterator[Callable[..., Node]]:
    """``make_node()`` a broker identity on its own data dir; ``make_node(data_dir=...)`` to
    share one.  Every process started is killed at the end."""
    nodes: list[Node] = []

    def make(data_dir: Path | None = None) -> Node:
        node = Node(data_dir or tmp_path / f"data-{len(nodes)}", tmp_path)
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        node.close()


@pytest.fixture
def node(make_node: Callable[..., Node]) -> Node:
    """A started broker on a fresh data directory."""
    return make_node().start()


@pytest.fixture
def report_line(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Print a line and repeat it in the terminal summary (shown without ``-s``)."""
    lines = request.config.stash.setdefault(REPORTS, [])

    def report(line: str) -> None:
        print(line)
        lines.append(f"{request.node.nodeid}: {line}")

    return report


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    lines = config.stash.get(REPORTS, [])
    if lines:
        terminalreporter.section("durability reports")
        for line in lines:
            terminalreporter.write_line(line)
