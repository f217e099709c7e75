"""Process death: a child SIGKILLed at random points of its lifecycles leaves no unpinned
BPF link attached and no partial pin; its pinned maps and links survive with their data
and reopen; its namespace, veth and netlink attachments are swept by the next run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py._lowlevel import ffi, lib
from libbpf_py.link import link_info
from libbpf_py.maps import Map
from libbpf_py.netns import sweep_stale
from tests.reliability.conftest import ROOT, Figures, id_alive, scale

pytestmark = pytest.mark.usefixtures("root_only", "bpf_leak_check")


def _links_of(prog_ids: set[int]) -> dict[int, int]:
    """The kernel's links (id → program id) whose program is one of ``prog_ids``."""
    found: dict[int, int] = {}
    next_id = ffi.new("__u32 *")
    current = 0
    while lib.bpf_link_get_next_id(current, next_id) == 0:
        current = int(next_id[0])
        fd = lib.bpf_link_get_fd_by_id(current)
        if fd < 0:
            continue  # freed meanwhile
        try:
            info = link_info(fd)
        finally:
            os.close(fd)
        if info.program_id in prog_ids:
            found[current] = info.program_id
    return found


def _settle(check: callable, seconds: float = 3.0) -> object:  # type: ignore[valid-type]
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if not result or time.monotonic() > deadline:
            return result
        time.sleep(0.02)


def test_sigkill_at_random_points(soak_object: Path, tmp_path: Path, figures: Figures) -> None:
    kills = scale(12, 300)
    rng = random.Random(int(os.environ.get("LIBBPF_PY_SEED", "0")) or None)
    pin_root = Path("/sys/fs/bpf") / f"lpy-rel-{os.getpid()}"
    pin_root.mkdir()
    survived = pins_checked = 0
    try:
        for k in range(kills):
            pin_dir = pin_root / str(k)
            pin_dir.mkdir()
            child = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.reliability.dying_child",
                    str(soak_object),
                    str(pin_dir),
                    str(rng.randrange(1 << 30)),
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            # Let it reach somewhere between its start and its third lifecycle.
            time.sleep(rng.uniform(0.3, 1.2))
            child.send_signal(signal.SIGKILL)
            out, err = child.communicate(timeout=30)
            assert child.returncode == -signal.SIGKILL, err.decode()[-2000:]
            events = [json.loads(line) for line in out.decode().splitlines() if line]
            prog_ids = {i for e in events if e["kind"] == "progs" for i in e["ids"]}
            pinned_links = {e["id"] for e in events if e["kind"] == "link_pin"}
            pins = {p.name for p in pin_dir.iterdir()}

            # No link of the child's programs is left, unless it is pinned.
            def unpinned(
                prog_ids: set[int] = prog_ids,
                pinned: set[int] = pinned_links,
                pin_dir: Path = pin_dir,
            ) -> dict[int, int]:
                on_disk = {Link_id(p) for p in pin_dir.iterdir() if p.name.startswith("link")}
                return {
                    i: p
                    for i, p in _links_of(prog_ids).items()
                    if i not in pinned and i not in on_disk
                }

            left = _settle(unpinned)
            assert not left, f"kill {k}: unpinned links left attached: {left}"
            # Every pin is whole: a link pin reopens as an attached link, a map pin
            # holds all the data written before it was pinned.
            for name in sorted(pins):
                path = pin_dir / name
                if name.startswith("link"):
                    with libbpf_py.Link.from_pin(path) as link:
                        assert link.info().program_id in prog_ids
                    pins_checked += 1
                else:
                    generation = int(name.removeprefix("table"))
                    with Map.from_pin(path) as m:
                        got = dict(m.items())
                    assert {k2: v for k2, v in got.items() if k2 < 64} == {
                        key: generation * 1000 + key for key in range(64)
                    }, name
                    pins_checked += 1
                os.unlink(path)
            pin_dir.rmdir()
            # What the killed child left on the network is swept by the next run.
            net = next((e for e in events if e["kind"] == "net"), None)
            if net is not None:
                # (Another test run on the machine may sweep it first: check the result.)
                sweep_stale()
                assert not os.path.exists(f"/run/netns/{net['netns']}")
                assert not Path("/sys/class/net", net["host"]).exists()
            # With the pins gone, nothing of the child is left in the kernel.
            gone = _settle(
                lambda prog_ids=prog_ids: [i for i in prog_ids if id_alive("prog", i)], 5.0
            )
            assert not gone, f"kill {k}: programs left: {gone}"
            survived += 1
    finally:
        for path in sorted(pin_root.rglob("*"), reverse=True):
            (path.rmdir if path.is_dir() else path.unlink)()
        pin_root.rmdir()
        sweep_stale()
    figures.add("death.kills_survived", survived)
    figures.add("death.pins_reopened", pins_checked)


def Link_id(path: Path) -> int:
    """The id of the link pinned at ``path``."""
    with libbpf_py.Link.from_pin(path) as link:
        return link.info().id
