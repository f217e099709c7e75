"""Phase 6, execute: maps as Python containers of typed keys and values.

A :class:`Map` chooses its codecs once, when it is made, from the map type and BTF; the
hot paths never dispatch on types per call:

- integer keys and values go through one C call that takes and returns Python ints
  (``csrc/maps.c``), with no buffer allocated per call;
- arrays made with ``BPF_F_MMAPABLE`` are read and written through a memory mapping,
  with no system call at all;
- ``items()``, ``keys()``, ``values()``, ``len()`` and :meth:`Map.to_numpy` dump the map
  with batch system calls in C where the kernel has them for the map type.

This module holds the class, its construction and the single-entry mapping protocol.
The other jobs of a map live in modules of their own, whose functions :class:`Map`
binds as methods: ``_map_whole`` (iteration, batches, numpy), ``_map_queue`` (queues,
stacks, bloom filters), ``_map_kernel`` (standalone maps, pins, info), ``_map_fast``
(the integer and mmapped fast paths), ``_map_btf`` (key and value types).
"""

from __future__ import annotations

import contextlib
import errno
import os
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from libbpf_py import _map_kernel, _map_queue, _map_whole
from libbpf_py._codec import BytesCodec, Codec, IntCodec, PerCpu, PerCpuCodec, possible_cpus
from libbpf_py._lowlevel import ffi, lib, raise_errno
from libbpf_py._map_btf import TypeRef, explicit_codec, type_ref
from libbpf_py._map_btf import declared_types as declared_types
from libbpf_py._map_btf import libbpf_btf as libbpf_btf
from libbpf_py._map_codecs import (
    CpumapValueCodec,
    DevmapValueCodec,
    FdValueCodec,
    LpmKeyCodec,
)
from libbpf_py._map_kernel import MapInfo, map_info
from libbpf_py._map_kernel import check_pin_mode as check_pin_mode
from libbpf_py._map_kernel import set_pin_mode as set_pin_mode
from libbpf_py._map_kinds import ARRAYS, FD_VALUES, KEYLESS, MISSING, PERCPU, UpdateFlag
from libbpf_py._map_whole import BATCH_CHUNK as _BATCH_CHUNK  # noqa: F401 (bench/maps/run.py)
from libbpf_py._owner import Owner
from libbpf_py.enums import MapType
from libbpf_py.errors import (
    BpfError,
    KeyNotFound,
    MapFullError,
    PhaseError,
    ResourceBusy,
)
from libbpf_py.typed import TypeCodecs, simple_type

if TYPE_CHECKING:
    from libbpf_py.loaded import LoadedObject

__all__ = ["Map", "MapInfo", "PerCpu", "TypeRef", "UpdateFlag", "map_info"]

# Map types whose entries the plain integer fast path may serve.
_PLAIN = {MapType.HASH, MapType.ARRAY, MapType.LRU_HASH}
_BPF_F_MMAPABLE = 1 << 10
_BPF_F_RDONLY = 1 << 3
_ECLOSED = int(lib.LPY_ECLOSED)


class Map(Owner):
    """A map: ``m[key]``, ``m[key] = value``, ``del m[key]``, ``key in m``, ``len(m)``...

    Keys and values are Python values decoded with the map's BTF (ints, enums,
    generated struct classes, lists, bytes), or raw ``bytes`` of the exact size, always
    accepted. Per-CPU maps give a :class:`PerCpu` list, one value per possible CPU, and
    take one value (written to every CPU) or a sequence.

    Maps of a :class:`LoadedObject` live as long as their object (``close()`` on them
    does nothing). Maps from :meth:`create`, :meth:`from_pin` and :meth:`from_id` own
    their fd: close them, or use ``with``. Map operations may be used from several
    threads at once.
    """

    _phase_name = "loaded"

    def __init__(self, owner: LoadedObject | None, ptr: Any, fd: int, name: str,
                 map_type: MapType, key_size: int, value_size: int, max_entries: int,
                 flags: int, *, types: TypeCodecs | None = None, key_type_id: int = 0,
                 value_type_id: int = 0, key_type: Any = None, value_type: Any = None,
                 owns_fd: bool = False, keep: Any = None) -> None:
        self._owner = owner
        self._ptr = ptr
        self._fd = fd
        self._owns_fd = owns_fd
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
        self._c = ffi.new("struct lpy_map *")
        self._c.fd = fd
        self._c.key_size = key_size
        self._c.value_size = value_size
        self.key_type = type_ref(types, key_type_id, key_size, f"the key of map {name!r}")
        self.value_type = type_ref(types, value_type_id, value_size,
                                   f"the value of map {name!r}")
        self.key_codec: Codec = self._choose_key(key_type)
        inner = self._choose_value(value_type)
        self.value_codec: Codec = (PerCpuCodec(inner, possible_cpus())
                                   if map_type in PERCPU else inner)
        self._vsize = self.value_codec.size
        self._vtype = f"char[{max(self._vsize, 1)}]"
        self._kenc = self.key_codec.encode
        self._kdec = self.key_codec.decode
        self._venc = self.value_codec.encode
        self._vdec = self.value_codec.decode
        self._batch_ok = map_type not in KEYLESS and map_type != MapType.LPM_TRIE
        self._closed = False
        self._specialize()

    # -- construction ------------------------------------------------------------------

    def _choose_key(self, key_type: Any) -> Codec:
        what = f"the key of map {self.name!r}"
        if self.type in KEYLESS:
            return BytesCodec(0, what)
        if self.type == MapType.LPM_TRIE:
            return LpmKeyCodec(self.key_size, what)
        if key_type is not None:
            return explicit_codec(key_type, self.key_size, what)
        if self.key_type is not None:
            return self.key_type.codec
        if self.type in ARRAYS and self.key_size == 4:
            return simple_type("u32", 4, what)  # array keys are indexes
        return BytesCodec(self.key_size, what)

    def _choose_value(self, value_type: Any) -> Codec:
        what = f"the value of map {self.name!r}"
        if self.type in FD_VALUES:
            return FdValueCodec(self.value_size, what)
        if self.type in (MapType.DEVMAP, MapType.DEVMAP_HASH):
            return DevmapValueCodec(self.value_size, what)
        if self.type == MapType.CPUMAP:
            return CpumapValueCodec(self.value_size, what)
        if value_type is not None:
            return explicit_codec(value_type, self.value_size, what)
        if self.value_type is not None:
            return self.value_type.codec
        return BytesCodec(self.value_size, what)

    def _specialize(self) -> None:
        """Pick the class whose hot paths fit this map, once."""
        from libbpf_py._map_fast import _IntMap, _MmapArray  # they subclass Map

        if (self.type == MapType.ARRAY and self.flags & _BPF_F_MMAPABLE
                and self._map_memory()):
            self.__class__ = _MmapArray
            return
        k, v = self.key_codec, self.value_codec
        if (self.type in _PLAIN and type(k) is IntCodec and type(v) is IntCodec
                and k.size <= 8 and v.size <= 8):
            ks, vs = "s" if k.signed else "u", "s" if v.signed else "u"
            self._c_lookup = getattr(lib, f"lpy_lookup_{ks}{vs}")
            self._c_update = getattr(lib, f"lpy_update_{ks}{vs}")
            self._c_delete = getattr(lib, f"lpy_delete_{ks}")
            self._sentinel = -(1 << 63) if v.signed else (1 << 64) - 1
            self.__class__ = _IntMap

    def _map_memory(self) -> bool:
        stride = (self.value_size + 7) & ~7
        page = os.sysconf("SC_PAGE_SIZE")
        size = (stride * self.max_entries + page - 1) // page * page
        writable = not self.flags & _BPF_F_RDONLY
        ptr = lib.lpy_mmap(self._fd, size, writable)
        if ptr == ffi.NULL and writable:
            ptr = lib.lpy_mmap(self._fd, size, 0)  # frozen: read-only
            writable = False
        if ptr == ffi.NULL:
            return False
        self._mmap = (ptr, size)
        raw = memoryview(ffi.buffer(ptr, size))
        self._raw = raw if writable else raw.toreadonly()
        self._stride = stride
        self._n = self.max_entries
        v = self.value_codec
        fmt = getattr(v, "fmt", None)
        if type(v) is IntCodec and fmt:
            self._mv = self._raw.cast(fmt)
            self._mult = stride // v.size
        else:
            self._mv = self._raw
            self._mult = 0
        return True

    # -- standalone maps (_map_kernel) -------------------------------------------------

    create = classmethod(_map_kernel.create)
    from_pin = classmethod(_map_kernel.from_pin)
    from_id = classmethod(_map_kernel.from_id)


    # -- life --------------------------------------------------------------------------

    def __repr__(self) -> str:
        return (f"<Map {self.name!r} {self.type.name} key={self.key_size}B "
                f"value={self.value_size}B max_entries={self.max_entries}"
                f"{' closed' if self._closed else ''}>")

    @property
    def fd(self) -> int:
        """The map's file descriptor (owned by the map; do not close it)."""
        if self._closed:
            self._raise_closed("Map.fd")
        return self._fd

    @property
    def mmapped(self) -> bool:
        """Whether entries are read and written through a memory mapping (no syscalls)."""
        return self._mmap is not None

    def close(self) -> None:
        """Close a standalone map. Maps of a LoadedObject close with their object."""
        if self._owner is not None:
            return
        super().close()

    def _release(self) -> None:
        self._invalidate()

    def _invalidate(self) -> None:
        """Make every later use raise PhaseError; unmap, and close the fd if owned."""
        self._closed = True
        self._c.fd = -1
        if self._mv is not None:
            self._mv.release()
            self._raw.release()
        if self._mmap is not None:
            lib.lpy_munmap(*self._mmap)
            self._mmap = None
        fd, self._fd = self._fd, -1
        if self._owns_fd and fd >= 0:
            os.close(fd)

    def __del__(self) -> None:
        if self._owner is None and not self._closed and self._owns_fd:
            warnings.warn(f"unclosed {self!r}: close it or use a with block",
                          ResourceWarning, stacklevel=2, source=self)
            with contextlib.suppress(Exception):  # never raise from a finalizer
                self._invalidate()

    def _raise_closed(self, what: str) -> None:
        whose = "its object was closed" if self._owner is not None else "it was closed"
        raise PhaseError(f"{what}: map {self.name!r} is closed ({whose}); use maps of an "
                         "open LoadedObject or an open Map", phase="closed", needed="loaded")

    # -- errors ------------------------------------------------------------------------

    def _error(self, err: int, action: str, key: Any = MISSING, flags: int = 0) -> BpfError:
        name = self.name
        if err == _ECLOSED:
            try:
                self._raise_closed(action)
            except PhaseError as exc:
                return exc
        if err == errno.ENOENT:
            if self.type in (MapType.QUEUE, MapType.STACK) and key is MISSING:
                return KeyNotFound(f"{action}: {self.type.name.lower()} {name!r} is empty",
                                   errno=err)
            what = "to replace" if flags & UpdateFlag.EXIST else ""
            return KeyNotFound(f"map {name!r} has no entry for key {key!r} {what}".rstrip(),
                               errno=err)
        if err == errno.E2BIG:
            if self.type in ARRAYS:
                return KeyNotFound(f"map {name!r} is an array of max_entries="
                                   f"{self.max_entries}: key {key!r} is out of range",
                                   errno=err)
            return MapFullError(f"map {name!r} is full: it holds max_entries="
                                f"{self.max_entries} entries (delete some, or raise "
                                "max_entries on the OpenMap before load)", errno=err)
        if err == errno.EEXIST and flags & UpdateFlag.NOEXIST:
            return ResourceBusy(f"{action}: map {name!r} already has key {key!r} and "
                                "NOEXIST was asked", errno=err)
        hint = ""
        if err == errno.EINVAL and self.type in ARRAYS and "delet" in action:
            hint = "entries of array maps cannot be deleted; set them to zero instead"
        return raise_errno(err, f"{action} map {name!r}", hint=hint)

    # -- single entries (generic path) -------------------------------------------------

    def _lookup(self, key: Any) -> Any:
        if self._closed:
            self._raise_closed("map lookup")
        k = self._kenc(key)
        out = ffi.new(self._vtype)
        ret = lib.bpf_map_lookup_elem(self._fd, k, out)
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
            return _map_queue.bloom_has(self, key)
        return self._lookup(key) is not MISSING

    def update(self, key: Any, value: Any, flags: int = UpdateFlag.ANY) -> None:
        """Set ``key`` to ``value``; ``flags`` is an :class:`UpdateFlag` combination."""
        if self._closed:
            self._raise_closed("map update")
        k = self._kenc(key)
        v = self._venc(value)
        ret = lib.bpf_map_update_elem(self._fd, k, v, flags)
        if ret < 0:
            raise self._error(-ret, "updating", key, flags)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.update(key, value)

    def __delitem__(self, key: Any) -> None:
        if self._closed:
            self._raise_closed("map delete")
        ret = lib.bpf_map_delete_elem(self._fd, self._kenc(key))
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
            ret = lib.bpf_map_lookup_and_delete_elem(self._fd, ffi.NULL, out)
        else:
            ret = lib.bpf_map_lookup_and_delete_elem(self._fd, self._kenc(key), out)
        if ret < 0:
            if -ret == errno.ENOENT and default is not MISSING:
                return default
            raise self._error(-ret, "popping from", key)
        return self._vdec(ffi.unpack(out, self._vsize))

    # -- queues, stacks, bloom filters (_map_queue) ------------------------------------

    push = _map_queue.push
    peek = _map_queue.peek
    add = _map_queue.add

    # -- whole map: iteration, batches, numpy (_map_whole) -----------------------------

    items = _map_whole.items
    _items_by_key = _map_whole.items_by_key
    keys = _map_whole.keys

    def __iter__(self) -> Iterator[Any]:
        return self.keys()

    values = _map_whole.values
    __len__ = _map_whole.length
    clear = _map_whole.clear
    lookup_batch = _map_whole.lookup_batch
    lookup_and_delete_batch = _map_whole.lookup_and_delete_batch
    update_batch = _map_whole.update_batch
    delete_batch = _map_whole.delete_batch
    to_numpy = _map_whole.to_numpy

    # -- pins and info (_map_kernel) ---------------------------------------------------

    pin = _map_kernel.pin
    unpin = _map_kernel.unpin
    attach_struct_ops = _map_kernel.attach_struct_ops
    info = _map_kernel.info

    @property
    def id(self) -> int:
        """The kernel's id for this map (``bpftool map show id N``)."""
        return self.info().id
