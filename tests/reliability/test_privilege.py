"""Privilege: without capabilities every entry point that touches the kernel fails with
PermissionDenied naming the capability (or works, where the kernel lets an fd or a pin's
file permissions stand for the privilege); pins are owner-only unless asked; pinning
outside bpffs is refused with a clear error.

The unprivileged side runs in a child: ``setpriv --bounding-set=-all --inh-caps=-all``
(root's uid without any capability) for the entry points that start from nothing, and a
child that drops every capability itself after loading, for the handles it holds.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import libbpf_py
from libbpf_py.errors import NotFound, NotOnBpffs, PermissionDenied, PhaseError
from libbpf_py.maps import Map
from tests.reliability.conftest import ROOT, Figures

pytestmark = pytest.mark.usefixtures("root_only", "bpf_leak_check")

# The entry points the kernel refuses without CAP_BPF/CAP_SYS_ADMIN whatever the sysctl.
MUST_REFUSE = {"OpenObject.load", "Map.create", "Map.from_id", "Program.from_id", "Link.from_id"}


def _child(*args: str, setpriv: bool) -> dict[str, Any]:
    argv = [sys.executable, "-m", "tests.reliability.unprivileged_child", *args]
    if setpriv:
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv (util-linux) is not installed")
        argv = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", *argv]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return result


def _judge(results: dict[str, Any], figures: Figures) -> None:
    bad = {}
    for name, outcome in results.items():
        figures.add("privilege.entry_points_checked")
        if outcome == "ok":
            assert name not in MUST_REFUSE, f"{name} worked without capabilities"
            continue
        kind, message = outcome
        if kind != "PermissionDenied" or "CAP_" not in message:
            bad[name] = outcome
    assert not bad, f"not PermissionDenied naming a capability: {bad}"


@pytest.fixture
def pins(soak_object: Path) -> Any:
    folder = Path("/sys/fs/bpf") / f"lpy-priv-{os.getpid()}"
    folder.mkdir()
    try:
        with libbpf_py.ObjectFile(soak_object).open() as opened, opened.load() as obj:
            table = obj.maps["table"]
            table.pin(folder / "map")
            # A tracepoint link: a BPF link on every kernel of the matrix (tcx needs 6.6).
            link = obj.programs["soak_tp"].attach_tracepoint("syscalls/sys_enter_getppid")
            link.pin(folder / "link")
            try:
                yield folder, obj, table, link
            finally:
                link.detach()
                table.unpin()
    finally:
        for leftover in folder.iterdir():
            leftover.unlink()
        folder.rmdir()


def test_fresh_process_without_capabilities(pins: Any, soak_object: Path, figures: Figures) -> None:
    folder, obj, table, link = pins
    results = _child(
        "fresh",
        str(soak_object),
        str(folder),
        str(table.id),
        str(obj.programs["soak_tc"].info().id),
        str(link.info().id),
        setpriv=True,
    )
    assert results.keys() >= MUST_REFUSE
    # A pin is a file: its permissions, not capabilities, decide who opens it (here the
    # same uid). Program.from_pin on a link's pin is a wrong-kind error, checked below.
    wrong_kind = results.pop("Program.from_pin")
    assert wrong_kind[0] == "LayoutError", wrong_kind
    _judge(results, figures)


def test_handles_after_dropping_capabilities(
    pins: Any, soak_object: Path, figures: Figures
) -> None:
    folder = pins[0]
    results = _child("dropped", str(soak_object), str(folder), setpriv=False)
    # Regression: attaching a tracepoint without CAP_PERFMON said the kernel lacked
    # tracepoints (the feature probe had been refused); it is a missing capability.
    assert results["Program.attach_tracepoint"][0] == "PermissionDenied"
    _judge(results, figures)


def test_pins_are_owner_only_unless_asked(pins: Any) -> None:
    folder, _obj, table, _link = pins
    old = os.umask(0)  # the pin's mode must not depend on the caller's umask
    try:
        for path in (folder / "map", folder / "link"):
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
        # libbpf keeps one pin per map of an object: a second path is a clear error.
        with pytest.raises(PhaseError, match="already pinned at"):
            table.pin(folder / "again")
        with Map.create("array", 4, 4, 1, name="lpy_priv") as m:
            m.pin(folder / "standalone")
            assert stat.S_IMODE(os.stat(folder / "standalone").st_mode) == 0o600
            m.unpin()
            m.pin(folder / "shared", mode=0o640)
            assert stat.S_IMODE(os.stat(folder / "shared").st_mode) == 0o640
            m.unpin()
            with pytest.raises(ValueError):
                m.pin(folder / "bad_mode", mode=0o4755)
            assert not (folder / "bad_mode").exists()  # refused before pinning
    finally:
        os.umask(old)
        if (folder / "bad_mode").exists():
            os.unlink(folder / "bad_mode")


def test_pinning_outside_bpffs_is_refused(pins: Any, tmp_path: Path) -> None:
    folder, obj, table, link = pins
    with Map.create("array", 4, 4, 1, name="lpy_priv") as m:
        for pin in (table.pin, m.pin, link.pin):
            with pytest.raises(NotOnBpffs, match="not on bpffs"):
                pin(tmp_path / "pin")
            with pytest.raises(NotFound, match="does not exist"):
                pin(folder / "no" / "such" / "pin")
        with pytest.raises(NotOnBpffs):
            obj.pin_maps(tmp_path)
    assert not list(tmp_path.iterdir())
    assert not isinstance(NotOnBpffs("x"), PermissionDenied)  # no capability is missing
