"""Phase 6, execute: maps as Python containers of typed keys and values.

A :class:`Map` chooses its codecs once, when it is made, from the map type and BTF; the
hot paths never dispatch on types per call:

- single entries of hashes, arrays and per-CPU maps whose codecs have plans (ints,
  bytes, enums, floats, char arrays, and arrays and structs of those) are one C call each, from
  the Python key to the decoded value (``csrc/mapcore.c``);
- arrays made with ``BPF_F_MMAPABLE`` are read and written through a memory mapping,
  with no system call at all;
- arena maps give their pages as an :class:`~libbpf_py.maps._arena.Arena` (``m.arena``);
- ``items()``, ``keys()``, ``values()``, ``len()`` and :meth:`Map.to_numpy` dump the map
  with batch system calls in C where the kernel has them for the map type.

One class body holds every job of a map: construction, the single-entry mapping
protocol, queues and bloom filters, the whole map at once (iteration, batches,
``to_numpy()``), standalone maps, pins and info. The subclasses at the end are the
C, mmapped and arena fast paths; :func:`make_map` chooses a map's class before making
it. Key and value types come from ``libbpf_py.types``.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from typing import Any, Literal, NamedTuple, cast

from libbpf_py import features
from libbpf_py._lowlevel import check, errno_of, ffi, lib, libbpf_error
from libbpf_py._lowlevel.mapcore import MapCore, Plan, bind_general
from libbpf_py._lowlevel.owner import Fd, OwnedFd, Owner
from libbpf_py.enums import MapType
from libbpf_py.errors import (
    BpfError,
    KeyNotFound,
    LayoutError,
    MapFullError,
    NotSupported,
    PermissionDenied,
    PhaseError,
    ResourceBusy,
)
from libbpf_py.explain import narrate
from libbpf_py.features import check as check_feature
from libbpf_py.link._link import Link, StructOpsLink, StructOpsRegistration
from libbpf_py.maps._arena import Arena
from libbpf_py.maps._codecs import (
    CpumapValueCodec,
    DevmapValueCodec,
    FdValueCodec,
    LpmKeyCodec,
    UntypedCodec,
)
from libbpf_py.maps._kinds import ARRAYS, FD_VALUES, KEYLESS, MISSING, PERCPU, UpdateFlag
from libbpf_py.mounts import check_pin_mode as check_pin_mode
from libbpf_py.mounts import check_pin_path
from libbpf_py.mounts import set_pin_mode as set_pin_mode
from libbpf_py.query import MapInfo, kernel_btf, map_info, possible_cpus
from libbpf_py.query import libbpf_btf as libbpf_btf
from libbpf_py.token import Token
from libbpf_py.types._codec import BytesCodec, Codec, IntCodec, PerCpu, PerCpuCodec
from libbpf_py.types._map_btf import TypeRef, explicit_codec, type_ref
from libbpf_py.types._map_btf import declared_types as declared_types
from libbpf_py.types.typed import TypeCodecs, simple_type

__all__ = ["Map", "MapInfo", "PerCpu", "TypeRef", "UpdateFlag", "map_info"]

# Map types whose entries the plain integer fast path may serve.
# The maps whose single-entry operations C may do (their codecs permitting): the lookup,
# update and delete of these read and write exactly key and value bytes.
_FAST = {
    MapType.HASH,
    MapType.ARRAY,
    MapType.LRU_HASH,
    MapType.PERCPU_HASH,
    MapType.PERCPU_ARRAY,
    MapType.LRU_PERCPU_HASH,
}
# Map types besides arrays whose key the kernel defines as a u32 (typed without BTF).
_U32_KEYS = {MapType.STACK_TRACE, MapType.STRUCT_OPS}
BATCH_CHUNK = 8192

_NO_BATCH = (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, 524)  # 524: ENOTSUPP


def _decode_all(n: int, raw: bytearray, codec: Codec, size: int) -> list[Any]:
    fmt = getattr(codec, "fmt", None)
    if type(codec) is IntCodec and fmt:
        return memoryview(raw)[: n * size].cast(fmt).tolist()
    dec = codec.decode
    mv = memoryview(raw)
    return [dec(bytes(mv[i : i + size])) for i in range(0, n * size, size)]


def _batch_opts(flags: int = 0) -> Any:
    opts = ffi.new("struct bpf_map_batch_opts *")
    opts.sz = ffi.sizeof("struct bpf_map_batch_opts")
    opts.elem_flags = flags
    return opts


def _frozen(fd: int) -> bool:
    """Whether the kernel says the map behind ``fd`` is frozen (its fdinfo's ``frozen:``
    line; bpf_map_info has no such field)."""
    try:
        with open(f"/proc/self/fdinfo/{fd}") as f:
            for line in f:
                if line.startswith("frozen:"):
                    return line.split()[1] != "0"
    except OSError:
        pass
    return False


class Map(Owner):
    """A map: ``m[key]``, ``m[key] = value``, ``del m[key]``, ``key in m``, ``len(m)``...

    Keys and values are Python values decoded with the map's BTF (ints, enums,
    generated struct classes, lists, bytes), or raw ``bytes`` of the exact size, always
    accepted. Per-CPU maps give a :class:`PerCpu` list, one value per possible CPU, and
    take one value (written to every CPU) or a sequence.

    Maps of a :class:`LoadedObject` borrow their fd from it and live as long as their
    object (``close()`` on them does nothing). Maps from :meth:`create`,
    :meth:`from_pin` and :meth:`from_id` own their fd: close them, use ``with``, or
    hand the fd over with :meth:`disown`. Map operations may be used from several
    threads at once.
    """

    _phase_name = "loaded"

    def __init__(
        self,
        fd: Fd,
        ptr: Any,
        name: str,
        map_type: MapType,
        key_size: int,
        value_size: int,
        max_entries: int,
        flags: int,
        *,
        types: TypeCodecs | None = None,
        key_type_id: int = 0,
        value_type_id: int = 0,
        key_type: Any = None,
        value_type: Any = None,
        keep: Any = None,
        codecs: _Codecs | None = None,
    ) -> None:
        if codecs is None:
            codecs = _codecs(
                name,
                map_type,
                key_size,
                value_size,
                types,
                key_type_id,
                value_type_id,
                key_type,
                value_type,
            )
        # Owned (a standalone map) or borrowed from the LoadedObject the map belongs to.
        self._fd = fd
        # The engine of the BTF this map came with (its object's, shared): record types
        # of ring and perf buffers on this map are found in it.
        self._types = types
        self._ptr = ptr
        self._keep = keep  # e.g. the inner map a map-in-map was created from
        self.name = name
        self.type = map_type
        self.key_size = key_size
        self.value_size = value_size
        self.max_entries = max_entries
        self.flags = flags
        self._pin_path: str | None = None
        self._mmap: Any = None
        self._mv: Any = None
        self._raw: Any = None
        self.key_type = codecs.key_type
        self.value_type = codecs.value_type
        self.key_codec: Codec = codecs.key
        self.value_codec: Codec = codecs.value
        self._vsize = self.value_codec.size
        self._vtype = f"char[{max(self._vsize, 1)}]"
        self._kenc = self.key_codec.encode
        self._kdec = self.key_codec.decode
        self._venc = self.value_codec.encode
        self._vdec = self.value_codec.decode
        self._batch_ok = map_type not in KEYLESS and map_type != MapType.LPM_TRIE
        self._closed = False

    # -- standalone maps ---------------------------------------------------------------

    @classmethod
    def create(
        cls,
        type: MapType | int | str,
        key_size: int,
        value_size: int,
        max_entries: int,
        *,
        name: str | None = None,
        flags: int = 0,
        key_type: Any = None,
        value_type: Any = None,
        inner_map: Map | None = None,
        map_extra: int = 0,
        token: Token | None = None,
        numa_node: int | None = None,
    ) -> Map:
        """Create a standalone map (``bpf_map_create``); close it or use ``with``.

        ``key_type``/``value_type`` choose the Python view: ``"u32"``, ``"s64"``,
        ``"bytes"``..., or the :class:`TypeRef` of another map (``m.value_type``).
        ``inner_map`` is the template of a map-in-map's inner maps. ``map_extra`` is
        the type's extra setting (a bloom filter's number of hash functions, an
        arena's user-space address); ``numa_node`` places the map's memory on that
        NUMA node (it adds ``BPF_F_NUMA_NODE`` to ``flags``, without which the kernel
        ignores the node). ``token`` (a
        :class:`~libbpf_py.token.Token`, Linux 6.9+) creates the map through a BPF
        token, as a process in a user namespace must.
        """
        map_type = MapType.coerce(type)
        label = name or map_type.name.lower()
        if map_type == MapType.ARENA:
            flags |= lib.BPF_F_MMAPABLE  # the kernel makes no arena user space cannot map
        opts = ffi.new("struct bpf_map_create_opts *")
        opts.sz = ffi.sizeof("struct bpf_map_create_opts")
        if numa_node is not None:
            flags |= lib.BPF_F_NUMA_NODE
            opts.numa_node = numa_node
        opts.map_flags = flags
        opts.map_extra = map_extra
        if token is not None:
            # Only with a token: kernels before 6.9 refuse the flag.
            opts.token_fd = token.fd
            opts.map_flags = flags | lib.BPF_F_TOKEN_FD
        if inner_map is not None:
            opts.inner_map_fd = inner_map.fd
        elif map_type in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
            raise ValueError(
                f"a {map_type.name} map needs inner_map=: a map whose shape "
                "the inner maps will have"
            )
        fd = lib.bpf_map_create(
            map_type, label[:15].encode(), key_size, value_size, max_entries, opts
        )
        if fd < 0 and map_type == MapType.ARENA:
            refused = features.check("map_type:arena")
            if refused:
                raise NotSupported(
                    f"creating arena map {label!r}: {refused} ({os.strerror(-fd)}); arenas "
                    "need Linux 6.9 or later with a BPF JIT, and a kernel that lets this "
                    "process make them",
                    errno=-fd,
                )
        check(
            fd,
            f"creating {map_type.name} map {label!r} (key {key_size} bytes, value "
            f"{value_size} bytes, max_entries={max_entries})",
        )
        owned = OwnedFd(fd)
        try:
            return make_map(
                owned,
                ffi.NULL,
                label,
                map_type,
                key_size,
                value_size,
                max_entries,
                flags,
                key_type=key_type,
                value_type=value_type,
                keep=inner_map,
            )
        except BaseException:
            owned.close()
            raise

    @classmethod
    def from_pin(
        cls, path: str | os.PathLike[str], *, key_type: Any = None, value_type: Any = None
    ) -> Map:
        """Open the map pinned at ``path``, typed from its BTF if it has one (or from
        ``key_type``/``value_type``, as for :meth:`create`)."""
        fd = check(lib.bpf_obj_get(os.fsencode(path)), f"opening the pinned map {path}")
        return cls._from_fd(fd, str(path), key_type, value_type)

    @classmethod
    def from_id(cls, map_id: int, *, key_type: Any = None, value_type: Any = None) -> Map:
        """Open the map with kernel id ``map_id`` (``bpftool map show id N``)."""
        fd = check(lib.bpf_map_get_fd_by_id(map_id), f"opening the map with id {map_id}")
        return cls._from_fd(fd, f"id {map_id}", key_type, value_type)

    @classmethod
    def _from_fd(cls, fd: int, where: str, key_type: Any, value_type: Any) -> Map:
        owned = OwnedFd(fd)
        try:
            info = map_info(fd)
            types = kernel_btf(info.btf_id) if info.btf_id else None
            return make_map(
                owned,
                ffi.NULL,
                info.name or where,
                info.type,
                info.key_size,
                info.value_size,
                info.max_entries,
                info.flags,
                types=types,
                key_type_id=info.btf_key_type_id,
                value_type_id=info.btf_value_type_id,
                key_type=key_type,
                value_type=value_type,
            )
        except BaseException:
            owned.close()
            raise

    # -- life --------------------------------------------------------------------------

    def __repr__(self) -> str:
        return (
            f"<Map {self.name!r} {self.type.name} key={self.key_size}B "
            f"value={self.value_size}B max_entries={self.max_entries}"
            f"{' closed' if self._closed else ''}>"
        )

    @property
    def fd(self) -> int:
        """The map's file descriptor (owned by the map; do not close it)."""
        if self._closed:
            self._raise_closed("Map.fd")
        return self._fd.number

    @property
    def mmapped(self) -> bool:
        """Whether entries are read and written through a memory mapping (no syscalls)."""
        return self._mmap is not None

    @property
    def arena(self) -> Arena:
        """The pages of an arena map (``BPF_MAP_TYPE_ARENA``) as this process maps them.

        Other maps raise :class:`~libbpf_py.errors.NotSupported`.
        """
        if self._closed:
            self._raise_closed("Map.arena")
        raise NotSupported(
            f"map {self.name!r} is a {self.type.label} map: only arena maps have an arena"
        )

    def close(self) -> None:
        """Close a standalone map. Maps of a LoadedObject close with their object."""
        if self._fd.owned:
            super().close()

    def disown(self) -> int:
        """Hand a standalone map's fd over to the caller, who closes it from now on.

        This handle is closed afterwards (an mmapped array is unmapped). A map of an
        object raises :class:`~libbpf_py.errors.PhaseError`: its fd is its object's.
        """
        if self._closed:
            self._raise_closed("disown()")
        fd = self._fd.disown(f"map {self.name!r}")
        self.close()
        return fd

    def _release(self) -> None:
        self._invalidate()

    def _warns_when_dropped(self) -> bool:
        return self._fd.owned

    def _invalidate(self) -> None:
        """Make every later use raise PhaseError; unmap, and close the fd if owned.

        Its object calls this as it closes, for the maps that borrow its fds.
        """
        self._closed = True
        if self._mv is not None:
            self._mv.release()
            self._raw.release()
        if self._mmap is not None:
            lib.lpy_munmap(*self._mmap)
            self._mmap = None
        self._fd.close()

    def _raise_closed(self, what: str) -> None:
        raise PhaseError(
            f"{what}: map {self.name!r} {self._fd.why_closed}; use maps of an "
            "open LoadedObject or an open Map",
            phase="closed",
            needed="loaded",
        )

    # -- errors ------------------------------------------------------------------------

    def _error(self, err: int, action: str, key: Any = MISSING, flags: int = 0) -> BpfError:
        name = self.name
        if err == errno.ENOENT:
            if self.type in (MapType.QUEUE, MapType.STACK) and key is MISSING:
                return KeyNotFound(
                    f"{action}: {self.type.name.lower()} {name!r} is empty", errno=err
                )
            what = "to replace" if flags & UpdateFlag.EXIST else ""
            return KeyNotFound(
                f"map {name!r} has no entry for key {key!r} {what}".rstrip(), errno=err
            )
        if err == errno.E2BIG:
            if self.type in ARRAYS:
                return KeyNotFound(
                    f"map {name!r} is an array of max_entries="
                    f"{self.max_entries}: key {key!r} is out of range",
                    errno=err,
                )
            return MapFullError(
                f"map {name!r} is full: it holds max_entries="
                f"{self.max_entries} entries (delete some, or raise "
                "max_entries on the OpenMap before load)",
                errno=err,
            )
        if err == errno.EEXIST and flags & UpdateFlag.NOEXIST:
            return ResourceBusy(
                f"{action}: map {name!r} already has key {key!r} and NOEXIST was asked", errno=err
            )
        if err == errno.EPERM and not self._closed and _frozen(self._fd.number):
            # The capability hint of a plain EPERM would mislead: the map refuses writes.
            return PermissionDenied(
                f"{action} map {name!r}: the map is frozen (Map.freeze(), or a .rodata "
                "map after load), so the kernel refuses every write from user space; "
                "BPF programs may still write it",
                errno=err,
            )
        hint = ""
        if err == errno.EINVAL and self.type in ARRAYS and "delet" in action:
            hint = "entries of array maps cannot be deleted; set them to zero instead"
        return libbpf_error(err, f"{action} map {name!r}", hint=hint)

    # -- single entries (generic path) -------------------------------------------------

    def _lookup(self, key: Any) -> Any:
        if self._closed:
            self._raise_closed("map lookup")
        k = self._kenc(key)
        out = ffi.new(self._vtype)
        ret = lib.bpf_map_lookup_elem(self._fd.number, k, out)
        if ret < 0:
            if ret == -errno.ENOENT:
                return MISSING
            raise self._error(-ret, "looking up a key in", key)
        return self._vdec(ffi.unpack(out, self._vsize))

    def __getitem__(self, key: Any) -> Any:
        value = self._lookup(key)
        if value is MISSING:
            raise self._error(errno.ENOENT, "lookup", key)
        return value

    def get(self, key: Any, default: Any = None) -> Any:
        """Return the value for ``key``, or ``default`` if the map has none."""
        value = self._lookup(key)
        return default if value is MISSING else value

    def __contains__(self, key: Any) -> bool:
        if self.type == MapType.BLOOM_FILTER:
            return self._bloom_has(key)
        return self._lookup(key) is not MISSING

    def lookup(self, key: Any, *, cpu: int | None = None) -> Any:
        """The value of ``key`` (like ``m[key]``); ``cpu=N`` reads only CPU ``N``'s value
        of a per-CPU map, as one value rather than a :class:`PerCpu` list.

        ``cpu`` is the kernel's ``BPF_F_CPU`` flag; a kernel without it raises
        :class:`~libbpf_py.errors.NotSupported` with the probed reason
        (``command:map_elem_cpu``). A missing key raises :class:`KeyNotFound`.
        """
        if cpu is None:
            return self[key]
        if self._closed:
            self._raise_closed("map lookup")
        flags = self._cpu_flags(cpu, "lookup", lookup=True)
        inner = cast(PerCpuCodec, self.value_codec).inner
        out = ffi.new(f"char[{max(inner.size, 1)}]")
        ret = lib.bpf_map_lookup_elem_flags(self._fd.number, self._kenc(key), out, flags)
        if ret < 0:
            raise self._error(-ret, "lookup" if -ret == errno.ENOENT else "looking up", key)
        return inner.decode(ffi.unpack(out, inner.size))

    def update(
        self,
        key: Any,
        value: Any,
        flags: int = UpdateFlag.ANY,
        *,
        cpu: int | Literal["all"] | None = None,
    ) -> None:
        """Set ``key`` to ``value``; ``flags`` is an :class:`UpdateFlag` combination.

        On a per-CPU map, ``cpu=N`` writes one value into CPU ``N``'s slot only
        (``BPF_F_CPU``), and ``cpu="all"`` has the kernel copy one value into every
        CPU's slot (``BPF_F_ALL_CPUS``); both need a kernel that has the flags
        (``command:map_elem_cpu``), else :class:`~libbpf_py.errors.NotSupported`.
        """
        if self._closed:
            self._raise_closed("map update")
        k = self._kenc(key)
        if cpu is None:
            v = self._venc(value)
        else:
            flags |= self._cpu_flags(cpu, "update", lookup=False)
            v = cast(PerCpuCodec, self.value_codec).inner.encode(value)
        ret = lib.bpf_map_update_elem(self._fd.number, k, v, flags)
        if ret < 0:
            raise self._error(-ret, "updating", key, flags)

    def _cpu_flags(self, cpu: int | str, what: str, *, lookup: bool) -> int:
        """The ``BPF_F_CPU``/``BPF_F_ALL_CPUS`` flags for ``cpu``, checked first: the
        map must be per-CPU, the CPU possible and the kernel must have the flags."""
        if self.type not in PERCPU:
            raise ValueError(
                f"{what} with cpu={cpu!r}: map {self.name!r} is a {self.type.name} map; "
                "only per-CPU maps have a value per CPU"
            )
        if cpu == "all" and not lookup:
            flags = int(lib.BPF_F_ALL_CPUS)
        elif isinstance(cpu, int) and not isinstance(cpu, bool):
            ncpus = cast(PerCpuCodec, self.value_codec).ncpus
            if not 0 <= cpu < ncpus:
                raise ValueError(
                    f"{what} with cpu={cpu}: this machine has {ncpus} possible CPUs "
                    f"(0..{ncpus - 1})"
                )
            flags = int(lib.BPF_F_CPU) | cpu << 32
        else:
            also = "" if lookup else ' or "all"'
            raise ValueError(f"{what}: cpu must be a CPU number{also}, not {cpu!r}")
        reason = check_feature("command:map_elem_cpu")
        if reason is not None:
            raise NotSupported(
                f"{what} with cpu={cpu!r} on map {self.name!r}: command:map_elem_cpu: {reason}"
            )
        return flags

    def __setitem__(self, key: Any, value: Any) -> None:
        self.update(key, value)

    def __delitem__(self, key: Any) -> None:
        if self._closed:
            self._raise_closed("map delete")
        ret = lib.bpf_map_delete_elem(self._fd.number, self._kenc(key))
        if ret < 0:
            raise self._error(-ret, "deleting from", key)

    def pop(self, key: Any = MISSING, default: Any = MISSING) -> Any:
        """Remove and return a value: the entry of ``key`` (lookup-and-delete), or for
        queues and stacks the next element. ``default`` is returned instead of
        :class:`KeyNotFound` when there is none."""
        if self._closed:
            self._raise_closed("map pop")
        out = ffi.new(self._vtype)
        if key is MISSING:
            if self.type not in (MapType.QUEUE, MapType.STACK):
                raise TypeError(f"pop() on a {self.type.name} map needs a key")
            ret = lib.bpf_map_lookup_and_delete_elem(self._fd.number, ffi.NULL, out)
        else:
            ret = lib.bpf_map_lookup_and_delete_elem(self._fd.number, self._kenc(key), out)
        if ret < 0:
            if -ret == errno.ENOENT and default is not MISSING:
                return default
            raise self._error(-ret, "popping from", key)
        return self._vdec(ffi.unpack(out, self._vsize))

    # -- queues, stacks, bloom filters -----------------------------------------------

    def push(self, value: Any, *, overwrite: bool = False) -> None:
        """Push onto a queue or stack; ``overwrite`` drops the oldest when it is full."""
        if self._closed:
            self._raise_closed("map push")
        ret = lib.bpf_map_update_elem(
            self._fd.number,
            ffi.NULL,
            self._venc(value),
            UpdateFlag.EXIST if overwrite else UpdateFlag.ANY,
        )
        if ret < 0:
            raise self._error(-ret, "pushing onto")

    def peek(self, default: Any = MISSING) -> Any:
        """The next element of a queue or stack, without removing it."""
        if self._closed:
            self._raise_closed("map peek")
        out = ffi.new(self._vtype)
        ret = lib.bpf_map_lookup_elem(self._fd.number, ffi.NULL, out)
        if ret < 0:
            if -ret == errno.ENOENT and default is not MISSING:
                return default
            raise self._error(-ret, "peeking into")
        return self._vdec(ffi.unpack(out, self._vsize))

    def add(self, value: Any) -> None:
        """Add a value to a bloom filter."""
        if self._closed:
            self._raise_closed("bloom filter add")
        ret = lib.bpf_map_update_elem(self._fd.number, ffi.NULL, self._venc(value), 0)
        if ret < 0:
            raise self._error(-ret, "adding to")

    def _bloom_has(self, value: Any) -> bool:
        """Whether a bloom filter may hold ``value`` (``value in m``)."""
        if self._closed:
            self._raise_closed("bloom filter lookup")
        v = ffi.new(self._vtype, self._venc(value))
        ret = lib.bpf_map_lookup_elem(self._fd.number, ffi.NULL, v)
        if ret == -errno.ENOENT:
            return False
        if ret < 0:
            raise self._error(-ret, "looking up a value in")
        return True

    # -- whole map: iteration, batches, numpy ----------------------------------------

    def _raw_keys(self) -> Iterator[bytes]:
        if self._closed:
            self._raise_closed("map iteration")
        if self.type in KEYLESS:
            raise TypeError(
                f"a {self.type.name} map has no keys to iterate over "
                "(use pop/peek, or 'in' for bloom filters)"
            )
        size = self.key_size
        current = ffi.NULL
        nxt = ffi.new(f"char[{size}]")
        while True:
            ret = lib.bpf_map_get_next_key(self._fd.number, current, nxt)
            if ret < 0:
                if -ret == errno.ENOENT:
                    return
                raise self._error(-ret, "iterating over")
            key = ffi.unpack(nxt, size)
            yield key
            current = ffi.new(f"char[{size}]", key)

    def _dump_into(self, keys: Any, values: Any, cap: int, delete: bool) -> int:
        """Fill ``keys``/``values`` (room for ``cap`` entries) by batch system calls: the
        number of entries, or -errno."""
        more = ffi.new("int *")
        return int(
            lib.lpy_map_dump(
                self._fd.number,
                ffi.from_buffer(keys),
                ffi.from_buffer(values),
                self.key_size,
                self._vsize,
                cap,
                min(cap, BATCH_CHUNK) or 1,
                1 if delete else 0,
                more,
            )
        )

    def _dump(
        self, delete: bool = False, cap: int | None = None
    ) -> tuple[int, bytearray, bytearray] | None:
        """Every entry by batch system calls: (count, keys, values), or None if the
        kernel has no batch operations for this map type."""
        if self._closed:
            self._raise_closed("map dump")
        if not self._batch_ok:
            return None
        cap = self.max_entries if cap is None else cap
        keys = bytearray(cap * self.key_size)
        values = bytearray(cap * self._vsize)
        n = self._dump_into(keys, values, cap, delete)
        if n < 0:
            if -n in _NO_BATCH:
                self._batch_ok = False
                return None
            raise self._error(-n, "dumping")
        return n, keys, values

    def _decode_pairs(
        self, n: int, keys: bytearray, values: bytearray
    ) -> Iterator[tuple[Any, Any]]:
        return zip(
            _decode_all(n, keys, self.key_codec, self.key_size),
            _decode_all(n, values, self.value_codec, self._vsize),
            strict=True,
        )

    def items(self) -> Iterator[tuple[Any, Any]]:
        """The (key, value) pairs, by batches where the kernel has them."""
        dumped = self._dump()
        if dumped is None:
            return self._items_by_key()
        return self._decode_pairs(*dumped)

    def _items_by_key(self) -> Iterator[tuple[Any, Any]]:
        """The (key, value) pairs, one system call per key (no batches)."""
        for raw in list(self._raw_keys()):
            value = self._lookup(raw)
            if value is not MISSING:
                yield self._kdec(raw), value

    def keys(self) -> Iterator[Any]:
        """The keys (decoded), by batches where the kernel has them."""
        dumped = self._dump()
        if dumped is None:
            return (self._kdec(raw) for raw in self._raw_keys())
        n, keys, _ = dumped
        return iter(_decode_all(n, keys, self.key_codec, self.key_size))

    def values(self) -> Iterator[Any]:
        """The values, by batches where the kernel has them."""
        dumped = self._dump()
        if dumped is None:
            return (v for _, v in self._items_by_key())
        n, _, values = dumped
        return iter(_decode_all(n, values, self.value_codec, self._vsize))

    def __len__(self) -> int:
        """The number of entries (``len(m)``); an array always has ``max_entries``."""
        if self.type in ARRAYS:
            if self._closed:
                self._raise_closed("len()")
            return self.max_entries
        dumped = self._dump()
        if dumped is not None:
            return dumped[0]
        return sum(1 for _ in self._raw_keys())

    def clear(self) -> None:
        """Remove every entry (arrays: set every entry to zero)."""
        if self.type in ARRAYS:
            zero = b"\0" * self._vsize
            self.update_batch(list(range(self.max_entries)), [zero] * self.max_entries)
            return
        keys = (
            [self._kdec(k) for k in self._raw_keys()] if self._dump() is None else list(self.keys())
        )
        if keys:
            self.delete_batch(keys, missing_ok=True)

    def lookup_batch(self, max_count: int | None = None) -> list[tuple[Any, Any]]:
        """Up to ``max_count`` (default: all) entries by ``BPF_MAP_LOOKUP_BATCH``."""
        return self._batch_dump(False, max_count)

    def lookup_and_delete_batch(self, max_count: int | None = None) -> list[tuple[Any, Any]]:
        """Remove and return up to ``max_count`` (default: all) entries in batches.

        A hash map hands out whole buckets, so a capped call may return fewer than
        ``max_count`` entries while more remain.
        """
        return self._batch_dump(True, max_count)

    def _batch_dump(self, delete: bool, max_count: int | None) -> list[tuple[Any, Any]]:
        dumped = self._dump(delete, max_count)
        if dumped is None:
            raise NotSupported(
                f"the kernel has no batch operations for {self.type.name} "
                f"maps (map {self.name!r}); use items()"
            )
        return list(self._decode_pairs(*dumped))

    def _encode_many(self, items: Any, codec: Codec, size: int) -> tuple[Any, int]:
        """A buffer of ``len(items)`` encoded entries; numpy arrays pass through as is."""
        if hasattr(items, "__array_interface__") and hasattr(items, "dtype"):
            if items.dtype.itemsize != size:
                raise LayoutError(
                    f"map {self.name!r}: numpy items of {items.dtype} are "
                    f"{items.dtype.itemsize} bytes, entries are {size} bytes"
                )
            if not items.flags["C_CONTIGUOUS"]:
                items = items.copy(order="C")
            return items, len(items)
        encoded = [codec.encode(x) for x in items]
        return b"".join(encoded), len(encoded)

    def update_batch(
        self, keys: Iterable[Any], values: Iterable[Any], flags: int = UpdateFlag.ANY
    ) -> int:
        """Set many entries in one system call per batch; returns how many were set.

        ``keys``/``values`` are sequences of Python values or numpy arrays whose items
        have the entries' sizes (``to_numpy()``'s fields do).
        """
        if self._closed:
            self._raise_closed("update_batch")
        kbuf, nk = self._encode_many(keys, self.key_codec, self.key_size)
        vbuf, nv = self._encode_many(values, self.value_codec, self._vsize)
        if nk != nv:
            raise LayoutError(f"update_batch: {nk} keys but {nv} values")
        if nk == 0:
            return 0
        count = ffi.new("__u32 *", nk)
        ret = lib.bpf_map_update_batch(
            self._fd.number, ffi.from_buffer(kbuf), ffi.from_buffer(vbuf), count, _batch_opts(flags)
        )
        if ret < 0:
            if -ret in _NO_BATCH and count[0] == 0 and self.type in KEYLESS | {MapType.LPM_TRIE}:
                raise NotSupported(
                    f"the kernel has no batch updates for {self.type.name} maps (map {self.name!r})"
                )
            done = int(count[0])
            exc = self._error(-ret, f"update_batch (after {done} of {nk} entries) of", flags=flags)
            raise exc
        return int(count[0])

    def delete_batch(self, keys: Iterable[Any], *, missing_ok: bool = False) -> int:
        """Delete many keys in one system call; returns how many were deleted.

        A missing key raises :class:`KeyNotFound` (after the keys before it were
        deleted) unless ``missing_ok``.
        """
        if self._closed:
            self._raise_closed("delete_batch")
        keys = list(keys)
        encoded = [self._kenc(k) for k in keys]
        done = 0
        while done < len(encoded):
            buf = b"".join(encoded[done:])
            count = ffi.new("__u32 *", len(encoded) - done)
            ret = lib.bpf_map_delete_batch(self._fd.number, buf, count, _batch_opts())
            done += int(count[0])
            if ret >= 0:
                break
            if -ret == errno.ENOENT and missing_ok:
                done += 1  # skip the missing key and go on
                continue
            if -ret in _NO_BATCH and not count[0]:
                for k in keys[done:]:
                    try:
                        del self[k]
                    except KeyNotFound:
                        if not missing_ok:
                            raise
                return len(keys)
            raise self._error(-ret, "delete_batch of", keys[done] if done < len(keys) else MISSING)
        return done

    def to_numpy(self) -> Any:
        """Every entry as a numpy structured array with fields ``key`` and ``value``,
        whose dtypes come from BTF (per-CPU values: one column per possible CPU)."""
        from libbpf_py.types._numpy import dtype_of, numpy

        np = numpy()
        kdt = dtype_of(self.key_codec)
        vcodec = self.value_codec
        inner = vcodec.inner if isinstance(vcodec, PerCpuCodec) else vcodec
        vdt = dtype_of(inner)
        if self._closed:
            self._raise_closed("to_numpy()")
        cap = self.max_entries
        keys = np.empty(cap * self.key_size, np.uint8)
        values = np.empty(cap * self._vsize, np.uint8)
        n = self._dump_into(keys, values, cap, False) if self._batch_ok else -errno.EINVAL
        if n < 0:
            if -n not in _NO_BATCH:
                raise self._error(-n, "dumping")
            pairs = list(self._items_by_key())
            n = len(pairs)
            keys = np.frombuffer(b"".join(self._kenc(k) for k, _ in pairs) or b"", np.uint8)
            values = np.frombuffer(b"".join(self._venc(v) for _, v in pairs) or b"", np.uint8)
        if isinstance(vcodec, PerCpuCodec):
            ncpus, slot = vcodec.ncpus, vcodec.slot
            per = values[: n * self._vsize].reshape(n, ncpus, slot)[:, :, : inner.size]
            vcol = np.ascontiguousarray(per).view(vdt).reshape(n, ncpus)
            out = np.empty(n, dtype=[("key", kdt), ("value", vdt, (ncpus,))])
        else:
            vcol = values[: n * self._vsize].view(vdt)
            out = np.empty(n, dtype=[("key", kdt), ("value", vdt)])
        out["key"] = keys[: n * self.key_size].view(kdt)
        out["value"] = vcol
        return out

    def __iter__(self) -> Iterator[Any]:
        return self.keys()

    # -- pins, struct_ops and info ---------------------------------------------------

    def pin(self, path: str | os.PathLike[str], *, mode: int = 0o600) -> None:
        """Pin the map at ``path`` on bpffs: it outlives this process until unpinned.

        The pin is readable and writable by its owner only, unless ``mode`` (permission
        bits, e.g. ``0o660`` to share with a group) says otherwise. A path outside bpffs
        raises :class:`~libbpf_py.errors.NotOnBpffs`.
        """
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
                    raise PhaseError(
                        f"{what}: map {self.name!r} is already pinned at {at}; unpin() it first",
                        phase="pinned",
                        needed="loaded",
                    )
            check(lib.bpf_map__pin(self._ptr, os.fsencode(where)), what)
        else:
            check(lib.bpf_obj_pin(self._fd.number, os.fsencode(where)), what)
        self._pin_path = where
        set_pin_mode(where, mode)

    def unpin(self, path: str | os.PathLike[str] | None = None) -> None:
        """Remove the pin (the one :meth:`pin` made, or ``path``)."""
        target = os.fspath(path) if path is not None else self._pin_path
        if target is None:
            raise ValueError(f"map {self.name!r} was not pinned by pin(); give the path")
        if self._ptr != ffi.NULL and not self._closed:
            check(
                lib.bpf_map__unpin(self._ptr, os.fsencode(target)),
                f"unpinning map {self.name!r} at {target}",
            )
        else:
            os.unlink(target)
        if target == self._pin_path:
            self._pin_path = None

    def attach_struct_ops(self) -> Link:
        """Register this struct_ops map with its subsystem (``bpf_map__attach_struct_ops``);
        the returned link unregisters it when detached, like every other link, and can
        swap in another map of the same type (:meth:`Link.update_map`).

        A map of another type raises :class:`~libbpf_py.errors.NotSupported`; a map of a
        closed object, :class:`~libbpf_py.errors.PhaseError`.
        """
        return self._register_struct_ops(kept_by_object=False)

    def _register_struct_ops(self, *, kept_by_object: bool) -> Link:
        what = f"registering struct_ops map {self.name!r}"
        ptr = self._struct_ops_ptr(what)
        made = lib.bpf_map__attach_struct_ops(ptr)
        err = errno_of(made)
        if err:
            raise libbpf_error(err, what)
        narrate(
            f"bpf_map__attach_struct_ops({self.name!r})",
            f"link fd {lib.bpf_link__fd(made)}",
            phase="attach",
        )
        kind = StructOpsLink if self.flags & lib.BPF_F_LINK else StructOpsRegistration
        link = kind(made, description=f"struct_ops {self.name}", kept_by_object=kept_by_object)
        parent = self._fd.parent
        if parent is not None:
            parent._track(link)
        return link

    def freeze(self) -> None:
        """Make the map read-only for user space, for good (``bpf_map_freeze``).

        Every later write from user space (this process or any other) raises
        :class:`~libbpf_py.errors.PermissionDenied`; BPF programs may still write it.
        The kernel refuses to freeze a map that is memory-mapped writable, which an
        mmapped array is (:attr:`mmapped`): that raises
        :class:`~libbpf_py.errors.ResourceBusy`. Freezing a frozen map does nothing.
        """
        if self._closed:
            self._raise_closed("freeze()")
        ret = lib.bpf_map_freeze(self._fd.number)
        if ret < 0:
            if _frozen(self._fd.number):
                return  # frozen already: the kernel refuses a second freeze (EPERM)
            if -ret == errno.EBUSY:
                raise ResourceBusy(
                    f"freezing map {self.name!r}: the map is memory-mapped writable "
                    "(an mmapped array, or another process's mapping), and the kernel "
                    "freezes no map while a writable mapping exists",
                    errno=-ret,
                )
            raise libbpf_error(-ret, f"freezing map {self.name!r}")
        narrate(f"bpf_map_freeze({self.name!r})", "read-only for user space", phase="execute")

    @property
    def frozen(self) -> bool:
        """Whether the map is frozen (:meth:`freeze`): the kernel's own answer, from
        ``/proc/self/fdinfo``."""
        return _frozen(self.fd)

    def _struct_ops_ptr(self, what: str) -> Any:
        """libbpf's ``struct bpf_map *`` of this struct_ops map, after the checks every
        struct_ops call makes (see :class:`~libbpf_py.link.OpsMap`)."""
        if self._closed:
            self._raise_closed(what)
        if self.type is not MapType.STRUCT_OPS:
            raise NotSupported(
                f"{what}: it is a {self.type.label} map, not a struct_ops map; only "
                'maps of a SEC(".struct_ops") or SEC(".struct_ops.link") section register'
            )
        if self._fd.parent is None or self._ptr == ffi.NULL:
            raise NotSupported(f"{what}: only struct_ops maps of a LoadedObject can register")
        return self._ptr

    def info(self) -> MapInfo:
        """Ask the kernel about this map."""
        return map_info(self.fd, self.name)

    @property
    def id(self) -> int:
        """The kernel's id for this map (``bpftool map show id N``)."""
        return self.info().id


# -- construction: the codecs, then the class -----------------------------------------


class _Codecs(NamedTuple):
    """A map's Python view, chosen once from its type, its BTF and what the caller asked."""

    key_type: TypeRef | None
    value_type: TypeRef | None
    key: Codec
    value: Codec


def _codecs(
    name: str,
    map_type: MapType,
    key_size: int,
    value_size: int,
    types: TypeCodecs | None,
    key_type_id: int,
    value_type_id: int,
    key_type: Any,
    value_type: Any,
) -> _Codecs:
    key_ref = type_ref(types, key_type_id, key_size, f"the key of map {name!r}")
    value_ref = type_ref(types, value_type_id, value_size, f"the value of map {name!r}")
    key = _choose_key(name, map_type, key_size, key_ref, key_type)
    inner = _choose_value(name, map_type, value_size, value_ref, value_type)
    value = PerCpuCodec(inner, possible_cpus()) if map_type in PERCPU else inner
    return _Codecs(key_ref, value_ref, key, value)


def _choose_key(
    name: str, map_type: MapType, size: int, ref: TypeRef | None, key_type: Any
) -> Codec:
    what = f"the key of map {name!r}"
    if map_type in KEYLESS:
        return BytesCodec(0, what)
    if map_type == MapType.LPM_TRIE:
        return LpmKeyCodec(size, what)
    if key_type is not None:
        return explicit_codec(key_type, size, what)
    if ref is not None:
        return ref.codec
    if map_type in ARRAYS and size == 4:
        return simple_type("u32", 4, what)  # array keys are indexes
    if map_type in _U32_KEYS and size == 4:
        # The kernel fixes these keys as a u32, as it does an array's index: a stack id
        # from bpf_get_stackid(), a struct_ops map's one entry at index 0.
        return simple_type("u32", 4, what)
    return UntypedCodec(size, what, "key_type")


def _choose_value(
    name: str, map_type: MapType, size: int, ref: TypeRef | None, value_type: Any
) -> Codec:
    what = f"the value of map {name!r}"
    if map_type in FD_VALUES:
        return FdValueCodec(size, what)
    if map_type in (MapType.DEVMAP, MapType.DEVMAP_HASH):
        return DevmapValueCodec(size, what)
    if map_type == MapType.CPUMAP:
        return CpumapValueCodec(size, what)
    if value_type is not None:
        return explicit_codec(value_type, size, what)
    if ref is not None:
        return ref.codec
    return UntypedCodec(size, what, "value_type")


class _Memory(NamedTuple):
    """An mmapped array's entries in this process: ``lpy_mmap``'s pointer and size."""

    ptr: Any
    size: int
    writable: bool


def _map_memory(fd: int, value_size: int, max_entries: int, flags: int) -> _Memory | None:
    stride = (value_size + 7) & ~7
    page = os.sysconf("SC_PAGE_SIZE")
    size = (stride * max_entries + page - 1) // page * page
    writable = not flags & lib.BPF_F_RDONLY
    ptr = lib.lpy_mmap(fd, size, writable)
    if ptr == ffi.NULL and writable:
        ptr = lib.lpy_mmap(fd, size, 0)  # frozen: read-only
        writable = False
    if ptr == ffi.NULL:
        return None
    return _Memory(ptr, size, writable)


class _Plans(NamedTuple):
    """What the C fast path runs: the key's and one value's plan, and the CPU count of
    a per-CPU map (0 otherwise)."""

    key: Plan
    value: Plan
    ncpus: int


def _plan_of(codec: Codec) -> Plan | None:
    plan = getattr(codec, "plan", None)
    return plan() if plan is not None else None


def _plans(map_type: MapType, codecs: _Codecs) -> _Plans | None:
    if map_type not in _FAST:
        return None
    value: Codec = codecs.value
    ncpus = 0
    if isinstance(value, PerCpuCodec):
        ncpus = value.ncpus
        value = value.inner
    key_plan, value_plan = _plan_of(codecs.key), _plan_of(value)
    if key_plan is None or value_plan is None:
        return None
    return _Plans(key_plan, value_plan, ncpus)


def make_map(
    fd: Fd,
    ptr: Any,
    name: str,
    map_type: MapType,
    key_size: int,
    value_size: int,
    max_entries: int,
    flags: int,
    *,
    types: TypeCodecs | None = None,
    key_type_id: int = 0,
    value_type_id: int = 0,
    key_type: Any = None,
    value_type: Any = None,
    keep: Any = None,
) -> Map:
    """The :class:`Map` of ``fd``, of the class whose hot paths fit it, chosen before it
    is made: an mmapped array, single entries through one C call where the codecs have
    plans, or the generic class. The arguments are :class:`Map`'s; ``fd`` is an
    :class:`~libbpf_py._lowlevel.owner.OwnedFd` for a standalone map, a
    :class:`~libbpf_py._lowlevel.owner.BorrowedFd` of its object otherwise."""
    codecs = _codecs(
        name,
        map_type,
        key_size,
        value_size,
        types,
        key_type_id,
        value_type_id,
        key_type,
        value_type,
    )
    args = (fd, ptr, name, map_type, key_size, value_size, max_entries, flags)
    rest: dict[str, Any] = {"keep": keep, "codecs": codecs, "types": types}
    if map_type == MapType.ARENA:
        return _ArenaMap(*args, **rest)
    if map_type == MapType.ARRAY and flags & lib.BPF_F_MMAPABLE:
        memory = _map_memory(fd.number, value_size, max_entries, flags)
        if memory is not None:
            try:
                return _MmapArray(*args, memory=memory, **rest)
            except BaseException:
                lib.lpy_munmap(memory.ptr, memory.size)
                raise
    plans = _plans(map_type, codecs)
    if plans is not None:
        return _FastMap(*args, plans=plans, **rest)
    return Map(*args, **rest)


class _FastMap(MapCore, Map):
    """A hash, array or per-CPU map whose key and value codecs have plans: ``m[k]``,
    ``get``, ``in``, ``m[k] = v``, ``update`` and ``del`` are one C call each
    (:mod:`libbpf_py._lowlevel.mapcore`). What C does not finish, Map's methods do."""

    def __init__(self, *args: Any, plans: _Plans, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._core_bind(self._fd.number, plans.key, plans.value, plans.ncpus, PerCpu)

    def _invalidate(self) -> None:
        self._core_close()
        super()._invalidate()


bind_general(
    Map.__getitem__, Map.__setitem__, Map.__delitem__, Map.get, Map.__contains__, Map.update
)


class _MmapArray(Map):
    """A ``BPF_F_MMAPABLE`` array: entries live in this process's memory, no syscalls."""

    def __init__(self, *args: Any, memory: _Memory, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._mmap = (memory.ptr, memory.size)
        raw = memoryview(ffi.buffer(memory.ptr, memory.size))
        self._raw = raw if memory.writable else raw.toreadonly()
        self._stride = (self.value_size + 7) & ~7
        self._n = self.max_entries
        v = self.value_codec
        fmt = getattr(v, "fmt", None)
        if type(v) is IntCodec and fmt:
            self._mv = self._raw.cast(fmt)
            self._mult = self._stride // v.size
        else:
            self._mv = self._raw
            self._mult = 0

    def __getitem__(self, key: Any) -> Any:
        try:
            if 0 <= key < self._n:
                if self._mult:
                    return self._mv[key * self._mult]
                off = key * self._stride
                return self._vdec(self._raw[off : off + self._vsize].tobytes())
        except (TypeError, ValueError):
            if self._closed:
                self._raise_closed("map lookup")
            return Map.__getitem__(self, key)
        raise self._error(errno.E2BIG, "lookup", key)

    def get(self, key: Any, default: Any = None) -> Any:
        """Return the value at index ``key``, or ``default`` if it is out of range."""
        try:
            return self[key]
        except KeyNotFound:
            return default

    def __contains__(self, key: Any) -> bool:
        if self._closed:
            self._raise_closed("map lookup")
        return isinstance(key, int) and 0 <= key < self._n

    def __setitem__(self, key: Any, value: Any) -> None:
        try:
            if 0 <= key < self._n:
                if self._mult:
                    self._mv[key * self._mult] = value
                else:
                    off = key * self._stride
                    self._raw[off : off + self._vsize] = self._venc(value)
                return
        except (TypeError, ValueError):
            if self._closed:
                self._raise_closed("map update")
            if self._raw.readonly:
                raise PhaseError(
                    f"map {self.name!r} is frozen (read-only)", phase="frozen", needed="loaded"
                ) from None
            Map.update(self, key, value)  # the codecs name what is wrong
            return
        raise self._error(errno.E2BIG, "updating", key)

    def update(
        self,
        key: Any,
        value: Any,
        flags: int = UpdateFlag.ANY,
        *,
        cpu: int | Literal["all"] | None = None,
    ) -> None:
        """Set index ``key``; flags other than ANY go through the system call."""
        if flags or cpu is not None:
            Map.update(self, key, value, flags, cpu=cpu)
        else:
            self[key] = value

    def items(self) -> Iterator[tuple[Any, Any]]:
        """(index, value) for every index."""
        return ((i, self[i]) for i in range(self._n))

    def values(self) -> Iterator[Any]:
        """Every value, in index order."""
        if self._mult and not self._closed:
            return iter(self._mv[:: self._mult].tolist()[: self._n])
        return (self[i] for i in range(self._n))


class _ArenaMap(Map):
    """An arena map: no entries, only pages, read and written through :attr:`arena`.

    libbpf maps the arena of an object at load and unmaps it on close; a standalone
    arena (:meth:`Map.create`, :meth:`Map.from_pin`, :meth:`Map.from_id`) is mapped
    here, at the address the arena was made for if it names one (``map_extra``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        size = os.sysconf("SC_PAGE_SIZE") * self.max_entries
        self._arena_view: Arena | None = None
        self._arena_why = ""
        if self._ptr != ffi.NULL:
            address = _object_arena_address(self._ptr, size)
            if address is None:
                self._arena_why = (
                    f"libbpf did not map arena {self.name!r} into this process (a map "
                    "reused from another fd is not mapped by the object)"
                )
        else:
            info = ffi.new("struct bpf_map_info *")
            info_len = ffi.new("__u32 *", ffi.sizeof("struct bpf_map_info"))
            check(
                lib.bpf_map_get_info_by_fd(self._fd.number, info, info_len),
                f"reading the info of arena {self.name!r}",
            )
            ptr = lib.lpy_mmap_arena(self._fd.number, size, info.map_extra)
            address = None
            if ptr == ffi.NULL:
                err = ffi.errno
                self._arena_why = (
                    f"arena {self.name!r} cannot be mapped here ({os.strerror(err)}): an "
                    "arena has one address for every process, so it maps only where it "
                    "was first mapped (its map_extra, or where its first user mapped it)"
                )
            else:
                self._mmap = (ptr, size)
                address = int(ffi.cast("uintptr_t", ptr))
        if address is not None:
            self._arena_view = Arena(
                self.name, address, size, self.flags, self._types, self._arena_closed
            )

    @property
    def arena(self) -> Arena:
        """The pages of this arena as this process maps them."""
        if self._closed:
            self._raise_closed("Map.arena")
        if self._arena_view is None:
            raise NotSupported(self._arena_why)
        return self._arena_view

    def _arena_closed(self, what: str) -> PhaseError:
        try:
            self._raise_closed(what)
        except PhaseError as exc:
            return exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _invalidate(self) -> None:
        if self._arena_view is not None:
            self._arena_view._invalidate()
        super()._invalidate()


def _object_arena_address(ptr: Any, size: int) -> int | None:
    """Where libbpf mapped the arena of an object's map, checked against the kernel's
    list of this process's mappings: before load, or for a reused map, libbpf's pointer
    is a private copy of the arena's globals, never to be read as the arena."""
    psize = ffi.new("size_t *")
    mem = lib.bpf_map__initial_value(ptr, psize)
    if mem == ffi.NULL:
        return None
    address = int(ffi.cast("uintptr_t", mem))
    want = f"{address:x}-{address + size:x} "
    with open("/proc/self/maps") as maps:
        for line in maps:
            if line.startswith(want) and "bpf-map" in line:
                return address
    return None
