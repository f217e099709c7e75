"""The guiding example: the shipped XDP filter through test_run and real traffic."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import LoadedObject
from libbpf_py.packets import ETH_P_ARP, ETH_P_IPV6, ethernet, ipv4, ipv6, udp
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]

XDP_DROP, XDP_PASS = 1, 2
BLOCKED, ALLOWED, DST = "198.18.7.2", "198.18.7.3", "198.18.7.1"


@pytest.fixture
def loaded_filter(filter_object: Path) -> Iterator[LoadedObject]:
    with libbpf_py.ObjectFile(filter_object).open() as obj, obj.load() as loaded:
        yield loaded


def frame(src: str) -> bytes:
    return ethernet(ipv4(udp(b"hello", src=src, dst=DST), src=src, dst=DST))


def test_test_run_blocked_and_passing(loaded_filter: LoadedObject) -> None:
    prog = loaded_filter.programs["xdp_filter"]
    blocklist = loaded_filter.maps["blocklist"]
    counters = loaded_filter.maps["counters"]
    blocklist[socket.inet_aton(BLOCKED)] = 1
    passing = prog.test_run(frame(ALLOWED))
    assert passing.retval == XDP_PASS
    assert passing.data_out == frame(ALLOWED)
    blocked = prog.test_run(frame(BLOCKED), repeat=10)
    assert blocked.retval == XDP_DROP
    assert blocked.duration_ns > 0
    assert counters[1].sum() == 10
    assert counters[0].sum() == 1
    # Non-IPv4 traffic always passes, even from "blocked" hardware.
    assert prog.test_run(ethernet(b"\0" * 28, proto=ETH_P_ARP)).retval == XDP_PASS
    v6 = ipv6(udp(b"x"), src="2001:db8::2", dst="2001:db8::1")
    assert prog.test_run(ethernet(v6, proto=ETH_P_IPV6)).retval == XDP_PASS
    del blocklist[socket.inet_aton(BLOCKED)]
    assert prog.test_run(frame(BLOCKED)).retval == XDP_PASS


def test_truncated_ip_header_passes(loaded_filter: LoadedObject) -> None:
    prog = loaded_filter.programs["xdp_filter"]
    loaded_filter.maps["blocklist"][socket.inet_aton(BLOCKED)] = 1
    short = frame(BLOCKED)[: 14 + 12]  # the source address is cut off
    assert prog.test_run(short).retval == XDP_PASS


def test_real_traffic_through_a_veth_pair(loaded_filter: LoadedObject, veth: object) -> None:
    from libbpf_py.netns import VethPair

    assert isinstance(veth, VethPair)
    prog = loaded_filter.programs["xdp_filter"]
    counters = loaded_filter.maps["counters"]
    with prog.attach_xdp(veth.host):
        assert veth.send_udp(10) == 10
        assert counters[0].sum() >= 10
        assert counters[1].sum() == 0
        loaded_filter.maps["blocklist"][socket.inet_aton(veth.peer_addr)] = 1
        assert veth.send_udp(10, receive_timeout=0.5) == 0
        assert counters[1].sum() == 10
        del loaded_filter.maps["blocklist"][socket.inet_aton(veth.peer_addr)]
        assert veth.send_udp(5) == 5
    assert veth.send_udp(5) == 5  # detached: the stack receives everything again
    assert counters[1].sum() == 10
