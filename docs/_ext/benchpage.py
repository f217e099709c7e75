"""A Sphinx directive that shows what ``./dev bench`` recorded under ``bench/results``.

``./dev bench`` writes each benchmark's output to ``bench/results/<name>.txt``, with a
header saying when, on which kernel and at which commit it ran; benchmarks may also write
``bench/<name>/results.json``. The performance page shows every such file; with none
recorded yet, it says how to make them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

BENCH = Path(__file__).resolve().parents[2] / "bench"
RESULTS = BENCH / "results"


class BenchResults(SphinxDirective):
    """``.. bench-results::`` — one section per recorded benchmark output."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        """One section per results file, or a paragraph saying how to record them."""
        files = sorted(RESULTS.glob("*.txt")) if RESULTS.is_dir() else []
        # Benchmarks that also write machine-readable results (bench/NAME/results.json).
        files += sorted(BENCH.glob("*/results.json"))
        out: list[nodes.Node] = []
        if not files:
            para = nodes.paragraph(
                text="No benchmark results are recorded in this checkout "
                "yet: run ./dev bench, which writes them to "
                "bench/results/, and build the documentation again."
            )
            return [para]
        for path in files:
            self.env.note_dependency(str(path))
            name = path.parent.name + " (JSON)" if path.suffix == ".json" else path.stem
            section = nodes.section(ids=[nodes.make_id(f"bench-{name}")])
            section += nodes.title(text=name)
            text = path.read_text(errors="replace").rstrip()
            block = nodes.literal_block(text, text)
            block["language"] = "json" if path.suffix == ".json" else "text"
            section += block
            out.append(section)
        return out


def setup(app: Any) -> dict[str, Any]:
    """Register the directive."""
    app.add_directive("bench-results", BenchResults)
    return {"parallel_read_safe": True, "version": "1"}
