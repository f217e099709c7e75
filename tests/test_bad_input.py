"""Bad input becomes a clear library exception, never a crash."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import NotFound, ObjectFormatError
from tests.conftest import requires_root


def test_missing_file() -> None:
    with pytest.raises(NotFound, match="no BPF object file"):
        libbpf_py.ObjectFile("/nonexistent/x.bpf.o")
    assert issubclass(NotFound, FileNotFoundError)


def test_not_elf(tmp_path: Path) -> None:
    path = tmp_path / "text.o"
    path.write_text("this is not an object file\n" * 10)
    with pytest.raises(ObjectFormatError, match="not an ELF file"):
        libbpf_py.ObjectFile(path)
    with pytest.raises(ObjectFormatError):
        libbpf_py.ObjectFile(b"")


def test_elf_for_another_machine() -> None:
    with pytest.raises(ObjectFormatError, match="not BPF"):
        libbpf_py.ObjectFile(Path(sys.executable).resolve())


@requires_root
@pytest.mark.usefixtures("no_fd_leak")
def test_truncated_objects(filter_object: Path) -> None:
    data = filter_object.read_bytes()
    for cut in (64, 200, len(data) // 4, len(data) // 2, len(data) - 100, len(data) - 1):
        try:
            obj = libbpf_py.ObjectFile(data[:cut]).open()
        except ObjectFormatError as exc:
            assert "libbpf could not open" in str(exc) or exc.offset is not None
        else:  # a cut that only loses trailing bytes may still open
            obj.close()


@requires_root
@pytest.mark.usefixtures("no_fd_leak")
def test_unknown_interface(filter_object: Path) -> None:
    with libbpf_py.ObjectFile(filter_object).open() as obj, obj.load() as loaded:
        prog = loaded.programs["xdp_filter"]
        with pytest.raises(NotFound, match="no network interface named 'lpy-none0'"):
            prog.attach_xdp("lpy-none0")
        with pytest.raises(NotFound, match="no network interface with index"):
            prog.attach_xdp(999999)
        with pytest.raises(ValueError):
            prog.attach_xdp("lo", mode="sideways")


@requires_root
@pytest.mark.usefixtures("no_fd_leak")
def test_wrong_key_size(filter_object: Path) -> None:
    with libbpf_py.ObjectFile(filter_object).open() as obj, obj.load() as loaded:
        blocklist = loaded.maps["blocklist"]
        with pytest.raises(libbpf_py.LayoutError, match="exactly 4 bytes"):
            blocklist[b"\x01\x02\x03"] = 1
        with pytest.raises(libbpf_py.LayoutError):
            blocklist[b"\x01\x02\x03\x04"] = b"\x01\x02"


@requires_root
def test_without_capabilities(filter_object: Path) -> None:
    """Drop every capability in a child: loading fails with PermissionDenied, no crash."""
    script = textwrap.dedent(f"""
        import libbpf_py
        try:
            with libbpf_py.ObjectFile({str(filter_object)!r}).open() as obj:
                obj.load()
        except libbpf_py.PermissionDenied as exc:
            assert isinstance(exc, PermissionError)
            print("DENIED:", exc)
        else:
            print("LOADED")
    """)
    proc = subprocess.run(
        ["setpriv", "--bounding-set=-all", "--inh-caps=-all", sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "DENIED:" in proc.stdout
    assert "lacks CAP_BPF" in proc.stdout
