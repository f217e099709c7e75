"""The packet-filter walkthrough: the guide's lifecycle, one narrated step at a time.

``libbpf-py demo`` runs it straight through; ``libbpf-py tutorial`` passes ``pause`` to
stop between steps and ``teach=True`` to say, for each step, which libbpf calls it makes and
what the kernel does in answer. It exits successfully only if packets demonstrably
passed, and then were dropped once their source address was put in the blocklist.
"""

from __future__ import annotations

import errno
import os
import platform
import socket
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from libbpf_py.demo import filter_source
from libbpf_py.enums import MapType

__all__ = ["DemoResult", "run_walkthrough"]

PACKETS = 20


@dataclass
class DemoResult:
    """What the walkthrough saw: packets received before and after blocking, counters."""

    received_before: int = 0
    received_after: int = 0
    passed: int = 0
    dropped: int = 0
    program_id: int = 0
    link_id: int = 0
    leftovers: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True if packets passed, then were all dropped, and nothing was left behind."""
        return (
            self.received_before == PACKETS
            and self.received_after == 0
            and self.dropped >= PACKETS
            and not self.leftovers
        )


class _Narrator:
    def __init__(self, out: TextIO, pause: Callable[[str], None] | None, teach: bool) -> None:
        self.out = out
        self.pause = pause
        self.teach = teach
        self.number = 0

    def step(self, title: str, why: str, underneath: str = "") -> None:
        self.number += 1
        if self.pause is not None and self.number > 1:
            self.pause(title)
        self.say(f"\n== Step {self.number}: {title} ==")
        self.say(textwrap.fill(why, 88))
        if self.teach and underneath:
            self.say(textwrap.indent(textwrap.fill("Underneath: " + underneath, 84), "  > "))

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def item(self, text: str) -> None:
        self.say(f"   {text}")


def _check_environment(n: _Narrator) -> None:
    from libbpf_py import libbpf_version
    from libbpf_py.compiler import find_clang

    n.step(
        "check the environment",
        "Loading BPF programs needs root (CAP_BPF, CAP_NET_ADMIN), a kernel with BTF "
        "for CO-RE, and clang to compile C for the BPF target.",
        "nothing is loaded yet. The kernel publishes its own type information at "
        "/sys/kernel/btf/vmlinux; libbpf needs it to relocate the program, and bpffs "
        "(/sys/fs/bpf) is where BPF objects can be pinned to outlive a process.",
    )
    n.item(f"kernel:       {platform.release()}")
    from libbpf_py.testing.netns import capability_problem

    problem = capability_problem()
    n.item(f"root:         {'yes' if problem is None else 'NO - ' + problem}")
    btf = Path("/sys/kernel/btf/vmlinux")
    n.item(f"kernel BTF:   {btf if btf.exists() else 'MISSING'}")
    n.item(f"bpffs:        {'mounted' if os.path.ismount('/sys/fs/bpf') else 'not mounted'}")
    n.item(f"clang:        {find_clang()}")
    n.item(f"libbpf:       {libbpf_version()} (vendored, linked statically)")
    if problem is not None:
        from libbpf_py.errors import PermissionDenied

        raise PermissionDenied(
            f"the walkthrough loads programs into the kernel and {problem}: run it as root"
        )


def run_walkthrough(
    out: TextIO = sys.stdout, pause: Callable[[str], None] | None = None, teach: bool = False
) -> DemoResult:
    """Run the whole packet-filter lifecycle, printing each step to ``out``.

    ``pause(next_title)`` is called between steps (the tutorial waits for Enter there);
    ``teach`` adds what libbpf and the kernel do in each step.
    """
    import libbpf_py
    from libbpf_py.testing.netns import VethPair, sweep_stale

    n = _Narrator(out, pause, teach)
    result = DemoResult()
    _check_environment(n)
    sweep_stale()

    source = filter_source()
    n.step(
        "write the packet filter (C)",
        'The filter is C with BPF constructs: a SEC("xdp") function that sees every '
        "packet as it arrives at the driver, a hash map `blocklist` of IPv4 source "
        "addresses to drop, and a per-CPU array `counters` of passed/dropped packets.",
        'SEC("...") puts each function and map in an ELF section whose name tells '
        "libbpf what it is; bpf_map_lookup_elem is a BPF helper, a kernel function the "
        "program may call. The verifier will later insist on the bounds checks you see.",
    )
    n.say(textwrap.indent(source.read_text(), "   | "))

    n.step(
        "CO-RE compile it",
        "clang compiles for the BPF target with BTF debug info (-g), so libbpf can relocate "
        "field offsets against this kernel's types at load time (Compile Once - Run "
        "Everywhere). vmlinux.h is generated from the kernel's own BTF.",
        "libbpf_py runs clang -g -O2 -target bpf; vmlinux.h comes from libbpf's btf_dump "
        "of /sys/kernel/btf/vmlinux. The result is an ELF file of BPF instructions plus "
        ".BTF (types) and .BTF.ext (line info and CO-RE relocation records).",
    )
    obj_path = libbpf_py.compile(source)
    n.item(f"object: {obj_path} ({obj_path.stat().st_size} bytes)")

    n.step(
        "inspect the compiled object",
        "Before any kernel call, the ELF object already says what it holds: programs by "
        "section, maps with their sizes, and BTF types. This is read in pure Python.",
        "no libbpf call and no system call: pyelftools reads the ELF sections and "
        "libbpf_py's own parser reads .BTF, the same facts bpf_object__open will find.",
    )
    objfile = libbpf_py.ObjectFile(obj_path, name="xdp_filter")
    spec = objfile.inspect()
    for prog in spec.programs.values():
        n.item(
            f"program {prog.name}: section {prog.section!r}, type {prog.type.label}, "
            f"{prog.insn_count} instructions"
        )
    for m in spec.maps.values():
        kind = m.type.label if isinstance(m.type, MapType) else str(m.type)
        n.item(
            f"map {m.name}: {kind}, key {m.key_size} B, value {m.value_size} B, "
            f"max_entries {m.max_entries}"
        )

    with VethPair() as net:
        n.step(
            "open, load and attach to a network device",
            f"A network namespace {net.netns} is joined to this one by a veth pair; "
            f"packets sent from {net.peer_addr} inside it arrive at {net.host} "
            f"({net.host_addr}) here. bpf_object__open parses the object, "
            "bpf_object__load creates the maps and has the verifier check the program, "
            "and an XDP BPF link attaches it to the host end.",
            "bpf_object__open_mem parses the ELF in user space (open phase: sizes may still "
            "change). bpf_object__load makes the bpf() system calls: BPF_BTF_LOAD, "
            "BPF_MAP_CREATE per map, then BPF_PROG_LOAD, where the kernel's verifier walks "
            "every path of the program before the JIT compiles it. "
            "bpf_program__attach_xdp makes BPF_LINK_CREATE on the interface's index.",
        )
        with objfile.open() as opened:
            n.item(f"opened: programs {list(opened.programs)}, maps {list(opened.maps)}")
            loaded = opened.load()
        with loaded:
            program = loaded.programs["xdp_filter"]
            n.item(f"loaded: the verifier accepted {program.name!r}")
            link = program.attach_xdp(net.host)
            n.item(f"attached to {net.host} with a BPF link")

            n.step(
                "inspect the running program",
                "The kernel now reports the program, its maps and the link by id - "
                "the same facts `bpftool prog show` and `bpftool link show` print.",
                "bpf_prog_get_info_by_fd and bpf_link_get_info_by_fd (BPF_OBJ_GET_INFO_BY_FD) "
                "ask the kernel what it holds; the tag is a hash of the instructions.",
            )
            info = program.info()
            link_info = link.info()
            result.program_id, result.link_id = info.id, link_info.id
            n.item(
                f"program id {info.id}, tag {info.tag}, {info.xlated_size} B translated, "
                f"{info.jited_size} B JIT-compiled, {info.verified_insns} instructions "
                "verified"
            )
            n.item(f"map ids {list(info.map_ids)}")
            n.item(
                f"link id {link_info.id}: {link_info.type.label} on interface "
                f"{link_info.interface} (ifindex {link_info.ifindex}), program "
                f"{link_info.program_id}"
            )

            n.step(
                "watch it filter packets",
                f"Send {PACKETS} UDP datagrams from the namespace: they pass. Then put the "
                "sender's address in `blocklist` and send again: XDP drops them before "
                "the kernel's network stack ever sees them.",
                "the program now runs in the kernel for every frame the veth delivers; "
                "user space changes its behaviour only through the map: "
                "bpf_map_update_elem (BPF_MAP_UPDATE_ELEM) writes the blocklist entry the "
                "program looks up.",
            )
            blocklist, counters = loaded.maps["blocklist"], loaded.maps["counters"]
            result.received_before = net.send_udp(PACKETS)
            n.item(f"sent {PACKETS}, received {result.received_before}")
            blocklist[socket.inet_aton(net.peer_addr)] = 1
            n.item(f"blocklist[{net.peer_addr}] = 1")
            result.received_after = net.send_udp(PACKETS, receive_timeout=0.5)
            n.item(f"sent {PACKETS}, received {result.received_after}")

            n.step(
                "read the counters",
                "Each CPU counted into its own slot of the per-CPU array; user space sums them.",
                "bpf_map_lookup_elem on a per-CPU array returns one value per possible CPU "
                "in one system call.",
            )
            passed, dropped = counters[0], counters[1]
            result.passed, result.dropped = passed.sum(), dropped.sum()
            n.item(f"passed:  {result.passed}  (per CPU {list(passed)})")
            n.item(f"dropped: {result.dropped}  (per CPU {list(dropped)})")

            n.step(
                "detach and unload",
                "Destroying the link detaches the program from the interface; closing the "
                "object unloads the program and frees its maps.",
                "bpf_link_detach then bpf_link__destroy close the link; bpf_object__close "
                "closes the program and map fds. The kernel frees each object when its "
                "last reference (fd, link or pin) is gone.",
            )
            link.detach()
            n.item(f"link {result.link_id} detached")
        n.item("object closed: program unloaded, maps freed")
    result.leftovers = _leftovers(result, net)
    n.step(
        "confirm nothing is left",
        "The namespace and veth pair are gone, and the kernel no longer knows the "
        "program or the link.",
    )
    if result.leftovers:
        for what in result.leftovers:
            n.item(f"LEFT BEHIND: {what}")
    else:
        n.item(
            f"program {result.program_id}: gone; link {result.link_id}: gone; "
            f"{net.netns} and {net.host}: removed"
        )
    n.say(
        "\nResult: "
        + (
            "packets passed, then were dropped by the filter - OK"
            if result.ok
            else "the filter did not behave as expected - FAILED"
        )
    )
    return result


def _leftovers(result: DemoResult, net: object) -> list[str]:
    from libbpf_py._lowlevel import lib
    from libbpf_py.testing.netns import VethPair

    left: list[str] = []
    for kind, getter, ident in (
        ("program", lib.bpf_prog_get_fd_by_id, result.program_id),
        ("link", lib.bpf_link_get_fd_by_id, result.link_id),
    ):
        # The kernel frees ids when the last reference drops, which a deferred work item
        # may do a moment after close() returns.
        for _ in range(100):
            fd = getter(ident)
            if fd < 0:
                break
            os.close(fd)
            time.sleep(0.01)
        if fd >= 0:
            left.append(f"{kind} id {ident}")
        elif -fd != errno.ENOENT:
            left.append(f"{kind} id {ident} (could not check: {os.strerror(-fd)})")
    assert isinstance(net, VethPair)
    try:
        socket.if_nametoindex(net.host)
        left.append(f"interface {net.host}")
    except OSError:
        pass
    if os.path.exists(f"/run/netns/{net.netns}"):
        left.append(f"namespace {net.netns}")
    return left
