"""The whole map at once: iteration, ``len()``, ``clear()``, batches and ``to_numpy()``.

Where the kernel has batch system calls for the map type, entries are dumped in C
(``lpy_map_dump``) into one buffer and decoded together; otherwise key by key.
The functions taking ``self`` are methods of :class:`~libbpf_py.maps.Map`, bound there.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from libbpf_py._codec import Codec, IntCodec, PerCpuCodec
from libbpf_py._lowlevel import ffi, lib
from libbpf_py._map_kinds import ARRAYS, KEYLESS, MISSING, UpdateFlag
from libbpf_py.enums import MapType
from libbpf_py.errors import KeyNotFound, LayoutError, NotSupported

if TYPE_CHECKING:
    from libbpf_py.maps import Map

BATCH_CHUNK = 8192
_NO_BATCH = (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, 524)  # 524: ENOTSUPP


# -- dumping and decoding ----------------------------------------------------------

def _raw_keys(self: Map) -> Iterator[bytes]:
    if self._closed:
        self._raise_closed("map iteration")
    if self.type in KEYLESS:
        raise TypeError(f"a {self.type.name} map has no keys to iterate over "
                        "(use pop/peek, or 'in' for bloom filters)")
    size = self.key_size
    current = ffi.NULL
    nxt = ffi.new(f"char[{size}]")
    while True:
        ret = lib.bpf_map_get_next_key(self._fd, current, nxt)
        if ret < 0:
            if -ret == errno.ENOENT:
                return
            raise self._error(-ret, "iterating over")
        key = ffi.unpack(nxt, size)
        yield key
        current = ffi.new(f"char[{size}]", key)


def _dump_into(self: Map, keys: Any, values: Any, cap: int, delete: bool) -> int:
    """Fill ``keys``/``values`` (room for ``cap`` entries) by batch system calls: the
    number of entries, or -errno."""
    more = ffi.new("int *")
    return int(lib.lpy_map_dump(self._fd, ffi.from_buffer(keys), ffi.from_buffer(values),
                                self.key_size, self._vsize, cap,
                                min(cap, BATCH_CHUNK) or 1, 1 if delete else 0, more))


def _dump(self: Map, delete: bool = False, cap: int | None = None
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
    n = _dump_into(self, keys, values, cap, delete)
    if n < 0:
        if -n in _NO_BATCH:
            self._batch_ok = False
            return None
        raise self._error(-n, "dumping")
    return n, keys, values


def _decode_all(n: int, raw: bytearray, codec: Codec, size: int) -> list[Any]:
    fmt = getattr(codec, "fmt", None)
    if type(codec) is IntCodec and fmt:
        return memoryview(raw)[:n * size].cast(fmt).tolist()
    dec = codec.decode
    mv = memoryview(raw)
    return [dec(bytes(mv[i:i + size])) for i in range(0, n * size, size)]


def _decode_pairs(self: Map, n: int, keys: bytearray, values: bytearray
                  ) -> Iterator[tuple[Any, Any]]:
    return zip(_decode_all(n, keys, self.key_codec, self.key_size),
               _decode_all(n, values, self.value_codec, self._vsize), strict=True)


# -- iteration (methods of Map) ----------------------------------------------------

def items(self: Map) -> Iterator[tuple[Any, Any]]:
    """The (key, value) pairs, by batches where the kernel has them."""
    dumped = _dump(self)
    if dumped is None:
        return items_by_key(self)
    return _decode_pairs(self, *dumped)


def items_by_key(self: Map) -> Iterator[tuple[Any, Any]]:
    """The (key, value) pairs, one system call per key (no batches)."""
    for raw in list(_raw_keys(self)):
        value = self._lookup(raw)
        if value is not MISSING:
            yield self._kdec(raw), value


def keys(self: Map) -> Iterator[Any]:
    """The keys (decoded), by batches where the kernel has them."""
    dumped = _dump(self)
    if dumped is None:
        return (self._kdec(raw) for raw in _raw_keys(self))
    n, keys, _ = dumped
    return iter(_decode_all(n, keys, self.key_codec, self.key_size))


def values(self: Map) -> Iterator[Any]:
    """The values, by batches where the kernel has them."""
    dumped = _dump(self)
    if dumped is None:
        return (v for _, v in items_by_key(self))
    n, _, values = dumped
    return iter(_decode_all(n, values, self.value_codec, self._vsize))


def length(self: Map) -> int:
    """The number of entries (``len(m)``); an array always has ``max_entries``."""
    if self.type in ARRAYS:
        if self._closed:
            self._raise_closed("len()")
        return self.max_entries
    dumped = _dump(self)
    if dumped is not None:
        return dumped[0]
    return sum(1 for _ in _raw_keys(self))


def clear(self: Map) -> None:
    """Remove every entry (arrays: set every entry to zero)."""
    if self.type in ARRAYS:
        zero = b"\0" * self._vsize
        self.update_batch(list(range(self.max_entries)), [zero] * self.max_entries)
        return
    keys = [self._kdec(k) for k in _raw_keys(self)] if _dump(self) is None else \
        list(self.keys())
    if keys:
        self.delete_batch(keys, missing_ok=True)


# -- batches (methods of Map) ------------------------------------------------------

def lookup_batch(self: Map, max_count: int | None = None) -> list[tuple[Any, Any]]:
    """Up to ``max_count`` (default: all) entries by ``BPF_MAP_LOOKUP_BATCH``."""
    return _batch_dump(self, False, max_count)


def lookup_and_delete_batch(self: Map, max_count: int | None = None
                            ) -> list[tuple[Any, Any]]:
    """Remove and return up to ``max_count`` (default: all) entries in batches.

    A hash map hands out whole buckets, so a capped call may return fewer than
    ``max_count`` entries while more remain.
    """
    return _batch_dump(self, True, max_count)


def _batch_dump(self: Map, delete: bool, max_count: int | None) -> list[tuple[Any, Any]]:
    dumped = _dump(self, delete, max_count)
    if dumped is None:
        raise NotSupported(f"the kernel has no batch operations for {self.type.name} "
                           f"maps (map {self.name!r}); use items()")
    return list(_decode_pairs(self, *dumped))


def _encode_many(self: Map, items: Any, codec: Codec, size: int) -> tuple[Any, int]:
    """A buffer of ``len(items)`` encoded entries; numpy arrays pass through as is."""
    if hasattr(items, "__array_interface__") and hasattr(items, "dtype"):
        if items.dtype.itemsize != size:
            raise LayoutError(f"map {self.name!r}: numpy items of {items.dtype} are "
                              f"{items.dtype.itemsize} bytes, entries are {size} bytes")
        if not items.flags["C_CONTIGUOUS"]:
            items = items.copy(order="C")
        return items, len(items)
    encoded = [codec.encode(x) for x in items]
    return b"".join(encoded), len(encoded)


def _batch_opts(flags: int = 0) -> Any:
    opts = ffi.new("struct bpf_map_batch_opts *")
    opts.sz = ffi.sizeof("struct bpf_map_batch_opts")
    opts.elem_flags = flags
    return opts


def update_batch(self: Map, keys: Iterable[Any], values: Iterable[Any],
                 flags: int = UpdateFlag.ANY) -> int:
    """Set many entries in one system call per batch; returns how many were set.

    ``keys``/``values`` are sequences of Python values or numpy arrays whose items
    have the entries' sizes (``to_numpy()``'s fields do).
    """
    if self._closed:
        self._raise_closed("update_batch")
    kbuf, nk = _encode_many(self, keys, self.key_codec, self.key_size)
    vbuf, nv = _encode_many(self, values, self.value_codec, self._vsize)
    if nk != nv:
        raise LayoutError(f"update_batch: {nk} keys but {nv} values")
    if nk == 0:
        return 0
    count = ffi.new("__u32 *", nk)
    ret = lib.bpf_map_update_batch(self._fd, ffi.from_buffer(kbuf), ffi.from_buffer(vbuf),
                                   count, _batch_opts(flags))
    if ret < 0:
        if -ret in _NO_BATCH and count[0] == 0 and self.type in KEYLESS | {
                MapType.LPM_TRIE}:
            raise NotSupported(f"the kernel has no batch updates for {self.type.name} "
                               f"maps (map {self.name!r})")
        done = int(count[0])
        exc = self._error(-ret, f"update_batch (after {done} of {nk} entries) of", flags=flags)
        raise exc
    return int(count[0])


def delete_batch(self: Map, keys: Iterable[Any], *, missing_ok: bool = False) -> int:
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
        ret = lib.bpf_map_delete_batch(self._fd, buf, count, _batch_opts())
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
        raise self._error(-ret, "delete_batch of", keys[done] if done < len(keys)
                          else MISSING)
    return done


# -- numpy (a method of Map) -------------------------------------------------------

def to_numpy(self: Map) -> Any:
    """Every entry as a numpy structured array with fields ``key`` and ``value``,
    whose dtypes come from BTF (per-CPU values: one column per possible CPU)."""
    from libbpf_py._numpy import dtype_of, numpy

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
    n = _dump_into(self, keys, values, cap, False) if self._batch_ok else -errno.EINVAL
    if n < 0:
        if -n not in _NO_BATCH:
            raise self._error(-n, "dumping")
        pairs = list(items_by_key(self))
        n = len(pairs)
        keys = np.frombuffer(b"".join(self._kenc(k) for k, _ in pairs) or b"", np.uint8)
        values = np.frombuffer(b"".join(self._venc(v) for _, v in pairs) or b"", np.uint8)
    if isinstance(vcodec, PerCpuCodec):
        ncpus, slot = vcodec.ncpus, vcodec.slot
        per = values[:n * self._vsize].reshape(n, ncpus, slot)[:, :, :inner.size]
        vcol = np.ascontiguousarray(per).view(vdt).reshape(n, ncpus)
        out = np.empty(n, dtype=[("key", kdt), ("value", vdt, (ncpus,))])
    else:
        vcol = values[:n * self._vsize].view(vdt)
        out = np.empty(n, dtype=[("key", kdt), ("value", vdt)])
    out["key"] = keys[:n * self.key_size].view(kdt)
    out["value"] = vcol
    return out
