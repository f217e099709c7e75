"""Kprobes, kretprobes, kprobe_multi, fentry/fexit and LSM programs run for real where the
kernel allows them: trigger, count, detach, see the count stop.

Each test asks the probe first and skips with its reason (this machine's lockdown
refuses all of these; Debian's 6.1 and 6.12 run them). The events are syscalls this
process makes itself (getppid, getpgrp, opening one file), and the programs count only
this process, so every count is exact.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py.enums import LinkType
from libbpf_py.loaded import LoadedObject
from tests.attach.helpers import calls, cookies_seen, moved, need, perf_link
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]

# The names ftrace and BTF give the two syscalls on every kernel tested: see probes.bpf.c.
GETPPID = "__do_sys_getppid"
GETPGRP = "__do_sys_getpgrp"


@contextmanager
def probes(
    objects: dict[str, Path], *programs: str, source: str = "probes"
) -> Iterator[LoadedObject]:
    """tests/bpf/attach/probes.bpf.o (or ``source``) with only ``programs`` loaded,
    counting this pid."""
    with libbpf_py.ObjectFile(objects[source]).open() as opened:
        for name in programs:
            opened.programs[name].autoload = True
        with opened.load() as loaded:
            loaded.maps["cfg"][0] = os.getpid()
            yield loaded


def test_kprobe_runs_then_stops(attach_objects: dict[str, Path]) -> None:
    need("attach:kprobe")
    with probes(attach_objects, "on_getppid") as obj:
        link = obj.programs["on_getppid"].attach_kprobe(GETPPID)
        info = link.info()
        assert info.type is LinkType.PERF_EVENT
        # Kernels before 6.6 tell nothing more about a perf-event link.
        assert (info.perf_event, info.target) == perf_link("kprobe", GETPPID)
        assert moved(obj, 0, calls(os.getppid, 5)) == 5
        link.detach()
        assert moved(obj, 0, calls(os.getppid, 5)) == 0


def test_kretprobe_sees_the_return_value_then_stops(attach_objects: dict[str, Path]) -> None:
    need("attach:kretprobe")
    with probes(attach_objects, "on_getppid_ret") as obj:
        link = obj.programs["on_getppid_ret"].attach_kprobe(GETPPID, retprobe=True)
        assert link.info().perf_event == perf_link("kretprobe")[0]
        assert moved(obj, 1, calls(os.getppid, 4)) == 4
        assert obj.maps["seen"][1] == os.getppid()  # the syscall's return value
        link.detach()
        assert moved(obj, 1, calls(os.getppid, 4)) == 0


def test_kprobe_multi_counts_every_function_then_stops(attach_objects: dict[str, Path]) -> None:
    need("attach:kprobe_multi")
    with probes(attach_objects, "on_ids") as obj:
        link = obj.programs["on_ids"].attach_kprobe_multi(functions=[GETPPID, GETPGRP])
        info = link.info()
        assert info.type is LinkType.KPROBE_MULTI and info.count == 2

        def both() -> None:
            calls(os.getppid, 3)()
            calls(os.getpgrp, 2)()

        assert moved(obj, 2, both) == 5
        link.detach()
        assert moved(obj, 2, both) == 0


def test_kprobe_multi_by_pattern(attach_objects: dict[str, Path]) -> None:
    need("attach:kprobe_multi")
    with probes(attach_objects, "on_ids") as obj:
        # A glob over the functions ftrace can trace; this one matches getppid only.
        link = obj.programs["on_ids"].attach_kprobe_multi("__do_sys_getpp*")
        assert link.info().count == 1
        assert moved(obj, 2, calls(os.getppid, 3)) == 3
        assert moved(obj, 2, calls(os.getpgrp, 3)) == 0
        link.detach()
        assert moved(obj, 2, calls(os.getppid, 3)) == 0


def test_fentry_and_fexit_pair_run_then_stop(attach_objects: dict[str, Path]) -> None:
    need("attach:fentry")
    need("attach:fexit")
    with probes(attach_objects, "enter_getppid", "exit_getppid") as obj:
        entry = obj.programs["enter_getppid"].attach_trace()
        exit_ = obj.programs["exit_getppid"].attach_trace()
        assert entry.info().type is LinkType.TRACING and exit_.info().type is LinkType.TRACING
        hits = obj.maps["hits"]
        before = hits[3], hits[4]
        calls(os.getppid, 4)()
        assert (hits[3] - before[0], hits[4] - before[1]) == (4, 4)
        assert obj.maps["seen"][4] == os.getppid()  # fexit saw the return value
        entry.detach()
        assert moved(obj, 3, calls(os.getppid, 2)) == 0
        assert moved(obj, 4, calls(os.getppid, 2)) == 2  # the pair detaches one by one
        exit_.detach()
        assert moved(obj, 4, calls(os.getppid, 2)) == 0


def test_lsm_program_sees_opens_then_stops(attach_objects: dict[str, Path]) -> None:
    need("attach:lsm")
    # memfds: reopening one through /proc opens its shmem inode once, on every kernel
    # (a file on an overlay, as a VM's /tmp may be, is opened twice: overlay and backing).
    watched = os.memfd_create("lpy-watched", os.MFD_CLOEXEC)
    other = os.memfd_create("lpy-other", os.MFD_CLOEXEC)

    def opens(fd: int, n: int) -> Callable[[], None]:
        def run() -> None:
            for _ in range(n):
                os.close(os.open(f"/proc/self/fd/{fd}", os.O_RDONLY))  # allowed: returns 0

        return run

    try:
        with probes(attach_objects, "on_file_open") as obj:
            obj.maps["cfg"][1] = os.fstat(watched).st_ino
            link = obj.programs["on_file_open"].attach_lsm()
            assert link.info().type is LinkType.TRACING
            assert moved(obj, 5, opens(watched, 3)) == 3
            assert obj.maps["seen"][5] == os.fstat(watched).st_ino
            assert moved(obj, 5, opens(other, 3)) == 0
            link.detach()
            assert moved(obj, 5, opens(watched, 3)) == 0
    finally:
        os.close(watched)
        os.close(other)


# --- BPF cookies (tests/bpf/attach/cookies.bpf.c): counted by the cookie the program read


def test_kprobe_reads_its_cookie(attach_objects: dict[str, Path]) -> None:
    need("attach:kprobe")
    need("attach:perf_event_cookie")
    with probes(attach_objects, "kprobe_cookie", source="cookies") as obj:
        program = obj.programs["kprobe_cookie"]
        expected: dict[int, int] = {}
        for cookie in (1 << 63 | 0x6B, 7):
            link = program.attach_kprobe(GETPPID, cookie=cookie)
            calls(os.getppid, 3)()
            expected[cookie] = 3
            assert cookies_seen(obj) == expected
            link.detach()
        calls(os.getppid, 3)()
        assert cookies_seen(obj) == expected


def test_kprobe_multi_reads_one_cookie_per_function(attach_objects: dict[str, Path]) -> None:
    need("attach:kprobe_multi")
    with probes(attach_objects, "kprobe_multi_cookie", source="cookies") as obj:
        link = obj.programs["kprobe_multi_cookie"].attach_kprobe_multi(
            functions=[GETPGRP, GETPPID], cookies=[2**64 - 1, 0x99]
        )
        calls(os.getppid, 3)()
        calls(os.getpgrp, 2)()
        assert cookies_seen(obj) == {0x99: 3, 2**64 - 1: 2}
        link.detach()
        calls(os.getppid, 3)()
        assert cookies_seen(obj) == {0x99: 3, 2**64 - 1: 2}


def test_fentry_reads_its_cookie(attach_objects: dict[str, Path]) -> None:
    need("attach:fentry")
    need("attach:trace_cookie")
    with probes(attach_objects, "fentry_cookie", source="cookies") as obj:
        link = obj.programs["fentry_cookie"].attach_trace(cookie=0xF00D)
        assert link.info().type is LinkType.TRACING
        calls(os.getppid, 4)()
        assert cookies_seen(obj) == {0xF00D: 4}
        link.detach()
        calls(os.getppid, 4)()
        assert cookies_seen(obj) == {0xF00D: 4}
