"""Helpers of the execute tests: read a producer's counters straight from its .bss map."""

from __future__ import annotations

import struct

import libbpf_py
from libbpf_py._lowlevel import check, ffi, lib


def read_globals(
    obj: libbpf_py.LoadedObject, source: libbpf_py.ObjectFile, *names: str
) -> dict[str, tuple[int, ...]]:
    """The u64 arrays ``names`` of the object's .bss, read with one raw map lookup."""
    spec = source.inspect()
    bss = next(m for name, m in obj.maps.items() if name.endswith(".bss"))
    key = ffi.new("__u32 *", 0)
    value = ffi.new("char[]", bss.value_size)
    check(lib.bpf_map_lookup_elem(bss.fd, key, value), "reading .bss")
    raw = ffi.buffer(value)[:]
    out = {}
    for name in names:
        var = spec.globals[name]
        out[name] = struct.unpack_from(f"<{var.size // 8}Q", raw, var.offset)
    return out
