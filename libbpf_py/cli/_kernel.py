"""The kernel's view of BPF objects by id, pin or name, for the CLI's list/show/dump.

These are the few calls ``prog``, ``map`` and ``link`` need (``bpf_*_get_next_id``,
``bpf_*_get_fd_by_id``, ``bpf_obj_get``, the info calls), made directly so that the CLI
works on objects any process loaded. Each call is narrated in teaching mode.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from libbpf_py._lowlevel import check, ffi, lib
from libbpf_py.errors import BpfError, NotFound, error_from_errno
from libbpf_py.explain import narrate

__all__ = ["KINDS", "KernelMap", "fd_of", "ids", "map_btf", "open_map", "open_ref"]

KINDS = ("prog", "map", "link")
_NEXT = {"prog": "bpf_prog_get_next_id", "map": "bpf_map_get_next_id",
         "link": "bpf_link_get_next_id"}
_BY_ID = {"prog": "bpf_prog_get_fd_by_id", "map": "bpf_map_get_fd_by_id",
          "link": "bpf_link_get_fd_by_id"}
_WORDS = {"prog": "program", "map": "map", "link": "link"}


def ids(kind: str) -> list[int]:
    """Every id of this kind the kernel knows now, ascending."""
    next_id = ffi.new("__u32 *")
    current, found = 0, []
    call = getattr(lib, _NEXT[kind])
    while True:
        ret = call(current, next_id)
        if ret < 0:
            if -ret == errno.ENOENT:
                break
            check(ret, f"listing {_WORDS[kind]}s ({_NEXT[kind]})")
        current = next_id[0]
        found.append(current)
    narrate(f"{_NEXT[kind]}() x{len(found) + 1}", f"{len(found)} ids", phase="inspect")
    return found


def fd_of(kind: str, ident: int) -> int:
    """A new fd for the object with this id (the caller closes it)."""
    fd = getattr(lib, _BY_ID[kind])(ident)
    if fd < 0:
        if -fd == errno.ENOENT:
            raise NotFound(f"there is no {_WORDS[kind]} with id {ident}", errno=-fd)
        raise error_from_errno(-fd, f"opening {_WORDS[kind]} id {ident}")
    narrate(f"{_BY_ID[kind]}({ident})", f"fd {fd}", phase="inspect")
    return int(fd)


def _fd_by_name(kind: str, name: str) -> int:
    from libbpf_py.maps import map_info
    from libbpf_py.program import program_info

    info_of = program_info if kind == "prog" else map_info
    matches: list[tuple[int, int]] = []
    for ident in ids(kind):
        try:
            fd = fd_of(kind, ident)
        except NotFound:
            continue  # unloaded meanwhile
        # The kernel keeps 15 characters of a name.
        if info_of(fd).name == name[:15]:
            matches.append((ident, fd))
        else:
            os.close(fd)
    if len(matches) == 1:
        return matches[0][1]
    for _, fd in matches:
        os.close(fd)
    if not matches:
        raise NotFound(f"no loaded {_WORDS[kind]} is named {name!r} (see 'libbpf-py {kind} "
                       "list')")
    raise BpfError(f"{len(matches)} loaded {_WORDS[kind]}s are named {name!r} (ids "
                   f"{', '.join(str(i) for i, _ in matches)}): give one as id:N")


def open_ref(kind: str, ref: str) -> int:
    """An fd for ``ref``: ``id:N`` or ``N``, a bpffs pin path, or (prog, map) a name."""
    text = ref.strip()
    if text.startswith("id:") or text.isdigit():
        number = text.removeprefix("id:")
        if not number.isdigit():
            raise ValueError(f"{ref!r} is not an id: write id:N with a number N")
        return fd_of(kind, int(number))
    if "/" in text:
        if not os.path.exists(text):
            raise NotFound(f"no pin at {text}")
        fd = lib.bpf_obj_get(os.fsencode(text))
        if fd < 0:
            raise error_from_errno(-fd, f"opening the pin {text}",
                                   hint="is it on a bpffs (/sys/fs/bpf)?")
        narrate(f"bpf_obj_get({text!r})", f"fd {fd}", phase="inspect")
        found = _kind_of_fd(int(fd))
        if found != kind:
            os.close(fd)
            raise ValueError(f"{text} pins a {_WORDS.get(found, 'thing')}, not a "
                             f"{_WORDS[kind]}")
        return int(fd)
    if kind == "link":
        raise ValueError(f"links have no names: give id:N or a pin path, not {ref!r}")
    return _fd_by_name(kind, text)


def _kind_of_fd(fd: int) -> str:
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return "?"
    return {"anon_inode:bpf-prog": "prog", "anon_inode:bpf-map": "map",
            "anon_inode:bpf_link": "link", "anon_inode:bpf-link": "link"}.get(target, "?")


def map_btf(fd: int) -> tuple[Any, int, int]:
    """The map's BTF (parsed), key type id and value type id; (None, 0, 0) without BTF."""
    from libbpf_py.inspect import read_btf

    info = ffi.new("struct bpf_map_info *")
    size = ffi.new("__u32 *", ffi.sizeof("struct bpf_map_info"))
    check(lib.bpf_map_get_info_by_fd(fd, info, size), "reading a map's info")
    if not info.btf_id or not info.btf_value_type_id:
        return None, 0, 0
    btf_fd = lib.bpf_btf_get_fd_by_id(info.btf_id)
    if btf_fd < 0:
        return None, 0, 0
    try:
        binfo = ffi.new("struct bpf_btf_info *")
        bsize = ffi.new("__u32 *", ffi.sizeof("struct bpf_btf_info"))
        check(lib.bpf_btf_get_info_by_fd(btf_fd, binfo, bsize), "reading a map's BTF size")
        length = binfo.btf_size
        buf = ffi.new("char[]", length)
        again = ffi.new("struct bpf_btf_info *")
        again.btf = int(ffi.cast("uintptr_t", buf))
        again.btf_size = length
        bsize[0] = ffi.sizeof("struct bpf_btf_info")
        check(lib.bpf_btf_get_info_by_fd(btf_fd, again, bsize), "reading a map's BTF")
        narrate(f"bpf_btf_get_info_by_fd(btf id {info.btf_id})", f"{length} bytes of BTF",
                phase="inspect")
        raw = bytes(ffi.buffer(buf, length))
    finally:
        os.close(btf_fd)
    try:
        return read_btf(raw), int(info.btf_key_type_id), int(info.btf_value_type_id)
    except BpfError:
        return None, 0, 0


@dataclass
class KernelMap:
    """A map opened by id, pin or name: raw lookups, updates, deletes and iteration."""

    fd: int
    name: str
    type_name: str
    key_size: int
    value_size: int
    max_entries: int
    percpu: bool
    cpus: int

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
    from libbpf_py._codec import possible_cpus
    from libbpf_py.maps import map_info

    fd = open_ref("map", ref)
    info = map_info(fd)
    kind = info.type.name.lower()
    return KernelMap(fd, info.name, kind, info.key_size, info.value_size, info.max_entries,
                     kind in _PERCPU, possible_cpus())
