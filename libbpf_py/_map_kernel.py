"""A map as the kernel knows it: made standalone, opened by pin or id, pinned, described.

The functions taking ``self`` or ``cls`` are methods of :class:`~libbpf_py.maps.Map`,
bound there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from libbpf_py._lowlevel import check, ffi, lib
from libbpf_py._map_btf import kernel_btf
from libbpf_py.enums import MapType
from libbpf_py.errors import PhaseError

if TYPE_CHECKING:
    from libbpf_py.link import Link
    from libbpf_py.maps import Map

__all__ = ["MapInfo", "check_pin_mode", "map_info", "set_pin_mode"]


@dataclass(frozen=True)
class MapInfo:
    """What the kernel reports about a map (``bpf_map_get_info_by_fd``)."""

    id: int
    name: str
    type: MapType
    key_size: int
    value_size: int
    max_entries: int
    flags: int
    btf_id: int
    btf_key_type_id: int = 0
    btf_value_type_id: int = 0


# -- standalone maps (classmethods of Map) -----------------------------------------

def create(cls: type[Map], type: MapType | int | str, key_size: int, value_size: int,
           max_entries: int, *, name: str | None = None, flags: int = 0,
           key_type: Any = None, value_type: Any = None, inner_map: Map | None = None,
           map_extra: int = 0) -> Map:
    """Create a standalone map (``bpf_map_create``); close it or use ``with``.

    ``key_type``/``value_type`` choose the Python view: ``"u32"``, ``"s64"``,
    ``"bytes"``..., or the :class:`TypeRef` of another map (``m.value_type``).
    ``inner_map`` is the template of a map-in-map's inner maps.
    """
    map_type = MapType.coerce(type)
    label = name or map_type.name.lower()
    opts = ffi.new("struct bpf_map_create_opts *")
    opts.sz = ffi.sizeof("struct bpf_map_create_opts")
    opts.map_flags = flags
    opts.map_extra = map_extra
    if inner_map is not None:
        opts.inner_map_fd = inner_map.fd
    elif map_type in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
        raise ValueError(f"a {map_type.name} map needs inner_map=: a map whose shape "
                         "the inner maps will have")
    fd = lib.bpf_map_create(map_type, label[:15].encode(), key_size, value_size,
                            max_entries, opts)
    check(fd, f"creating {map_type.name} map {label!r} (key {key_size} bytes, value "
              f"{value_size} bytes, max_entries={max_entries})")
    try:
        return cls(None, ffi.NULL, fd, label, map_type, key_size, value_size,
                   max_entries, flags, key_type=key_type, value_type=value_type,
                   owns_fd=True, keep=inner_map)
    except BaseException:
        os.close(fd)
        raise


def from_pin(cls: type[Map], path: str | os.PathLike[str], *, key_type: Any = None,
             value_type: Any = None) -> Map:
    """Open the map pinned at ``path``, typed from its BTF if it has one (or from
    ``key_type``/``value_type``, as for :meth:`create`)."""
    fd = check(lib.bpf_obj_get(os.fsencode(path)), f"opening the pinned map {path}")
    return _from_fd(cls, fd, str(path), key_type, value_type)


def from_id(cls: type[Map], map_id: int, *, key_type: Any = None,
            value_type: Any = None) -> Map:
    """Open the map with kernel id ``map_id`` (``bpftool map show id N``)."""
    fd = check(lib.bpf_map_get_fd_by_id(map_id), f"opening the map with id {map_id}")
    return _from_fd(cls, fd, f"id {map_id}", key_type, value_type)


def _from_fd(cls: type[Map], fd: int, where: str, key_type: Any, value_type: Any) -> Map:
    try:
        info = map_info(fd)
        types = kernel_btf(info.btf_id) if info.btf_id else None
        return cls(None, ffi.NULL, fd, info.name or where, info.type, info.key_size,
                   info.value_size, info.max_entries, info.flags, types=types,
                   key_type_id=info.btf_key_type_id,
                   value_type_id=info.btf_value_type_id, key_type=key_type,
                   value_type=value_type, owns_fd=True)
    except BaseException:
        os.close(fd)
        raise


# -- pins, info (methods of Map) ---------------------------------------------------

def pin(self: Map, path: str | os.PathLike[str], *, mode: int = 0o600) -> None:
    """Pin the map at ``path`` on bpffs: it outlives this process until unpinned.

    The pin is readable and writable by its owner only, unless ``mode`` (permission
    bits, e.g. ``0o660`` to share with a group) says otherwise. A path outside bpffs
    raises :class:`~libbpf_py.errors.NotOnBpffs`.
    """
    from libbpf_py.mounts import check_pin_path

    if self._closed:
        self._raise_closed("pin()")
    what = f"pinning map {self.name!r} at {os.fspath(path)}"
    check_pin_mode(mode, what)
    where = check_pin_path(path, what)
    if self._ptr != ffi.NULL:
        pinned = lib.bpf_map__pin_path(self._ptr)
        if pinned != ffi.NULL and lib.bpf_map__is_pinned(self._ptr):
            at = ffi.string(pinned).decode(errors="replace")
            if at != where:
                # libbpf keeps one pin path per map of an object (EINVAL otherwise).
                raise PhaseError(f"{what}: map {self.name!r} is already pinned at {at}; "
                                 "unpin() it first", phase="pinned", needed="loaded")
        check(lib.bpf_map__pin(self._ptr, os.fsencode(where)), what)
    else:
        check(lib.bpf_obj_pin(self._fd, os.fsencode(where)), what)
    self._pin_path = where
    set_pin_mode(where, mode)


def unpin(self: Map, path: str | os.PathLike[str] | None = None) -> None:
    """Remove the pin (the one :meth:`pin` made, or ``path``)."""
    target = os.fspath(path) if path is not None else self._pin_path
    if target is None:
        raise ValueError(f"map {self.name!r} was not pinned by pin(); give the path")
    if self._ptr != ffi.NULL and not self._closed:
        check(lib.bpf_map__unpin(self._ptr, os.fsencode(target)),
              f"unpinning map {self.name!r} at {target}")
    else:
        os.unlink(target)
    if target == self._pin_path:
        self._pin_path = None


def attach_struct_ops(self: Map) -> Link:
    """Register this struct_ops map with its subsystem; the link unregisters it."""
    from libbpf_py.struct_ops import attach_struct_ops

    return attach_struct_ops(self)


def info(self: Map) -> MapInfo:
    """Ask the kernel about this map."""
    return map_info(self.fd, self.name)


def map_info(fd: int, name: str = "") -> MapInfo:
    """Ask the kernel about the map behind ``fd`` (``bpf_map_get_info_by_fd``)."""
    info = ffi.new("struct bpf_map_info *")
    size = ffi.new("__u32 *", ffi.sizeof("struct bpf_map_info"))
    what = f"map {name!r}" if name else f"the map of fd {fd}"
    check(lib.bpf_map_get_info_by_fd(fd, info, size), f"reading the info of {what}")
    return MapInfo(id=info.id, name=ffi.string(info.name).decode(errors="replace"),
                   type=MapType.coerce(info.type), key_size=info.key_size,
                   value_size=info.value_size, max_entries=info.max_entries,
                   flags=info.map_flags, btf_id=info.btf_id,
                   btf_key_type_id=info.btf_key_type_id,
                   btf_value_type_id=info.btf_value_type_id)


def check_pin_mode(mode: int, what: str) -> None:
    """Refuse a pin mode with bits beyond rwx (checked before anything is pinned)."""
    if not isinstance(mode, int) or isinstance(mode, bool) or mode & ~0o777:
        raise ValueError(f"{what}: mode {mode!r} is not permission bits (0o000..0o777)")


def set_pin_mode(path: str, mode: int) -> None:
    """Give a fresh pin exactly ``mode`` (the kernel applies the umask to its 0600)."""
    os.chmod(path, mode)
