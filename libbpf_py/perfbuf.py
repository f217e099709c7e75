"""Perf buffers (old path of :mod:`libbpf_py.events.perfbuf`, kept for users' imports)."""

from __future__ import annotations

from libbpf_py.events.perfbuf import *  # noqa: F403
from libbpf_py.events.perfbuf import __all__ as __all__
