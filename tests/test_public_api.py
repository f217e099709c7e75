"""The public API, pinned: what ``libbpf_py`` exports, lazily or not, and where.

A change here is a change users see: add a name on purpose, never by accident, and
never drop one without a deprecation.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import libbpf_py

ALL = [
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
    "BorrowedBatch",
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


def _fresh_dir() -> list[str]:
    """dir(libbpf_py) in a fresh interpreter, where no lazy name has been touched yet."""
    return subprocess.run(
        [sys.executable, "-c", "import libbpf_py; print('\\n'.join(dir(libbpf_py)))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()


def test_dir_lists_every_exported_name_before_it_is_used() -> None:
    out = _fresh_dir()
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


def test_dir_lists_public_names_not_the_modules_own_helpers() -> None:
    out = _fresh_dir()
    # What __init__ imports for its own use (typing helpers, the lazy table) is no API.
    for helper in ("Any", "TYPE_CHECKING", "ModuleType", "annotations", "_LAZY", "_namespace"):
        assert helper not in out
    public = [name for name in out if not name.startswith("__")]
    subpackages = [name for name in public if name not in ALL]
    # Besides __all__, only the subpackages imported so far are listed (as they are
    # attributes of the package once imported).
    for name in subpackages:
        assert importlib.import_module(f"libbpf_py.{name}").__name__ == f"libbpf_py.{name}"
    # inspect (and pyelftools) load only when an object is inspected.
    assert "errors" in subpackages and "inspect" not in subpackages
    assert dir(libbpf_py) == sorted(dir(libbpf_py))


# -- the API reference (docs/reference/api.rst) lists every public name -----------------

API_RST = Path(__file__).resolve().parent.parent / "docs" / "reference" / "api.rst"
_DIRECTIVE = re.compile(r"\.\. (automodule|autoclass|autofunction|autodata):: (\S+)")
# The options api.rst may give a directive (what the parser below understands).
_OPTIONS = {"no-members", "members", "inherited-members", "undoc-members", "show-inheritance"}


def _reference_directives() -> list[tuple[str, str, dict[str, str]]]:
    """Each autodoc directive of api.rst: its kind, target and options.

    Every explicit markup line must be one of these directives, its options indented by
    three spaces, and what follows a blank line or another directive: the rst stays
    well formed for Sphinx without building it here.
    """
    lines = API_RST.read_text().splitlines()
    found = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.startswith(".. "):
            assert not line.startswith("   :"), f"api.rst:{i}: an option outside a directive"
            continue
        match = _DIRECTIVE.fullmatch(line)
        assert match, f"api.rst:{i}: not an autodoc directive of this page: {line!r}"
        options = {}
        while i < len(lines) and lines[i].startswith("   :"):
            name, _, value = lines[i].strip()[1:].partition(":")
            assert name in _OPTIONS, f"api.rst:{i + 1}: unknown option {name!r}"
            options[name] = value.strip()
            i += 1
        if i < len(lines):
            nxt = lines[i]
            assert nxt == "" or nxt.startswith(".. "), f"api.rst:{i + 1}: needs a blank line"
        found.append((match[1], match[2], options))
    return found


def _members(module: ModuleType, options: dict[str, str]) -> list[str]:
    """The names ``automodule`` documents with these options (as autodoc chooses them:
    the listed members, else the module's ``__all__``, else what the module defines)."""
    if "no-members" in options:
        return []
    if options.get("members"):
        return [name.strip() for name in options["members"].split(",")]
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
    ]


def _attribute_docs(module: ModuleType) -> set[str]:
    """The module-level names that carry a doc comment (``#:`` above the assignment) or
    a docstring (a string right after it) in the module's own source, as autodoc reads
    them for module data."""
    source = inspect.getsource(module)
    lines = source.splitlines()
    body = ast.parse(source).body
    found = set()
    for i, node in enumerate(body):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        if not names:
            continue
        comment = node.lineno >= 2 and lines[node.lineno - 2].lstrip().startswith("#:")
        after = body[i + 1] if i + 1 < len(body) else None
        docstring = (
            isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        )
        if comment or docstring:
            found.update(names)
    return found


@functools.cache
def _documented() -> dict[int, str]:
    """The objects api.rst documents (by identity), each with the path it is shown at."""
    documented: dict[int, str] = {}
    for kind, target, options in _reference_directives():
        if kind == "automodule":
            module = importlib.import_module(target)
            attribute_docs = _attribute_docs(module)
            for name in _members(module, options):
                value = getattr(module, name)
                # autodoc leaves out a member without a docstring unless asked to
                # (:undoc-members:). Module data has a doc only through a doc comment in
                # this module's source; other data takes an explicit autodata.
                is_api = inspect.isclass(value) or inspect.isroutine(value)
                has_doc = bool(inspect.getdoc(value)) if is_api else name in attribute_docs
                if "undoc-members" in options or has_doc:
                    documented[id(value)] = f"{target}.{name}"
        else:
            module_name, _, name = target.rpartition(".")
            value = getattr(importlib.import_module(module_name), name)
            documented[id(value)] = target
    return documented


def test_the_api_reference_documents_every_exported_name() -> None:
    documented = _documented()
    missing = [name for name in libbpf_py.__all__ if id(getattr(libbpf_py, name)) not in documented]
    assert missing == [], f"add these to docs/reference/api.rst: {missing}"


@pytest.mark.parametrize("path", sorted(MODULE_PATHS))
def test_the_api_reference_documents_every_public_modules_all(path: str) -> None:
    documented = _documented()
    module = importlib.import_module(path)
    names = getattr(module, "__all__", [])
    missing = [name for name in names if id(getattr(module, name)) not in documented]
    assert missing == [], f"add these names of {path} to docs/reference/api.rst: {missing}"


def test_the_reference_parser_sees_what_autodoc_would() -> None:
    # The parser is what the two tests above trust: check it on the page itself.
    directives = _reference_directives()
    targets = {target for _, target, _ in directives}
    assert {"libbpf_py.events.perfbuf", "libbpf_py.events.user_ringbuf"} <= targets
    assert {"libbpf_py.stats", "libbpf_py.trace", "libbpf_py.inspect"} <= targets
    top = next(options for kind, target, options in directives if target == "libbpf_py")
    assert "no-members" in top and _members(libbpf_py, top) == []
    documented = _documented()
    assert documented[id(libbpf_py.PerfBuffer)] == "libbpf_py.events.perfbuf.PerfBuffer"
    assert documented[id(libbpf_py.libbpf_version)] == "libbpf_py.libbpf_version"
    from libbpf_py.inspect import ObjectSpec

    assert documented[id(ObjectSpec)] == "libbpf_py.inspect.ObjectSpec"
