"""The inspect corpus: every tests/bpf/corpus/*.bpf.c compiled once per session."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[1] / "bpf" / "corpus"
SOURCES = sorted(CORPUS.glob("*.bpf.c"))
# Objects whose source needs BPF ISA v4 (sign extension, gotol) end in _v4.
V4_SUFFIX = "_v4.bpf.c"
NAMES = [s.name.removesuffix(".bpf.c") for s in SOURCES]


def cflags_for(source: Path) -> tuple[str, ...]:
    """The extra clang flags a corpus source needs."""
    return ("-mcpu=v4",) if source.name.endswith(V4_SUFFIX) else ()


def tool(name: str) -> str:
    """The path of a reference tool, or skip the test that needs it."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """name -> compiled object, built through libbpf_py.compile (two at a time)."""
    from libbpf_py import compile

    out = tmp_path_factory.mktemp("corpus")

    def build(src: Path) -> tuple[str, Path]:
        target = out / src.name.replace(".bpf.c", ".bpf.o")
        return src.name.removesuffix(".bpf.c"), compile(src, target, cflags=cflags_for(src))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(build, SOURCES))


@pytest.fixture(scope="session")
def specs(corpus: dict[str, Path]) -> dict[str, object]:
    """name -> ObjectSpec of every corpus object."""
    from libbpf_py.inspect import read_object

    return {name: read_object(path.read_bytes(), path.name) for name, path in corpus.items()}
