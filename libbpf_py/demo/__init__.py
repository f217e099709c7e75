"""The guiding example: a simple XDP packet filter, and the walkthrough that runs it.

This package owns the filter's C source and ``walkthrough`` (run by ``libbpf-py demo``).
It is an entry point: it uses the public API from above, and nothing but the CLI imports
it.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["filter_source"]


def filter_source() -> Path:
    """The path of the shipped XDP packet filter's C source."""
    return Path(str(files(__package__).joinpath("xdp_filter.bpf.c")))
