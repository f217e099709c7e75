"""Link.info() on the real kernel: what it reports per link kind, and that it asks the
kernel once (one BPF_OBJ_GET_INFO_BY_FD), counted by a BPF program on sys_enter_bpf."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py.enums import AttachType, LinkType
from libbpf_py.link import Link, link_info
from libbpf_py.loaded import LoadedObject
from libbpf_py.netns import VethPair
from tests.attach.helpers import (
    TRACE_ON_REQUEST,
    Target,
    enable_supported,
    need,
    perf_link,
    reports_perf_links,
)
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]

_COUNTER = """
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile __u32 watched_pid = 0;
__u64 info_calls = 0;

SEC("tracepoint/syscalls/sys_enter_bpf")
int count_info_calls(struct trace_event_raw_sys_enter *ctx)
{
    if ((bpf_get_current_pid_tgid() >> 32) == watched_pid &&
        ctx->args[0] == BPF_OBJ_GET_INFO_BY_FD)
        __sync_fetch_and_add(&info_calls, 1);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
"""


@pytest.fixture
def info_calls(bpf_compile: Callable[..., Path]) -> Iterator[Callable[[Callable[[], object]], int]]:
    """``info_calls(action)``: how many BPF_OBJ_GET_INFO_BY_FD calls ``action`` made."""
    need("attach:tracepoint")
    with libbpf_py.ObjectFile(bpf_compile(_COUNTER)).open() as opened:
        opened.rodata.watched_pid = os.getpid()
        with (
            opened.load() as counter,
            counter.programs["count_info_calls"].attach_tracepoint(
                "syscalls/sys_enter_bpf"
            ) as link,
        ):

            def count(action: Callable[[], object]) -> int:
                before = counter.bss.info_calls
                action()
                return int(counter.bss.info_calls - before)

            yield count
            link.detach()


@pytest.fixture
def trace(attach_objects: dict[str, Path]) -> Iterator[LoadedObject]:
    with libbpf_py.ObjectFile(attach_objects["trace"]).open() as opened:
        enable_supported(opened, TRACE_ON_REQUEST)
        with opened.load() as loaded:
            loaded.maps["cfg"][0] = os.getpid()
            yield loaded


def _uprobe_offset(binary: Path) -> int:
    from elftools.elf.elffile import ELFFile

    with open(binary, "rb") as f:
        elf = ELFFile(f)
        sym = elf.get_section_by_name(".symtab").get_symbol_by_name("lpy_target")[0]
        text = elf.get_section_by_name(".text")
        return int(sym["st_value"] - text["sh_addr"] + text["sh_offset"])


def _trace_links(obj: LoadedObject, target: Target, binary: Path) -> dict[str, Link]:
    """One link of every tracing kind this kernel attaches, by kind."""
    programs = obj.programs
    makers: dict[str, Callable[[], Link]] = {
        "tracepoint": lambda: programs["tp_getpid"].attach_tracepoint("syscalls/sys_enter_getpid"),
        "raw_tracepoint": lambda: programs["raw_sys_enter"].attach_raw_tracepoint("sys_enter"),
        "perf_event": lambda: programs["on_cpu_clock"].attach_perf_event("cpu-clock", frequency=10),
        "uprobe": lambda: programs["on_target"].attach_uprobe(
            binary, offset=_uprobe_offset(binary), pid=target.pid
        ),
        "uprobe_multi": lambda: programs["on_targets"].attach_uprobe_multi(
            binary, "lpy_target*", pid=target.pid
        ),
        "iter": lambda: programs["dump_hits"].attach_iter(obj.maps["hits"]),
    }
    from libbpf_py import features

    # The map-element iterator is a target of its own that kernels allow or refuse.
    needed = {kind: "iter:bpf_map_elem" if kind == "iter" else f"attach:{kind}" for kind in makers}
    return {kind: make() for kind, make in makers.items() if features.check(needed[kind]) is None}


def test_each_tracing_kind_reports_its_target(
    trace: LoadedObject, target: Target, target_binary: Path
) -> None:
    links = _trace_links(trace, target, target_binary)
    try:
        if "iter" in links:
            info = links["iter"].info()
            assert (info.type, info.target) == (LinkType.ITER, "bpf_map_elem")
            assert info.map_id == trace.maps["hits"].id
        if "uprobe" in links:
            info = links["uprobe"].info()
            assert (info.perf_event, info.target) == perf_link("uprobe", str(target_binary))
            if reports_perf_links():
                assert info.offset == _uprobe_offset(target_binary)
        if "uprobe_multi" in links:
            info = links["uprobe_multi"].info()
            assert info.pid == target.pid and info.count == 2
        if "perf_event" in links:
            # PERF_COUNT_SW_CPU_CLOCK; the type is PERF_TYPE_SOFTWARE's or, where the
            # kernel gives cpu-clock a PMU of its own, that PMU's.
            target = links["perf_event"].info().target
            if reports_perf_links():
                assert target.startswith("perf event type ") and target.endswith(" config 0")
            else:
                assert target == ""
    finally:
        for link in links.values():
            link.detach()


def test_info_asks_the_kernel_once(
    trace: LoadedObject,
    target: Target,
    target_binary: Path,
    info_calls: Callable[[Callable[[], object]], int],
) -> None:
    links = _trace_links(trace, target, target_binary)
    assert links, "this kernel attaches none of the tracing kinds"
    try:
        for kind, link in links.items():
            assert info_calls(link.info) == 1, kind  # the first ask, the kind guessed
            assert info_calls(link.info) == 1, kind  # the kind known
            # Reopened by id, the kind is learnt from the check that it is a link.
            with Link.from_id(link.info().id) as again:
                assert info_calls(again.info) == 1, kind
                assert again.info() == link.info()
    finally:
        for link in links.values():
            link.detach()


def test_any_expected_kind_gives_the_same_answer(
    trace: LoadedObject, target: Target, target_binary: Path
) -> None:
    # A wrong guess places the name buffer where the link's kind reads something else:
    # the kernel refuses it or ignores it, and the helper asks again.
    links = _trace_links(trace, target, target_binary)
    try:
        for link in links.values():
            truth = link.info()
            for kind in LinkType:
                assert link_info(link.fd, expect=kind) == truth, (truth.type, kind)
            assert link_info(link.fd, expect=0xFFFF) == truth
    finally:
        for link in links.values():
            link.detach()


def test_tcx_reports_its_interface_and_direction(
    attach_objects: dict[str, Path],
    veth: VethPair,
    info_calls: Callable[[Callable[[], object]], int],
) -> None:
    need("attach:tcx")
    with libbpf_py.ObjectFile(attach_objects["net"]).open() as opened, opened.load() as obj:
        link = obj.programs["tcx_x"].attach_tcx(veth.host, "egress")
        try:
            info = link.info()
            assert (info.type, info.attach_type) == (LinkType.TCX, AttachType.TCX_EGRESS)
            assert info.interface == info.target == veth.host
            assert info.ifindex == socket.if_nametoindex(veth.host)
            assert info_calls(link.info) == 1
        finally:
            link.detach()
