"""Fixtures of the execute tests: the event producers and program kinds, compiled once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

import libbpf_py
from tests.conftest import IS_ROOT

SOURCES = Path(__file__).resolve().parent.parent / "bpf" / "execute"
PACKET = b"\0" * 64  # XDP producers ignore the packet; the kernel wants at least 14 bytes

Loader = Callable[..., AbstractContextManager["libbpf_py.LoadedObject"]]


@pytest.fixture(scope="session")
def execute_objects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every tests/bpf/execute/*.bpf.c, compiled, by name."""
    out = tmp_path_factory.mktemp("bpf_execute")
    return {
        src.name.removesuffix(".bpf.c"): libbpf_py.compile(src, out / f"{src.stem}.o")
        for src in sorted(SOURCES.glob("*.bpf.c"))
    }


@pytest.fixture
def load(execute_objects: dict[str, Path]) -> Loader:
    """``with load("producer", ring_a=1 << 20) as obj``: open, size maps, load."""
    if not IS_ROOT:
        pytest.skip("loading BPF objects needs root")

    @contextmanager
    def loader(name: str, **max_entries: int) -> Iterator[libbpf_py.LoadedObject]:
        with libbpf_py.ObjectFile(execute_objects[name]).open() as opened:
            for map_name, entries in max_entries.items():
                opened.maps[map_name].max_entries = entries
            with opened.load() as loaded:
                yield loaded

    return loader
