"""Order in a hook: cgroup and netkit programs run in the order before=/after= asked for.

Each program of tests/bpf/attach/order.bpf.c writes its number into a run log when it
runs, so the order is the kernel's own, read back from the map. (tcx ordering is tested
in test_attach_net.py.)
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import features
from libbpf_py.errors import BpfError, NotFound, NotSupported
from libbpf_py.loaded import LoadedObject
from libbpf_py.testing.netns import NetnsPair, capability_problem
from tests.attach.helpers import enable_supported, in_cgroup, need
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]

NETKIT_ON_REQUEST = {"netkit_1": "attach:netkit", "netkit_2": "attach:netkit"}
_SOCKETS = "import socket\nfor _ in range(2): socket.socket().close()"


@pytest.fixture
def obj(attach_objects: dict[str, Path]) -> Iterator[LoadedObject]:
    with libbpf_py.ObjectFile(attach_objects["order"]).open() as opened:
        enable_supported(opened, NETKIT_ON_REQUEST)
        with opened.load() as loaded:
            yield loaded


def run_log(obj: LoadedObject) -> list[int]:
    """The programs' numbers in the order they ran (the log keeps the first 63 runs)."""
    runs = obj.maps["runs"]
    count = min(int(runs[0]), 63)
    return [int(runs[1 + i]) for i in range(count)]


def runs_so_far(obj: LoadedObject) -> int:
    return int(obj.maps["runs"][0])


# --- cgroup --------------------------------------------------------------------------


def test_cgroup_programs_run_in_the_order_asked_then_stop(obj: LoadedObject, cgroup: Path) -> None:
    need("attach:cgroup_ordering")
    p1, p2, p3 = (obj.programs[f"sock_{i}"] for i in (1, 2, 3))
    # Attached as 3, 1, 2; placed to run as 1, 2, 3.
    link3 = p3.attach_cgroup(cgroup)
    link1 = p1.attach_cgroup(cgroup, before=True)
    link2 = p2.attach_cgroup(cgroup, before=link3)
    try:
        in_cgroup(cgroup, _SOCKETS)
        assert run_log(obj) == [1, 2, 3, 1, 2, 3]
    finally:
        for link in (link1, link2, link3):
            link.detach()
    in_cgroup(cgroup, _SOCKETS)
    assert runs_so_far(obj) == 6


def test_cgroup_placement_by_link_and_by_id(obj: LoadedObject, cgroup: Path) -> None:
    need("attach:cgroup_ordering")
    p1, p2, p3 = (obj.programs[f"sock_{i}"] for i in (1, 2, 3))
    # Attached as 1, 3, 2: 3 after link 1 (by fd), 2 after link 1 (by its id), so 1, 2, 3.
    with p1.attach_cgroup(cgroup) as link1:
        with p3.attach_cgroup(cgroup, after=link1) as link3:
            with p2.attach_cgroup(cgroup, after=link1.info()) as link2:
                in_cgroup(cgroup, _SOCKETS)
                assert run_log(obj) == [1, 2, 3, 1, 2, 3]
                link2.detach()
            # Before a link named by its id.
            with p2.attach_cgroup(cgroup, before=link3.info()) as link2:
                in_cgroup(cgroup, "import socket\nsocket.socket().close()")
                assert run_log(obj)[6:] == [1, 2, 3]
                link2.detach()
            link3.detach()
        link1.detach()


def test_cgroup_placement_refusals(obj: LoadedObject, cgroup: Path) -> None:
    need("attach:cgroup_ordering")
    p1, p2 = obj.programs["sock_1"], obj.programs["sock_2"]
    with pytest.raises(ValueError, match="before= or after="):
        p1.attach_cgroup(cgroup, before=True, after=True)
    with pytest.raises(TypeError, match="before= is a Program, a Link"):
        p1.attach_cgroup(cgroup, before="sock_2")
    with pytest.raises(ValueError, match="expected_revision"):
        p1.attach_cgroup(cgroup, expected_revision=-1)
    with p1.attach_cgroup(cgroup) as link1:
        # p1 is attached through link1: only the link names it as an anchor.
        with pytest.raises(BpfError, match=r"name its Link \(or LinkInfo\) instead"):
            p2.attach_cgroup(cgroup, before=p1)
        with other_cgroup(cgroup) as elsewhere, p2.attach_cgroup(elsewhere) as link2:
            # link2 is at another cgroup's hook.
            with pytest.raises(NotFound, match="place it next to is not attached there"):
                obj.programs["sock_3"].attach_cgroup(cgroup, after=link2)
            link2.detach()
        with pytest.raises(BpfError, match="revision is no longer 12345") as err:
            p2.attach_cgroup(cgroup, after=link1, expected_revision=12345)
        assert err.value.errno == errno.ESTALE
        link1.detach()
    assert runs_so_far(obj) == 0


@contextlib.contextmanager
def other_cgroup(beside: Path) -> Iterator[Path]:
    """A second fresh cgroup next to ``beside``."""
    path = beside.with_name(beside.name + "-other")
    path.mkdir()
    try:
        yield path
    finally:
        path.rmdir()


def test_cgroup_placement_on_an_older_kernel_is_refused(obj: LoadedObject, cgroup: Path) -> None:
    """A kernel without cgroup ordering (before 6.16, unless its stable series took it):
    NotSupported naming cgroup ordering, never a bare EINVAL; the
    same program still attaches without a placement."""
    reason = features.check("attach:cgroup_ordering")
    if reason is None:
        pytest.skip("this kernel orders cgroup links (features.check('attach:cgroup_ordering'))")
    with pytest.raises(NotSupported, match=r"cgroup ordering .*Linux 6\.16\+"):
        obj.programs["sock_1"].attach_cgroup(cgroup, before=True)
    with obj.programs["sock_1"].attach_cgroup(cgroup) as link:
        in_cgroup(cgroup, "import socket\nsocket.socket().close()")
        assert run_log(obj) == [1]
        link.detach()


# --- netkit --------------------------------------------------------------------------


@pytest.fixture
def netkit() -> Iterator[NetnsPair]:
    """Two namespaces joined by a netkit pair: ``a.dev`` is the primary device."""
    problem = capability_problem()
    if problem:
        pytest.skip(f"creating network namespaces {problem}")
    need("attach:netkit")
    with NetnsPair(kind="netkit") as pair:
        yield pair


def _both_ways(pair: NetnsPair) -> None:
    pair.send_udp(3, src="a")
    pair.send_udp(3, src="b")


@pytest.mark.parametrize("direction", ["primary", "peer"])
def test_netkit_programs_run_in_the_order_asked_then_stop(
    obj: LoadedObject, netkit: NetnsPair, direction: str
) -> None:
    p1, p2 = obj.programs["netkit_1"], obj.programs["netkit_2"]
    with netkit.a.inside():
        # Attached as 2, 1; placed to run as 1, 2.
        link2 = p2.attach_netkit(netkit.a.dev, direction)
        link1 = p1.attach_netkit(netkit.a.dev, direction, before=link2)
    try:
        assert link1.info().attach_type.name == f"NETKIT_{direction.upper()}"
        _both_ways(netkit)
        log = run_log(obj)
        assert log, "no IPv4 packet passed the hook"
        assert log == [1, 2] * (len(log) // 2)
    finally:
        link1.detach()
        link2.detach()
    before = runs_so_far(obj)
    assert netkit.send_udp(3, src="a") == 3  # traffic still flows, the programs are gone
    assert netkit.send_udp(3, src="b") == 3
    assert runs_so_far(obj) == before


def test_netkit_placement_last_and_by_program(obj: LoadedObject, netkit: NetnsPair) -> None:
    p1, p2 = obj.programs["netkit_1"], obj.programs["netkit_2"]
    with netkit.a.inside():
        link2 = p2.attach_netkit(netkit.a.dev, after=True)
        link1 = p1.attach_netkit(netkit.a.dev, before=p2)
    with link1, link2:
        _both_ways(netkit)
        log = run_log(obj)
        assert log and log == [1, 2] * (len(log) // 2)
        link1.detach()
        link2.detach()


def test_netkit_refuses_what_is_no_primary_device(obj: LoadedObject, netkit: NetnsPair) -> None:
    prog = obj.programs["netkit_1"]
    with netkit.b.inside(), pytest.raises(BpfError, match="peer end of its netkit pair"):
        prog.attach_netkit(netkit.b.dev)
    with netkit.a.inside(), pytest.raises(NotFound, match="no netkit device"):
        prog.attach_netkit("lo")
    with pytest.raises(ValueError, match="not one of primary, peer"):
        prog.attach_netkit(1, "ingress")


def test_a_kernel_without_netkit_says_so(obj: LoadedObject) -> None:
    """Before Linux 6.7 (or without CONFIG_NETKIT): NotSupported naming netkit, both
    from attach_netkit and from making a netkit pair."""
    reason = features.check("attach:netkit")
    if reason is None:
        pytest.skip("this kernel has netkit (features.check('attach:netkit'))")
    # netkit_1 was not loaded (on request only); any loaded program is refused first.
    with pytest.raises(NotSupported, match=r"netkit \(Linux 6\.7\+\)"):
        obj.programs["sock_1"].attach_netkit("lo")
    with pytest.raises(NotSupported, match="no netkit devices"):
        NetnsPair(kind="netkit")
