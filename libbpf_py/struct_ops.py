"""struct_ops: register an ops map (a table of BPF programs) with the kernel subsystem.

``attach_struct_ops(map)`` is what ``Map.attach_struct_ops()`` calls; the returned link
unregisters the ops when detached, like every other link.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from libbpf_py._lowlevel import errno_of, lib, raise_errno
from libbpf_py.enums import MapType
from libbpf_py.errors import NotSupported
from libbpf_py.explain import narrate
from libbpf_py.link import Link

if TYPE_CHECKING:
    from libbpf_py.maps import Map

__all__ = ["attach_struct_ops"]


def attach_struct_ops(map: Map) -> Link:
    """Register the struct_ops ``map`` (``bpf_map__attach_struct_ops``); return its link."""
    map.fd  # noqa: B018 - raises PhaseError for a closed map
    what = f"registering struct_ops map {map.name!r}"
    if map.type is not MapType.STRUCT_OPS:
        raise ValueError(f"{what}: it is a {map.type.label} map, not a struct_ops map")
    if getattr(map, "_ptr", None) is None:
        raise NotSupported(f"{what}: only maps of a LoadedObject can be registered")
    ptr = lib.bpf_map__attach_struct_ops(map._ptr)
    err = errno_of(ptr)
    if err:
        raise raise_errno(err, what)
    narrate(f"bpf_map__attach_struct_ops({map.name!r})", f"link fd {lib.bpf_link__fd(ptr)}",
            phase="attach")
    link = Link(ptr=ptr, description=f"struct_ops {map.name}")
    owner = getattr(map, "_owner", None)
    if owner is not None:
        owner._track(link)
    return link
