"""The BTF type model (old path of :mod:`libbpf_py.btf.kinds`, kept for users' imports)."""

from __future__ import annotations

from libbpf_py.btf.kinds import *  # noqa: F403
from libbpf_py.btf.kinds import __all__ as __all__
