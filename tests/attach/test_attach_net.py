"""Network attach kinds on the real kernel: each runs on real traffic, then stops."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import features
from libbpf_py.errors import NotSupported, ResourceBusy
from libbpf_py.kernel import net
from libbpf_py.loaded import LoadedObject
from libbpf_py.netdev import tc_filters, tcx_programs, xdp_holder
from libbpf_py.netns import VethPair
from tests.attach.helpers import NET_ON_REQUEST, enable_supported, need, wait_for
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]


@pytest.fixture
def obj(attach_objects: dict[str, Path]) -> Iterator[LoadedObject]:
    with libbpf_py.ObjectFile(attach_objects["net"]).open() as opened:
        enable_supported(opened, NET_ON_REQUEST)
        with opened.load() as loaded:
            yield loaded


def moved(obj: LoadedObject, slot: int, action: Callable[[], object]) -> int:
    """Run ``action`` and return how much counter ``slot`` moved."""
    before = obj.maps["hits"][slot]
    action()
    return int(obj.maps["hits"][slot] - before)


def test_xdp_runs_then_stops(obj: LoadedObject, veth: VethPair) -> None:
    need("attach:xdp")
    prog = obj.programs["xdp_count"]
    link = prog.attach_xdp(veth.host, mode="skb")
    try:
        assert link.info().interface == veth.host
        assert xdp_holder(veth.host).program_id == prog.id
        assert moved(obj, 0, lambda: veth.send_udp(5)) >= 5
    finally:
        link.detach()
    assert xdp_holder(veth.host).program_id == 0
    assert moved(obj, 0, lambda: veth.send_udp(5)) == 0


def test_xdp_netlink_attachment_is_removed_by_the_library(
    obj: LoadedObject, veth: VethPair
) -> None:
    prog = obj.programs["xdp_count"]
    link = prog.attach_xdp(veth.host, mode="skb", netlink=True)
    assert not link.is_bpf_link
    holder = xdp_holder(veth.host)
    assert (holder.program_id, holder.link_id, holder.mode) == (prog.id, None, "skb")
    assert moved(obj, 0, lambda: veth.send_udp(3)) >= 3
    obj.close()  # the object's teardown removes what netlink would keep
    assert xdp_holder(veth.host).program_id == 0


def test_xdp_conflict_names_the_link_holder(obj: LoadedObject, veth: VethPair) -> None:
    first = obj.programs["xdp_drop_a"]
    with first.attach_xdp(veth.host, mode="skb") as link:
        with pytest.raises(ResourceBusy) as err:
            obj.programs["xdp_drop_b"].attach_xdp(veth.host, mode="skb")
        text = str(err.value)
        assert f"program id {first.id}" in text
        assert f"link id {link.id}" in text and "bpftool link detach" in text
        assert "Link.update" in text
        link.detach()


def test_xdp_conflict_names_the_netlink_holder(
    obj: LoadedObject, veth: VethPair, attach_objects: dict[str, Path]
) -> None:
    # A netlink attachment made by another tool, as an operator would.
    subprocess.run(
        [
            "ip",
            "link",
            "set",
            "dev",
            veth.host,
            "xdpgeneric",
            "obj",
            str(attach_objects["net"]),
            "sec",
            "xdp",
        ],
        check=True,
        capture_output=True,
    )
    try:
        holder = xdp_holder(veth.host)
        assert holder.program_id and holder.link_id is None and holder.mode == "skb"
        with pytest.raises(ResourceBusy) as err:
            obj.programs["xdp_count"].attach_xdp(veth.host)
        text = str(err.value)
        assert f"program id {holder.program_id}" in text
        assert f"ip link set dev {veth.host} xdpgeneric off" in text
    finally:
        subprocess.run(["ip", "link", "set", "dev", veth.host, "xdpgeneric", "off"], check=True)


def test_xdp_skb_and_native_conflict_is_explained(obj: LoadedObject, veth: VethPair) -> None:
    skb = obj.programs["xdp_drop_a"].attach_xdp(veth.host, mode="skb", netlink=True)
    try:
        with pytest.raises(ResourceBusy) as err:
            obj.programs["xdp_drop_b"].attach_xdp(veth.host, mode="native", netlink=True)
        text = str(err.value)
        assert "skb mode" in text and "one mode at a time" in text
        assert f"program id {obj.programs['xdp_drop_a'].id}" in text
    finally:
        skb.detach()


_FLOOD = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
for i in range(int(sys.argv[3])):
    s.sendto(b"x", (sys.argv[2], 7))
    if i % 10 == 0:
        time.sleep(0.001)
"""


def test_update_replaces_atomically_under_traffic(obj: LoadedObject, veth: VethPair) -> None:
    a, b = obj.programs["xdp_drop_a"], obj.programs["xdp_drop_b"]
    hits = obj.maps["hits"]
    count = 4000
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind((veth.host_addr, 7))
        rx.setblocking(False)
        link = a.attach_xdp(veth.host, mode="skb")
        try:
            sender = subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    veth.netns,
                    sys.executable,
                    "-c",
                    _FLOOD,
                    veth.peer_addr,
                    veth.host_addr,
                    str(count),
                ]
            )
            swaps = 0
            while sender.poll() is None or swaps < 2:
                link.update(b if link.program is a else a)
                swaps += 1
                time.sleep(0.003)
            assert sender.wait(timeout=60) == 0
            dropped = wait_for(lambda: hits[1] + hits[2] >= count, timeout=5)
        finally:
            link.detach()
        received = 0
        try:
            while True:
                rx.recv(64)
                received += 1
        except BlockingIOError:
            pass
    assert dropped, f"only {hits[1] + hits[2]} of {count} datagrams reached a filter"
    assert received == 0, f"{received} datagrams passed unfiltered while replacing"
    assert hits[1] > 0 and hits[2] > 0 and swaps >= 2


def test_tc_runs_then_stops_and_leaves_nothing(obj: LoadedObject, veth: VethPair) -> None:
    need("attach:tc")
    prog = obj.programs["tc_count"]
    link = prog.attach_tc(veth.host, "ingress")
    try:
        assert [f.program_id for f in tc_filters(veth.host)] == [prog.id]
        assert moved(obj, 3, lambda: veth.send_udp(4)) >= 4
    finally:
        link.detach()
    assert tc_filters(veth.host) == []
    qdiscs = subprocess.run(
        ["tc", "qdisc", "show", "dev", veth.host], capture_output=True, text=True, check=True
    ).stdout
    assert "clsact" not in qdiscs
    assert moved(obj, 3, lambda: veth.send_udp(4)) == 0


def test_tc_filter_is_removed_when_its_object_closes(
    attach_objects: dict[str, Path], veth: VethPair
) -> None:
    with libbpf_py.ObjectFile(attach_objects["net"]).open() as opened:
        loaded = opened.load()
        link = loaded.programs["tc_count"].attach_tc(veth.host, "egress", priority=7)
        assert "priority 7" in repr(link)
        assert [f.priority for f in tc_filters(veth.host, "egress")] == [7]
        loaded.close()
    assert tc_filters(veth.host, "egress") == []
    assert link.closed


def test_a_kernel_without_tcx_says_so(obj: LoadedObject, veth: VethPair) -> None:
    """Before Linux 6.6: NotSupported naming tcx and the kernel version, never EINVAL."""
    if features.check("attach:tcx") is None:
        pytest.skip("this kernel has tcx links (probed: features.check('attach:tcx'))")
    with pytest.raises(NotSupported, match=r"tcx links \(Linux 6\.6\+\)"):
        obj.programs["tcx_x"].attach_tcx(veth.host)
    with pytest.raises(NotSupported, match=r"no tcx hooks \(Linux 6\.6\+\)"):
        tcx_programs(veth.host)
    # The same program still goes on the hook as a legacy tc filter.
    with obj.programs["tcx_x"].attach_tc(veth.host) as link:
        assert [e.program_id for e in tc_filters(veth.host)] == [obj.programs["tcx_x"].id]
        assert not link.is_bpf_link
    assert tc_filters(veth.host) == []


def test_tcx_runs_in_the_order_asked_then_stops(obj: LoadedObject, veth: VethPair) -> None:
    need("attach:tcx")
    x, y = obj.programs["tcx_x"], obj.programs["tcx_y"]
    link_y = y.attach_tcx(veth.host)
    link_x = x.attach_tcx(veth.host, before=link_y)
    try:
        order = [e.program_id for e in tcx_programs(veth.host)]
        assert order == [x.id, y.id]
        assert [e.link_id for e in tcx_programs(veth.host)] == [link_x.id, link_y.id]
        hits = obj.maps["hits"]
        # Counted from here: a packet (IPv6 neighbour discovery) that came while only y
        # was attached ran y alone, before the order under test existed.
        before = {slot: hits[slot] for slot in (4, 5, 6, 7)}
        veth.send_udp(4)
        moved_by = {slot: hits[slot] - count for slot, count in before.items()}
        # x ran first (saw no mark), y second (saw x's mark).
        assert moved_by[4] >= 4 and moved_by[7] >= 4
        assert moved_by[5] == 0 and moved_by[6] == 0
    finally:
        link_x.detach()
        link_y.detach()
    assert tcx_programs(veth.host) == []
    assert moved(obj, 4, lambda: veth.send_udp(3)) == 0


def test_netfilter_runs_then_stops(obj: LoadedObject) -> None:
    need("attach:netfilter")
    prog = obj.programs["nf_count"]

    def loopback_udp() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            for _ in range(3):
                s.sendto(b"x", s.getsockname())

    with prog.attach_netfilter("local_in", priority=-99) as link:
        info = link.info()
        assert info.target == "ipv4 local_in" and info.priority == -99
        assert moved(obj, 8, loopback_udp) >= 3
        link.detach()
    # Nothing of this process runs at the hook any more.
    assert moved(obj, 8, loopback_udp) == 0


def test_socket_filter_runs_then_stops(obj: LoadedObject) -> None:
    need("attach:socket_filter")
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx,
    ):
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(2)

        def exchange() -> None:
            for _ in range(3):
                tx.sendto(b"hello", rx.getsockname())
                assert rx.recv(64) == b"hello"

        link = obj.programs["sock_count"].attach_socket(rx)
        assert moved(obj, 9, exchange) == 3
        link.detach()
        assert moved(obj, 9, exchange) == 0


def test_attachments_that_are_not_links_refuse_what_only_links_do(
    obj: LoadedObject, veth: VethPair
) -> None:
    """Netlink XDP, legacy tc and socket filters are Links with no fd: each refuses
    pin, info, update and iteration with NotSupported saying what to use instead, also
    after close, and closing removes them."""
    refused: list[Callable[[libbpf_py.Link], object]] = [
        lambda link: link.pin(f"/sys/fs/bpf/lpy-never-{os.getpid()}"),
        lambda link: link.info(),
        lambda link: link.id,
        lambda link: link.unpin(),
        lambda link: link.read(),
        lambda link: link.update(obj.programs["xdp_count"]),
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        attachments = {
            "attach_xdp() without netlink=True": obj.programs["xdp_count"].attach_xdp(
                veth.host, mode="skb", netlink=True
            ),
            "attach_tcx()": obj.programs["tcx_x"].attach_tc(veth.host),
            "lasts as long as its socket": obj.programs["sock_count"].attach_socket(sock),
        }
        for instead, link in attachments.items():
            assert isinstance(link, libbpf_py.Link) and not link.is_bpf_link
            assert link.fd == -1 and link.program is not None
            for call in refused:
                with pytest.raises(NotSupported, match="is not a BPF link") as err:
                    call(link)
                assert instead in str(err.value)
            link.close()
            assert link.closed and not link.is_bpf_link
            with pytest.raises(libbpf_py.PhaseError, match="Link is closed"):
                link.info()
    assert xdp_holder(veth.host).program_id == 0
    assert tc_filters(veth.host) == []


def test_sk_lookup_in_a_namespace_runs_then_stops(obj: LoadedObject, veth: VethPair) -> None:
    need("attach:sk_lookup")

    def into_netns() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _ in range(3):
                s.sendto(b"x", (veth.peer_addr, 9))
        time.sleep(0.2)

    link = obj.programs["lookup_count"].attach_netns(veth.netns)
    try:
        assert link.info().netns_ino == os.stat(f"/run/netns/{veth.netns}").st_ino
        assert wait_for(lambda: moved(obj, 10, into_netns) >= 3)
    finally:
        link.detach()
    assert moved(obj, 10, into_netns) == 0


def test_sk_msg_on_a_sockmap_runs_then_stops(obj: LoadedObject) -> None:
    need("attach:sockmap")
    socks = obj.maps["socks"]
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname()) as client,
    ):
        peer, _ = server.accept()
        with peer:
            link = obj.programs["msg_count"].attach_sockmap(socks)
            try:
                assert link.info().map_id == socks.id
                socks[0] = client.fileno()

                def talk() -> None:
                    for _ in range(3):
                        client.sendall(b"ping")
                        assert peer.recv(16) == b"ping"

                assert moved(obj, 11, talk) >= 3
            finally:
                link.detach()
                del socks[0]
            # A socket added after the detach is not filtered.
            socks[0] = client.fileno()
            try:
                assert moved(obj, 11, lambda: (client.sendall(b"x"), peer.recv(4))) == 0
            finally:
                del socks[0]


def test_kernel_view_lists_this_interface(obj: LoadedObject, veth: VethPair) -> None:
    xdp = obj.programs["xdp_count"].attach_xdp(veth.host, mode="skb")
    tc = obj.programs["tc_count"].attach_tc(veth.host, "ingress")
    links = [xdp, tc]
    expected = {
        ("xdp", "ingress", obj.programs["xdp_count"].id, xdp.id),
        ("tc", "ingress", obj.programs["tc_count"].id, None),
    }
    if features.check("attach:tcx") is None:  # Linux 6.6+
        tcx = obj.programs["tcx_x"].attach_tcx(veth.host, "egress")
        links.append(tcx)
        expected.add(("tcx", "egress", obj.programs["tcx_x"].id, tcx.id))
    try:
        seen = {(a.kind, a.direction, a.program_id, a.link_id) for a in net(veth.host)}
        assert seen == expected
    finally:
        for link in links:
            link.detach()
    assert net(veth.host) == []
