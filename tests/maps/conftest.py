"""Fixtures of the map tests: the typed test object, compiled once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import libbpf_py
from tests.conftest import IS_ROOT

SOURCES = Path(__file__).resolve().parent.parent / "bpf" / "maps"


@pytest.fixture(scope="session")
def typed_object(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/bpf/maps/typed.bpf.c, compiled."""
    out = tmp_path_factory.mktemp("bpf_maps")
    return libbpf_py.compile(SOURCES / "typed.bpf.c", out / "typed.bpf.o")


@pytest.fixture
def typed(typed_object: Path) -> Iterator[libbpf_py.LoadedObject]:
    """The typed object, loaded (closed after the test)."""
    if not IS_ROOT:
        pytest.skip("loading BPF objects needs root")
    with libbpf_py.ObjectFile(typed_object).open() as opened, opened.load() as loaded:
        yield loaded


@pytest.fixture(scope="session")
def pinned_object(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/bpf/maps/pinned.bpf.c (a LIBBPF_PIN_BY_NAME map), compiled."""
    out = tmp_path_factory.mktemp("bpf_pinned")
    return libbpf_py.compile(SOURCES / "pinned.bpf.c", out / "pinned.bpf.o")
