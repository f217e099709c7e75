"""struct_ops: register an ops map (a table of BPF programs) with the kernel subsystem.

The old path of :meth:`Map.attach_struct_ops <libbpf_py.Map.attach_struct_ops>`, kept
for users' imports.
"""

from __future__ import annotations

from libbpf_py.link import Link
from libbpf_py.maps import Map

__all__ = ["attach_struct_ops"]


def attach_struct_ops(map: Map) -> Link:
    """Register the struct_ops ``map`` (``bpf_map__attach_struct_ops``); return its link."""
    return map.attach_struct_ops()
