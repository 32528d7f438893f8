"""The import structure, read from the source (DESIGN.md section 3): layers import downward only,
no module imports itself in a circle, and the platform packages do not know each other.

An import under `if TYPE_CHECKING:` runs only for the type checker: it counts for the layers
(a dependency is a dependency) but not for cycles (it cannot make one at run time).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rules", "emulators", "state", "adapters", "notify", "connector")
#: What each top-level package may import from the others.
MAY_IMPORT = {
    "rules": set(),
    "emulators": set(),  # fakes written from the platforms' documentation, not from our client
    "state": set(),  # the state store: files or PostgreSQL, knowing nothing of tickets
    "adapters": {"rules", "state"},
    # notices to chat, e-mail and on-call: the policy's intents sent, recorded in the store
    "notify": {"rules", "state", "adapters"},
    "connector": {"adapters", "rules", "emulators", "state", "notify"},
}
PLATFORMS = ("adapters.jira", "adapters.zendesk", "adapters.memory")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    typing_only: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def _typing_blocks(tree: ast.Module) -> set[int]:
    """Ids of the import nodes under `if TYPE_CHECKING:`."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            ids |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return ids


def edges(name: str, path: Path, known: dict[str, Path]) -> Iterator[Edge]:
    """Every import of a project module, wherever it stands (in functions too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = _typing_blocks(tree)
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pkg import mod` imports the module pkg.mod, not only the package.
            subs = [f"{node.module}.{a.name}" for a in node.names]
            targets = [s for s in subs if s in known] or [node.module]
        for target in targets:
            if target.split(".")[0] in PACKAGES and target != name:
                yield Edge(name, target, id(node) in typing_only)


def graph() -> list[Edge]:
    known = modules()
    return [e for name, path in known.items() for e in edges(name, path, known)]


def cycles(found: list[Edge]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), at run time."""
    nexts: dict[str, list[str]] = {}
    for e in found:
        if not e.typing_only:
            nexts.setdefault(e.source, []).append(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in nexts.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in list(nexts):
        if v not in index:
            visit(v)
    return out


def test_no_module_imports_itself_in_a_circle() -> None:
    assert cycles(graph()) == []


def test_the_layers_import_downward_only() -> None:
    upward = [
        f"{e.source} -> {e.target}"
        for e in graph()
        if e.target.split(".")[0] != e.source.split(".")[0]
        and e.target.split(".")[0] not in MAY_IMPORT[e.source.split(".")[0]]
    ]
    assert upward == []


def test_platform_packages_do_not_know_each_other() -> None:
    """Each platform uses the shared adapter modules; only the registry names the platforms."""
    crossing = []
    for e in graph():
        source = next((p for p in PLATFORMS if e.source.startswith(p)), None)
        target = next((p for p in PLATFORMS if e.target.startswith(p)), None)
        shared = e.source.startswith("adapters.") and source is None
        if target is not None and target != source and (source or shared):
            crossing.append(f"{e.source} -> {e.target}")
    registry = ["adapters.registry -> adapters.jira", "adapters.registry -> adapters.zendesk"]
    assert crossing == registry


def test_the_connector_uses_no_platform_package() -> None:
    """The application, the sandbox included, goes through the registry and the shared
    protocol; a platform's modules are its own business."""
    reaching = [
        f"{e.source} -> {e.target}"
        for e in graph()
        if e.source.startswith("connector") and e.target.startswith(PLATFORMS)
    ]
    assert reaching == []


def test_the_checker_sees_a_cycle_and_an_upward_import() -> None:
    """The checks above could fail: a made-up graph with both faults is caught."""
    made_up = [
        Edge("adapters.a", "adapters.b", False),
        Edge("adapters.b", "adapters.a", False),
        Edge("adapters.c", "adapters.d", True),
        Edge("adapters.d", "adapters.c", False),
    ]
    assert cycles(made_up) == [["adapters.a", "adapters.b"]]
    assert "connector" not in MAY_IMPORT["adapters"]
