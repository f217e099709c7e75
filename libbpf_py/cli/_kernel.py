"""BPF objects named on the command line (``id:N``, a bpffs pin, a name) and the raw map
access of ``map dump|lookup|update|delete``, on top of :mod:`libbpf_py.kernel`.

The CLI works on objects any process loaded, so it holds plain fds rather than the
library's handles; each call is narrated in teaching mode.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from libbpf_py import kernel
from libbpf_py._lowlevel import check, ffi, lib
from libbpf_py.errors import BpfError, NotFound, error_from_errno
from libbpf_py.explain import narrate
from libbpf_py.maps._map import MapInfo
from libbpf_py.query import kernel_btf
from libbpf_py.types.typed import TypeCodecs

__all__ = ["KernelMap", "map_btf", "open_map", "open_ref"]

_Entry = kernel.ProgramEntry | kernel.MapEntry | kernel.LinkEntry
_ENTRIES: dict[str, type[_Entry]] = {
    "prog": kernel.ProgramEntry,
    "map": kernel.MapEntry,
    "link": kernel.LinkEntry,
}
_WORDS = {"prog": "program", "map": "map", "link": "link"}


def _named(kind: str, name: str) -> _Entry:
    found: list[_Entry] = []
    found.extend(kernel.programs(name) if kind == "prog" else kernel.maps(name))
    if not found:
        raise NotFound(f"no loaded {_WORDS[kind]} is named {name!r} (see 'libbpf-py {kind} list')")
    if len(found) > 1:
        raise BpfError(
            f"{len(found)} loaded {_WORDS[kind]}s are named {name!r} (ids "
            f"{', '.join(str(e.id) for e in found)}): give one as id:N"
        )
    return found[0]


def open_ref(kind: str, ref: str) -> int:
    """An fd for ``ref``: ``id:N`` or ``N``, a bpffs pin path, or (prog, map) a name."""
    text = ref.strip()
    entry: _Entry
    if text.startswith("id:") or text.isdigit():
        number = text.removeprefix("id:")
        if not number.isdigit():
            raise ValueError(f"{ref!r} is not an id: write id:N with a number N")
        entry = _ENTRIES[kind](int(number))
    elif "/" in text:
        entry = kernel.pinned(text)
        if not isinstance(entry, _ENTRIES[kind]):
            found = next(k for k, cls in _ENTRIES.items() if isinstance(entry, cls))
            raise ValueError(f"{text} pins a {_WORDS[found]}, not a {_WORDS[kind]}")
    elif kind == "link":
        raise ValueError(f"links have no names: give id:N or a pin path, not {ref!r}")
    else:
        entry = _named(kind, text)
    return entry.open_fd()


def map_btf(info: MapInfo) -> tuple[TypeCodecs | None, int, int]:
    """The engine of the map's BTF, its key type id and value type id; (None, 0, 0)
    without BTF."""
    if not info.btf_id or not info.btf_value_type_id:
        return None, 0, 0
    types = kernel_btf(info.btf_id)
    if types is None:
        return None, 0, 0
    return types, info.btf_key_type_id, info.btf_value_type_id


@dataclass
class KernelMap:
    """A map opened by id, pin or name: raw lookups, updates, deletes and iteration."""

    fd: int
    info: MapInfo
    percpu: bool
    cpus: int

    @property
    def name(self) -> str:
        """The map's name as the kernel keeps it."""
        return self.info.name

    @property
    def key_size(self) -> int:
        """Bytes of a key."""
        return self.info.key_size

    @property
    def value_size(self) -> int:
        """Bytes of a value (of one CPU's, for per-CPU maps)."""
        return self.info.value_size

    @property
    def value_bytes(self) -> int:
        """Bytes of one lookup's value (per-CPU values are 8-byte aligned, one per CPU)."""
        return (self.value_size + 7) // 8 * 8 * self.cpus if self.percpu else self.value_size

    def lookup(self, key: bytes) -> bytes | None:
        """The raw value of ``key``, or None."""
        out = ffi.new("char[]", max(self.value_bytes, 1))
        ret = lib.bpf_map_lookup_elem(self.fd, key, out)
        if ret < 0:
            if -ret == errno.ENOENT:
                return None
            check(ret, f"looking up a key in map {self.name!r}")
        return bytes(ffi.buffer(out, self.value_bytes))

    def update(self, key: bytes, value: bytes) -> None:
        """Set ``key`` to ``value`` (raw bytes)."""
        ret = lib.bpf_map_update_elem(self.fd, key, value, 0)
        if ret < 0:
            raise error_from_errno(-ret, f"updating map {self.name!r}")
        narrate(f"bpf_map_update_elem({self.name!r}, {key.hex()})", "ok", phase="execute")

    def delete(self, key: bytes) -> None:
        """Delete ``key``; NotFound if absent."""
        ret = lib.bpf_map_delete_elem(self.fd, key)
        if ret < 0:
            if -ret == errno.ENOENT:
                raise NotFound(f"map {self.name!r} has no entry for that key", errno=-ret)
            hint = "entries of array maps cannot be deleted" if -ret == errno.EINVAL else ""
            raise error_from_errno(-ret, f"deleting from map {self.name!r}", hint=hint)
        narrate(f"bpf_map_delete_elem({self.name!r}, {key.hex()})", "ok", phase="execute")

    def raw_keys(self) -> Iterator[bytes]:
        """Every key, raw (``bpf_map_get_next_key``)."""
        current: Any = ffi.NULL
        nxt = ffi.new("char[]", max(self.key_size, 1))
        while True:
            ret = lib.bpf_map_get_next_key(self.fd, current, nxt)
            if ret < 0:
                if -ret == errno.ENOENT:
                    return
                check(ret, f"iterating over map {self.name!r}")
            key = bytes(ffi.buffer(nxt, self.key_size))
            yield key
            current = ffi.new("char[]", key)


_PERCPU = {"percpu_hash", "percpu_array", "lru_percpu_hash", "percpu_cgroup_storage"}


def open_map(ref: str) -> KernelMap:
    """Open the map ``ref`` names (see :func:`open_ref`)."""
    from libbpf_py.maps._map import map_info
    from libbpf_py.query import possible_cpus

    fd = open_ref("map", ref)
    try:
        info = map_info(fd)
    except BaseException:
        os.close(fd)
        raise
    return KernelMap(fd, info, info.type.name.lower() in _PERCPU, possible_cpus())
