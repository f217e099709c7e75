"""BPF_PROG_TEST_RUN for every kind that has it, against Python reference models."""

from __future__ import annotations

import ipaddress
import json
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import libbpf_py
from libbpf_py.errors import LayoutError, NotSupported, PhaseError
from libbpf_py.packets import (
    ETH_P_ARP,
    ETH_P_IP,
    ETH_P_IPV6,
    checksum,
    ethernet,
    icmp4,
    icmp6,
    ipv4,
    ipv6,
    tcp,
    udp,
)
from libbpf_py.program import TestRunFlag
from tests.conftest import requires_root
from tests.execute.conftest import Loader

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]

XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX = 0, 1, 2, 3
SOURCES = [f"198.18.9.{i}" for i in range(1, 9)] + ["2001:db8::1", "2001:db8::2"]
HYPOTHESIS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    """Ethernet frames: IPv4/IPv6 with UDP, TCP or ICMP, ARP, odd EtherTypes, cut short."""
    kind = draw(st.sampled_from(["v4", "v4", "v4", "v6", "arp", "other"]))
    payload = draw(st.binary(max_size=64))
    l4 = draw(st.sampled_from(["udp", "tcp", "icmp"]))
    if kind == "v4":
        src = draw(st.sampled_from(SOURCES[:8]))
        dst = "198.18.9.200"
        proto = {"udp": socket.IPPROTO_UDP, "tcp": socket.IPPROTO_TCP, "icmp": socket.IPPROTO_ICMP}[
            l4
        ]
        body = {
            "udp": lambda: udp(payload, src=src, dst=dst),
            "tcp": lambda: tcp(payload, src=src, dst=dst),
            "icmp": lambda: icmp4(payload),
        }[l4]()
        frame = ethernet(ipv4(body, src=src, dst=dst, proto=proto, ttl=draw(st.integers(1, 255))))
    elif kind == "v6":
        src, dst = SOURCES[8], SOURCES[9]
        proto = {
            "udp": socket.IPPROTO_UDP,
            "tcp": socket.IPPROTO_TCP,
            "icmp": socket.IPPROTO_ICMPV6,
        }[l4]
        body = {
            "udp": lambda: udp(payload, src=src, dst=dst),
            "tcp": lambda: tcp(payload, src=src, dst=dst),
            "icmp": lambda: icmp6(payload, src=src, dst=dst),
        }[l4]()
        frame = ethernet(ipv6(body, src=src, dst=dst, next_header=proto), proto=ETH_P_IPV6)
    elif kind == "arp":
        frame = ethernet(b"\0\1\x08\0\6\4\0\1" + payload.ljust(20, b"\0"), proto=ETH_P_ARP)
    else:
        frame = ethernet(payload, proto=draw(st.integers(0x0600, 0xFFFF)))
    if draw(st.booleans()):
        frame = frame[: draw(st.integers(14, len(frame)))]
    return frame


def filter_model(frame: bytes, blocked: set[bytes]) -> int:
    """The shipped filter's rule: drop IPv4 whose source is in the blocklist."""
    if len(frame) < 14 + 20 or frame[12:14] != struct.pack("!H", ETH_P_IP):
        return XDP_PASS
    return XDP_DROP if frame[26:30] in blocked else XDP_PASS


def test_the_shipped_filter_matches_its_model(filter_object: Path) -> None:
    with libbpf_py.ObjectFile(filter_object).open() as opened, opened.load() as obj:
        prog = obj.programs["xdp_filter"]
        blocked = {socket.inet_aton(a) for a in SOURCES[:8:2]}
        for address in blocked:
            obj.maps["blocklist"][address] = 1
        counted = {XDP_PASS: 0, XDP_DROP: 0}

        @HYPOTHESIS
        @given(frames())
        def check(frame: bytes) -> None:
            expected = filter_model(frame, blocked)
            result = prog.test_run(frame)
            assert result.retval == expected, frame.hex()
            assert result.data_out == frame  # the filter never changes a packet
            counted[expected] += 1

        check()
        counters = obj.maps["counters"]
        assert counters[0].sum() == counted[XDP_PASS]
        assert counters[1].sum() == counted[XDP_DROP]
        assert counted[XDP_DROP] > 0 and counted[XDP_PASS] > 0


def test_rewritten_packets_come_back_right(load: Loader) -> None:
    with load("kinds") as obj:
        prog = obj.programs["xdp_rewrite"]

        @HYPOTHESIS
        @given(
            st.integers(2, 255),
            st.sampled_from(SOURCES[:8]),
            st.binary(max_size=200),
            st.binary(min_size=6, max_size=6),
            st.binary(min_size=6, max_size=6),
        )
        def check(ttl: int, src: str, payload: bytes, mac_a: bytes, mac_b: bytes) -> None:
            dst = "198.18.9.200"
            body = udp(payload, src=src, dst=dst)
            frame = ethernet(ipv4(body, src=src, dst=dst, ttl=ttl), src=mac_a, dst=mac_b)
            expected = ethernet(ipv4(body, src=src, dst=dst, ttl=ttl - 1), src=mac_b, dst=mac_a)
            result = prog.test_run(frame)
            assert result.retval == XDP_TX
            out = result.data_out
            # Every byte as the model says, the checksum only as valid as the model's.
            assert out[:24] + out[26:] == expected[:24] + expected[26:]
            assert checksum(out[14:34]) in (0, 0xFFFF)

        check()
        expired = ethernet(ipv4(udp(b"x"), src=SOURCES[0], dst="198.18.9.200", ttl=1))
        assert prog.test_run(expired).retval == XDP_DROP
        arp = ethernet(b"\0" * 28, proto=ETH_P_ARP, src=b"\1" * 6, dst=b"\2" * 6)
        assert prog.test_run(arp).data_out == ethernet(
            b"\0" * 28, proto=ETH_P_ARP, src=b"\2" * 6, dst=b"\1" * 6
        )


def test_a_context_round_trips(load: Loader) -> None:
    frame = ethernet(ipv4(udp(b"ctx"), src=SOURCES[0], dst="198.18.9.200"))
    with load("kinds") as obj:
        prog = obj.programs["tc_ctx"]

        @HYPOTHESIS
        @given(
            st.integers(0, 2**32 - 2), st.lists(st.integers(0, 2**32 - 2), min_size=5, max_size=5)
        )
        def check(mark: int, cb: list[int]) -> None:
            result = prog.test_run(frame, ctx={"mark": mark, "cb": cb})
            assert result.retval == cb[1]
            assert result.context.priority == mark + 1
            assert result.context.mark == mark
            assert result.context.cb == [cb[0] + 1, *cb[1:]]
            assert result.ctx_out is not None and len(result.ctx_out) > 0
            assert result.data_out == frame

        check()
        raw = prog.test_run(frame, ctx=bytes(prog._context_type().size))  # type: ignore[union-attr]
        assert raw.context is None and raw.ctx_out is not None


def test_every_kind_that_has_a_test_run(load: Loader) -> None:
    v4 = ethernet(
        ipv4(udp(b"kinds", src=SOURCES[1], dst="198.18.9.200"), src=SOURCES[1], dst="198.18.9.200")
    )
    v6 = ethernet(
        ipv6(udp(b"x", src=SOURCES[8], dst=SOURCES[9]), src=SOURCES[8], dst=SOURCES[9]),
        proto=ETH_P_IPV6,
    )
    with load("kinds") as obj:
        p = obj.programs
        # socket filter: the skb starts after the Ethernet header; it keeps all of it.
        assert p["socket_len"].test_run(v4).retval == len(v4) - 14
        assert p["cgroup_v4_only"].test_run(v4).retval == 1
        assert p["cgroup_v4_only"].test_run(v6).retval == 0
        keys = p["dissect"].test_run(v4).context
        assert keys.ip_proto == socket.IPPROTO_UDP and keys.nhoff == 14 and keys.thoff == 34
        assert keys.ipv4_src == int.from_bytes(ipaddress.IPv4Address(SOURCES[1]).packed, "little")
        assert p["raw_sum"].test_run(ctx=[40, 2]).retval == 42
        assert p["raw_sum"].test_run(ctx=[1, 2], cpu=0).retval == 3
        result = p["add"].test_run(ctx={"a": 20, "b": 22})
        assert result.retval == 7
        assert (result.context.sum, result.context.calls) == (42, 1)
        assert result.ctx_out == struct.pack("<4i", 20, 22, 42, 1)
        many = p["socket_len"].test_run(v4, repeat=1000)
        assert many.retval == len(v4) - 14 and many.duration_ns > 0
        assert p["tc_ctx"].test_run(v4).retval == 0


def test_bad_test_runs_raise_library_errors(load: Loader) -> None:
    v4 = ethernet(ipv4(udp(b"bad"), src=SOURCES[1], dst="198.18.9.200"))
    with load("kinds") as obj:
        p = obj.programs
        with pytest.raises(NotSupported, match="cannot test-run tracepoint"):
            p["on_getppid"].test_run(v4)
        try:
            big = p["tc_ctx"].test_run(v4 + bytes(5000))
        except LayoutError as refused:
            assert "do not fit one page" in str(refused)
        else:  # newer kernels (7.2) take skb test runs larger than a page
            assert big.retval == 0
        with pytest.raises(LayoutError, match="more than an XDP test run holds"):
            p["xdp_rewrite"].test_run(v4 + bytes(200_000))
        with pytest.raises(LayoutError, match="at least an Ethernet header"):
            p["xdp_rewrite"].test_run(b"short")
        with pytest.raises(ValueError, match="run once"):
            p["raw_sum"].test_run(ctx=[1, 2], repeat=5)
        with pytest.raises(LayoutError, match="take no packet"):
            p["add"].test_run(v4, ctx={"a": 1})
        with pytest.raises(LayoutError, match="has no field 'nosuch'"):
            p["tc_ctx"].test_run(v4, ctx={"nosuch": 1})
        with pytest.raises(LayoutError, match="does not fit"):
            p["tc_ctx"].test_run(v4, ctx={"mark": -1})
        with pytest.raises(TypeError):
            p["tc_ctx"].test_run(v4, ctx=3.5)
        with pytest.raises(ValueError):
            p["xdp_rewrite"].test_run(v4, repeat=-1)
        prog = p["xdp_rewrite"]
    with pytest.raises(PhaseError, match="closed"):
        prog.test_run(v4)


_RECEIVER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# Each live frame arrives in a page of its own: make room for the whole burst.
s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
s.bind((sys.argv[1], 7777))
s.settimeout(3)
print("ready", flush=True)
count = 0
try:
    while True:
        if s.recv(2048) == b"lpy-live":
            count += 1
except TimeoutError:
    pass
print(count, flush=True)
"""


def test_xdp_live_frames_are_really_sent(
    load: Loader, veth: object, execute_objects: dict[str, Path]
) -> None:
    ns, peer = veth.netns, veth.peer  # type: ignore[attr-defined]
    # The veth driver takes XDP_TX frames only when its far end runs XDP too.
    attached = subprocess.run(
        [
            "ip",
            "-n",
            ns,
            "link",
            "set",
            "dev",
            peer,
            "xdp",
            "obj",
            str(execute_objects["xdp_pass"]),
            "sec",
            "xdp",
        ],
        capture_output=True,
        text=True,
    )
    if attached.returncode != 0:
        pytest.skip(f"ip could not attach XDP to the far end: {attached.stderr.strip()}")
    link = json.loads(
        subprocess.run(
            ["ip", "-n", ns, "-j", "link", "show", "dev", peer],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    peer_mac = bytes.fromhex(link[0]["address"].replace(":", ""))
    src, dst = veth.host_addr, veth.peer_addr  # type: ignore[attr-defined]
    frame = ethernet(
        ipv4(udp(b"lpy-live", dport=7777, src=src, dst=dst), src=src, dst=dst), dst=peer_mac
    )
    receiver = subprocess.Popen(
        ["ip", "netns", "exec", ns, sys.executable, "-c", _RECEIVER, dst],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert receiver.stdout is not None
        assert receiver.stdout.readline().strip() == "ready"
        with load("kinds") as obj:
            result = obj.programs["xdp_bounce"].test_run(
                frame,
                ctx={"ingress_ifindex": veth.ifindex},  # type: ignore[attr-defined]
                repeat=100,
                flags=TestRunFlag.XDP_LIVE_FRAMES,
            )
            assert result.data_out == b""
            with pytest.raises(LayoutError, match="batch_size above"):
                obj.programs["xdp_bounce"].test_run(
                    frame,
                    repeat=1,
                    batch_size=1 << 20,
                    flags=TestRunFlag.XDP_LIVE_FRAMES,
                    ctx={"ingress_ifindex": 1},
                )
            with pytest.raises(LayoutError, match="live frames need"):
                obj.programs["xdp_bounce"].test_run(
                    frame,
                    flags=TestRunFlag.XDP_LIVE_FRAMES,
                    ctx={"ingress_ifindex": 1, "data_meta": 4},
                )
        out, _ = receiver.communicate(timeout=30)
        assert int(out.strip()) == 100  # every frame crossed the pair to a real socket
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()
