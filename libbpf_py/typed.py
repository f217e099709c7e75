"""Typed values from BTF (old path of :mod:`libbpf_py.types.typed`, kept for users' imports)."""

from __future__ import annotations

from libbpf_py.types.typed import *  # noqa: F403
from libbpf_py.types.typed import __all__ as __all__
