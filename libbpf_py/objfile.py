"""The compiled object file (old path of :mod:`libbpf_py.object.objfile`)."""

from __future__ import annotations

from libbpf_py.object.objfile import *  # noqa: F403
from libbpf_py.object.objfile import __all__ as __all__
