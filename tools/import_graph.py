"""Static import graph of libbpf_py: every import counts, wherever it stands.

Module-level, ``if TYPE_CHECKING:`` and in-function imports all become edges,
because each of them is a place where a cycle turns into an ImportError the day
the import moves. ``python tools/import_graph.py`` prints the cycles it finds.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "libbpf_py"


def module_name(path: Path, root: Path = ROOT) -> str:
    """The dotted name of the module at ``path``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(p, root): p for p in sorted((root / PACKAGE).rglob("*.py"))}


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = current.split(".")
    if not is_package:
        base.pop()
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The libbpf_py modules that ``name`` imports, counting every import statement."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()

    def add(target: str) -> None:
        # The module named, or the nearest package that holds it ("from pkg import
        # func"). The package root is no edge: every module imports it first, so it would
        # put the whole package in one cycle and hide the real ones.
        parts = target.split(".")
        for i in range(len(parts), 0, -1):
            candidate = ".".join(parts[:i])
            if candidate in known:
                if candidate not in (name, PACKAGE):
                    found.add(candidate)
                return

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(name, path.name == "__init__.py", node)
            # "from pkg import x" runs pkg's __init__ (an edge to pkg, even when x is a
            # submodule), then imports the submodule x if there is one.
            add(base)
            for alias in node.names:
                add(f"{base}.{alias.name}")
    return found


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Each module and the package modules it imports."""
    mods = modules(root)
    # The compiled module is a leaf: it imports nothing of ours.
    known = set(mods) | {f"{PACKAGE}._libbpf"}
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def one_cycle(edges: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest closed path through the component's first module, for the message."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(edges[v] & members):
                if w == start:
                    return [*paths[v], start]
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    nxt.append(w)
        frontier = nxt
    return component


def report(edges: dict[str, set[str]]) -> str:
    """The cycles in words, one component a pair of lines; empty when there is none."""
    lines = []
    for component in cycles(edges):
        lines.append(f"{len(component)} modules in a cycle: {', '.join(component)}")
        lines.append("  e.g. " + " -> ".join(one_cycle(edges, component)))
    return "\n".join(lines)


if __name__ == "__main__":
    text = report(graph())
    print(text or "no import cycle")
    sys.exit(1 if text else 0)
