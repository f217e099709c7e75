"""Shared fixtures: the project's tests use libbpf_py's own pytest plugin (dogfooding).

The plugin (``libbpf_py.pytest_plugin``) is activated by installing the package (its
``pytest11`` entry point ``libbpf_py``), so the suite runs the same against a checkout's
editable install and an installed wheel. The fixture names older test files use are kept
as thin aliases.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from libbpf_py.pytest_plugin import capability_problem

TESTS = Path(__file__).resolve().parent
BPF_SOURCES = TESTS / "bpf"
IS_ROOT = capability_problem() is None

requires_root = pytest.mark.requires_root


_PIN = TESTS.parent / "vendor" / "kernel-btf.pin"


def pinned_btf() -> Path:
    """The pinned kernel BTF the suite compiles against (fetched once, then cached).

    Read from vendor/kernel-btf.pin, checked against its sha256. ``LIBBPF_PY_BTF`` set
    beforehand wins (``running`` compiles against this machine's kernel instead).
    """
    import hashlib

    from libbpf_py.kernels import fetch_kernel_btf

    pin = dict(
        line.split("=", 1)
        for line in _PIN.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    path = fetch_kernel_btf(pin["RELEASE"])
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != pin["SHA256"]:
        raise pytest.UsageError(
            f"the BTF of kernel {pin['RELEASE']} at {path} has sha256 "
            f"{digest}, not the pinned {pin['SHA256']} ({_PIN})"
        )
    return path


def pytest_configure(config: pytest.Config) -> None:
    """Compile every BPF object of the run against one BTF, before any test compiles."""
    from libbpf_py.compiler import BTF_ENV

    if not os.environ.get(BTF_ENV):
        os.environ[BTF_ENV] = str(pinned_btf())


def pytest_report_header(config: pytest.Config) -> str:
    """Name the BTF the run's objects are compiled against, and the kernel they run on."""
    from libbpf_py.compiler import BTF_ENV

    return f"bpf: objects compiled against {os.environ.get(BTF_ENV)}; kernel {os.uname().release}"


def open_fds() -> set[int]:
    """The file descriptors this process has open right now."""
    return {int(fd) for fd in os.listdir("/proc/self/fd")}


# iproute2 makes these folders in bpffs the first time a test loads an object with
# `ip link set ... xdp obj ...`; the suite removes the ones it caused, if left empty.
_IPROUTE2_BPFFS = ("ip", "xdp", "tc/globals", "tc")  # ip and xdp link to tc


def _remove_empty_folders(root: Path, names: tuple[str, ...], keep: set[str]) -> None:
    for name in names:
        path = root / name
        if name in keep:
            continue
        # missing, or holding pins: not ours to remove
        with contextlib.suppress(OSError):
            if path.is_symlink():
                path.unlink()
            else:
                path.rmdir()


@pytest.fixture(scope="session", autouse=True)
def _kernel_mounts() -> Iterator[None]:
    if not IS_ROOT:
        yield
        return
    from libbpf_py.mounts import ensure_bpffs, ensure_tracefs
    from libbpf_py.netns import sweep_stale

    bpffs = Path(ensure_bpffs())
    ensure_tracefs()
    sweep_stale()
    existing = {
        name for name in _IPROUTE2_BPFFS if (bpffs / name).exists() or (bpffs / name).is_symlink()
    }
    yield
    _remove_empty_folders(bpffs, _IPROUTE2_BPFFS, existing)


@pytest.fixture(scope="session")
def bpf_objects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every tests/bpf/*.bpf.c compiled once per session, by name (without .bpf.c).

    Sources the verifier must reject still compile; loading them is the test.
    """
    from libbpf_py import compile

    out = tmp_path_factory.mktemp("bpf")
    return {
        src.name.removesuffix(".bpf.c"): compile(src, out / src.name.replace(".c", ".o"))
        for src in sorted(BPF_SOURCES.glob("*.bpf.c"))
    }


@pytest.fixture(scope="session")
def filter_object() -> Path:
    """The demo's XDP packet filter, compiled."""
    from libbpf_py import compile
    from libbpf_py.demo import filter_source

    return compile(filter_source())


@pytest.fixture
def no_fd_leak(bpf_leak_check: None) -> None:
    """Fail the test if it leaves fds, pins or namespaces (the plugin's leak check)."""


@pytest.fixture
def veth() -> Iterator[object]:
    """A veth pair whose other end is in a fresh network namespace (removed afterwards)."""
    problem = capability_problem()
    if problem:
        pytest.skip(f"creating network namespaces {problem}")
    from libbpf_py.netns import VethPair

    with VethPair() as pair:
        yield pair
