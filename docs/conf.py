"""Sphinx configuration of the libbpf_py documentation (built by ``./dev docs``)."""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent))

project = "libbpf_py"
author = "libbpf_py developers"
copyright = "libbpf_py developers"
release = "0.1.0"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.graphviz",
    "sphinx.ext.viewcode",
    "benchpage",
    "featuretable",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_examples", "README*"]
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

html_theme = "furo"
html_title = "libbpf_py"
html_static_path: list[str] = []

graphviz_output_format = "svg"
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
# Lazily imported names of the package are documented where they are defined.
autodoc_mock_imports: list[str] = []
# Signatures say ``type[BaseException]``; two classes have a ``type`` attribute, which
# makes the builtin's name ambiguous to the Python domain. The builtin is meant.
suppress_warnings = ["ref.python"]
