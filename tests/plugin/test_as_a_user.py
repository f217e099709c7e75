"""Written as a user would: only libbpf_py, pytest and the plugin's fixtures."""

import pytest

from libbpf_py import packets

pytestmark = [pytest.mark.requires_root, pytest.mark.bpf_leak_check]


def test_xdp_counts_and_drops_between_namespaces(netns_pair, bpf_object):
    obj = bpf_object("xdp_count.bpf.c")
    program = obj.programs["count_and_drop"]
    with netns_pair.b.inside():
        link = program.attach_xdp(netns_pair.b.dev)
    with link:
        assert netns_pair.send_udp(10, port=9) == 10  # passes
        assert netns_pair.send_udp(5, port=7777, timeout=0.3) == 0  # dropped
        assert netns_pair.send_udp(10, src="b", port=9) == 10  # other way: no XDP on a
    seen = obj.maps["seen"]
    assert seen[1] == 5
    assert seen[0] >= 10  # plus ARP


def test_verdicts_by_test_run(bpf_object, assert_verdict):
    program = bpf_object("xdp_count.bpf.c").programs["count_and_drop"]
    assert_verdict(program, packets.udp_packet(b"x", dport=7777), "XDP_DROP")
    assert_verdict(program, packets.udp_packet(b"x", dport=53), "pass")
    assert_verdict(program, packets.tcp_packet(dport=7777), 2)  # a number works too


def test_capture_sees_what_passed(netns_pair, bpf_object):
    program = bpf_object("xdp_count.bpf.c").programs["count_and_drop"]
    with netns_pair.b.inside():
        link = program.attach_xdp(netns_pair.b.dev)
    with link, netns_pair.b.capture() as capture:
        netns_pair.send_udp(3, port=7777, timeout=0.2)
        netns_pair.send_udp(2, port=9)
    udp_ports = [packets.describe(f) for f in capture.frames if "UDP" in packets.describe(f)]
    assert len(udp_ports) == 2 and all("> 9," in d for d in udp_ports), udp_ports


def test_tcp_and_icmp_helpers(netns_pair):
    assert netns_pair.send_tcp(2) == 2
    assert netns_pair.send_icmp(3, src="b") == 3
