"""The package's import graph follows the layers in ARCHITECTURE.md.

A module may import only from its own layer and the layers below it; ``protocol`` and
``core`` never import each other.  The sans-IO layers (``protocol``, ``core``, ``session``)
import nothing that does I/O or runs concurrently, and the modules of ``core`` import each
other without cycles, counting imports made only for type checking.  Checked by walking
every module's AST (every import, wherever it sits: ``if TYPE_CHECKING:`` blocks too).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "amqpbroker"
BASE = {"errors", "config", "version"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "config": set(),
    "version": set(),
    "process_figures": set(),
    "access": BASE,
    "policies": BASE,
    "api_client": BASE,
    "rabbitmq_conf": BASE | {"access"},
    "protocol": BASE,
    "core": BASE | {"policies"},  # (issue 15 applies policies to queues and exchanges)
    "session": BASE | {"protocol", "core", "access"},
    "storage": BASE | {"core", "access", "policies"},
    "definitions": BASE | {"core", "access", "policies"},
    "snapshots": BASE | {"core", "session", "access"},
    "management": BASE
    | {
        "protocol",
        "core",
        "access",
        "policies",
        "session",
        "snapshots",
        "definitions",
        "process_figures",
    },
    "server": BASE
    | {
        "protocol",
        "core",
        "access",
        "policies",
        "session",
        "storage",
        "definitions",
        "management",
        "process_figures",
    },
    "embedded": BASE
    | {
        "protocol",
        "core",
        "access",
        "policies",
        "session",
        "storage",
        "snapshots",
        "server",
        "definitions",
    },
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


# -- no I/O in the sans-IO layers ----------------------------------------------------------------

SANS_IO = {"protocol", "core", "session", "access", "policies"}
IO_MODULES = {"asyncio", "socket", "threading", "selectors", "ssl"}


def imported_modules(tree: ast.AST) -> Iterator[str]:
    """The top-level names of the absolute imports anywhere in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


@pytest.mark.parametrize(
    "path",
    [p for p in MODULES if layer_of(p) in SANS_IO],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_sans_io_layers_import_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    forbidden = set(imported_modules(tree)) & IO_MODULES
    assert not forbidden, f"{path} ({layer_of(path)}) imports {sorted(forbidden)}"


def test_storage_leaves_the_event_loop_to_the_server() -> None:
    """Storage is handed the loop's scheduling (``DurableStore.start``); its own I/O runs
    on the writer's thread."""
    users = [
        p.name
        for p in sorted((PACKAGE / "storage").glob("*.py"))
        if "asyncio" in imported_modules(ast.parse(p.read_text(), filename=str(p)))
    ]
    assert not users, f"storage modules importing asyncio: {users}"


def test_the_io_check_sees_imports_inside_blocks() -> None:
    tree = ast.parse(
        "if TYPE_CHECKING:\n    import asyncio.events\ndef f():\n    from ssl import X\n"
    )
    assert set(imported_modules(tree)) == {"asyncio", "ssl"}


# -- no import cycles inside core ----------------------------------------------------------------

CORE = PACKAGE / "core"


def core_imports(tree: ast.AST) -> set[str]:
    """The core modules a core module's AST imports (relative or absolute, anywhere)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = _inside_core(node)
            if module == "":  # from . import x, y
                found.update(alias.name for alias in node.names)
            elif module is not None:
                found.add(module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.split(".")[2]
                for alias in node.names
                if alias.name.startswith("amqpbroker.core.")
            )
    return found


def _inside_core(node: ast.ImportFrom) -> str | None:
    """The module path inside core a from-import names ('' for the package itself), or
    None for an import from outside core."""
    if node.level == 1:
        return node.module or ""
    if node.level == 0 and node.module == "amqpbroker.core":
        return ""
    if node.level == 0 and node.module and node.module.startswith("amqpbroker.core."):
        return node.module.removeprefix("amqpbroker.core.")
    return None


def core_graph() -> dict[str, set[str]]:
    modules = {path.stem: path for path in CORE.glob("*.py") if path.stem != "__init__"}
    return {
        name: core_imports(ast.parse(path.read_text(), filename=str(path))) & modules.keys()
        for name, path in modules.items()
    }


def cycles(graph: Mapping[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm),
    and modules that import themselves."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_core_ports_imports_nothing_else_from_core() -> None:
    """The core's lowest seam: any core module may import it."""
    assert core_graph()["ports"] == set()


def test_core_has_no_import_cycle() -> None:
    found = [sorted(c) for c in cycles(core_graph())]
    assert not found, f"import cycles in core/ (TYPE_CHECKING imports count): {found}"


def test_cycles_are_found_whole_and_all() -> None:
    graph = {
        "a": {"b"},
        "b": {"c"},
        "c": {"a", "d"},
        "d": {"e"},
        "e": {"d"},
        "f": {"f"},
        "g": {"a"},
    }
    assert sorted(sorted(c) for c in cycles(graph)) == [["a", "b", "c"], ["d", "e"], ["f"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_core_imports_count_type_checking_and_every_form() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from .message import Message\n"
        "from . import topic, arguments\n"
        "from amqpbroker.core.ports import Store\n"
        "from amqpbroker.core import queue_types\n"
        "import amqpbroker.core.paging\n"
        "from amqpbroker.errors import NotFound\n"
        "if TYPE_CHECKING:\n"
        "    from .queue import Queue\n"
    )
    assert core_imports(ast.parse(source)) == {
        "message",
        "topic",
        "arguments",
        "ports",
        "queue_types",
        "paging",
        "queue",
    }


# -- no import cycles inside session -------------------------------------------------------------

SESSION = PACKAGE / "session"


def module_name(path: Path) -> str:
    parts = path.relative_to(SESSION.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


SESSION_MODULES = {module_name(path): path for path in SESSION.rglob("*.py")}


def session_imports(name: str) -> set[str]:
    """The session modules ``name`` imports (TYPE_CHECKING blocks included)."""
    path = SESSION_MODULES[name]
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
        found.update(b for b in bases if b in SESSION_MODULES and b != name)
    return found


def test_the_session_walk_sees_the_connection_and_its_channels() -> None:
    assert {"session.channel", "session.handlers"} <= session_imports("session.channels")
    assert {"session.channel", "session.direct_reply"} <= session_imports("session.handlers.basic")
    assert "session.unacked" in session_imports("session.return_order")  # (under TYPE_CHECKING)


def test_session_modules_import_one_another_without_cycles() -> None:
    """Counting TYPE_CHECKING imports: channels reach their connection through ``ChannelHost``."""
    found = [sorted(c) for c in cycles({n: session_imports(n) for n in SESSION_MODULES})]
    assert not found, f"import cycles in session/: {found}"


def test_nothing_on_the_channel_side_imports_the_connection() -> None:
    importers = {n for n in SESSION_MODULES if "session.connection" in session_imports(n)}
    assert importers == set()
