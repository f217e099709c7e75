"""Pinned maps outlive the process that made them and reopen with their data."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py.maps import Map
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]


@pytest.fixture
def pin_dir() -> Iterator[Path]:
    """A fresh folder on bpffs, removed (with any pins left in it) afterwards."""
    path = Path(f"/sys/fs/bpf/lpy_maps_{os.getpid()}")
    path.mkdir()
    try:
        yield path
    finally:
        for entry in path.iterdir():
            entry.unlink()
        path.rmdir()


def test_pinned_map_outlives_its_process(pin_dir: Path) -> None:
    pin = pin_dir / "counts"
    script = textwrap.dedent(f"""
        from libbpf_py.maps import Map
        with Map.create("hash", 4, 8, 16, name="lpy_pinned", key_type="u32",
                        value_type="u64") as m:
            m.update_batch([1, 2, 3], [10, 20, 30])
            m.pin({str(pin)!r})
            print(m.id)
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr
    made_id = int(proc.stdout)
    with Map.from_pin(pin, key_type="u32", value_type="u64") as m:
        assert m.id == made_id and m.name == "lpy_pinned"
        assert dict(m.items()) == {1: 10, 2: 20, 3: 30}
        m[4] = 40
        m.unpin(pin)
    assert not pin.exists()


def test_pin_and_from_pin_keep_btf_types(pin_dir: Path, typed_object: Path) -> None:
    pin = pin_dir / "flows"
    with libbpf_py.ObjectFile(typed_object).open() as opened, opened.load() as loaded:
        flows = loaded.maps["flows"]
        flows[(6, 1, 80, 1, 0)] = {"packets": 5, "tag": b"pin"}
        flows.pin(pin)
    with Map.from_pin(pin) as again:  # types come from the map's BTF in the kernel
        ((key, value),) = again.items()
        assert (key.proto, key.addr, key.flags) == (6, 1, 1)
        assert value.packets == 5 and value.tag == b"pin"
        assert again.value_type is not None and again.value_type.name == "struct val_t"
        again.unpin(pin)


def test_pin_by_name_under_pin_root_path(pin_dir: Path, pinned_object: Path) -> None:
    objfile = libbpf_py.ObjectFile(pinned_object)
    with objfile.open(pin_root_path=pin_dir) as opened, opened.load() as loaded:
        loaded.maps["lpy_by_name"][1] = 41
        first_id = loaded.maps["lpy_by_name"].id
    assert (pin_dir / "lpy_by_name").exists()  # LIBBPF_PIN_BY_NAME
    with objfile.open(pin_root_path=pin_dir) as opened, opened.load() as loaded:
        by_name = loaded.maps["lpy_by_name"]
        assert by_name.id == first_id and by_name[1] == 41  # reused, with its data
        assert loaded.programs["touch"].test_run(bytes(64)).retval == 2
        assert by_name[1] == 42
    with objfile.open() as opened:
        opened.maps["lpy_by_name"].reuse_pinned(pin_dir / "lpy_by_name")
        opened.maps["lpy_by_name"].pin_path = None  # do not pin at the default root
        with opened.load() as loaded:
            assert loaded.maps["lpy_by_name"].id == first_id
            assert loaded.maps["lpy_by_name"][1] == 42
