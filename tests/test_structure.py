"""The package's import structure: no cycle, counting every import statement.

A cycle closed only by a ``TYPE_CHECKING`` or an in-function import still becomes an
ImportError the day that import moves to module level, so all three kinds count.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import import_graph

import libbpf_py


def test_no_import_cycle_among_libbpf_py_modules() -> None:
    # The package the tests import: a checkout's, or an installed wheel's.
    edges = import_graph.graph(Path(libbpf_py.__file__).resolve().parent.parent)
    assert len(edges) > 50, "the checker found too few modules to be looking at libbpf_py"
    found = import_graph.report(edges)
    assert not found, "import cycle(s) in libbpf_py:\n" + found


def test_the_checker_sees_type_checking_and_function_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "libbpf_py"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from libbpf_py.b import B\n"
    )
    (pkg / "b.py").write_text("def f():\n    from libbpf_py import c\n")
    (pkg / "c.py").write_text("from . import a\n")
    edges = import_graph.graph(tmp_path)
    assert edges["libbpf_py.a"] == {"libbpf_py.b"}
    assert edges["libbpf_py.b"] == {"libbpf_py.c"}
    assert edges["libbpf_py.c"] == {"libbpf_py.a"}
    assert import_graph.cycles(edges) == [["libbpf_py.a", "libbpf_py.b", "libbpf_py.c"]]
    assert "libbpf_py.a -> libbpf_py.b -> libbpf_py.c -> libbpf_py.a" in import_graph.report(edges)


def _package_trees() -> list[tuple[str, ast.Module]]:
    return [
        (name, ast.parse(path.read_text(), str(path)))
        for name, path in sorted(import_graph.modules().items())
    ]


def test_no_class_is_rewritten_after_construction() -> None:
    # A fast variant is a real subclass chosen before construction (maps.make_map):
    # ``self.__class__ = ...`` makes type(m) and "go to definition" lie.
    found = [
        f"{name}:{node.lineno}"
        for name, tree in _package_trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Attribute) and target.attr == "__class__"
    ]
    assert not found, f"__class__ assigned at {found}"


def test_no_method_is_bound_into_a_class_body_by_assignment() -> None:
    # ``items = _map_whole.items`` in a class body hides where a method is defined.
    found = []
    for name, tree in _package_trees():
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            for stmt in cls.body:
                if not isinstance(stmt, ast.Assign):
                    continue
                value = stmt.value
                if (
                    isinstance(value, ast.Call)
                    and isinstance(value.func, ast.Name)
                    and value.func.id in ("classmethod", "staticmethod")
                    and value.args
                ):
                    value = value.args[0]
                if (
                    isinstance(value, ast.Attribute)
                    and isinstance(value.value, ast.Name)
                    and value.value.id.startswith("_")
                ):
                    found.append(f"{name}:{stmt.lineno} {cls.name}")
    assert not found, f"methods bound by assignment: {found}"
