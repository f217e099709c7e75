"""Attach to the kernel's fixed trace points: tracepoints, raw tracepoints, fentry/fexit
and LSM hooks, extension (freplace) programs, perf events and iterators."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from libbpf_py._lowlevel import errno_of, ffi, lib, libbpf_error
from libbpf_py.attach._base import AttachBase, _cookie, _opts
from libbpf_py.attach._perf_event import PerfEvent
from libbpf_py.enums import AttachType, ProgType
from libbpf_py.errors import NotFound, NotSupported
from libbpf_py.link._link import Link

if TYPE_CHECKING:
    from libbpf_py.maps._map import Map

__all__ = ["TraceAttach"]


_TRACEFS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")


class TraceAttach(AttachBase):
    """Attach methods for tracepoints, trampolines, perf events and iterators."""

    def attach_tracepoint(self, category: str, name: str | None = None, *, cookie: int = 0) -> Link:
        """Attach to a tracepoint: ``("syscalls", "sys_enter_getpid")`` or
        ``"syscalls/sys_enter_getpid"``.

        ``cookie`` (a u64) is what the program reads with ``bpf_get_attach_cookie``; a
        non-zero one needs BPF perf links (``features.check("attach:perf_event_cookie")``).
        Raises ``ValueError`` for a cookie outside 0 .. 2**64-1, ``NotFound`` for a
        tracepoint the kernel lacks.
        """
        cookie = _cookie(cookie)
        prog = self._libbpf_program("tracepoint")
        if name is None:
            category, _, name = category.partition("/")
        if not category or not name:
            raise ValueError("a tracepoint is 'category/name', e.g. 'syscalls/sys_enter_getpid'")
        what = f"attaching {self.name!r} to tracepoint {category}/{name}"
        self._require_feature("tracepoint", what)
        if cookie:
            self._require_cookie("perf_event_cookie", what)
        tracefs = next((Path(p) for p in _TRACEFS if Path(p, "events").is_dir()), None)
        if tracefs is not None and not Path(tracefs, "events", category, name).is_dir():
            raise NotFound(
                f"{what}: no tracepoint {category}/{name} (see {tracefs}/available_events)",
                errno=errno.ENOENT,
            )
        opts = _opts("bpf_tracepoint_opts")
        opts.bpf_cookie = cookie
        return self._made(
            lib.bpf_program__attach_tracepoint_opts(prog, category.encode(), name.encode(), opts),
            f"bpf_program__attach_tracepoint({self.name!r}, {category}/{name})",
            what,
            f"{self.name} (tracepoint {category}/{name})",
        )

    def attach_raw_tracepoint(self, name: str, *, cookie: int = 0) -> Link:
        """Attach to a raw tracepoint by name (``"sys_enter"``, ``"sched_switch"``).

        ``cookie`` (a u64) is what the program reads with ``bpf_get_attach_cookie``; a
        non-zero one needs Linux 6.10+ (``features.check("attach:raw_tracepoint_cookie")``).
        Raises ``ValueError`` for a cookie outside 0 .. 2**64-1, ``NotFound`` for a raw
        tracepoint the kernel lacks.
        """
        cookie = _cookie(cookie)
        fd = self.fd
        what = f"attaching {self.name!r} to raw tracepoint {name}"
        self._require_feature("raw_tracepoint", what)
        if cookie:
            self._require_cookie("raw_tracepoint_cookie", what)
        missing = f"the kernel has no raw tracepoint {name!r}"
        if self._ptr is not None:
            opts = _opts("bpf_raw_tracepoint_opts")
            opts.cookie = cookie
            ptr = lib.bpf_program__attach_raw_tracepoint_opts(self._ptr, name.encode(), opts)
            return self._made(
                ptr,
                f"bpf_program__attach_raw_tracepoint({name!r})",
                what,
                f"{self.name} (raw_tracepoint {name})",
                missing=missing,
            )
        raw = _opts("bpf_raw_tp_opts")
        tp_name = ffi.new("char[]", name.encode())
        raw.tp_name = tp_name
        raw.cookie = cookie
        ret = lib.bpf_raw_tracepoint_open_opts(fd, raw)
        if ret < 0:
            if -ret == errno.ENOENT:
                raise NotFound(f"{what}: {missing}", errno=-ret)
            raise libbpf_error(-ret, what)
        return self._fd_link(ret, f"{self.name} (raw_tracepoint {name})")

    def attach_trace(self, *, cookie: int = 0) -> Link:
        """Attach an fentry/fexit/fmod_ret or LSM program to the function its section names.

        ``cookie`` (a u64) is what the program reads with ``bpf_get_attach_cookie``; a
        non-zero one needs Linux 6.0+ (``features.check("attach:trace_cookie")``).
        This kernel may refuse such programs already at load (lockdown); see
        ``libbpf_py.features.check("attach:fentry")``. Raises ``ValueError`` for a cookie
        outside 0 .. 2**64-1.
        """
        cookie = _cookie(cookie)
        prog = self._libbpf_program("trace")
        what = f"attaching {self.type.label} program {self.name!r}"
        if self.type is ProgType.LSM:
            kind = "lsm"
        else:
            kind = {AttachType.TRACE_FEXIT: "fexit", AttachType.MODIFY_RETURN: "fmod_ret"}.get(
                self.expected_attach_type, "fentry"
            )
        self._require_feature(kind, what)
        if cookie:
            self._require_cookie("trace_cookie", what)
        # bpf_program__attach_lsm is attach_trace_opts without options: one call for both.
        opts = _opts("bpf_trace_opts")
        opts.cookie = cookie
        call = "lsm" if kind == "lsm" else "trace"
        return self._made(
            lib.bpf_program__attach_trace_opts(prog, opts),
            f"bpf_program__attach_{call}({self.name!r})",
            what,
            f"{self.name} ({self.section})",
        )

    attach_lsm = attach_trace

    def attach_freplace(self, target: Any = None, function: str | None = None) -> Link:
        """Replace global function ``function`` of loaded program ``target`` (a program
        or its fd) with this extension program (``SEC("freplace")``).

        Without arguments, attach where ``OpenProgram.set_attach_target`` pointed it
        before load (the kernel keeps that target for the program's first attachment
        only; later ones name it again). Give both or neither.
        """
        if (target is None) != (function is None):
            raise ValueError(
                "attach_freplace() takes both a target program and a function name, or "
                "neither (to use the target set before load)"
            )
        prog = self._libbpf_program("freplace")
        if target is None:
            what = f"attaching extension {self.name!r} to the target set before load"
            target_fd, name, shown = 0, ffi.NULL, "its load-time target"
        else:
            what = f"attaching extension {self.name!r} over {function!r} of {target!r}"
            target_fd = target if isinstance(target, int) else target.fd
            if target_fd <= 0:
                raise ValueError(f"a target program fd is a positive number, not {target_fd}")
            name, shown = str(function).encode(), str(function)
        self._require_feature("freplace", what)
        return self._made(
            lib.bpf_program__attach_freplace(prog, target_fd, name),
            f"bpf_program__attach_freplace({self.name!r}, {shown!r})",
            what,
            f"{self.name} (freplace {shown})",
        )

    def attach_perf_event(
        self,
        event: str | int | PerfEvent = "cpu-clock",
        *,
        frequency: int = 0,
        period: int = 0,
        pid: int = 0,
        cpu: int = -1,
        cookie: int = 0,
    ) -> Link:
        """Attach to a perf event: a :class:`~libbpf_py.attach.PerfEvent` (any type and
        config: ``PerfEvent.hardware("cycles")``), a software or hardware event by its
        ``perf list`` name (``"cpu-clock"``, ``"instructions"``), or an already open
        perf event fd (the link works on a duplicate of it).

        ``frequency`` (samples per second) or ``period`` sets how often it fires;
        ``pid=0, cpu=-1`` (default) follow this process; ``pid=-1, cpu=N`` sample
        every process on CPU ``N``. ``cookie`` (a u64) is what the program reads with
        ``bpf_get_attach_cookie``; a non-zero one needs BPF perf links
        (``features.check("attach:perf_event_cookie")``). Raises ``ValueError`` for a
        cookie outside 0 .. 2**64-1, ``NotFound`` for an event name neither software
        nor hardware, ``NotSupported`` for a hardware event on a machine without a
        PMU (``features.check("attach:perf_event_hardware")``) or an event type no
        PMU here counts.
        """
        cookie = _cookie(cookie)
        prog = self._libbpf_program("perf_event")
        what = f"attaching {self.name!r} to perf event {event}"
        self._require_feature("perf_event", what)
        if cookie:
            self._require_cookie("perf_event_cookie", what)
        if isinstance(event, bool):
            raise TypeError("a perf event is a PerfEvent, a perf list name or an open fd")
        if isinstance(event, int):
            pfd = os.dup(event)
        else:
            pfd = self._open_perf_event(event, frequency, period, pid, cpu, what)
        opts = _opts("bpf_perf_event_opts")
        opts.bpf_cookie = cookie
        ptr = lib.bpf_program__attach_perf_event_opts(prog, pfd, opts)
        if errno_of(ptr):
            os.close(pfd)  # libbpf owns the fd only once the link exists
        return self._made(
            ptr,
            f"bpf_program__attach_perf_event({self.name!r}, {event})",
            what,
            f"{self.name} (perf_event {event})",
        )

    def _open_perf_event(
        self, event: str | PerfEvent, frequency: int, period: int, pid: int, cpu: int, what: str
    ) -> int:
        """``perf_event_open`` of ``event`` sampling as asked; the new fd."""
        if isinstance(event, str):
            try:
                event = PerfEvent.named(event)
            except ValueError as exc:
                raise NotFound(f"{what}: {exc}", errno=errno.ENOENT) from None
        elif not isinstance(event, PerfEvent):
            raise TypeError(
                "a perf event is a PerfEvent, a perf list name or an open perf event fd, "
                f"not {type(event).__name__}"
            )
        if event.needs_pmu:
            self._require_feature("perf_event_hardware", what, words="to hardware perf events")
        pfd = int(
            lib.lpy_perf_event_open(
                event.type,
                event.config,
                0,
                0,
                frequency or period or 1_000_000,
                1 if frequency else 0,
                pid,
                cpu,
            )
        )
        if pfd < 0:
            # The kernel answers ENOENT (or ENODEV, EOPNOTSUPP) when no PMU here counts
            # the type or config asked for.
            if -pfd in (errno.ENOENT, errno.ENODEV, errno.EOPNOTSUPP):
                raise NotSupported(
                    f"{what}: no PMU of this machine counts perf event type {event.type}, "
                    f"config {event.config:#x} (perf_event_open answered "
                    f"{errno.errorcode.get(-pfd, -pfd)}; see /sys/bus/event_source/devices)",
                    errno=-pfd,
                )
            raise libbpf_error(-pfd, f"{what}: perf_event_open")
        return pfd

    def attach_iter(self, map: Map | None = None) -> Link:
        """Make an iterator link; :meth:`Link.read` runs it. ``map`` for map iterators."""
        prog = self._libbpf_program("iter")
        what = f"attaching iterator {self.name!r}" + (f" to map {map.name!r}" if map else "")
        self._require_feature("iter", what)
        return self._made(
            lib.lpy_program_attach_iter(prog, map.fd if map is not None else -1),
            f"bpf_program__attach_iter({self.name!r})",
            what,
            f"{self.name} (iter {self.section})",
        )
