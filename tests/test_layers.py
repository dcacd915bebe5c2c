"""The package's import graph follows the layers in ARCHITECTURE.md.

A module may import only from its own layer and the layers below it; ``protocol`` and
``core`` never import each other.  Checked by walking every module's AST.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "amqpbroker"
BASE = {"errors", "config", "version"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "config": set(),
    "version": set(),
    "auth": BASE,
    "protocol": BASE,
    "core": BASE,
    "session": BASE | {"protocol", "core", "auth"},
    "storage": BASE | {"core"},
    "snapshots": BASE | {"core", "session"},
    "server": BASE | {"protocol", "core", "auth", "session", "storage"},
    "embedded": BASE | {"protocol", "core", "auth", "session", "storage", "snapshots", "server"},
}
TOP = {"cli", "testing", "bench", "__main__", "__init__"}  # may import anything


def layer_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 1:
            pytest.fail(f"{path}: relative import reaching outside its layer")
    return {n.split(".")[1] for n in names if n.startswith("amqpbroker.")} | (
        {"__init__"} if "amqpbroker" in names else set()
    )


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if layer_of(p) not in TOP)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_lower_layers(path: Path) -> None:
    layer = layer_of(path)
    assert layer in ALLOWED, f"{path}: unknown layer {layer!r}; add it to ALLOWED"
    forbidden = imported_layers(path) - ALLOWED[layer] - {layer}
    assert not forbidden, f"{path} ({layer}) imports {sorted(forbidden)}"


def test_the_walk_sees_every_layer() -> None:
    assert {layer_of(p) for p in MODULES} >= {"protocol", "core", "session", "server"}
