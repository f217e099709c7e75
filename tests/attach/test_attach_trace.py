"""Tracing attach kinds on the real kernel: each runs on a real event, then stops.

Kinds this kernel lacks are tested for the clear error naming the probed reason.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import features
from libbpf_py.enums import LinkType
from libbpf_py.errors import NotSupported, PermissionDenied
from libbpf_py.loaded import LoadedObject
from tests.attach.helpers import (
    COOKIE_ON_REQUEST,
    TRACE_ON_REQUEST,
    Target,
    cookies_seen,
    enable_supported,
    moved,
    need,
    perf_link,
)
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]


@pytest.fixture
def obj(attach_objects: dict[str, Path]) -> Iterator[LoadedObject]:
    with libbpf_py.ObjectFile(attach_objects["trace"]).open() as opened:
        enable_supported(opened, TRACE_ON_REQUEST)
        with opened.load() as loaded:
            loaded.maps["cfg"][0] = os.getpid()
            yield loaded


@pytest.fixture
def cookies(attach_objects: dict[str, Path]) -> Iterator[LoadedObject]:
    """tests/bpf/attach/cookies.bpf.o, counting this process's events by cookie."""
    raw_tp = {"raw_tp_cookie": COOKIE_ON_REQUEST["raw_tp_cookie"]}
    with libbpf_py.ObjectFile(attach_objects["cookies"]).open() as opened:
        enable_supported(opened, raw_tp)
        with opened.load() as loaded:
            loaded.maps["cfg"][0] = os.getpid()
            yield loaded


def getpid_times(n: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(n):
            os.getpid()

    return run


def test_tracepoint_runs_then_stops(obj: LoadedObject) -> None:
    need("attach:tracepoint")
    link = obj.programs["tp_getpid"].attach_tracepoint("syscalls/sys_enter_getpid")
    info = link.info()
    assert info.type is LinkType.PERF_EVENT
    assert (info.perf_event, info.target) == perf_link("tracepoint", "sys_enter_getpid")
    assert moved(obj, 0, getpid_times(5)) == 5
    link.detach()
    assert moved(obj, 0, getpid_times(5)) == 0


def test_raw_tracepoint_runs_then_stops(obj: LoadedObject) -> None:
    need("attach:raw_tracepoint")
    link = obj.programs["raw_sys_enter"].attach_raw_tracepoint("sys_enter")
    assert link.info().target == "sys_enter"
    assert moved(obj, 1, getpid_times(5)) == 5
    link.detach()
    assert moved(obj, 1, getpid_times(5)) == 0


def test_object_attach_autoattaches_like_a_skeleton(attach_objects: dict[str, Path]) -> None:
    with libbpf_py.ObjectFile(attach_objects["trace"]).open() as opened:
        # Iterators load on request only; auto-attach needs none of them.
        with opened.load() as obj:
            obj.maps["cfg"][0] = os.getpid()
            links = obj.attach()
            described = {repr(link).split(" (")[0].removeprefix("<Link ") for link in links}
            # Sections naming their target attach; bare uprobe/kprobe/perf_event do not.
            assert described == {"tp_getpid", "raw_sys_enter"}
            assert obj.links == tuple(links)
            assert moved(obj, 0, getpid_times(3)) == 3
            assert moved(obj, 1, getpid_times(3)) == 3
        # Closing the object detached them.
        assert all(link.closed for link in links)


def test_perf_event_timer_runs_then_stops(obj: LoadedObject) -> None:
    need("attach:perf_event")

    def burn() -> None:
        end = time.process_time() + 0.3
        while time.process_time() < end:
            pass

    link = obj.programs["on_cpu_clock"].attach_perf_event("cpu-clock", frequency=1000)
    assert link.info().perf_event == perf_link("event")[0]
    assert moved(obj, 2, burn) > 0
    link.detach()
    assert moved(obj, 2, burn) == 0


def test_uprobe_and_uretprobe_run_then_stop(
    obj: LoadedObject, target: Target, target_binary: Path
) -> None:
    need("attach:uprobe")
    entry = obj.programs["on_target"].attach_uprobe(target_binary, "lpy_target", pid=target.pid)
    ret = obj.programs["on_target_ret"].attach_uprobe(
        target_binary, "lpy_target", pid=target.pid, retprobe=True
    )
    assert entry.info().perf_event == perf_link("uprobe")[0]
    assert ret.info().perf_event == perf_link("uretprobe")[0]
    assert entry.info().target == perf_link("uprobe", str(target_binary))[1]
    hits = obj.maps["hits"]
    target.call(4)
    assert (hits[3], hits[4]) == (4, 4)
    entry.detach()
    ret.detach()
    target.call(4)
    assert (hits[3], hits[4]) == (4, 4)


def test_uprobe_by_offset(obj: LoadedObject, target: Target, target_binary: Path) -> None:
    need("attach:uprobe")
    from elftools.elf.elffile import ELFFile

    with open(target_binary, "rb") as f:
        elf = ELFFile(f)
        sym = elf.get_section_by_name(".symtab").get_symbol_by_name("lpy_target")[0]
        text = elf.get_section_by_name(".text")
        offset = sym["st_value"] - text["sh_addr"] + text["sh_offset"]
    link = obj.programs["on_target"].attach_uprobe(target_binary, offset=offset, pid=target.pid)
    assert moved(obj, 3, lambda: target.call(2)) == 2
    link.detach()
    assert moved(obj, 3, lambda: target.call(2)) == 0


def test_usdt_runs_then_stops(obj: LoadedObject, target: Target, target_binary: Path) -> None:
    need("attach:usdt")
    link = obj.programs["on_tick"].attach_usdt(target_binary, "lpytest", "tick", pid=target.pid)
    assert moved(obj, 5, lambda: target.call(3)) == 3  # the probe saw its argument, 42
    with pytest.raises(NotSupported, match="no single fd"):
        link.info()
    link.detach()
    assert moved(obj, 5, lambda: target.call(3)) == 0


def test_uprobe_multi_runs_then_stops(
    obj: LoadedObject, target: Target, target_binary: Path
) -> None:
    need("attach:uprobe_multi")
    link = obj.programs["on_targets"].attach_uprobe_multi(
        target_binary, "lpy_target*", pid=target.pid
    )
    info = link.info()
    assert info.type is LinkType.UPROBE_MULTI and info.count == 2
    assert info.target == str(target_binary)
    assert moved(obj, 6, lambda: target.call(3)) == 6  # two functions per call
    link.detach()
    assert moved(obj, 6, lambda: target.call(3)) == 0


def test_iterator_reads_the_map(obj: LoadedObject) -> None:
    need("iter:bpf_map_elem")
    hits = obj.maps["hits"]
    hits[20] = 1234
    link = obj.programs["dump_hits"].attach_iter(hits)
    assert link.info().type is LinkType.ITER and link.info().map_id == hits.id
    before = hits[7]
    text = link.read().decode()
    assert "20 1234\n" in text and len(text.splitlines()) == 32
    assert hits[7] == before + 32
    lines = list(link)
    assert len(lines) == 32 and lines[20] == b"20 1234\n"
    link.detach()
    assert hits[7] == before + 64


def test_iterator_over_maps_lists_this_objects_maps(obj: LoadedObject) -> None:
    need("iter:bpf_map")
    link = obj.programs["dump_maps"].attach_iter()
    assert link.info().type is LinkType.ITER and link.info().target == "bpf_map"
    before = obj.maps["hits"][10]
    lines = set(link.read().decode().splitlines())
    for name, size in (("hits", 32), ("cfg", 4)):
        assert f"map {obj.maps[name].id} {size}" in lines
    assert obj.maps["hits"][10] - before == len(lines) >= 2
    link.detach()


def test_kprobe_is_attached_or_refused_with_the_probed_reason(obj: LoadedObject) -> None:
    reason = features.check("attach:kprobe")
    prog = obj.programs["on_vfs_read"]
    if reason is None:
        link = prog.attach_kprobe("vfs_read")
        assert moved(obj, 8, lambda: Path("/proc/self/stat").read_bytes()) > 0
        link.detach()
        return
    with pytest.raises(NotSupported) as err:
        prog.attach_kprobe("vfs_read")
    assert reason in str(err.value) and "kprobe" in str(err.value)
    with pytest.raises(NotSupported, match="kretprobe"):
        prog.attach_kprobe("vfs_read", retprobe=True)


def test_kprobe_multi_is_attached_or_refused_with_the_probed_reason(obj: LoadedObject) -> None:
    reason = features.check("attach:kprobe_multi")
    prog = obj.programs["on_vfs_many"]
    if reason is None:
        link = prog.attach_kprobe_multi(functions=["vfs_read"])
        assert moved(obj, 9, lambda: Path("/proc/self/stat").read_bytes()) > 0
        link.detach()
        return
    with pytest.raises(NotSupported) as err:
        prog.attach_kprobe_multi("vfs_rea*")
    assert reason in str(err.value)


@pytest.mark.parametrize(
    "program,kind", [("on_entry", "fentry"), ("on_exit", "fexit"), ("on_open", "lsm")]
)
def test_trace_and_lsm_load_or_are_refused_clearly(
    attach_objects: dict[str, Path], program: str, kind: str
) -> None:
    reason = features.check(f"attach:{kind}")
    with libbpf_py.ObjectFile(attach_objects["refused"]).open() as opened:
        opened.programs[program].autoload = True
        if reason is None:
            with opened.load() as loaded:
                link = loaded.programs[program].attach_trace()
                assert link.info().type is LinkType.TRACING
                link.detach()
            return
        assert "EPERM" in reason  # what this kernel answers: refused, not missing
        with pytest.raises(PermissionDenied) as err:
            opened.load()
        assert "refuses" in str(err.value)


def test_trace_attach_is_refused_with_the_probed_reason(obj: LoadedObject) -> None:
    reason = features.check("attach:fentry")
    if reason is None:
        pytest.skip("this kernel attaches fentry programs; see the load test above")
    with pytest.raises(NotSupported) as err:
        obj.programs["tp_getpid"].attach_trace()
    assert reason in str(err.value)


def test_freplace_is_refused_with_the_probed_reason(obj: LoadedObject) -> None:
    reason = features.check("attach:freplace")
    if reason is None:
        pytest.skip("this kernel loads extension programs")
    with pytest.raises(NotSupported) as err:
        obj.programs["tp_getpid"].attach_freplace(obj.programs["raw_sys_enter"], "f")
    assert reason in str(err.value) and "freplace" in str(err.value)


# --- BPF cookies: each program reads the cookie its attachment carries -----------------


def burn_cpu(seconds: float = 0.3) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_tracepoint_program_reads_the_cookie_of_its_link(cookies: LoadedObject) -> None:
    need("attach:tracepoint")
    need("attach:perf_event_cookie")
    program = cookies.programs["tp_cookie"]
    high = 1 << 63 | 0x7E57  # the top bit survives: a full u64
    # One link at a time: the kernel puts a program on a tracepoint once (EEXIST).
    expected: dict[int, int] = {}
    for cookie, args in (
        (high, ("syscalls/sys_enter_getpid",)),
        (2**64 - 1, ("syscalls", "sys_enter_getpid")),
        (None, ("syscalls/sys_enter_getpid",)),  # no cookie: the program reads 0
    ):
        extra = {} if cookie is None else {"cookie": cookie}
        link = program.attach_tracepoint(*args, **extra)
        getpid_times(3)()
        expected[cookie or 0] = 3
        assert cookies_seen(cookies) == expected
        link.detach()
    getpid_times(3)()
    assert cookies_seen(cookies) == expected


def test_uprobe_and_uprobe_multi_read_their_cookies(
    cookies: LoadedObject, target: Target, target_binary: Path
) -> None:
    need("attach:uprobe")
    need("attach:perf_event_cookie")
    cookies.maps["cfg"][0] = target.pid  # the target runs the probes, not this process
    link = cookies.programs["uprobe_cookie"].attach_uprobe(
        target_binary, "lpy_target", pid=target.pid, cookie=0xC0FFEE
    )
    target.call(3)
    assert cookies_seen(cookies) == {0xC0FFEE: 3}
    link.detach()
    if features.check("attach:uprobe_multi") is not None:
        return  # before Linux 6.6; the bad-input tests check the refusal
    multi = cookies.programs["uprobe_multi_cookie"].attach_uprobe_multi(
        target_binary,
        functions=["lpy_target_two", "lpy_target"],
        pid=target.pid,
        cookies=[22, 11],
    )
    assert multi.info().count == 2
    target.call(2)
    assert cookies_seen(cookies) == {0xC0FFEE: 3, 11: 2, 22: 2}
    multi.detach()
    target.call(1)
    assert cookies_seen(cookies) == {0xC0FFEE: 3, 11: 2, 22: 2}


def test_perf_event_program_reads_its_cookie(cookies: LoadedObject) -> None:
    need("attach:perf_event")
    need("attach:perf_event_cookie")
    link = cookies.programs["perf_cookie"].attach_perf_event(
        "cpu-clock", frequency=1000, cookie=0xFEED
    )
    burn_cpu()
    seen = cookies_seen(cookies)
    assert list(seen) == [0xFEED] and seen[0xFEED] > 0
    link.detach()
    burn_cpu(0.05)
    after = cookies_seen(cookies)[0xFEED]
    burn_cpu()
    assert cookies_seen(cookies) == {0xFEED: after}


def test_raw_tracepoint_reads_its_cookie_or_refuses_one(
    cookies: LoadedObject, obj: LoadedObject
) -> None:
    need("attach:raw_tracepoint")
    reason = features.check("attach:raw_tracepoint_cookie")
    if reason is not None:
        # Before Linux 6.10: a cookie would be lost, so it is refused; none is fine.
        with pytest.raises(NotSupported) as err:
            obj.programs["raw_sys_enter"].attach_raw_tracepoint("sys_enter", cookie=1)
        assert reason in str(err.value) and "raw_tracepoint_cookie" in str(err.value)
        obj.programs["raw_sys_enter"].attach_raw_tracepoint("sys_enter", cookie=0).detach()
        return
    program = cookies.programs["raw_tp_cookie"]
    link = program.attach_raw_tracepoint("sys_enter", cookie=2**64 - 2)
    getpid_times(3)()
    assert cookies_seen(cookies) == {2**64 - 2: 3}
    link.detach()
    # A program opened by id has no libbpf program: the cookie goes through the fd call.
    with (
        libbpf_py.Program.from_id(program.id) as by_id,
        by_id.attach_raw_tracepoint("sys_enter", cookie=5),
    ):
        getpid_times(2)()
    assert cookies_seen(cookies) == {2**64 - 2: 3, 5: 2}
