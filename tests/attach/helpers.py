"""Helpers of the attach tests: probed skips, polling, a helper process, cgroups."""

from __future__ import annotations

import functools
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from libbpf_py.loaded import LoadedObject
    from libbpf_py.open_object import OpenObject


def need(feature: str) -> None:
    """Skip the test with the probed reason when this kernel lacks ``feature``."""
    from libbpf_py import features

    reason = features.check(feature)
    if reason:
        pytest.skip(f"{feature}: {reason}")


# Programs of tests/bpf/attach/trace.bpf.c that load only on request, with the feature each
# needs: kernel builds differ in which iterator targets they allow.
TRACE_ON_REQUEST = {"dump_hits": "iter:bpf_map_elem", "dump_maps": "iter:bpf_map"}


# Programs of tests/bpf/attach/cookies.bpf.c that load only on request, with the feature
# each needs: raw tracepoint programs may read their cookie from Linux 6.10, and some
# kernels refuse kprobes and fentry programs (this machine's lockdown).
COOKIE_ON_REQUEST = {
    "raw_tp_cookie": "attach:raw_tracepoint_cookie",
    "kprobe_cookie": "attach:kprobe",
    "kprobe_multi_cookie": "attach:kprobe_multi",
    "fentry_cookie": "attach:fentry",
}


def cookies_seen(obj: LoadedObject) -> dict[int, int]:
    """What tests/bpf/attach/cookies.bpf.c counted, by the cookie its programs read."""
    return {int(cookie): int(count) for cookie, count in obj.maps["seen"].items()}


# Programs of tests/bpf/attach/net.bpf.c that load only on request: netfilter programs
# are Linux 6.4+, and one the kernel refuses would fail the whole object's load.
NET_ON_REQUEST = {"nf_count": "prog_type:netfilter"}


def enable_supported(opened: OpenObject, on_request: dict[str, str]) -> dict[str, str]:
    """Turn on autoload for each program whose feature this kernel has.

    Returns the programs left off, each with the probed reason, so a test that needs one
    skips with it while the rest of the object still loads.
    """
    from libbpf_py import features

    refused = {}
    for program, feature in on_request.items():
        reason = features.check(feature)
        if reason is None:
            opened.programs[program].autoload = True
        else:
            refused[program] = f"{feature}: {reason}"
    return refused


@functools.cache
def reports_perf_links() -> bool:
    """Whether this kernel describes perf-event links (kind, target) in their link info.

    Linux 6.6 added it; the running kernel's BTF tells, as its ``struct bpf_link_info``
    has a ``perf_event`` member from then on.
    """
    from libbpf_py.inspect.btf import read_btf
    from libbpf_py.inspect.btf_types import Struct

    btf = read_btf(Path("/sys/kernel/btf/vmlinux").read_bytes())

    def names(t: Struct) -> set[str]:
        out = set()
        for m in t.members:
            inner = btf.skip_qualifiers(m.type_id)
            out |= names(inner) if not m.name and isinstance(inner, Struct) else {m.name}
        return out

    info = btf.find("bpf_link_info")
    return isinstance(info, Struct) and "perf_event" in names(info)


def perf_link(kind: str, target: str = "") -> tuple[str, str]:
    """What link info says of a perf-event link: (kind, target), or ("", "") before 6.6."""
    return (kind, target) if reports_perf_links() else ("", "")


def moved(obj: LoadedObject, slot: int, action: Callable[[], object]) -> int:
    """How far counter ``slot`` of the object's ``hits`` map moved while ``action`` ran."""
    before = obj.maps["hits"][slot]
    action()
    return int(obj.maps["hits"][slot] - before)


def calls(fn: Callable[[], object], n: int) -> Callable[[], None]:
    """An action for :func:`moved`: ``fn`` called ``n`` times."""

    def run() -> None:
        for _ in range(n):
            fn()

    return run


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass (robust to load)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class Target:
    """A running helper binary: each call() makes it call lpy_target() once."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.pid = self.proc.pid

    def call(self, times: int = 1) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        for _ in range(times):
            self.proc.stdin.write("go\n")
            self.proc.stdin.flush()
            assert self.proc.stdout.readline() == "ok\n"

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc.wait(timeout=10)


def in_cgroup(path: Path, code: str) -> None:
    """Run Python ``code`` in a child process that first joins cgroup ``path``."""
    script = f"import os\nopen({str(path / 'cgroup.procs')!r}, 'w').write(str(os.getpid()))\n"
    proc = subprocess.run(
        [sys.executable, "-c", script + code], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
