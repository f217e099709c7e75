"""Fixtures of the reliability suite: its sizes, its BPF object, and its figures.

Sizes: the CI size by default; ``LIBBPF_PY_LONG=1`` selects the long size (a conftest
in a sub-folder cannot add command-line options, so the switch is an environment
variable). Every test records what it did (cycles, executions, kills, leaks) with the
``figures`` fixture; the totals are printed at the end of the run and written to
``build/reliability/figures-<size>.json`` for docs/reliability.md.
"""

from __future__ import annotations

import errno
import gc
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import libbpf_py
from tests.conftest import IS_ROOT

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = HERE.parent / "bpf" / "corpus"
LONG = os.environ.get("LIBBPF_PY_LONG") == "1"
SIZE_NAME = "long" if LONG else "ci"

_FIGURES: Counter[str] = Counter()


def scale(ci: int, long: int) -> int:
    """The CI size, or the long size under ``LIBBPF_PY_LONG=1``."""
    return long if LONG else ci


class Figures:
    """Adds to the run's totals: ``figures.add("soak.lifecycles", 1)``."""

    def add(self, name: str, amount: int = 1) -> None:
        """Count ``amount`` more of ``name``."""
        _FIGURES[name] += amount


@pytest.fixture(scope="session")
def figures() -> Figures:
    """The run's counters (written out at the end of the session)."""
    return Figures()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print and save the figures of this run."""
    if not _FIGURES:
        return
    out = ROOT / "build" / "reliability"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"figures-{SIZE_NAME}.json"
    path.write_text(json.dumps(dict(sorted(_FIGURES.items())), indent=1) + "\n")
    terminalreporter.section(f"reliability figures ({SIZE_NAME} size)")
    for name, value in sorted(_FIGURES.items()):
        terminalreporter.write_line(f"{name:<44} {value}")
    terminalreporter.write_line(f"(saved to {path.relative_to(ROOT)})")


@pytest.fixture(scope="session")
def soak_object(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/reliability/bpf/soak.bpf.c, compiled."""
    out = tmp_path_factory.mktemp("reliability")
    return libbpf_py.compile(HERE / "bpf" / "soak.bpf.c", out / "soak.bpf.o")


@pytest.fixture(scope="session")
def corpus_objects(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The test corpus (tests/bpf/corpus), compiled: the fuzzers' seeds."""
    out = tmp_path_factory.mktemp("reliability_corpus")
    from concurrent.futures import ThreadPoolExecutor

    def build(src: Path) -> Path:
        # The corpus's *_v4 sources use instructions of cpu v4 (signed division, gotol).
        flags = ["-mcpu=v4"] if src.name.endswith("_v4.bpf.c") else []
        return libbpf_py.compile(src, out / src.name.replace(".c", ".o"), cflags=flags)

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(build, sorted(CORPUS.glob("*.bpf.c"))))


@pytest.fixture
def root_only() -> None:
    """Skip unless this process may load BPF programs (names the missing capability)."""
    if not IS_ROOT:
        from libbpf_py.netns import capability_problem

        pytest.skip(f"the kernel part {capability_problem()}")


# -- what a test created, by kernel id --------------------------------------------------------


def _getters() -> dict[str, Callable[[int], int]]:
    from libbpf_py._lowlevel import lib

    return {
        "prog": lib.bpf_prog_get_fd_by_id,
        "map": lib.bpf_map_get_fd_by_id,
        "link": lib.bpf_link_get_fd_by_id,
    }


def id_alive(kind: str, ident: int) -> bool:
    """Whether the kernel still has the program/map/link ``ident``."""
    fd = _getters()[kind](ident)
    if fd < 0:
        if -fd != errno.ENOENT:
            raise OSError(-fd, f"looking up {kind} id {ident}")
        return False
    os.close(fd)
    return True


class Created:
    """The kernel ids a test created; :meth:`left` says which of them still exist."""

    def __init__(self) -> None:
        self.ids: dict[str, set[int]] = {"prog": set(), "map": set(), "link": set()}

    def add_object(self, loaded: libbpf_py.LoadedObject) -> None:
        """Record the programs and maps of a loaded object."""
        for prog in loaded.programs.values():
            if prog.loaded:
                info = prog.info()
                self.ids["prog"].add(info.id)
                self.ids["map"].update(info.map_ids)
        for m in loaded.maps.values():
            self.ids["map"].add(m.id)

    def add_link(self, link: libbpf_py.Link) -> None:
        """Record a link."""
        self.ids["link"].add(link.info().id)

    def left(self, settle: float = 2.0) -> list[str]:
        """The recorded objects the kernel still has (after letting it free them)."""
        deadline = time.monotonic() + settle
        while True:
            gc.collect()
            alive = [
                f"{kind} {i}"
                for kind, ids in self.ids.items()
                for i in sorted(ids)
                if id_alive(kind, i)
            ]
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.02)


@pytest.fixture
def created() -> Iterator[Created]:
    """Kernel ids this test created; the test fails if any is left afterwards."""
    record = Created()
    yield record
    left = record.left()
    assert not left, f"left in the kernel: {left}"


def open_fds() -> set[int]:
    """The fds this process has open."""
    return {int(fd) for fd in os.listdir("/proc/self/fd")}


# Under AddressSanitizer (tests/reliability/sanitized.sh) freed memory waits in ASan's
# quarantine, so RSS says nothing about leaks there; ASan checks the memory itself.
UNDER_ASAN = "asan" in os.environ.get("LD_PRELOAD", "")


def rss_kib() -> int:
    """This process's resident set size in KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")
