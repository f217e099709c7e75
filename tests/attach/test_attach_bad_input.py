"""Bad input to attach calls: clear library errors naming what was not found."""

from __future__ import annotations

import errno
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import features
from libbpf_py.errors import BpfError, NotFound, NotSupported
from libbpf_py.loaded import LoadedObject
from tests.attach.helpers import NET_ON_REQUEST, enable_supported
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]


@pytest.fixture
def trace(attach_objects: dict[str, Path]) -> Iterator[LoadedObject]:
    with libbpf_py.ObjectFile(attach_objects["trace"]).open() as opened, opened.load() as loaded:
        yield loaded


@pytest.fixture
def net(attach_objects: dict[str, Path]) -> Iterator[LoadedObject]:
    with libbpf_py.ObjectFile(attach_objects["net"]).open() as opened:
        enable_supported(opened, NET_ON_REQUEST)
        with opened.load() as loaded:
            yield loaded


@pytest.fixture
def cgroup_obj(attach_objects: dict[str, Path]) -> Iterator[LoadedObject]:
    with libbpf_py.ObjectFile(attach_objects["cgroup"]).open() as opened, opened.load() as loaded:
        yield loaded


def no_links_of(obj: LoadedObject) -> bool:
    """Whether no link of the kernel's runs a program of ``obj``.

    Other processes make and drop links meanwhile: a link that vanishes between listing
    and asking (NotFound) is not ours, and one still being made answers EAGAIN until
    its maker finishes, so it is asked again a bounded number of times.
    """
    from libbpf_py import kernel

    ids = {p.id for p in obj.programs.values() if p.loaded}
    for entry in kernel.links():
        for attempt in range(_EAGAIN_TRIES):
            try:
                program_id = entry.info().program_id
                break
            except NotFound:
                program_id = None  # gone: not one of ours
                break
            except BpfError as exc:
                if exc.errno != errno.EAGAIN or attempt == _EAGAIN_TRIES - 1:
                    raise
                time.sleep(0.01)
        if program_id in ids:
            return False
    return True


_EAGAIN_TRIES = 200  # 2 s of retries: a link in the making settles in microseconds


@pytest.mark.parametrize(
    "method,args",
    [
        ("attach_xdp", ("lpy-no-such0",)),
        ("attach_tcx", ("lpy-no-such0",)),
        ("attach_netkit", ("lpy-no-such0",)),
        ("attach_tc", ("lpy-no-such0",)),
        ("attach_xdp", (2**30,)),
    ],
)
def test_unknown_interface(net: LoadedObject, method: str, args: tuple[object, ...]) -> None:
    program = net.programs["xdp_count" if method == "attach_xdp" else "tc_count"]
    with pytest.raises(NotFound) as err:
        getattr(program, method)(*args)
    assert str(args[0]) in str(err.value) and "interface" in str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    assert no_links_of(net)


def test_unknown_tracepoint(trace: LoadedObject) -> None:
    with pytest.raises(NotFound, match="no tracepoint syscalls/sys_enter_lpy_nothing"):
        trace.programs["tp_getpid"].attach_tracepoint("syscalls/sys_enter_lpy_nothing")
    with pytest.raises(NotFound, match="no raw tracepoint 'lpy_nothing'"):
        trace.programs["raw_sys_enter"].attach_raw_tracepoint("lpy_nothing")
    with pytest.raises(ValueError, match="category/name"):
        trace.programs["tp_getpid"].attach_tracepoint("sys_enter_getpid")
    assert no_links_of(trace)


def test_unknown_binary(trace: LoadedObject) -> None:
    with pytest.raises(NotFound, match="/nonexistent/lpy-binary"):
        trace.programs["on_target"].attach_uprobe("/nonexistent/lpy-binary", "main")
    with pytest.raises(NotFound, match="lpy-not-on-path"):
        trace.programs["on_tick"].attach_usdt("lpy-not-on-path", "p", "n")


def test_unknown_function_in_a_binary(trace: LoadedObject, target_binary: Path) -> None:
    with pytest.raises(NotFound) as err:
        trace.programs["on_target"].attach_uprobe(target_binary, "lpy_no_such_function")
    assert "lpy_no_such_function" in str(err.value) and str(target_binary) in str(err.value)
    # Without uprobe_multi (before Linux 6.6), the probe answers first.
    missing = features.check("attach:uprobe_multi")
    with pytest.raises(
        NotFound if missing is None else NotSupported,
        match="lpy_nothing_matches" if missing is None else "uprobe_multi",
    ):
        trace.programs["on_targets"].attach_uprobe_multi(target_binary, "lpy_nothing_matches*")
    with pytest.raises(NotFound, match="no USDT probe lpytest:nope"):
        trace.programs["on_tick"].attach_usdt(target_binary, "lpytest", "nope")
    assert no_links_of(trace)


def test_unknown_kernel_function(trace: LoadedObject) -> None:
    with pytest.raises(NotFound, match="no function 'lpy_no_such_kernel_function'"):
        trace.programs["on_vfs_read"].attach_kprobe("lpy_no_such_kernel_function")


def test_unknown_cgroup_path(cgroup_obj: LoadedObject) -> None:
    with pytest.raises(NotFound) as err:
        cgroup_obj.programs["cg_egress"].attach_cgroup("/sys/fs/cgroup/lpy-no-such-group")
    assert "/sys/fs/cgroup/lpy-no-such-group" in str(err.value)
    assert "cgroup v2" in str(err.value)
    assert no_links_of(cgroup_obj)


def test_unknown_netns_perf_event_and_hook(trace: LoadedObject, net: LoadedObject) -> None:
    with pytest.raises(NotFound, match="lpy-no-such-ns"):
        net.programs["lookup_count"].attach_netns("lpy-no-such-ns")
    with pytest.raises(NotFound, match="no software or hardware perf event 'lpy-clock'"):
        trace.programs["on_cpu_clock"].attach_perf_event("lpy-clock")
    if features.check("prog_type:netfilter") is None:  # loaded only where it exists
        with pytest.raises(ValueError, match="not one of"):
            net.programs["nf_count"].attach_netfilter("sideways")
    with pytest.raises(ValueError, match="not one of"):
        net.programs["tc_count"].attach_tcx("lo", "upwards")


def test_uprobe_on_a_process_that_does_not_exist(trace: LoadedObject, target_binary: Path) -> None:
    # The highest pid the kernel could ever hand out, plus one.
    pid = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    with pytest.raises(NotFound, match=f"no process with pid {pid}"):
        trace.programs["on_target"].attach_uprobe(target_binary, "lpy_target", pid=pid)


@pytest.mark.parametrize("cookie", [-1, 2**64, -(2**63)])
@pytest.mark.parametrize(
    "program,method,args",
    [
        ("tp_getpid", "attach_tracepoint", ("syscalls/sys_enter_getpid",)),
        ("raw_sys_enter", "attach_raw_tracepoint", ("sys_enter",)),
        ("on_cpu_clock", "attach_perf_event", ("cpu-clock",)),
        ("on_target", "attach_uprobe", ("/bin/true", "main")),
        ("on_tick", "attach_usdt", ("/bin/true", "p", "n")),
        # Refused on this machine, checked all the same: the cookie is checked first.
        ("on_vfs_read", "attach_kprobe", ("vfs_read",)),
        ("tp_getpid", "attach_trace", ()),
    ],
)
def test_cookie_outside_u64_is_a_value_error(
    trace: LoadedObject, program: str, method: str, args: tuple[object, ...], cookie: int
) -> None:
    with pytest.raises(ValueError, match=r"u64, 0 \.\. 2\*\*64-1"):
        getattr(trace.programs[program], method)(*args, cookie=cookie)
    assert no_links_of(trace)


def test_cookie_that_is_not_an_int_is_a_type_error(trace: LoadedObject) -> None:
    for bad in ("1", 1.0, True, None):
        with pytest.raises(TypeError, match="is an int"):
            trace.programs["tp_getpid"].attach_tracepoint("syscalls/sys_enter_getpid", cookie=bad)  # type: ignore[arg-type]
    assert no_links_of(trace)


@pytest.mark.parametrize("method", ["attach_kprobe_multi", "attach_uprobe_multi"])
def test_multi_cookies_are_one_per_function(
    trace: LoadedObject, target_binary: Path, method: str
) -> None:
    program = trace.programs["on_vfs_many" if method == "attach_kprobe_multi" else "on_targets"]
    attach = getattr(program, method)
    head = () if method == "attach_kprobe_multi" else (target_binary,)
    functions = ["vfs_read"] if method == "attach_kprobe_multi" else ["lpy_target"]
    with pytest.raises(ValueError, match="cookies has 2 values for 1 functions"):
        attach(*head, functions=functions, cookies=[1, 2])
    with pytest.raises(ValueError, match="cookies has 0 values for 1 functions"):
        attach(*head, functions=functions, cookies=[])
    with pytest.raises(ValueError, match=r"cookies\[1\].*u64"):
        attach(*head, functions=functions * 2, cookies=[1, -1])
    with pytest.raises(ValueError, match="not a pattern"):
        attach(*head, "lpy_*", cookies=[1])
    with pytest.raises(TypeError, match="sequence of ints"):
        attach(*head, functions=functions, cookies=7)
    with pytest.raises(ValueError, match="not both or neither"):
        attach(*head, "lpy_*", functions=functions)
    assert no_links_of(trace)


def test_a_cookie_the_kernel_cannot_carry_is_refused_not_dropped(trace: LoadedObject) -> None:
    # Each cookie kind answers from its probe; where one is missing, a non-zero cookie
    # raises NotSupported naming it, and the same attach without a cookie is unaffected.
    cases = [
        ("perf_event_cookie", "tp_getpid", "attach_tracepoint", ("syscalls/sys_enter_getpid",)),
        ("raw_tracepoint_cookie", "raw_sys_enter", "attach_raw_tracepoint", ("sys_enter",)),
    ]
    tried = 0
    for feature, program, method, args in cases:
        reason = features.check(f"attach:{feature}")
        if reason is None:
            continue
        tried += 1
        with pytest.raises(NotSupported) as err:
            getattr(trace.programs[program], method)(*args, cookie=1)
        assert reason in str(err.value) and feature in str(err.value)
    if not tried:
        pytest.skip("this kernel carries cookies on tracepoints and raw tracepoints")
    assert no_links_of(trace)


def test_feature_names_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown attach kind"):
        features.check("attach:lpy-teleport")
    with pytest.raises(ValueError, match="has no ':'"):
        features.check("xdp")
    with pytest.raises(ValueError, match="unknown ProgType"):
        features.check("prog_type:lpy")
    with pytest.raises(ValueError, match="unknown BPF helper"):
        features.check("helper:xdp:lpy_nothing")
