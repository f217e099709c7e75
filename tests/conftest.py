"""Shared fixtures: compiled test programs, root checks, leak checks, veth pairs."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
BPF_SOURCES = TESTS / "bpf"
IS_ROOT = os.geteuid() == 0

requires_root = pytest.mark.skipif(
    not IS_ROOT, reason="loading BPF programs needs root (CAP_BPF, CAP_NET_ADMIN)")


def open_fds() -> set[int]:
    """The file descriptors this process has open right now."""
    return {int(fd) for fd in os.listdir("/proc/self/fd")}


@pytest.fixture(scope="session", autouse=True)
def _kernel_mounts() -> None:
    if IS_ROOT:
        from libbpf_py.mounts import ensure_bpffs, ensure_tracefs

        ensure_bpffs()
        ensure_tracefs()
        from libbpf_py.netns import sweep_stale

        sweep_stale()


@pytest.fixture(scope="session")
def bpf_objects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every tests/bpf/*.bpf.c compiled once per session, by name (without .bpf.c).

    Sources the verifier must reject still compile; loading them is the test.
    """
    from libbpf_py import compile

    out = tmp_path_factory.mktemp("bpf")
    return {src.name.removesuffix(".bpf.c"): compile(src, out / src.name.replace(".c", ".o"))
            for src in sorted(BPF_SOURCES.glob("*.bpf.c"))}


@pytest.fixture(scope="session")
def filter_object() -> Path:
    """The demo's XDP packet filter, compiled."""
    from libbpf_py import compile
    from libbpf_py.demo import filter_source

    return compile(filter_source())


@pytest.fixture
def no_fd_leak() -> Iterator[None]:
    """Fail the test if it leaves file descriptors open."""
    gc.collect()
    before = open_fds()
    yield
    gc.collect()
    leaked = open_fds() - before
    details = {fd: os.readlink(f"/proc/self/fd/{fd}") for fd in leaked
               if os.path.exists(f"/proc/self/fd/{fd}")}
    assert not details, f"the test leaked file descriptors: {details}"


@pytest.fixture
def veth() -> Iterator[object]:
    """A veth pair whose other end is in a fresh network namespace (removed afterwards)."""
    if not IS_ROOT:
        pytest.skip("creating network namespaces needs root")
    from libbpf_py.netns import VethPair

    with VethPair() as pair:
        yield pair
