"""What a map's type implies for its Python view, and the flags of an update."""

from __future__ import annotations

from typing import Any

from libbpf_py.enums import MapType

__all__ = ["ARRAYS", "FD_VALUES", "KEYLESS", "MISSING", "PERCPU", "UpdateFlag"]

PERCPU = {
    MapType.PERCPU_HASH,
    MapType.PERCPU_ARRAY,
    MapType.LRU_PERCPU_HASH,
    MapType.PERCPU_CGROUP_STORAGE,
}
ARRAYS = {
    MapType.ARRAY,
    MapType.PERCPU_ARRAY,
    MapType.PROG_ARRAY,
    MapType.ARRAY_OF_MAPS,
    MapType.PERF_EVENT_ARRAY,
    MapType.CGROUP_ARRAY,
    MapType.DEVMAP,
    MapType.CPUMAP,
    MapType.XSKMAP,
    MapType.SOCKMAP,
    MapType.REUSEPORT_SOCKARRAY,
}
KEYLESS = {MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER}
FD_VALUES = {
    MapType.PROG_ARRAY,
    MapType.ARRAY_OF_MAPS,
    MapType.HASH_OF_MAPS,
    MapType.PERF_EVENT_ARRAY,
    MapType.CGROUP_ARRAY,
    MapType.SOCKMAP,
    MapType.SOCKHASH,
    MapType.XSKMAP,
    MapType.REUSEPORT_SOCKARRAY,
}

# "No key was given" / "no entry": None is a value a caller may pass.
MISSING: Any = object()


class UpdateFlag:
    """Flags for :meth:`Map.update`: create or replace, only create, only replace, lock."""

    ANY = 0
    NOEXIST = 1
    EXIST = 2
    LOCK = 4
