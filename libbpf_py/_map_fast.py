"""The fast paths a map takes when its kind allows: one C call, or no call at all.

A map becomes one of these classes once, when it is made (``Map._specialize``). They
override only the single-entry hot paths and fall back to :class:`~libbpf_py.maps.Map`
for anything unusual: a key the C call cannot take, an error to name.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import Any

from libbpf_py._lowlevel import ffi, lib
from libbpf_py._map_kinds import MISSING, UpdateFlag
from libbpf_py.errors import KeyNotFound, PhaseError
from libbpf_py.maps import Map

_EKEYRANGE = int(lib.LPY_EKEYRANGE)
_EVALUERANGE = int(lib.LPY_EVALUERANGE)


class _IntMap(Map):
    """A hash or array of integer keys and values: one C call per operation."""

    _c_lookup: Any
    _c_update: Any
    _c_delete: Any
    _sentinel: int

    def __getitem__(self, key: Any) -> Any:
        try:
            v = self._c_lookup(self._c, key)
        except (TypeError, OverflowError):
            return Map.__getitem__(self, key)
        if v != self._sentinel:
            return v
        return self._missed(key, v, True, None)

    def get(self, key: Any, default: Any = None) -> Any:
        """Return the value for ``key``, or ``default`` if the map has none."""
        try:
            v = self._c_lookup(self._c, key)
        except (TypeError, OverflowError):
            return Map.get(self, key, default)
        if v != self._sentinel:
            return v
        return self._missed(key, v, False, default)

    def __contains__(self, key: Any) -> bool:
        return self.get(key, MISSING) is not MISSING

    def _missed(self, key: Any, v: int, strict: bool, default: Any) -> Any:
        err = ffi.errno
        if err == 0:
            return v  # the value really is the sentinel
        if err == errno.ENOENT:
            if strict:
                raise self._error(err, "lookup", key)
            return default
        if err == _EKEYRANGE:
            return Map.__getitem__(self, key) if strict else Map.get(self, key, default)
        raise self._error(err, "looking up a key in", key)

    def __setitem__(self, key: Any, value: Any) -> None:
        try:
            ret = self._c_update(self._c, key, value, 0)
        except (TypeError, OverflowError):
            Map.update(self, key, value)
            return
        if ret:
            self._update_failed(ret, key, value, 0)

    def update(self, key: Any, value: Any, flags: int = UpdateFlag.ANY) -> None:
        """Set ``key`` to ``value``; ``flags`` is an :class:`UpdateFlag` combination."""
        try:
            ret = self._c_update(self._c, key, value, flags)
        except (TypeError, OverflowError):
            Map.update(self, key, value, flags)
            return
        if ret:
            self._update_failed(ret, key, value, flags)

    def _update_failed(self, ret: int, key: Any, value: Any, flags: int) -> None:
        if -ret in (_EKEYRANGE, _EVALUERANGE):
            Map.update(self, key, value, flags)  # the codecs name what is out of range
            return
        raise self._error(-ret, "updating", key, flags)

    def __delitem__(self, key: Any) -> None:
        try:
            ret = self._c_delete(self._c, key)
        except (TypeError, OverflowError):
            Map.__delitem__(self, key)
            return
        if ret:
            if -ret == _EKEYRANGE:
                Map.__delitem__(self, key)
                return
            raise self._error(-ret, "deleting from", key)


class _MmapArray(Map):
    """A ``BPF_F_MMAPABLE`` array: entries live in this process's memory, no syscalls."""

    _raw: Any
    _stride: int
    _n: int
    _mult: int

    def __getitem__(self, key: Any) -> Any:
        try:
            if 0 <= key < self._n:
                if self._mult:
                    return self._mv[key * self._mult]
                off = key * self._stride
                return self._vdec(self._raw[off:off + self._vsize].tobytes())
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
                    self._raw[off:off + self._vsize] = self._venc(value)
                return
        except (TypeError, ValueError):
            if self._closed:
                self._raise_closed("map update")
            if self._raw.readonly:
                raise PhaseError(f"map {self.name!r} is frozen (read-only)", phase="frozen",
                                 needed="loaded") from None
            Map.update(self, key, value)  # the codecs name what is wrong
            return
        raise self._error(errno.E2BIG, "updating", key)

    def update(self, key: Any, value: Any, flags: int = UpdateFlag.ANY) -> None:
        """Set index ``key``; flags other than ANY go through the system call."""
        if flags:
            Map.update(self, key, value, flags)
        else:
            self[key] = value

    def items(self) -> Iterator[tuple[Any, Any]]:
        """(index, value) for every index."""
        return ((i, self[i]) for i in range(self._n))

    def values(self) -> Iterator[Any]:
        """Every value, in index order."""
        if self._mult and not self._closed:
            return iter(self._mv[::self._mult].tolist()[:self._n])
        return (self[i] for i in range(self._n))
