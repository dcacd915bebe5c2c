"""The documents name only paths that exist: README.md and docs/ARCHITECTURE.md.

A path is a backquoted name with a directory part, ending in ``/``, ``.py``, ``.md`` or
``.toml``; in docs/ARCHITECTURE.md's tables a bare module name is looked for in its row's
layer.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "amqpbroker"
OUTSIDE = ("../shared/",)  # named on purpose: outside the repository
PATH = re.compile(r"`([\w./-]+(?:/|\.py|\.md|\.toml))`")


def named_paths(document: Path) -> set[str]:
    """Names with a directory part (bare module names are checked by their table row)."""
    found = PATH.findall(document.read_text())
    return {p for p in found if "/" in p.rstrip("/") and not p.startswith(OUTSIDE)}


def exists(name: str) -> bool:
    name = name.removeprefix("./")
    candidates = [ROOT / name, PACKAGE / name]
    return any(c.exists() for c in candidates)


@pytest.mark.parametrize("document", ["README.md", "docs/ARCHITECTURE.md"])
def test_every_path_a_document_names_exists(document: str) -> None:
    missing = sorted(p for p in named_paths(ROOT / document) if not exists(p))
    assert not missing, f"{document} names paths that do not exist: {missing}"


def test_the_architecture_tables_name_existing_modules() -> None:
    """Rows like ``| `core/` | `queue.py` (...), ... |``: each module is in that layer (or
    that package: ``| `management/views/` | ...``)."""
    missing = []
    for line in (ROOT / "docs/ARCHITECTURE.md").read_text().splitlines():
        row = re.match(r"\| `([\w/]+?)/` \| (.*)\|$", line)
        if row is None:
            continue
        layer, cells = row.groups()
        if "/" in layer and not (PACKAGE / layer).is_dir():
            continue  # a row of another table (tests/...)
        for module in re.findall(r"`([\w/]+\.py|\w+/)`", cells):
            if not (PACKAGE / layer / module).exists():
                missing.append(f"{layer}/{module}")
    assert not missing, f"docs/ARCHITECTURE.md names modules that do not exist: {missing}"


def test_the_check_sees_paths() -> None:
    assert "docs/ARCHITECTURE.md" in named_paths(ROOT / "README.md")
    assert "core/ready.py" in named_paths(ROOT / "docs/ARCHITECTURE.md")
