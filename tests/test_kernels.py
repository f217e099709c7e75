"""libbpf_py.kernels: Debian's kernel packages fetched through apt, cached, and their BTF."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from libbpf_py import kernels
from libbpf_py.errors import NotFound, NotSupported, PermissionDenied
from libbpf_py.inspect.btf import read_btf
from libbpf_py.inspect.btf_types import BtfKind
from libbpf_py.kernels import DebianVersion, KernelPackage, fetch_kernel, fetch_kernel_btf
from libbpf_py.vm import guest_release
from libbpf_py.vmlinux import KERNEL_BTF

IN_GUEST = guest_release() is not None
can_fetch = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("apt-get") is None,
    reason="fetching a Debian kernel needs root and apt-get",
)
needs_network = pytest.mark.skipif(
    IN_GUEST,
    reason="a guest kernel has no network to reach Debian's archive (its cache is shared, though)",
)


@pytest.fixture(scope="module")
def kernel61() -> KernelPackage:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("fetching a Debian kernel needs root and apt-get")
    if IN_GUEST and not any(k.release.startswith("6.1.") for k in kernels.cached_kernels()):
        pytest.skip(
            "a guest kernel has no network to reach Debian's archive, and the shared "
            "cache holds no 6.1 kernel"
        )
    return fetch_kernel("6.1")


def test_debian_versions_order_as_dpkg_does() -> None:
    given = [
        "7.2.13-1",
        "6.12.107-1",
        "1.0-1",
        "1:0.1",
        "6.1.176-1",
        "7.2.13-1~exp1",
        "1.0~rc1",
        "6.12.117-1",
        "1.0",
        "6.1.170-3",
        "7.2.12-1+b1",
    ]
    assert sorted(given, key=DebianVersion) == [
        "1.0~rc1",
        "1.0",
        "1.0-1",
        "6.1.170-3",
        "6.1.176-1",
        "6.12.107-1",
        "6.12.117-1",
        "7.2.12-1+b1",
        "7.2.13-1~exp1",
        "7.2.13-1",
        "1:0.1",
    ]


def test_fetched_61_has_image_modules_and_config(kernel61: KernelPackage) -> None:
    k = kernel61
    assert k.release.startswith("6.1.") and k.release.endswith("-amd64"), k.release
    assert k.version.startswith("6.1."), k.version
    assert k.root == kernels.kernel_cache() / k.release
    assert (k.root / ".complete").is_file()
    assert k.vmlinuz.is_file() and k.vmlinuz.read_bytes()[0x202:0x206] == b"HdrS"
    assert k.modules.name == k.release and k.modules.parent.name == "modules"
    assert next(k.modules.rglob("veth.ko*"), None) is not None
    assert next(k.modules.rglob("sch_ingress.ko*"), None) is not None
    assert k.config is not None and "CONFIG_DEBUG_INFO_BTF=y" in k.config.read_text()
    assert not list(k.root.rglob("*.deb")), "the downloaded packages were kept"


def test_btf_of_61_parses_and_has_task_struct(kernel61: KernelPackage) -> None:
    path = kernel61.btf()
    assert path == kernel61.root / "vmlinux.btf"
    btf = read_btf(path.read_bytes())
    assert btf.find("task_struct").kind is BtfKind.STRUCT
    assert kernel61.btf() == path  # extracted once


def test_cached_release_is_used_without_the_network(
    kernel61: KernelPackage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing of apt is reachable: no apt-get on PATH and no archive URI.
    monkeypatch.setenv("PATH", "/nonexistent")

    def no_archive() -> str:
        raise AssertionError("the archive was asked for a cached kernel")

    monkeypatch.setattr(kernels, "_archive_uri", no_archive)
    assert fetch_kernel("6.1") == kernel61
    assert fetch_kernel(kernel61.release) == kernel61
    assert fetch_kernel_btf("6.1") == kernel61.btf()


def test_running_btf_is_this_machines() -> None:
    assert fetch_kernel_btf("running") == KERNEL_BTF


def test_half_extracted_trees_are_never_used(tmp_path: Path) -> None:
    (tmp_path / "6.1.0-99-amd64" / "boot").mkdir(parents=True)
    (tmp_path / "6.1.0-99-amd64" / "boot" / "vmlinuz-6.1.0-99-amd64").write_bytes(b"x")
    (tmp_path / ".fetch-abc" / "tree").mkdir(parents=True)
    assert kernels.cached_kernels(tmp_path) == []


def test_not_a_version_is_refused_at_once(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="not a kernel version"):
        fetch_kernel("latest", cache=tmp_path)


@can_fetch
@needs_network
def test_unknown_version_lists_what_the_archive_has(tmp_path: Path) -> None:
    with pytest.raises(NotFound) as info:
        fetch_kernel("5.10", cache=tmp_path)
    message = str(info.value)
    assert "no Debian kernel matches '5.10'" in message and "\n" not in message
    assert "6.1." in message and "6.12." in message, message
    assert [p.name for p in tmp_path.iterdir()] == [".lock"]  # no temporary folder left


def test_without_root_it_says_run_as_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(PermissionDenied, match="run as root"):
        fetch_kernel("6.1", cache=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [".lock"]


def test_without_apt_it_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    with pytest.raises(NotSupported, match="needs apt-get and dpkg-deb"):
        fetch_kernel("6.1", cache=tmp_path)
