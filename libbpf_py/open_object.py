"""The open object (old path of :mod:`libbpf_py.object.open_object`, kept for users' imports)."""

from __future__ import annotations

from libbpf_py.object.open_object import *  # noqa: F403
from libbpf_py.object.open_object import __all__ as __all__
