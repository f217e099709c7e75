"""ksyscall programs, kprobe_multi's unique_match and kprobe sessions, for real where the
kernel has kprobes (Debian's 6.12 runs them; this machine refuses kprobes), and refused
with the probed reason where it has not.

The programs (tests/bpf/attach/probe_kinds.bpf.c) count only this process, and the
events are syscalls this process makes (getppid, getpgrp), so every count is exact.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import features
from libbpf_py.enums import LinkType
from libbpf_py.errors import AmbiguousMatch, NotFound, NotSupported
from libbpf_py.loaded import LoadedObject
from tests.attach.helpers import calls, moved, need
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]

GETPPID = "__do_sys_getppid"  # the name ftrace gives getppid's body on every kernel tested


@contextmanager
def kinds(objects: dict[str, Path], *programs: str) -> Iterator[LoadedObject]:
    """probe_kinds.bpf.o with only ``programs`` loaded, counting this pid."""
    with libbpf_py.ObjectFile(objects["probe_kinds"]).open() as opened:
        for name in programs:
            opened.programs[name].autoload = True
        with opened.load() as loaded:
            loaded.maps["cfg"][0] = os.getpid()
            yield loaded


def test_ksyscall_counts_the_syscall_then_stops(attach_objects: dict[str, Path]) -> None:
    need("attach:kprobe")
    with kinds(attach_objects, "on_getppid_call") as obj:
        link = obj.programs["on_getppid_call"].attach_ksyscall("getppid")
        assert link.info().type is LinkType.PERF_EVENT
        assert moved(obj, 0, calls(os.getppid, 5)) == 5
        assert moved(obj, 0, calls(os.getpgrp, 5)) == 0  # another syscall: not counted
        link.detach()
        assert moved(obj, 0, calls(os.getppid, 5)) == 0


def test_kretsyscall_sees_the_return_value(attach_objects: dict[str, Path]) -> None:
    need("attach:kretprobe")
    with kinds(attach_objects, "on_getppid_done") as obj:
        link = obj.programs["on_getppid_done"].attach_ksyscall("getppid", retprobe=True)
        assert moved(obj, 1, calls(os.getppid, 3)) == 3
        assert obj.maps["seen"][1] == os.getppid()
        link.detach()
        assert moved(obj, 1, calls(os.getppid, 3)) == 0


def test_ksyscall_sections_auto_attach(attach_objects: dict[str, Path]) -> None:
    need("attach:kprobe")
    need("attach:kretprobe")
    with kinds(attach_objects, "on_getppid_call", "on_getppid_done") as obj:
        links = obj.attach()
        assert sorted(link.program.name for link in links) == [
            "on_getppid_call",
            "on_getppid_done",
        ]
        hits = obj.maps["hits"]
        before = hits[0], hits[1]
        calls(os.getppid, 4)()
        assert (hits[0] - before[0], hits[1] - before[1]) == (4, 4)
    assert all(link.closed for link in links)


def test_ksyscall_without_kprobes_is_not_supported_with_the_reason(
    attach_objects: dict[str, Path],
) -> None:
    reason = features.check("attach:kprobe")
    if reason is None:
        pytest.skip("this kernel has kprobes: the refusal cannot be seen here")
    with kinds(attach_objects, "on_getppid_call") as obj:
        program = obj.programs["on_getppid_call"]
        with pytest.raises(NotSupported) as err:
            program.attach_ksyscall("getppid")
        assert reason in str(err.value) and "ksyscall" in str(err.value)
        # By section too: the same probed reason, not libbpf's bare ENOENT.
        with pytest.raises(NotSupported) as err:
            obj.attach()
        assert reason in str(err.value)
        with pytest.raises(NotSupported) as err:
            program.attach()
        assert reason in str(err.value)
        assert not obj.links


def test_ksyscall_of_a_syscall_the_kernel_lacks(attach_objects: dict[str, Path]) -> None:
    need("attach:kprobe")
    with (
        kinds(attach_objects, "on_getppid_call") as obj,
        pytest.raises(NotFound, match="no system call 'lpy_no_such_call'"),
    ):
        obj.programs["on_getppid_call"].attach_ksyscall("lpy_no_such_call")


def test_unique_match_on_a_unique_pattern_attaches(attach_objects: dict[str, Path]) -> None:
    need("attach:kprobe_multi")
    with kinds(attach_objects, "on_unique") as obj:
        link = obj.programs["on_unique"].attach_kprobe_multi("__do_sys_getpp*", unique_match=True)
        assert link.info().count == 1
        assert moved(obj, 2, calls(os.getppid, 3)) == 3
        assert moved(obj, 2, calls(os.getpgrp, 3)) == 0
        link.detach()
        assert moved(obj, 2, calls(os.getppid, 3)) == 0


def test_unique_match_on_an_ambiguous_or_empty_pattern_says_which(
    attach_objects: dict[str, Path],
) -> None:
    need("attach:kprobe_multi")
    with kinds(attach_objects, "on_unique") as obj:
        program = obj.programs["on_unique"]
        # getppid, getpgrp, getpgid, getpid, getpriority, ... : several.
        with pytest.raises(AmbiguousMatch) as err:
            program.attach_kprobe_multi("__do_sys_getp*", unique_match=True)
        assert isinstance(err.value, ValueError)
        assert "__do_sys_getp*" in str(err.value)
        assert "__do_sys_getppid" in str(err.value) and "__do_sys_getpgrp" in str(err.value)
        with pytest.raises(NotFound, match="no kernel function matches 'lpy_nothing_here_"):
            program.attach_kprobe_multi("lpy_nothing_here_*", unique_match=True)
        # The same ambiguous pattern without unique_match attaches to all of them.
        with program.attach_kprobe_multi("__do_sys_getp*") as link:
            assert link.info().count > 1
        assert not obj.links


def test_unique_match_needs_a_pattern(attach_objects: dict[str, Path]) -> None:
    with (
        kinds(attach_objects, "on_unique") as obj,
        pytest.raises(ValueError, match="unique_match=True checks a pattern"),
    ):
        obj.programs["on_unique"].attach_kprobe_multi(functions=[GETPPID], unique_match=True)


def test_kprobe_session_sees_entry_and_return_then_stops(
    attach_objects: dict[str, Path],
) -> None:
    need("attach:kprobe_session")
    with kinds(attach_objects, "on_session") as obj:
        program = obj.programs["on_session"]
        link = program.attach_kprobe_multi(functions=[GETPPID], session=True)
        assert link.info().type is LinkType.KPROBE_MULTI
        hits = obj.maps["hits"]
        before = hits[3], hits[4]
        calls(os.getppid, 4)()
        assert (hits[3] - before[0], hits[4] - before[1]) == (4, 4)
        link.detach()
        assert moved(obj, 3, calls(os.getppid, 2)) == 0
        assert moved(obj, 4, calls(os.getppid, 2)) == 0
        # The section says session: the default follows it.
        with program.attach_kprobe_multi("__do_sys_getpp*") as link:
            assert moved(obj, 4, calls(os.getppid, 2)) == 2


def test_kprobe_session_without_the_kernel_feature_is_not_supported(
    attach_objects: dict[str, Path],
) -> None:
    reason = features.check("attach:kprobe_session")
    if reason is None:
        pytest.skip("this kernel has kprobe sessions: the refusal cannot be seen here")
    with libbpf_py.ObjectFile(attach_objects["probe_kinds"]).open() as opened:
        opened.programs["on_session"].autoload = True
        try:
            obj = opened.load()
        except libbpf_py.BpfError as exc:
            # Before Linux 6.10 the kernel refuses the program type at load already.
            assert "on_session" in str(exc)
            return
        with obj:
            with pytest.raises(NotSupported) as err:
                obj.programs["on_session"].attach_kprobe_multi(functions=[GETPPID])
            assert reason in str(err.value)


def test_session_options_that_do_not_fit_are_value_errors(
    attach_objects: dict[str, Path],
) -> None:
    with kinds(attach_objects, "on_unique") as obj:
        program = obj.programs["on_unique"]
        with pytest.raises(ValueError, match=r'needs a program of section "kprobe\.session"'):
            program.attach_kprobe_multi(functions=[GETPPID], session=True)
        with pytest.raises(ValueError, match="retprobe=True is moot"):
            program.attach_kprobe_multi(functions=[GETPPID], session=True, retprobe=True)
        assert not obj.links
