"""The package's import structure: no cycle, counting every import statement.

A cycle closed only by a ``TYPE_CHECKING`` or an in-function import still becomes an
ImportError the day that import moves to module level, so all three kinds count.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import import_graph


def test_no_import_cycle_among_libbpf_py_modules() -> None:
    edges = import_graph.graph()
    assert len(edges) > 50, "the checker found too few modules to be looking at libbpf_py"
    found = import_graph.report(edges)
    assert not found, "import cycle(s) in libbpf_py:\n" + found


def test_the_checker_sees_type_checking_and_function_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "libbpf_py"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from libbpf_py.b import B\n")
    (pkg / "b.py").write_text("def f():\n    from libbpf_py import c\n")
    (pkg / "c.py").write_text("from . import a\n")
    edges = import_graph.graph(tmp_path)
    assert edges["libbpf_py.a"] == {"libbpf_py.b"}
    assert edges["libbpf_py.b"] == {"libbpf_py.c"}
    assert edges["libbpf_py.c"] == {"libbpf_py.a"}
    assert import_graph.cycles(edges) == [["libbpf_py.a", "libbpf_py.b", "libbpf_py.c"]]
    assert "libbpf_py.a -> libbpf_py.b -> libbpf_py.c -> libbpf_py.a" in import_graph.report(edges)
