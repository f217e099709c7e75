"""The public API, pinned: what ``libbpf_py`` exports, lazily or not, and where.

A change here is a change users see: add a name on purpose, never by accident, and
never drop one without a deprecation.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import libbpf_py

ALL = [
    "AmbiguousMatch",
    "Arena",
    "ArenaPageError",
    "AttachType",
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

# Imported on first use, so that ``import libbpf_py`` needs no compiled module.
LAZY = {
    "compile",
    "Arena",
    "Link",
    "LinkInfo",
    "LoadedObject",
    "Map",
    "MapInfo",
    "PerCpu",
    "TypeRef",
    "UpdateFlag",
    "OpenMap",
    "OpenObject",
    "OpenProgram",
    "LostSamples",
    "LostSamplesWarning",
    "PerfBuffer",
    "PerfEvent",
    "PerfSample",
    "Program",
    "ProgramFlag",
    "ProgramInfo",
    "ProgramStats",
    "TestRunFlag",
    "TestRunResult",
    "RecordBatch",
    "RingBuffer",
    "RingState",
    "stats_enabled",
    "Token",
    "trace_pipe",
    "UserRingBuffer",
    "link_objects",
}

# The module paths users import, and a name each must still give.
MODULE_PATHS = {
    "libbpf_py.attach": "AttachMixin",
    "libbpf_py.compiler": "compile",
    "libbpf_py.enums": "ProgType",
    "libbpf_py.errors": "BpfError",
    "libbpf_py.events.perfbuf": "PerfBuffer",
    "libbpf_py.events.ringbuf": "RingBuffer",
    "libbpf_py.events.user_ringbuf": "UserRingBuffer",
    "libbpf_py.explain": "explain",
    "libbpf_py.features": "check",
    "libbpf_py.global_data": "Globals",
    "libbpf_py.guests": "run_guests",
    "libbpf_py.inspect": "read_object",
    "libbpf_py.kernel": "programs",
    "libbpf_py.kernels": "fetch_kernel",
    "libbpf_py.link": "Link",
    "libbpf_py.linker": "link_objects",
    "libbpf_py.loaded": "LoadedObject",
    "libbpf_py.maps": "Map",
    "libbpf_py.mounts": "ensure_bpffs",
    "libbpf_py.netdev": "xdp_holder",
    "libbpf_py.netns": "VethPair",
    "libbpf_py.object.loaded": "LoadedObject",
    "libbpf_py.object.objfile": "ObjectFile",
    "libbpf_py.object.open_object": "OpenObject",
    "libbpf_py.object.shadow": "StructOpsShadow",
    "libbpf_py.objfile": "ObjectFile",
    "libbpf_py.open_object": "OpenObject",
    "libbpf_py.packets": "udp_packet",
    "libbpf_py.perfbuf": "PerfBuffer",
    "libbpf_py.program": "Program",
    "libbpf_py.pytest_plugin": "capability_problem",
    "libbpf_py.query": "program_info",
    "libbpf_py.ringbuf": "RingBuffer",
    "libbpf_py.stats": "stats_enabled",
    "libbpf_py.struct_ops": "attach_struct_ops",
    "libbpf_py.stubs": "write_stub",
    "libbpf_py.testing.netns": "VethPair",
    "libbpf_py.testing.packets": "udp_packet",
    "libbpf_py.token": "use_token",
    "libbpf_py.trace": "trace_pipe",
    "libbpf_py.typed": "TypeCodecs",
    "libbpf_py.user_ringbuf": "UserRingBuffer",
    "libbpf_py.vm": "run_in_kernel",
    "libbpf_py.vmlinux": "vmlinux_header",
}


def test_all_is_pinned() -> None:
    assert sorted(libbpf_py.__all__) == sorted(ALL)
    assert len(set(libbpf_py.__all__)) == len(libbpf_py.__all__)


def test_lazy_names_are_pinned() -> None:
    assert set(libbpf_py._LAZY) == LAZY
    assert set(ALL) >= LAZY


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_exported_name_resolves(name: str) -> None:
    value = getattr(libbpf_py, name)
    assert value is not None
    if name in LAZY:
        # The lazy name is the object its defining module holds, not a copy.
        assert value is getattr(importlib.import_module(libbpf_py._LAZY[name]), name)


def test_dir_lists_every_exported_name_before_it_is_used() -> None:
    # In a fresh interpreter no lazy name has been touched yet.
    out = subprocess.run(
        [sys.executable, "-c", "import libbpf_py; print('\\n'.join(dir(libbpf_py)))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert set(ALL) <= set(out)
    assert out == sorted(out)
    assert "__version__" in out


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        libbpf_py.no_such_name  # noqa: B018


def test_star_import_gives_all() -> None:
    namespace: dict[str, object] = {}
    exec("from libbpf_py import *", namespace)
    assert set(ALL) <= set(namespace)


@pytest.mark.parametrize("path", sorted(MODULE_PATHS))
def test_documented_module_paths_still_import(path: str) -> None:
    module = importlib.import_module(path)
    assert hasattr(module, MODULE_PATHS[path])


def test_old_paths_give_the_same_objects() -> None:
    from libbpf_py import loaded, netns, objfile, perfbuf, ringbuf
    from libbpf_py.events import perfbuf as new_perfbuf
    from libbpf_py.events import ringbuf as new_ringbuf
    from libbpf_py.object import loaded as new_loaded
    from libbpf_py.object import objfile as new_objfile
    from libbpf_py.testing import netns as new_netns

    assert ringbuf.RingBuffer is new_ringbuf.RingBuffer is libbpf_py.RingBuffer
    assert perfbuf.PerfBuffer is new_perfbuf.PerfBuffer is libbpf_py.PerfBuffer
    assert loaded.LoadedObject is new_loaded.LoadedObject is libbpf_py.LoadedObject
    assert objfile.ObjectFile is new_objfile.ObjectFile is libbpf_py.ObjectFile
    assert netns.VethPair is new_netns.VethPair
