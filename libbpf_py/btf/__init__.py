"""The BTF reader: a ``.BTF`` blob parsed into one Python record per type, with lookups.

:func:`read_btf` turns the bytes of an object's ``.BTF`` section, a map's or program's BTF
from the kernel, or ``/sys/kernel/btf/vmlinux`` into a :class:`Btf`; ``kinds`` holds the
type model (one small class per BTF kind). It is pure Python at the very bottom of the
package, over only :mod:`libbpf_py.errors`, so the value engine (:mod:`libbpf_py.types`)
and the object reader (:mod:`libbpf_py.inspect`) both stand on it. The old paths
``libbpf_py.inspect.btf`` and ``libbpf_py.inspect.btf_types`` re-export it.
"""

from __future__ import annotations

from .kinds import BtfKind, BtfType
from .reader import Btf, read_btf

__all__ = ["Btf", "BtfKind", "BtfType", "read_btf"]
