"""The house's rule, checked from the source: imports run one way, top to bottom, with no cycle.

Each top-level part of `seam_api` has a layer; a module may import its own layer's parts or
lower ones, never a higher one, and no chain of imports comes back to where it started.
Imports made only for type checking count too: they are a dependency a reader must follow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "seam_api"

# Top to bottom. Domain folders share a layer: they may use each other (never in a cycle).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("app", "cli", "bootstrap"),
    ("container",),
    (
        "auth",
        "accounts",
        "sessions",
        "apikeys",
        "passwords",
        "users",
        "roles",
        "permissions",
        "sidebar",
        "audit",
        "console",
        "delegation",
    ),
    ("operations", "ports"),
    ("web",),
    ("realtime",),
    ("security",),
    ("runtime",),  # counts what it drops or closes in ops' metrics
    ("ops", "mail"),
    ("settings",),  # checks the admin's email with the API's own rule (core/types.py)
    ("core", "migrations", "messages"),  # messages read the request's language from core
    ("models",),
)
LAYER_OF = {part: depth for depth, parts in enumerate(LAYERS) for part in parts}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("seam_api.")}


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {
        name: {imported for imported in _imports(path) if imported in modules and imported != name}
        for name, path in modules.items()
    }


def _part(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def test_every_part_has_a_layer() -> None:
    parts = {_part(module) for module in _graph() if module != "seam_api"}
    assert parts - LAYER_OF.keys() == set(), "give each new top-level part a layer above"


def test_no_import_runs_upward() -> None:
    upward = [
        f"{module} -> {imported}"
        for module, imports in _graph().items()
        if module != "seam_api"
        for imported in imports
        if LAYER_OF.get(_part(imported), 99) < LAYER_OF.get(_part(module), 99)
    ]
    assert upward == []


def test_no_import_cycle() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for imported in sorted(graph[module]):
            if state.get(imported) == 1:
                cycles.append([*path[path.index(imported) :], imported])
            elif imported not in state:
                visit(imported, [*path, imported])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


@pytest.mark.parametrize("private", ["uvicorn", "engineio", "socketio", "websockets"])
def test_only_runtime_reaches_into_library_internals(private: str) -> None:
    """A private name (`_x`) of these libraries is read only under runtime/."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "runtime" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(private):
                names = [(node.module or ""), *(alias.name for alias in node.names)]
                if any(part.startswith("_") for name in names for part in name.split(".")):
                    offenders.append(f"{path.name}: from {node.module} import ...")
    assert offenders == []
