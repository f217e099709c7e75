"""libbpf_py.kernel: what the kernel holds, by id, by name and by pin (the CLI's views use it)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import LoadedObject, Map, kernel
from libbpf_py._lowlevel import lib
from libbpf_py.errors import NotFound
from libbpf_py.inspect import read_btf
from libbpf_py.pytest_plugin import capability_problem
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]

GONE = 2**31 - 1  # an id the kernel has not reached


@pytest.fixture
def obj(bpf_objects: dict[str, Path]) -> Iterator[LoadedObject]:
    with libbpf_py.ObjectFile(bpf_objects["lifecycle"]).open() as opened, opened.load() as loaded:
        yield loaded


@pytest.fixture
def pin_dir() -> Iterator[Path]:
    path = Path(f"/sys/fs/bpf/lpy_kernel_{os.getpid()}")
    path.mkdir()
    try:
        yield path
    finally:
        for pin in path.iterdir():
            pin.unlink()
        path.rmdir()


def test_entries_open_fds_and_say_when_an_id_is_gone(obj: LoadedObject) -> None:
    prog = obj.programs["pass_all"]
    fd = kernel.ProgramEntry(prog.id).open_fd()
    try:
        assert os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:bpf-prog"
    finally:
        os.close(fd)
    for entry in (
        kernel.ProgramEntry(GONE),
        kernel.MapEntry(GONE),
        kernel.LinkEntry(GONE),
        kernel.BtfEntry(GONE),
    ):
        with pytest.raises(NotFound, match=f"there is no .* with id {GONE}"):
            entry.open_fd()
        with pytest.raises(NotFound):
            entry.info()


def test_programs_and_maps_by_name(obj: LoadedObject) -> None:
    prog, hits = obj.programs["pass_all"], obj.maps["hits"]
    named = list(kernel.programs("pass_all"))
    assert prog.id in {e.id for e in named}
    assert all(e.info().name == "pass_all" for e in named)
    assert hits.id in {e.id for e in kernel.maps("hits")}
    assert list(kernel.programs("lpy_no_such_program")) == []
    assert list(kernel.maps("lpy_no_such_map_at_all")) == []


def test_a_long_name_matches_by_its_first_15_characters() -> None:
    with Map.create("array", 4, 4, 1, name="lpy_kernel_long_name") as m:
        assert m.info().name == "lpy_kernel_long"  # what the kernel keeps
        for name in ("lpy_kernel_long_name", "lpy_kernel_long", "lpy_kernel_long_other"):
            assert [e.id for e in kernel.maps(name)] == [m.id]
        assert list(kernel.maps("lpy_kernel_lon")) == []


def test_pinned_names_the_kind_and_id(obj: LoadedObject, pin_dir: Path) -> None:
    prog, hits = obj.programs["pass_all"], obj.maps["hits"]
    hits.pin(pin_dir / "hits")
    assert lib.bpf_obj_pin(prog.fd, os.fsencode(pin_dir / "prog")) == 0
    with obj.programs["count_getpid"].attach_tracepoint("syscalls/sys_enter_getpid") as link:
        link.pin(pin_dir / "link")
        assert kernel.pinned(pin_dir / "link") == kernel.LinkEntry(link.id)
        link.unpin()
        link.detach()
    assert kernel.pinned(pin_dir / "hits") == kernel.MapEntry(hits.id)
    assert kernel.pinned(str(pin_dir / "prog")) == kernel.ProgramEntry(prog.id)
    assert kernel.pinned(pin_dir / "prog").info().name == "pass_all"
    with pytest.raises(NotFound, match="no pin at"):
        kernel.pinned(pin_dir / "nothing")


def test_btf_data_is_the_objects_btf(obj: LoadedObject) -> None:
    btf_id = obj.maps["hits"].info().btf_id
    data = kernel.BtfEntry(btf_id).data()
    assert len(data) == kernel.BtfEntry(btf_id).info().size
    btf = read_btf(data)
    assert any(t.name == "pass_all" for t in btf)


def test_listing_without_capabilities_says_so() -> None:
    if capability_problem() is not None:
        pytest.skip("needs root to drop capabilities in a child")
    code = (
        "from libbpf_py import kernel\n"
        "try:\n"
        "    list(kernel.programs())\n"
        "except PermissionError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    ran = subprocess.run(
        ["setpriv", "--bounding-set=-all", "--inh-caps=-all", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert ran.stdout.startswith("PermissionDenied listing programs (bpf_prog_get_next_id)")
