"""How long attachments live: pinned links outlive their process, killed processes leave
nothing behind, dropped links detach with a warning, standalone programs attach too."""

from __future__ import annotations

import gc
import os
import shutil
import signal
import socket
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import features, kernel
from libbpf_py.enums import LinkType
from libbpf_py.errors import BpfError, NotFound, NotSupported, PhaseError
from libbpf_py.link import Link
from libbpf_py.loaded import LoadedObject
from libbpf_py.maps import Map
from libbpf_py.netdev import xdp_holder
from libbpf_py.netns import VethPair
from libbpf_py.program import Program
from tests.attach.helpers import need, wait_for
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]


def alive(kind: str, obj_id: int) -> bool:
    getter = {
        "prog": libbpf_py._lowlevel.lib.bpf_prog_get_fd_by_id,
        "link": libbpf_py._lowlevel.lib.bpf_link_get_fd_by_id,
    }[kind]
    fd = getter(obj_id)
    if fd >= 0:
        os.close(fd)
        return True
    return False


@pytest.fixture
def pin_dir() -> Iterator[Path]:
    path = Path(f"/sys/fs/bpf/lpy-{os.getpid()}-attach")
    path.mkdir(exist_ok=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def obj(attach_objects: dict[str, Path]) -> Iterator[LoadedObject]:
    with libbpf_py.ObjectFile(attach_objects["trace"]).open() as opened, opened.load() as loaded:
        loaded.maps["cfg"][0] = os.getpid()
        yield loaded


_CHILD_PINS = """
import sys
from libbpf_py import ObjectFile
obj = ObjectFile(sys.argv[1]).open().load()
link = obj.programs["tp_getpid"].attach_tracepoint("syscalls/sys_enter_getpid")
link.pin(sys.argv[2] + "/link")
obj.maps["hits"].pin(sys.argv[2] + "/hits")
print(obj.programs["tp_getpid"].id, link.id, flush=True)
link.disconnect()
obj.close()
"""


def test_pinned_link_outlives_its_process_until_unpinned(
    attach_objects: dict[str, Path], pin_dir: Path
) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD_PINS, str(attach_objects["trace"]), str(pin_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    prog_id, link_id = map(int, out.split())
    # The child is gone; its program still runs on every getpid().
    hits = Map.from_pin(pin_dir / "hits")
    try:
        link = Link.from_pin(pin_dir / "link")
        info = link.info()
        assert (info.id, info.program_id, info.type) == (link_id, prog_id, LinkType.PERF_EVENT)
        assert link.pin_path == str(pin_dir / "link")
        before = hits[0]
        for _ in range(5):
            os.getpid()
        assert hits[0] - before >= 5
        link.unpin()
        assert not (pin_dir / "link").exists()
        link.close()  # the last reference: the kernel detaches and unloads
        assert wait_for(lambda: not alive("link", link_id) and not alive("prog", prog_id))
        before = hits[0]
        for _ in range(5):
            os.getpid()
        assert hits[0] == before
    finally:
        hits.unpin(pin_dir / "hits")
        hits.close()


_CHILD_HOLDS = """
import sys, time
from libbpf_py import ObjectFile, features
trace = ObjectFile(sys.argv[1]).open().load()
net = ObjectFile(sys.argv[2]).open().load()
links = [trace.programs["tp_getpid"].attach_tracepoint("syscalls/sys_enter_getpid"),
         trace.programs["raw_sys_enter"].attach_raw_tracepoint("sys_enter"),
         net.programs["xdp_count"].attach_xdp(sys.argv[3], mode="skb")]
if features.check("attach:tcx") is None:  # Linux 6.6+
    links.append(net.programs["tcx_x"].attach_tcx(sys.argv[3]))
progs = [l.program.id for l in links]
print(" ".join(str(i) for i in progs + [l.id for l in links]), flush=True)
time.sleep(120)
"""


def test_sigkilled_process_leaves_nothing_attached(
    attach_objects: dict[str, Path], veth: VethPair
) -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _CHILD_HOLDS,
            str(attach_objects["trace"]),
            str(attach_objects["net"]),
            veth.host,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        ids = list(map(int, child.stdout.readline().split()))
        kinds = 4 if features.check("attach:tcx") is None else 3
        assert len(ids) == 2 * kinds, "the child did not attach"
        progs, links = ids[:kinds], ids[kinds:]
        assert all(alive("link", i) for i in links)
        assert xdp_holder(veth.host).link_id == links[2]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    assert wait_for(lambda: not any(alive("link", i) for i in links))
    assert wait_for(lambda: not any(alive("prog", i) for i in progs))
    assert xdp_holder(veth.host).program_id == 0
    assert kernel.net(veth.host) == []


def test_disconnected_unpinned_link_detaches_when_closed(obj: LoadedObject) -> None:
    link = obj.programs["tp_getpid"].attach_tracepoint("syscalls/sys_enter_getpid")
    link_id = link.id
    link.disconnect()
    link.close()
    assert not alive("link", link_id)


def test_dropped_link_detaches_and_warns(obj: LoadedObject) -> None:
    link = obj.programs["tp_getpid"].attach_tracepoint("syscalls/sys_enter_getpid")
    link_id = link.id
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del link
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) for w in caught)
    assert not alive("link", link_id)


def test_link_from_id_detaches_another_handles_link(attach_objects: dict[str, Path]) -> None:
    need("attach:netfilter")

    def loopback_udp() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"x", ("127.0.0.1", 9))

    with libbpf_py.ObjectFile(attach_objects["net"]).open() as opened:
        opened.programs["nf_count"].autoload = True
        with opened.load() as net:
            hits = net.maps["hits"]
            link = net.programs["nf_count"].attach_netfilter("local_out", priority=-98)
            before = hits[8]
            loopback_udp()
            assert hits[8] > before
            with Link.from_id(link.id) as other:
                assert other.info().program_id == net.programs["nf_count"].id
                other.detach()
            # Detached for every holder: the first handle's link no longer runs.
            before = hits[8]
            loopback_udp()
            assert hits[8] == before
            link.close()


def test_detach_says_when_the_kernel_cannot_force_it(obj: LoadedObject) -> None:
    link = obj.programs["raw_sys_enter"].attach_raw_tracepoint("sys_enter")
    link_id = link.id
    other = Link.from_id(link_id)
    with pytest.raises(NotSupported, match=f"link id {link_id} stays attached"):
        other.detach()
    assert other.closed and alive("link", link_id)
    link.detach()  # the last fd: now it is gone
    assert not alive("link", link_id)


def test_kernel_view_shows_what_this_process_made(obj: LoadedObject) -> None:
    prog = obj.programs["tp_getpid"]
    with prog.attach_tracepoint("syscalls/sys_enter_getpid") as link:
        assert prog.id in {p.id for p in kernel.programs()}
        mine = [entry for entry in kernel.links() if entry.id == link.id]
        assert len(mine) == 1 and mine[0].info().program_id == prog.id
        assert {m.id for m in kernel.maps()} >= {obj.maps["hits"].id, obj.maps["cfg"].id}
        btf_ids = {b.id for b in kernel.btf_objects()}
        assert prog.info().btf_id in btf_ids
        vmlinux = [b.info() for b in kernel.btf_objects() if b.info().name == "vmlinux"]
        assert vmlinux and vmlinux[0].kernel_btf
        link.detach()
    assert link.id if False else True
    with pytest.raises(NotFound, match="no link with id"):
        Link.from_id(2**31 - 1)


def test_standalone_program_attaches_and_detaches(
    obj: LoadedObject, veth: VethPair, attach_objects: dict[str, Path]
) -> None:
    with (
        libbpf_py.ObjectFile(attach_objects["net"]).open() as opened,
        opened.load() as net,
        Program.from_id(net.programs["xdp_count"].id) as standalone,
    ):
        link = standalone.attach_xdp(veth.host, mode="skb")
        assert xdp_holder(veth.host).program_id == standalone.id
        before = net.maps["hits"][0]
        veth.send_udp(3)
        assert net.maps["hits"][0] - before >= 3
        link.detach()
        with pytest.raises(NotSupported, match="LoadedObject"):
            standalone.attach_tracepoint("syscalls/sys_enter_getpid")
    assert xdp_holder(veth.host).program_id == 0


def test_pin_and_update_refuse_what_cannot_be_done(obj: LoadedObject, pin_dir: Path) -> None:
    link = obj.programs["tp_getpid"].attach_tracepoint("syscalls/sys_enter_getpid")
    try:
        with pytest.raises(BpfError, match="bpffs"):
            link.pin("/tmp/lpy-not-bpffs-link")
        with pytest.raises(PhaseError, match="not pinned"):
            link.unpin()
        link.pin(pin_dir / "tp")
        with pytest.raises(PhaseError, match="already pinned"):
            link.pin(pin_dir / "tp2")
        link.unpin()
        with pytest.raises(NotSupported, match="not an iterator"):
            link.read()
    finally:
        link.detach()
    with pytest.raises(PhaseError):
        link.pin(pin_dir / "closed")
    with pytest.raises(NotFound, match="nothing is pinned"):
        Link.from_pin(pin_dir / "missing")


def test_pinned_disconnected_link_stays_after_its_object_closes(
    attach_objects: dict[str, Path], pin_dir: Path
) -> None:
    with libbpf_py.ObjectFile(attach_objects["trace"]).open() as opened:
        loaded = opened.load()
        loaded.maps["cfg"][0] = os.getpid()
        loaded.maps["hits"].pin(pin_dir / "hits")
        link = loaded.programs["raw_sys_enter"].attach_raw_tracepoint("sys_enter")
        link.pin(pin_dir / "raw")
        link.disconnect()
        loaded.close()
    assert link.closed
    hits = Map.from_pin(pin_dir / "hits")
    try:
        before = hits[1]
        os.getpid()
        assert hits[1] == before + 1  # still attached, held by the pin alone
        pinned = Link.from_pin(pin_dir / "raw")
        pinned.detach()  # removes the attachment and its pin
        assert not (pin_dir / "raw").exists()
        before = hits[1]
        os.getpid()
        assert hits[1] == before
    finally:
        hits.unpin(pin_dir / "hits")
        hits.close()


def test_kernel_view_agrees_with_bpftool(obj: LoadedObject) -> None:
    import json

    bpftool = shutil.which("bpftool")
    if bpftool is None:
        pytest.skip("bpftool is not installed (the reference tool for this test)")
    prog = obj.programs["raw_sys_enter"]
    with prog.attach_raw_tracepoint("sys_enter") as link:
        shown = json.loads(
            subprocess.run(
                [bpftool, "-j", "link", "show", "id", str(link.id)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        info = next(e for e in kernel.links() if e.id == link.id).info()
        assert (shown["id"], shown["prog_id"]) == (info.id, info.program_id)
        assert shown["type"] == info.type.label == "raw_tracepoint"
        assert shown["tp_name"] == info.target == "sys_enter"
        progs = json.loads(
            subprocess.run(
                [bpftool, "-j", "prog", "show", "id", str(prog.id)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        mine = next(p for p in kernel.programs() if p.id == prog.id).info()
        assert (progs["name"], progs["tag"]) == (mine.name, mine.tag)
        assert sorted(progs["map_ids"]) == sorted(mine.map_ids)
        link.detach()
