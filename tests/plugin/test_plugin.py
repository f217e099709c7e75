"""The plugin seen from outside: pytester runs of small test files, and its helpers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from libbpf_py import packets
from libbpf_py.pytest_plugin import capability_problem, find_leaks, take_snapshot

pytest_plugins = ["pytester"]
HERE = Path(__file__).parent
NOCAPS = ["setpriv", "--bounding-set=-all", "--inh-caps=-all"]


@pytest.mark.requires_root
def test_leaking_test_is_reported(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_leaky="""
        import os, socket
        import pytest
        import libbpf_py

        KEEP = []

        def test_leaks_a_map_fd(bpf_object, bpf_leak_check):
            obj = bpf_object('''
        #include "vmlinux.h"
        #include <bpf/bpf_helpers.h>
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1);
                 __type(key, __u32); __type(value, __u64); } m SEC(".maps");
        SEC("xdp") int p(struct xdp_md *c) { return XDP_PASS; }
        char LICENSE[] SEC("license") = "GPL";
        ''')
            KEEP.append(os.dup(obj.maps["m"].fd))

        @pytest.mark.bpf_leak_check
        def test_leaks_a_namespace():
            from libbpf_py.netns import NetnsPair
            KEEP.append(NetnsPair())

        @pytest.mark.bpf_leak_check
        def test_clean(netns_pair, bpf_object):
            assert netns_pair.send_udp(1) == 1

        def test_cleanup_after_the_others():
            for thing in KEEP:
                os.close(thing) if isinstance(thing, int) else thing.close()
    """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, errors=2)
    out = result.stdout.str()
    assert "test_leaks_a_map_fd leaked 1 resource(s)" in out
    assert "anon_inode:bpf-map (map id" in out
    assert "test_leaks_a_namespace leaked" in out and "network namespace lpy-" in out
    assert "test_clean leaked" not in out


@pytest.mark.requires_root
def test_leak_check_for_every_test_by_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nbpf_leak_check = true\n")
    pytester.makepyfile(
        test_fd="""
        import os
        FDS = []
        def test_opens_a_file():
            FDS.append(os.open("/dev/null", os.O_RDONLY))
        def test_closes_it():
            os.close(FDS.pop())
    """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*test_opens_a_file leaked 1 resource(s)*", "*fd *: /dev/null*"])


def test_plugin_is_active_by_installation(tmp_path: Path) -> None:
    (tmp_path / "test_one.py").write_text(
        "def test_uses_a_helper(assert_verdict):\n    assert callable(assert_verdict)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--markers"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "requires_kernel_feature(*features)" in proc.stdout
    assert "requires_root:" in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--fixtures"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    for name in ("netns_pair", "bpf_compile", "bpf_object", "bpf_leak_check", "assert_verdict"):
        assert f"{name} -- " in proc.stdout or f"{name} [" in proc.stdout, name
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_requires_root_skip_names_missing_capabilities(tmp_path: Path) -> None:
    if capability_problem() is not None:
        pytest.skip("needs root to drop capabilities in a child")
    (tmp_path / "test_root.py").write_text(
        "import pytest\n"
        "@pytest.mark.requires_root\n"
        "def test_needs_root():\n    pass\n"
        "def test_netns(netns_pair):\n    pass\n"
    )
    proc = subprocess.run(
        [*NOCAPS, sys.executable, "-m", "pytest", "-rs", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "2 skipped" in proc.stdout, proc.stdout + proc.stderr
    assert "needs root: this process (uid 0, CapEff 0x0) lacks CAP_BPF" in proc.stdout
    assert "netns_pair needs root" in proc.stdout


def test_requires_kernel_feature_skips_with_the_probed_reason(pytester: pytest.Pytester) -> None:
    from libbpf_py import features

    pytester.makepyfile(
        test_feat="""
        import pytest
        @pytest.mark.requires_kernel_feature("prog_type:xdp", "attach:kprobe")
        def test_both():
            pass
        @pytest.mark.requires_kernel_feature("prog_type:socket_filter")
        def test_filter():
            pass
    """
    )
    result = pytester.runpytest_inprocess("-rs", "-p", "no:cacheprovider")
    kprobe = features.check("attach:kprobe")
    xdp = features.check("prog_type:xdp")
    sockfilter = features.check("prog_type:socket_filter")
    skipped = sum(1 for reason in ((xdp or kprobe), sockfilter) if reason)
    result.assert_outcomes(passed=2 - skipped, skipped=skipped)
    reason = xdp or kprobe
    if reason:
        feature = "prog_type:xdp" if xdp else "attach:kprobe"
        assert f"kernel feature {feature}: {reason}" in result.stdout.str()


@pytest.mark.requires_root
def test_assert_verdict_message_decodes_the_packet(bpf_object, no_fd_leak) -> None:
    from libbpf_py.pytest_plugin import assert_verdict

    program = bpf_object(HERE / "xdp_count.bpf.c").programs["count_and_drop"]
    frame = packets.udp_packet(b"abc", dport=7777)
    with pytest.raises(AssertionError) as info:
        assert_verdict(program, frame, "XDP_PASS")
    text = str(info.value)
    assert "xdp program 'count_and_drop' returned XDP_DROP (1), expected XDP_PASS (2)" in text
    assert "IPv4 198.18.0.2 > 198.18.0.1 UDP 4242 > 7777, 3 bytes payload" in text
    assert frame.hex() in text
    with pytest.raises(ValueError, match="'TC_ACT_SHOT' is not a verdict of xdp programs"):
        assert_verdict(program, frame, "TC_ACT_SHOT")
    result = assert_verdict(program, frame, "drop", repeat=3)
    assert result.retval == 1


def test_scapy_packets_are_accepted() -> None:
    scapy = pytest.importorskip("scapy.all", reason="scapy is not installed")
    pkt = scapy.Ether() / scapy.IP(src="198.18.0.2", dst="198.18.0.1") / scapy.UDP(dport=9)
    assert packets.as_bytes(pkt) == bytes(pkt)


def test_objects_with_bytes_are_packets() -> None:
    class Frame:
        def __bytes__(self) -> bytes:
            return packets.udp_packet(b"q")

    assert packets.as_bytes(Frame()) == packets.udp_packet(b"q")
    with pytest.raises(TypeError, match="a packet is bytes"):
        packets.as_bytes("ff00")


def test_bpf_compile_caches(bpf_compile, tmp_path: Path) -> None:
    first = bpf_compile("xdp_count.bpf.c")
    again = bpf_compile(HERE / "xdp_count.bpf.c")
    assert first == again and first.stat().st_size > 0
    other = bpf_compile("xdp_count.bpf.c", cflags=["-DLPY_TEST_FLAG=1"])
    assert other != first
    from libbpf_py.errors import NotFound

    with pytest.raises(NotFound, match="no BPF source file"):
        bpf_compile("missing.bpf.c")


def test_snapshot_diff_is_readable(tmp_path: Path) -> None:
    before = take_snapshot()
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        leaks = find_leaks(before, take_snapshot())
    finally:
        os.close(fd)
    assert leaks == [f"fd {fd}: {tmp_path}"]
