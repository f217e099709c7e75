"""Nothing leaks: fds, programs, maps, links, pins, interfaces — whatever the order."""

from __future__ import annotations

import errno
import gc
import os
import subprocess
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import libbpf_py
from libbpf_py._lowlevel import lib
from libbpf_py.attach import xdp_holder
from libbpf_py.netns import VethPair
from libbpf_py.vm import guest_release
from tests.conftest import open_fds, requires_root

pytestmark = requires_root


def _gone(getter: Callable[[int], int], ident: int) -> bool:
    for _ in range(200):  # the kernel may free an id a moment after the last close
        fd = getter(ident)
        if fd < 0:
            return -fd == errno.ENOENT
        os.close(fd)
        time.sleep(0.005)
    return False


def _bpffs_entries() -> set[str]:
    """Pins in bpffs, less those that name another process as their maker (lpy-PID-...)."""
    mine = f"lpy-{os.getpid()}-"
    return {
        p.name
        for p in Path("/sys/fs/bpf").iterdir()
        if not p.name.startswith("lpy-") or p.name.startswith(mine)
    }


def _interface_exists(name: str) -> bool:
    proc = subprocess.run(["ip", "link", "show", "dev", name], capture_output=True, text=True)
    return proc.returncode == 0


def test_200_full_cycles_leave_nothing(filter_object: Path) -> None:
    gc.collect()
    fds_before = open_fds()
    pins_before = _bpffs_entries()
    created: dict[str, set[int]] = {"prog": set(), "map": set(), "link": set()}
    with VethPair() as net:
        objfile = libbpf_py.ObjectFile(filter_object)
        for _ in range(200):
            with objfile.open() as opened:
                loaded = opened.load()
            with loaded:
                prog = loaded.programs["xdp_filter"]
                info = prog.info()
                created["prog"].add(info.id)
                created["map"].update(info.map_ids)
                link = prog.attach_xdp(net.host)
                created["link"].add(link.info().id)
                loaded.maps["blocklist"][b"\x01\x02\x03\x04"] = 1
                link.detach()
        assert xdp_holder(net.ifindex)[0] == 0
    assert not _interface_exists(net.host)
    assert not os.path.exists(f"/run/netns/{net.netns}")
    gc.collect()
    assert open_fds() == fds_before
    assert _bpffs_entries() == pins_before
    assert len(created["prog"]) == 200 and len(created["link"]) == 200
    for ident in created["prog"]:
        assert _gone(lib.bpf_prog_get_fd_by_id, ident), f"program {ident} left in the kernel"
    for ident in created["map"]:
        assert _gone(lib.bpf_map_get_fd_by_id, ident), f"map {ident} left in the kernel"
    for ident in created["link"]:
        assert _gone(lib.bpf_link_get_fd_by_id, ident), f"link {ident} left in the kernel"


OPS = [
    "open",
    "load",
    "attach",
    "auto_attach",
    "detach",
    "disconnect",
    "close_open",
    "close_loaded",
    "drop_open",
    "drop_loaded",
    "drop_link",
    "gc",
    "use_map",
    "test_run",
    "double_close",
]


class Lifecycle:
    """Interprets a random sequence of lifecycle calls; wrong-phase calls must raise."""

    def __init__(self, objfile: libbpf_py.ObjectFile, net: VethPair) -> None:
        self.objfile = objfile
        self.net = net
        self.opened: list[Any] = []
        self.loaded: list[Any] = []
        self.links: list[Any] = []
        self.prog_ids: set[int] = set()

    def run(self, op: str, pick: int) -> None:
        def choose(items: list[Any]) -> Any:
            return items[pick % len(items)] if items else None

        expected = (libbpf_py.PhaseError, libbpf_py.ResourceBusy)
        try:
            if op == "open":
                self.opened.append(self.objfile.open())
            elif op == "load" and (o := choose(self.opened)) is not None:
                loaded = o.load()
                self.prog_ids.add(loaded.programs["xdp_filter"].info().id)
                self.loaded.append(loaded)
            elif op == "attach" and (lo := choose(self.loaded)) is not None:
                self.links.append(lo.programs["xdp_filter"].attach_xdp(self.net.host))
            elif op == "auto_attach" and (lo := choose(self.loaded)) is not None:
                lo.attach()
            elif op == "detach" and (link := choose(self.links)) is not None:
                link.detach()
            elif op == "disconnect" and (link := choose(self.links)) is not None:
                link.disconnect()
            elif op == "close_open" and (o := choose(self.opened)) is not None:
                o.close()
            elif op == "close_loaded" and (lo := choose(self.loaded)) is not None:
                lo.close()
            elif op == "drop_open" and self.opened:
                self.opened.pop(pick % len(self.opened))
            elif op == "drop_loaded" and self.loaded:
                self.loaded.pop(pick % len(self.loaded))
            elif op == "drop_link" and self.links:
                self.links.pop(pick % len(self.links))
            elif op == "gc":
                gc.collect()
            elif op == "use_map" and (lo := choose(self.loaded)) is not None:
                lo.maps["blocklist"][pick & 0xFFFFFFFF] = 1
            elif op == "test_run" and (lo := choose(self.loaded)) is not None:
                assert lo.programs["xdp_filter"].test_run(b"\0" * 64).retval == 2
            elif op == "double_close":
                for item in (*self.opened, *self.loaded, *self.links):
                    item.close()
                    item.close()
        except expected:
            pass

    def finish(self) -> None:
        self.opened.clear()
        self.loaded.clear()
        self.links.clear()
        gc.collect()


# Each example makes a namespace and a veth pair: under a guest's software emulation 60 of
# them took a fifth of the kernel matrix, and what each kernel is asked does not grow with
# the count, so a guest runs a quarter of them.
@settings(
    max_examples=60 if guest_release() is None else 15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 7)), max_size=20))
def test_random_lifecycle_sequences_end_clean(
    filter_object: Path, ops: list[tuple[str, int]]
) -> None:
    with VethPair() as net:
        gc.collect()
        fds_before = open_fds()
        machine = Lifecycle(libbpf_py.ObjectFile(filter_object), net)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            for op, pick in ops:
                machine.run(op, pick)
            machine.finish()
        assert open_fds() == fds_before
        assert xdp_holder(net.ifindex)[0] == 0
        for ident in machine.prog_ids:
            assert _gone(lib.bpf_prog_get_fd_by_id, ident)


@pytest.mark.usefixtures("no_fd_leak")
def test_unclosed_owners_warn_and_release(filter_object: Path) -> None:
    opened = libbpf_py.ObjectFile(filter_object).open()
    loaded = libbpf_py.ObjectFile(filter_object).open().load()
    prog_id = loaded.programs["xdp_filter"].info().id
    with pytest.warns(ResourceWarning):
        del opened, loaded
        gc.collect()
    assert _gone(lib.bpf_prog_get_fd_by_id, prog_id)
