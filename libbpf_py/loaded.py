"""The loaded object (old path of :mod:`libbpf_py.object.loaded`, kept for users' imports)."""

from __future__ import annotations

from libbpf_py.object.loaded import *  # noqa: F403
from libbpf_py.object.loaded import __all__ as __all__
