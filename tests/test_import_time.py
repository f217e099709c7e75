"""What ``import libbpf_py`` and its first three names load: not the heavy modules.

``import libbpf_py`` followed by ``ObjectFile``, ``Map`` and ``RingBuffer`` has a budget
(bench/import_time.py measures it, ≤ 50 ms here). Timings move with the machine's load, so
this test checks what decides them instead: which modules a fresh interpreter holds
afterwards. Each module below is imported only by the code that needs it (pyelftools by
``ObjectFile.inspect()``, asyncio by the async iterators, gzip by the kernel config
reader, ...), and one import at the top of a module brings it back for everyone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import libbpf_py

FIRST_USE = "import libbpf_py; libbpf_py.ObjectFile; libbpf_py.Map; libbpf_py.RingBuffer"

# The module, and where the library imports it now.
NOT_IMPORTED = {
    "elftools": "ObjectFile.inspect() (libbpf_py.inspect)",
    "libbpf_py.inspect": "ObjectFile.inspect()",
    "asyncio": "RingBuffer/PerfBuffer async iteration and wait",
    "importlib.metadata": "nowhere: the loader compares versions with __version__",
    "numpy": "the numpy views of records and maps",
    "gzip": "features.kconfig()",
    "subprocess": "mounting a file system, tc filters",
    "ipaddress": "nowhere: LPM keys recognise its objects once the caller imported it",
    "socket": "interface names and indexes",
    "logging": "the first libbpf message or narration",
    "pathlib": "ObjectFile(path), not ObjectFile(bytes)",
    "json": "tc filters (iproute2's JSON)",
    "datetime": "ProgramInfo.loaded_at",
}

CHILD = f"""
import sys
{FIRST_USE}
after_import = sorted(sys.modules)
spec = libbpf_py.ObjectFile(sys.argv[1]).inspect()
import json
print(json.dumps({{
    "file": libbpf_py.__file__,
    "after_import": after_import,
    "programs": sorted(spec.programs),
    "maps": sorted(spec.maps),
    "after_inspect": sorted(sys.modules),
}}))
"""


def _importers(importtime: str, module: str) -> str:
    """Who imported ``module``, from ``-X importtime``'s tree: the module and each
    importer after it (``subprocess <- asyncio.base_events <- asyncio <- ...``)."""
    rows = [
        # "| name" one space in, and two more per level of nesting.
        ((len(name) - len(name.lstrip()) - 1) // 2, name.strip())
        for line in importtime.splitlines()
        if line.startswith("import time:") and (name := line.split("|")[-1])
    ]
    # The tree is printed children first: a module's importer is the next row one
    # level out.
    for i, (depth, name) in enumerate(rows):
        if name == module:
            chain = [name]
            for outer_depth, outer in rows[i + 1 :]:
                if outer_depth < depth:
                    chain.append(outer)
                    depth = outer_depth
            if depth == 0:
                # A module importlib.import_module loaded (as the lazy names of
                # libbpf_py are) has no row of its own, so the chain stops short of it.
                chain.append("(a module loaded by importlib: a lazy name's)")
            return " <- ".join(chain)
    return module


def _package_env() -> dict[str, str]:
    """The environment of a child that imports the libbpf_py these tests import (a
    checkout's or an installed wheel's), whatever folder it starts in."""
    env = dict(os.environ)
    parent = str(Path(libbpf_py.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (parent, env.get("PYTHONPATH")) if p)
    return env


@pytest.fixture(scope="module")
def fresh(filter_object: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """What a fresh interpreter holds after the first use, then after one inspection."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", CHILD, str(filter_object)],
        cwd=tmp_path_factory.mktemp("fresh"),
        env=_package_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    yield {**json.loads(proc.stdout), "importtime": proc.stderr}


def test_the_child_imported_the_package_under_test(fresh: dict) -> None:
    assert Path(fresh["file"]).resolve() == Path(libbpf_py.__file__).resolve()
    assert "libbpf_py.object.objfile" in fresh["after_import"]
    assert "libbpf_py.maps._map" in fresh["after_import"]
    assert "libbpf_py.events.ringbuf" in fresh["after_import"]


@pytest.mark.parametrize("module", sorted(NOT_IMPORTED))
def test_first_use_does_not_import(fresh: dict, module: str) -> None:
    loaded = [m for m in fresh["after_import"] if m == module or m.startswith(module + ".")]
    assert loaded == [], (
        f"{FIRST_USE!r} imports {module}, whose cost counts against the import budget; "
        f"the library needs it only in {NOT_IMPORTED[module]}. Imported by: "
        + _importers(fresh["importtime"], loaded[0])
    )


def test_inspecting_afterwards_loads_the_reader_and_works(fresh: dict) -> None:
    # The demo's filter: one XDP program and its maps, read by pyelftools now loaded.
    assert fresh["programs"] == ["xdp_filter"]
    assert {"blocklist", "counters"} <= set(fresh["maps"])
    assert "elftools.elf.elffile" in fresh["after_inspect"]
    assert "libbpf_py.inspect" in fresh["after_inspect"]
