"""Fixtures of the attach tests: compiled programs, a helper binary, a fresh cgroup."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.attach.helpers import Target
from tests.conftest import IS_ROOT

HERE = Path(__file__).resolve().parent
SOURCES = HERE.parent / "bpf" / "attach"
_cgroups = itertools.count()


@pytest.fixture(scope="session")
def attach_objects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """tests/bpf/attach/*.bpf.c compiled once per session, by name."""
    from libbpf_py.compiler import compile

    out = tmp_path_factory.mktemp("attach-bpf")
    return {
        src.name.removesuffix(".bpf.c"): compile(src, out / src.name.replace(".c", ".o"))
        for src in sorted(SOURCES.glob("*.bpf.c"))
    }


@pytest.fixture(scope="session")
def target_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/attach/target.c built with gcc (needs <sys/sdt.h>: systemtap-sdt-dev)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed: the uprobe tests build their target with it")
    out = tmp_path_factory.mktemp("attach-target") / "lpy_target"
    proc = subprocess.run(
        [gcc, "-O1", "-g", "-o", str(out), str(HERE / "target.c")], capture_output=True, text=True
    )
    if proc.returncode != 0 and "sdt.h" in proc.stderr:
        pytest.skip("<sys/sdt.h> is missing: apt-get install systemtap-sdt-dev")
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture
def target(target_binary: Path) -> Iterator[Target]:
    """The helper binary, running, for one test."""
    t = Target(target_binary)
    try:
        yield t
    finally:
        t.close()


@pytest.fixture
def cgroup() -> Iterator[Path]:
    """A fresh cgroup v2 directory (removed afterwards); run code in it with in_cgroup()."""
    from libbpf_py.features import cgroup2_mount

    if not IS_ROOT:
        pytest.skip("creating cgroups needs root")
    root = cgroup2_mount()
    if root is None:
        pytest.skip("no cgroup v2 hierarchy is mounted")
    path = Path(root, f"lpy-{os.getpid()}-{next(_cgroups)}")
    path.mkdir()
    try:
        yield path
    finally:
        for _ in range(100):  # the child may still be leaving it
            try:
                path.rmdir()
                break
            except OSError:
                time.sleep(0.05)
