"""The BTF reader (old path of :mod:`libbpf_py.btf.reader`, kept for users' imports)."""

from __future__ import annotations

from libbpf_py.btf.reader import *  # noqa: F403
from libbpf_py.btf.reader import BTF_MAGIC as BTF_MAGIC
from libbpf_py.btf.reader import MAX_CHAIN as MAX_CHAIN
from libbpf_py.btf.reader import SECTION as SECTION
from libbpf_py.btf.reader import __all__ as __all__
