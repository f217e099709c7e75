"""libbpf_py: the whole life of an eBPF program from Python.

Phases and the names that own them::

    compile(source)              1 source          -> a BPF ELF object file
    link_objects([a, b])         1 objects         -> one object (static linker)
    ObjectFile(path).inspect()   2 compiled object -> ObjectSpec (pure Python)
    ObjectFile(path).open()      3 open            -> OpenObject
    OpenObject.load()            4 load            -> LoadedObject
    Program.attach_xdp(dev)      5 attach          -> Link
    Map[key], Program.test_run   6 execute
    Link.detach(), close()       7 tear down

Everything that needs the compiled libbpf module is imported lazily, so
``libbpf_py.inspect`` and ``ObjectFile.inspect()`` work without it.
"""

from __future__ import annotations

# The one place the version is written (build_ffi.py and pyproject.toml read this line).
# It comes before every import so that the compiled module's loader, whichever import
# reaches it first, can compare its own version with this one.
__version__ = "0.1.0"

from types import ModuleType
from typing import TYPE_CHECKING, Any

from libbpf_py.enums import AttachType, LinkType, MapType, ProgType, XdpMode
from libbpf_py.errors import (
    AmbiguousMatch,
    ArenaPageError,
    BpfError,
    CompileError,
    KeyNotFound,
    LayoutError,
    MapFullError,
    NameNotFound,
    NotFound,
    NotOnBpffs,
    NotSupported,
    ObjectFormatError,
    PermissionDenied,
    PhaseError,
    ResourceBusy,
    VerifierError,
)
from libbpf_py.explain import explain, explaining
from libbpf_py.object.objfile import ObjectFile

if TYPE_CHECKING:
    from libbpf_py.attach._perf_event import PerfEvent
    from libbpf_py.compiler import compile
    from libbpf_py.events.perfbuf import LostSamples, LostSamplesWarning, PerfBuffer, PerfSample
    from libbpf_py.events.ringbuf import BorrowedBatch, RecordBatch, RingBuffer, RingState
    from libbpf_py.events.user_ringbuf import UserRingBuffer
    from libbpf_py.link._link import Link, LinkInfo
    from libbpf_py.linker import link_objects
    from libbpf_py.maps._arena import Arena
    from libbpf_py.maps._map import Map, MapInfo, PerCpu, TypeRef, UpdateFlag
    from libbpf_py.object.loaded import LoadedObject
    from libbpf_py.object.open_object import OpenMap, OpenObject, OpenProgram
    from libbpf_py.program._flags import ProgramFlag
    from libbpf_py.program._program import (
        Program,
        ProgramInfo,
        ProgramStats,
        TestRunFlag,
        TestRunResult,
    )
    from libbpf_py.stats import stats_enabled
    from libbpf_py.token import Token
    from libbpf_py.trace import trace_pipe

__all__ = [
    "AmbiguousMatch",
    "Arena",
    "ArenaPageError",
    "AttachType",
    "BorrowedBatch",
    "BpfError",
    "CompileError",
    "KeyNotFound",
    "LayoutError",
    "Link",
    "LinkInfo",
    "LinkType",
    "LoadedObject",
    "LostSamples",
    "LostSamplesWarning",
    "Map",
    "MapFullError",
    "MapInfo",
    "MapType",
    "NameNotFound",
    "NotFound",
    "NotOnBpffs",
    "NotSupported",
    "ObjectFile",
    "ObjectFormatError",
    "OpenMap",
    "OpenObject",
    "OpenProgram",
    "PerCpu",
    "PerfBuffer",
    "PerfEvent",
    "PerfSample",
    "PermissionDenied",
    "PhaseError",
    "ProgType",
    "Program",
    "ProgramFlag",
    "ProgramInfo",
    "ProgramStats",
    "RecordBatch",
    "ResourceBusy",
    "RingBuffer",
    "RingState",
    "TestRunFlag",
    "TestRunResult",
    "Token",
    "TypeRef",
    "UpdateFlag",
    "UserRingBuffer",
    "VerifierError",
    "XdpMode",
    "compile",
    "explain",
    "explaining",
    "libbpf_version",
    "link_objects",
    "stats_enabled",
    "trace_pipe",
]

_LAZY = {
    "compile": "libbpf_py.compiler",
    "Arena": "libbpf_py.maps._arena",
    "Link": "libbpf_py.link._link",
    "LinkInfo": "libbpf_py.link._link",
    "link_objects": "libbpf_py.linker",
    "LoadedObject": "libbpf_py.object.loaded",
    "Map": "libbpf_py.maps._map",
    "MapInfo": "libbpf_py.maps._map",
    "PerCpu": "libbpf_py.maps._map",
    "TypeRef": "libbpf_py.maps._map",
    "UpdateFlag": "libbpf_py.maps._map",
    "OpenMap": "libbpf_py.object.open_object",
    "OpenObject": "libbpf_py.object.open_object",
    "OpenProgram": "libbpf_py.object.open_object",
    "LostSamples": "libbpf_py.events.perfbuf",
    "LostSamplesWarning": "libbpf_py.events.perfbuf",
    "PerfBuffer": "libbpf_py.events.perfbuf",
    "PerfEvent": "libbpf_py.attach._perf_event",
    "PerfSample": "libbpf_py.events.perfbuf",
    "Program": "libbpf_py.program._program",
    "ProgramFlag": "libbpf_py.program._flags",
    "ProgramInfo": "libbpf_py.program._program",
    "ProgramStats": "libbpf_py.program._program",
    "TestRunFlag": "libbpf_py.program._program",
    "TestRunResult": "libbpf_py.program._program",
    "BorrowedBatch": "libbpf_py.events.ringbuf",
    "RecordBatch": "libbpf_py.events.ringbuf",
    "RingBuffer": "libbpf_py.events.ringbuf",
    "RingState": "libbpf_py.events.ringbuf",
    "stats_enabled": "libbpf_py.stats",
    "Token": "libbpf_py.token",
    "trace_pipe": "libbpf_py.trace",
    "UserRingBuffer": "libbpf_py.events.user_ringbuf",
}


# A submodule named like a builtin would shadow it here once imported; keep a handle.
_namespace = globals()


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'libbpf_py' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    _namespace[name] = value
    return value


def __dir__() -> list[str]:
    # The lazy names are attributes too, before their first use; tab completion and
    # dir() list what ``from libbpf_py import *`` gives, the module's dunders and the
    # subpackages imported so far, not the helpers this file imports for itself
    # (``Any``, ``TYPE_CHECKING``).
    public = set(__all__)
    for name, value in _namespace.items():
        if name.startswith("__") or (isinstance(value, ModuleType) and name[0] != "_"):
            public.add(name)
    return sorted(public)


def libbpf_version() -> str:
    """The version of the libbpf linked into libbpf_py, e.g. ``"1.7.0"``."""
    from libbpf_py._lowlevel import ffi, lib

    pinned = str(ffi.string(lib.lpy_pinned_libbpf()).decode())
    linked = f"{lib.libbpf_major_version()}.{lib.libbpf_minor_version()}"
    return pinned if pinned.startswith(linked) else linked
