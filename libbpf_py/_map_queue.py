"""Queues, stacks and bloom filters: the maps whose values go in without a key.

The functions taking ``self`` are methods of :class:`~libbpf_py.maps.Map`, bound there.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

from libbpf_py._lowlevel import ffi, lib
from libbpf_py._map_kinds import MISSING, UpdateFlag

if TYPE_CHECKING:
    from libbpf_py.maps import Map


def push(self: Map, value: Any, *, overwrite: bool = False) -> None:
    """Push onto a queue or stack; ``overwrite`` drops the oldest when it is full."""
    if self._closed:
        self._raise_closed("map push")
    ret = lib.bpf_map_update_elem(self._fd, ffi.NULL, self._venc(value),
                                  UpdateFlag.EXIST if overwrite else UpdateFlag.ANY)
    if ret < 0:
        raise self._error(-ret, "pushing onto")


def peek(self: Map, default: Any = MISSING) -> Any:
    """The next element of a queue or stack, without removing it."""
    if self._closed:
        self._raise_closed("map peek")
    out = ffi.new(self._vtype)
    ret = lib.bpf_map_lookup_elem(self._fd, ffi.NULL, out)
    if ret < 0:
        if -ret == errno.ENOENT and default is not MISSING:
            return default
        raise self._error(-ret, "peeking into")
    return self._vdec(ffi.unpack(out, self._vsize))


def add(self: Map, value: Any) -> None:
    """Add a value to a bloom filter."""
    if self._closed:
        self._raise_closed("bloom filter add")
    ret = lib.bpf_map_update_elem(self._fd, ffi.NULL, self._venc(value), 0)
    if ret < 0:
        raise self._error(-ret, "adding to")


def bloom_has(self: Map, value: Any) -> bool:
    """Whether a bloom filter may hold ``value`` (``value in m``)."""
    if self._closed:
        self._raise_closed("bloom filter lookup")
    v = ffi.new(self._vtype, self._venc(value))
    ret = lib.bpf_map_lookup_elem(self._fd, ffi.NULL, v)
    if ret == -errno.ENOENT:
        return False
    if ret < 0:
        raise self._error(-ret, "looking up a value in")
    return True
