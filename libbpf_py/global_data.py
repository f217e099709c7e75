"""Global variables (old path of :mod:`libbpf_py.object.global_data`, kept for users' imports)."""

from __future__ import annotations

from libbpf_py.object.global_data import *  # noqa: F403
from libbpf_py.object.global_data import __all__ as __all__
