"""Phase 6, execute: maps as Python mappings of typed keys and values."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from libbpf_py._codec import (
    Codec,
    PerCpuCodec,
    btf_int_layout,
    possible_cpus,
    value_codec,
)
from libbpf_py._lowlevel import check, ffi, lib, raise_errno
from libbpf_py.enums import MapType
from libbpf_py.errors import KeyNotFound, MapFullError, PhaseError

if TYPE_CHECKING:
    from libbpf_py.loaded import LoadedObject

__all__ = ["Map", "MapInfo", "UpdateFlag", "map_info"]

_PERCPU = {MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH,
           MapType.PERCPU_CGROUP_STORAGE}


class UpdateFlag:
    """Flags for :meth:`Map.update`: create or replace, only create, only replace, lock."""

    ANY = 0
    NOEXIST = 1
    EXIST = 2
    LOCK = 4


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


class Map:
    """A loaded map: ``m[key]``, ``m[key] = value``, ``del m[key]``, ``key in m``, ...

    Keys and values are ``bytes`` of the exact size, or ``int`` where the map's BTF says
    the key or value is an integer. Per-CPU maps give one value per possible CPU.
    Map operations may be used from several threads at once.
    """

    def __init__(self, owner: LoadedObject | None, ptr: Any, fd: int, name: str,
                 map_type: MapType, key_size: int, value_size: int, max_entries: int,
                 flags: int, btf: Any = ffi.NULL, key_type_id: int = 0,
                 value_type_id: int = 0) -> None:
        self._owner = owner
        self._ptr = ptr
        self._fd = fd
        self.name = name
        self.type = map_type
        self.key_size = key_size
        self.value_size = value_size
        self.max_entries = max_entries
        self.flags = flags
        self._closed = False
        self.key_codec: Codec = value_codec(key_size, btf_int_layout(btf, key_type_id),
                                            f"the key of map {name!r}")
        inner = value_codec(value_size, btf_int_layout(btf, value_type_id),
                            f"the value of map {name!r}")
        self.value_codec: Codec = (PerCpuCodec(inner, possible_cpus())
                                   if map_type in _PERCPU else inner)
        self._value_type = f"char[{self.value_codec.size}]"

    def __repr__(self) -> str:
        return (f"<Map {self.name!r} {self.type.label} key={self.key_size}B "
                f"value={self.value_size}B max_entries={self.max_entries}"
                f"{' closed' if self._closed else ''}>")

    @property
    def fd(self) -> int:
        """The map's file descriptor (owned by the map; do not close it)."""
        if self._closed:
            self._raise_closed("Map.fd")
        return self._fd

    def _raise_closed(self, what: str) -> None:
        raise PhaseError(f"{what}: map {self.name!r} is closed (its object was closed); "
                         "use maps of an open LoadedObject", phase="closed", needed="loaded")

    def _key(self, key: Any) -> bytes:
        return self.key_codec.encode(key)

    def _lookup(self, key: Any) -> Any:
        if self._closed:
            self._raise_closed("map lookup")
        k = self.key_codec.encode(key)
        out = ffi.new(self._value_type)
        ret = lib.bpf_map_lookup_elem(self._fd, k, out)
        if ret < 0:
            if -ret == errno.ENOENT:
                return _MISSING
            check(ret, f"looking up a key in map {self.name!r}")
        return self.value_codec.decode(ffi.buffer(out)[:])

    def __getitem__(self, key: Any) -> Any:
        value = self._lookup(key)
        if value is _MISSING:
            raise KeyNotFound(f"map {self.name!r} has no entry for key {key!r}",
                              errno=errno.ENOENT)
        return value

    def get(self, key: Any, default: Any = None) -> Any:
        """Return the value for ``key``, or ``default`` if the map has none."""
        value = self._lookup(key)
        return default if value is _MISSING else value

    def __contains__(self, key: Any) -> bool:
        return self._lookup(key) is not _MISSING

    def update(self, key: Any, value: Any, flags: int = UpdateFlag.ANY) -> None:
        """Set ``key`` to ``value``; ``flags`` is an :class:`UpdateFlag` combination."""
        if self._closed:
            self._raise_closed("map update")
        k = self.key_codec.encode(key)
        v = self.value_codec.encode(value)
        ret = lib.bpf_map_update_elem(self._fd, k, v, flags)
        if ret < 0:
            if -ret == errno.E2BIG and "ARRAY" in self.type.name:
                raise KeyNotFound(f"map {self.name!r} is an array of max_entries="
                                  f"{self.max_entries}: key {key!r} is out of range",
                                  errno=errno.E2BIG)
            if -ret == errno.E2BIG:
                raise MapFullError(f"map {self.name!r} is full: it holds max_entries="
                                   f"{self.max_entries} entries (delete some, or raise "
                                   "max_entries on the OpenMap before load)", errno=errno.E2BIG)
            if -ret == errno.ENOENT and flags & UpdateFlag.EXIST:
                raise KeyNotFound(f"map {self.name!r} has no entry for key {key!r} to replace",
                                  errno=errno.ENOENT)
            raise raise_errno(-ret, f"updating map {self.name!r}")

    def __setitem__(self, key: Any, value: Any) -> None:
        self.update(key, value)

    def __delitem__(self, key: Any) -> None:
        if self._closed:
            self._raise_closed("map delete")
        k = self.key_codec.encode(key)
        ret = lib.bpf_map_delete_elem(self._fd, k)
        if ret < 0:
            if -ret == errno.ENOENT:
                raise KeyNotFound(f"map {self.name!r} has no entry for key {key!r}",
                                  errno=errno.ENOENT)
            hint = ("entries of array maps cannot be deleted; set them to zero instead"
                    if -ret == errno.EINVAL and "ARRAY" in self.type.name else "")
            raise raise_errno(-ret, f"deleting from map {self.name!r}", hint=hint)

    def _raw_keys(self) -> Iterator[bytes]:
        if self._closed:
            self._raise_closed("map iteration")
        size = self.key_size
        current = ffi.NULL
        nxt = ffi.new(f"char[{size}]")
        while True:
            ret = lib.bpf_map_get_next_key(self._fd, current, nxt)
            if ret < 0:
                if -ret == errno.ENOENT:
                    return
                check(ret, f"iterating over map {self.name!r}")
            key = ffi.buffer(nxt)[:]
            yield key
            current = ffi.new(f"char[{size}]", key)

    def keys(self) -> Iterator[Any]:
        """Iterate over the keys (decoded)."""
        decode = self.key_codec.decode
        for raw in self._raw_keys():
            yield decode(raw)

    __iter__ = keys

    def items(self) -> Iterator[tuple[Any, Any]]:
        """Iterate over (key, value) pairs; keys deleted meanwhile are skipped."""
        decode = self.key_codec.decode
        for raw in self._raw_keys():
            value = self._lookup(raw)
            if value is not _MISSING:
                yield decode(raw), value

    def values(self) -> Iterator[Any]:
        """Iterate over the values."""
        for _, value in self.items():
            yield value

    def __len__(self) -> int:
        return sum(1 for _ in self._raw_keys())

    def info(self) -> MapInfo:
        """Ask the kernel about this map."""
        return map_info(self.fd, self.name)

    @property
    def id(self) -> int:
        """The kernel's id for this map (``bpftool map show id N``)."""
        return self.info().id

    def _invalidate(self) -> None:
        self._closed = True
        self._fd = -1


_MISSING: Any = object()


def map_info(fd: int, name: str = "") -> MapInfo:
    """Ask the kernel about the map behind ``fd`` (``bpf_map_get_info_by_fd``)."""
    info = ffi.new("struct bpf_map_info *")
    size = ffi.new("__u32 *", ffi.sizeof("struct bpf_map_info"))
    what = f"map {name!r}" if name else f"the map of fd {fd}"
    check(lib.bpf_map_get_info_by_fd(fd, info, size), f"reading the info of {what}")
    return MapInfo(id=info.id, name=ffi.string(info.name).decode(errors="replace"),
                   type=MapType.coerce(info.type), key_size=info.key_size,
                   value_size=info.value_size, max_entries=info.max_entries,
                   flags=info.map_flags, btf_id=info.btf_id)
