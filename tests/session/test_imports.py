"""The session layer's modules import one another without cycles, counting the imports made
only for type checking: channels reach their connection through ``ChannelHost``."""

from __future__ import annotations

import ast
from pathlib import Path

SESSION = Path(__file__).resolve().parents[2] / "amqpbroker" / "session"


def module_name(path: Path) -> str:
    parts = path.relative_to(SESSION.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in SESSION.rglob("*.py")}


def imports(name: str) -> set[str]:
    """The session modules ``name`` imports (TYPE_CHECKING blocks included)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            bases = [alias.name.removeprefix("amqpbroker.") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = (node.module or "").removeprefix("amqpbroker.")
            bases = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(b for b in bases if b in MODULES and b != name)
    return found


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return found


def test_the_walk_sees_the_connection_and_its_channels() -> None:
    assert {"session.channel", "session.handlers"} <= imports("session.channels")
    assert {"session.channel", "session.direct_reply"} <= imports("session.handlers.basic")
    assert "session.unacked" in imports("session.return_order")  # (under TYPE_CHECKING)


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [{"a", "b", "c"}]


def test_session_modules_import_one_another_without_cycles() -> None:
    assert cycles({name: imports(name) for name in MODULES}) == []


def test_nothing_on_the_channel_side_imports_the_connection() -> None:
    importers = {name for name in MODULES if "session.connection" in imports(name)}
    assert importers == set()
