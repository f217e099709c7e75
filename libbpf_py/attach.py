"""Phase 5, attach: one method per hook kind, each returning a :class:`~libbpf_py.Link`.

:class:`AttachMixin` is part of :class:`~libbpf_py.Program`; it is its own module so that
each attach kind stays short and the program module stays about the program. Where this
kernel lacks a kind, the method raises :class:`~libbpf_py.errors.NotSupported` with the
reason :mod:`libbpf_py.features` probed.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from libbpf_py import features
from libbpf_py._lowlevel import check, errno_of, ffi, lib, raise_errno
from libbpf_py.enums import AttachType, ProgType, XdpMode
from libbpf_py.errors import (
    BpfError,
    NotFound,
    NotSupported,
    PermissionDenied,
    ResourceBusy,
    _has_admin_capabilities,
    missing_capability_hint,
)
from libbpf_py.explain import narrate
from libbpf_py.link import Link
from libbpf_py.netdev import interface_index, interface_name, xdp_holder

if TYPE_CHECKING:
    from libbpf_py.loaded import LoadedObject
    from libbpf_py.maps import Map

__all__ = ["PERF_SOFTWARE_EVENTS", "AttachMixin", "xdp_holder"]

_XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0
_XDP_FLAGS_REPLACE = 1 << 4
_XDP_MODE_FLAGS = {XdpMode.AUTO: 0, XdpMode.SKB: 1 << 1, XdpMode.NATIVE: 1 << 2}
_BPF_F_REPLACE = 1 << 2
_BPF_F_BEFORE = 1 << 3
_BPF_F_AFTER = 1 << 4
_BPF_F_LINK = 1 << 13
_BPF_F_KPROBE_MULTI_RETURN = 1 << 0
_BPF_F_NETFILTER_IP_DEFRAG = 1 << 0
_SO_ATTACH_BPF = 50
_SO_DETACH_BPF = 27
_PERF_TYPE_SOFTWARE = 1

#: Software perf events by the name ``perf list`` gives them (``PERF_COUNT_SW_*``).
PERF_SOFTWARE_EVENTS = {
    "cpu-clock": 0, "task-clock": 1, "page-faults": 2, "context-switches": 3,
    "cpu-migrations": 4, "minor-faults": 5, "major-faults": 6, "alignment-faults": 7,
    "emulation-faults": 8, "dummy": 9, "bpf-output": 10, "cgroup-switches": 11,
}
_NF_FAMILIES = {"ipv4": 2, "ipv6": 10}
_NF_HOOKS = {"prerouting": 0, "local_in": 1, "forward": 2, "local_out": 3, "postrouting": 4}
_TRACEFS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")

# Legacy tc: the clsact qdiscs this process created, and how many of its filters use
# each, so the last detach removes the qdisc it added (never one it found).
_clsact_users: dict[int, int] = {}


class AttachMixin:
    """The attach methods of a loaded program."""

    name: str
    section: str
    type: ProgType
    expected_attach_type: AttachType
    _ptr: Any
    # None for a standalone program (Program.from_id): nothing closes its links first.
    _owner: LoadedObject

    @property
    def fd(self) -> int:  # provided by Program
        """The program's file descriptor."""
        raise NotImplementedError

    # --- plumbing ------------------------------------------------------------------

    def _link(self, ptr: Any, description: str, *, owned_by_object: bool = False) -> Link:
        link = Link(ptr=ptr, program=self, description=description,  # type: ignore[arg-type]
                    owned_by_object=owned_by_object)
        self._track(link)
        return link

    def _fd_link(self, fd: int, description: str) -> Link:
        link = Link(fd=fd, program=self, description=description)  # type: ignore[arg-type]
        self._track(link)
        return link

    def _track(self, link: Link) -> None:
        # A standalone program (Program.from_id) has no object to close links first.
        if self._owner is not None:
            self._owner._track(link)

    def _libbpf_program(self, kind: str) -> Any:
        """The ``struct bpf_program *`` libbpf's attach functions need."""
        self.fd  # noqa: B018 - raises PhaseError for a closed object or unloaded program
        if self._ptr is None:
            raise NotSupported(f"{kind} attach of {self.name!r} needs a program of a "
                               "LoadedObject (libbpf attaches it from its section); this one "
                               "was opened by id or pin")
        return self._ptr

    def _made(self, ptr: Any, call: str, what: str, description: str, *,
              hint: str = "") -> Link:
        err = errno_of(ptr)
        if err:
            raise raise_errno(err, what, hint=hint)
        narrate(call, f"link fd {lib.bpf_link__fd(ptr)}", phase="attach")
        return self._link(ptr, description)

    def _require_feature(self, kind: str, what: str) -> None:
        reason = features.check(f"attach:{kind}")
        if reason:
            if not _has_admin_capabilities():
                # The probe was refused for want of privileges, which says nothing about
                # the kernel: report the missing capability, not a missing feature.
                raise PermissionDenied(f"{what}: {missing_capability_hint()}",
                                       errno=errno.EPERM)
            raise NotSupported(f"{what}: this kernel cannot attach {kind} programs: {reason}")

    # --- by section name -----------------------------------------------------------

    def attach(self) -> Link:
        """Attach where the section name says (``bpf_program__attach``).

        Sections that name no target (``xdp``, ``tc``, ...) need the kind's own method,
        e.g. :meth:`attach_xdp`.
        """
        ptr = lib.bpf_program__attach(self._libbpf_program("auto"))
        err = errno_of(ptr)
        if err:
            hint = ""
            if err in (errno.EOPNOTSUPP, errno.ENOTSUP, errno.ESRCH):
                hint = (f"section {self.section!r} names no target to attach to; use the "
                        "attach method of its kind (e.g. attach_xdp(dev))")
            raise raise_errno(err, f"attaching program {self.name!r}", hint=hint)
        narrate(f"bpf_program__attach({self.name!r})", f"link fd {lib.bpf_link__fd(ptr)}",
                phase="attach")
        return self._link(ptr, f"{self.name} ({self.section})")

    # --- network devices -----------------------------------------------------------

    def attach_xdp(self, dev: str | int, mode: XdpMode | str = "auto", *,
                   netlink: bool = False) -> Link:
        """Attach an XDP program to interface ``dev`` (a name or an ifindex).

        ``mode`` is ``"auto"`` (the kernel picks the driver mode when it can), ``"skb"``
        (generic XDP, works everywhere) or ``"native"`` (in the driver). By default the
        attachment is a BPF link; ``netlink=True`` makes the older netlink attachment,
        which outlives this process by kernel design (the library still removes it on
        detach and teardown). If a program is already attached there, raises
        :class:`~libbpf_py.errors.ResourceBusy` naming it and how to remove it.
        """
        prog_fd = self.fd
        xdp_mode = XdpMode(mode) if isinstance(mode, str) else mode
        ifindex = interface_index(dev)
        name = dev if isinstance(dev, str) else interface_name(ifindex)
        what = f"attaching XDP program {self.name!r} to {name}"
        flags = _XDP_MODE_FLAGS[xdp_mode]
        description = f"{self.name} (xdp {xdp_mode.value} on {name}" + \
            (", netlink)" if netlink else ")")
        if netlink:
            ret = lib.bpf_xdp_attach(ifindex, prog_fd, flags | _XDP_FLAGS_UPDATE_IF_NOEXIST,
                                     ffi.NULL)
            if ret < 0:
                raise _xdp_attach_error(-ret, what, ifindex, name, xdp_mode)
            narrate(f"bpf_xdp_attach({self.name!r}, ifindex={ifindex}, {xdp_mode.value})",
                    "attached through netlink", phase="attach")
            link = Link(program=self, description=description,  # type: ignore[arg-type]
                        detacher=_xdp_netlink_detacher(ifindex, prog_fd, flags))
            self._track(link)
            return link
        opts = ffi.new("struct bpf_link_create_opts *")
        opts.sz = ffi.sizeof("struct bpf_link_create_opts")
        opts.flags = flags
        ret = lib.bpf_link_create(prog_fd, ifindex, AttachType.XDP, opts)
        if ret < 0:
            raise _xdp_attach_error(-ret, what, ifindex, name, xdp_mode)
        narrate(f"bpf_link_create({self.name!r}, ifindex={ifindex}, BPF_XDP, "
                f"mode={xdp_mode.value})", f"link fd {ret}", phase="attach")
        return self._fd_link(ret, description)

    def attach_tc(self, dev: str | int, direction: str = "ingress", *, priority: int = 0,
                  handle: int = 0, replace: bool = False) -> Link:
        """Attach a classifier to the clsact qdisc of ``dev`` (legacy tc, through netlink).

        ``direction`` is ``"ingress"`` or ``"egress"``; ``priority`` and ``handle`` name
        the filter (0 lets the kernel choose). The clsact qdisc is created when missing.
        The filter outlives this process by kernel design; :meth:`Link.detach`, closing
        the link, or closing the object removes it (and the qdisc, if this process
        created it). Prefer :meth:`attach_tcx`, whose link goes away with its owner.
        """
        prog_fd = self.fd
        point = _direction(direction, {"ingress": lib.BPF_TC_INGRESS,
                                       "egress": lib.BPF_TC_EGRESS})
        ifindex = interface_index(dev)
        name = dev if isinstance(dev, str) else interface_name(ifindex)
        what = f"attaching tc program {self.name!r} to {name} {direction}"
        hook = ffi.new("struct bpf_tc_hook *")
        hook.sz = ffi.sizeof("struct bpf_tc_hook")
        hook.ifindex = ifindex
        hook.attach_point = point
        ret = lib.bpf_tc_hook_create(hook)
        created = ret == 0
        if ret < 0 and -ret != errno.EEXIST:
            check(ret, f"{what}: creating the clsact qdisc")
        if created:
            _clsact_users[ifindex] = 0
        opts = ffi.new("struct bpf_tc_opts *")
        opts.sz = ffi.sizeof("struct bpf_tc_opts")
        opts.prog_fd = prog_fd
        opts.priority = priority
        opts.handle = handle
        opts.flags = 1 if replace else 0  # BPF_TC_F_REPLACE
        ret = lib.bpf_tc_attach(hook, opts)
        if ret < 0:
            if ifindex in _clsact_users and _clsact_users[ifindex] == 0:
                _destroy_clsact(ifindex)
            if -ret == errno.EEXIST:
                raise ResourceBusy(f"{what}: a filter with handle {handle} and priority "
                                   f"{priority} is already there; pick other numbers or pass "
                                   "replace=True", errno=-ret)
            check(ret, what)
        if ifindex in _clsact_users:
            _clsact_users[ifindex] += 1
        got_handle, got_priority = int(opts.handle), int(opts.priority)
        narrate(f"bpf_tc_attach({self.name!r}, {name} {direction})",
                f"handle {got_handle} priority {got_priority}", phase="attach")
        link = Link(program=self,  # type: ignore[arg-type]
                    description=f"{self.name} (tc {direction} on {name}, handle {got_handle}, "
                                f"priority {got_priority})",
                    detacher=_tc_detacher(ifindex, point, got_handle, got_priority))
        self._track(link)
        return link

    def attach_tcx(self, dev: str | int, direction: str = "ingress", *,
                   before: Any = None, after: Any = None,
                   expected_revision: int = 0) -> Link:
        """Attach to the tcx hook of ``dev`` with a BPF link (kernel 6.6+).

        ``before``/``after`` place the program relative to another :class:`Program` or
        :class:`Link` attached there (``before=True``/``after=True``: first/last);
        ``expected_revision`` makes the attach fail if the hook changed since you looked.
        """
        prog_fd = self.fd
        attach = _direction(direction, {"ingress": AttachType.TCX_INGRESS,
                                        "egress": AttachType.TCX_EGRESS})
        ifindex = interface_index(dev)
        name = dev if isinstance(dev, str) else interface_name(ifindex)
        what = f"attaching tcx program {self.name!r} to {name} {direction}"
        self._require_feature("tcx", what)
        if before is not None and after is not None:
            raise ValueError("give before= or after=, not both")
        flags = relative_fd = 0
        anchor = before if before is not None else after
        if anchor is not None:
            flags = _BPF_F_BEFORE if before is not None else _BPF_F_AFTER
            if isinstance(anchor, Link):
                flags |= _BPF_F_LINK
                relative_fd = anchor.fd
            elif anchor is not True:
                relative_fd = anchor.fd
        ret = lib.lpy_link_create_ordered(prog_fd, ifindex, attach, flags, relative_fd, 0,
                                          expected_revision)
        if ret < 0:
            hint = ""
            if -ret == errno.ESTALE:
                hint = f"the hook changed: its revision is no longer {expected_revision}"
            elif -ret == errno.ENOENT and anchor is not None:
                hint = "the program or link to place it next to is not attached there"
            raise raise_errno(-ret, what, hint=hint)
        narrate(f"bpf_link_create({self.name!r}, {name}, {attach.name})", f"link fd {ret}",
                phase="attach")
        return self._fd_link(ret, f"{self.name} (tcx {direction} on {name})")

    def attach_netfilter(self, hook: str = "local_in", *, family: str = "ipv4",
                         priority: int = 0, defrag: bool = False) -> Link:
        """Attach a netfilter program at ``hook`` (``"prerouting"``, ``"local_in"``,
        ``"forward"``, ``"local_out"``, ``"postrouting"``) of ``family`` (``"ipv4"`` or
        ``"ipv6"``) in this network namespace, at ``priority`` (lower runs first; the
        kernel refuses the extremes). ``defrag`` asks for reassembled packets."""
        fd = self.fd
        hooknum = _direction(hook, _NF_HOOKS)
        pf = _direction(family, _NF_FAMILIES)
        what = f"attaching netfilter program {self.name!r} at {family} {hook}"
        self._require_feature("netfilter", what)
        ret = lib.lpy_link_create_netfilter(fd, pf, hooknum, priority,
                                            _BPF_F_NETFILTER_IP_DEFRAG if defrag else 0)
        if ret < 0:
            hint = ""
            if -ret == errno.EBUSY:
                hint = f"another netfilter program holds priority {priority} exclusively"
            elif -ret == errno.ERANGE:
                hint = "priority must lie strictly between INT_MIN and INT_MAX"
            raise raise_errno(-ret, what, hint=hint)
        narrate(f"bpf_link_create({self.name!r}, BPF_NETFILTER, {family} {hook}, "
                f"priority {priority})", f"link fd {ret}", phase="attach")
        return self._fd_link(ret, f"{self.name} (netfilter {family} {hook} "
                                  f"priority {priority})")

    def attach_socket(self, sock: socket.socket) -> Link:
        """Attach a socket filter to the Python socket ``sock`` (``SO_ATTACH_BPF``).

        Not a BPF link: the filter lasts as long as the socket; :meth:`Link.detach`
        removes it (``SO_DETACH_BPF``).
        """
        fd = self.fd
        try:
            sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_BPF, fd)
        except OSError as exc:
            raise raise_errno(exc.errno or errno.EINVAL,
                              f"attaching socket filter {self.name!r} to {sock!r}") from None
        narrate(f"setsockopt(SO_ATTACH_BPF, {self.name!r})", "attached", phase="attach")

        def detach() -> None:
            if sock.fileno() >= 0:
                sock.setsockopt(socket.SOL_SOCKET, _SO_DETACH_BPF, 0)

        link = Link(program=self, description=f"{self.name} (socket filter on fd "  # type: ignore[arg-type]
                                              f"{sock.fileno()})", detacher=detach)
        self._track(link)
        return link

    def attach_netns(self, netns: str | int | None = None) -> Link:
        """Attach an sk_lookup or flow dissector program to a network namespace.

        ``netns`` is ``None`` (this process's), a name from ``ip netns``, a path to a
        namespace file, or an open fd of one.
        """
        prog = self._libbpf_program("netns")
        if isinstance(netns, int):
            return self._made(lib.bpf_program__attach_netns(prog, netns),
                              f"bpf_program__attach_netns({self.name!r}, fd {netns})",
                              f"attaching {self.name!r} to netns fd {netns}",
                              f"{self.name} (netns fd {netns})")
        if netns is None:
            path = "/proc/self/ns/net"
        elif "/" in netns:
            path = netns
        else:
            path = f"/run/netns/{netns}"
        try:
            ns_fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise NotFound(f"no network namespace {netns!r} (no {path}; see 'ip netns list')",
                           errno=errno.ENOENT) from None
        try:
            return self._made(lib.bpf_program__attach_netns(prog, ns_fd),
                              f"bpf_program__attach_netns({self.name!r}, {path})",
                              f"attaching {self.name!r} to network namespace {path}",
                              f"{self.name} (netns {netns or 'self'})")
        finally:
            os.close(ns_fd)

    # --- tracing -------------------------------------------------------------------

    def attach_tracepoint(self, category: str, name: str | None = None) -> Link:
        """Attach to a tracepoint: ``("syscalls", "sys_enter_getpid")`` or
        ``"syscalls/sys_enter_getpid"``."""
        prog = self._libbpf_program("tracepoint")
        if name is None:
            category, _, name = category.partition("/")
        if not category or not name:
            raise ValueError("a tracepoint is 'category/name', e.g. 'syscalls/sys_enter_getpid'")
        what = f"attaching {self.name!r} to tracepoint {category}/{name}"
        self._require_feature("tracepoint", what)
        tracefs = next((Path(p) for p in _TRACEFS if Path(p, "events").is_dir()), None)
        if tracefs is not None and not Path(tracefs, "events", category, name).is_dir():
            raise NotFound(f"{what}: no tracepoint {category}/{name} (see "
                           f"{tracefs}/available_events)", errno=errno.ENOENT)
        return self._made(lib.bpf_program__attach_tracepoint_opts(
            prog, category.encode(), name.encode(), ffi.NULL),
            f"bpf_program__attach_tracepoint({self.name!r}, {category}/{name})", what,
            f"{self.name} (tracepoint {category}/{name})")

    def attach_raw_tracepoint(self, name: str) -> Link:
        """Attach to a raw tracepoint by name (``"sys_enter"``, ``"sched_switch"``)."""
        fd = self.fd
        what = f"attaching {self.name!r} to raw tracepoint {name}"
        self._require_feature("raw_tracepoint", what)
        if self._ptr is not None:
            ptr = lib.bpf_program__attach_raw_tracepoint_opts(self._ptr, name.encode(),
                                                              ffi.NULL)
            err = errno_of(ptr)
            if err == errno.ENOENT:
                raise NotFound(f"{what}: the kernel has no raw tracepoint {name!r}", errno=err)
            return self._made(ptr, f"bpf_program__attach_raw_tracepoint({name!r})", what,
                              f"{self.name} (raw_tracepoint {name})")
        ret = lib.bpf_raw_tracepoint_open(name.encode(), fd)
        if ret < 0:
            if -ret == errno.ENOENT:
                raise NotFound(f"{what}: the kernel has no raw tracepoint {name!r}",
                               errno=-ret)
            raise raise_errno(-ret, what)
        return self._fd_link(ret, f"{self.name} (raw_tracepoint {name})")

    def attach_trace(self) -> Link:
        """Attach an fentry/fexit/fmod_ret or LSM program to the function its section names.

        This kernel may refuse such programs already at load (lockdown); see
        ``libbpf_py.features.check("attach:fentry")``.
        """
        prog = self._libbpf_program("trace")
        what = f"attaching {self.type.label} program {self.name!r}"
        if self.type is ProgType.LSM:
            self._require_feature("lsm", what)
            return self._made(lib.bpf_program__attach_lsm(prog),
                              f"bpf_program__attach_lsm({self.name!r})", what,
                              f"{self.name} ({self.section})")
        kind = {AttachType.TRACE_FEXIT: "fexit",
                AttachType.MODIFY_RETURN: "fmod_ret"}.get(self.expected_attach_type, "fentry")
        self._require_feature(kind, what)
        return self._made(lib.bpf_program__attach_trace_opts(prog, ffi.NULL),
                          f"bpf_program__attach_trace({self.name!r})", what,
                          f"{self.name} ({self.section})")

    attach_lsm = attach_trace

    def attach_freplace(self, target: Any, function: str) -> Link:
        """Replace global function ``function`` of loaded program ``target`` with this
        extension program (``SEC("freplace/...")``)."""
        prog = self._libbpf_program("freplace")
        what = f"attaching extension {self.name!r} over {function!r} of {target!r}"
        self._require_feature("freplace", what)
        return self._made(lib.bpf_program__attach_freplace(prog, target.fd, function.encode()),
                          f"bpf_program__attach_freplace({self.name!r}, {function!r})", what,
                          f"{self.name} (freplace {function})")

    def attach_kprobe(self, function: str, *, retprobe: bool = False, offset: int = 0) -> Link:
        """Attach a kprobe (or kretprobe) to kernel function ``function``."""
        prog = self._libbpf_program("kprobe")
        kind = "kretprobe" if retprobe else "kprobe"
        what = f"attaching {kind} {self.name!r} to {function}"
        _require_kernel_symbol(function, what)
        self._require_feature(kind, what)
        opts = ffi.new("struct bpf_kprobe_opts *")
        opts.sz = ffi.sizeof("struct bpf_kprobe_opts")
        opts.retprobe = retprobe
        opts.offset = offset
        return self._made(lib.bpf_program__attach_kprobe_opts(prog, function.encode(), opts),
                          f"bpf_program__attach_kprobe({self.name!r}, {function!r})", what,
                          f"{self.name} ({kind} {function})")

    def attach_kprobe_multi(self, pattern: str | None = None, *,
                            functions: list[str] | None = None,
                            retprobe: bool = False) -> Link:
        """Attach to many kernel functions at once: a glob ``pattern`` or a list."""
        prog = self._libbpf_program("kprobe_multi")
        what = f"attaching kprobe_multi {self.name!r} to {pattern or functions}"
        if (pattern is None) == (functions is None):
            raise ValueError("give a pattern or a list of functions, not both or neither")
        for fn in functions or ():
            _require_kernel_symbol(fn, what)
        self._require_feature("kprobe_multi", what)
        opts = ffi.new("struct bpf_kprobe_multi_opts *")
        opts.sz = ffi.sizeof("struct bpf_kprobe_multi_opts")
        opts.retprobe = retprobe
        keep = [ffi.new("char[]", fn.encode()) for fn in functions or ()]
        if functions:
            syms = ffi.new("const char *[]", keep)
            opts.syms = syms
            opts.cnt = len(keep)
        ptr = lib.bpf_program__attach_kprobe_multi_opts(
            prog, pattern.encode() if pattern else ffi.NULL, opts)
        if errno_of(ptr) == errno.ENOENT:
            raise NotFound(f"{what}: no kernel function matches", errno=errno.ENOENT)
        return self._made(ptr, f"bpf_program__attach_kprobe_multi({self.name!r})", what,
                          f"{self.name} (kprobe_multi {pattern or len(keep)})")

    def attach_uprobe(self, binary: str | os.PathLike[str], function: str | None = None, *,
                      offset: int = 0, pid: int = -1, retprobe: bool = False) -> Link:
        """Attach a uprobe (or uretprobe) to ``function`` (or file ``offset``) of ``binary``.

        ``pid`` limits it to one process (-1: every process running the binary).
        """
        prog = self._libbpf_program("uprobe")
        path = _resolve_binary(binary)
        kind = "uretprobe" if retprobe else "uprobe"
        where = f"{function}+{offset:#x}" if function and offset else (function or hex(offset))
        what = f"attaching {kind} {self.name!r} to {where} in {path}"
        self._require_feature(kind, what)
        opts = ffi.new("struct bpf_uprobe_opts *")
        opts.sz = ffi.sizeof("struct bpf_uprobe_opts")
        opts.retprobe = retprobe
        name = ffi.new("char[]", function.encode()) if function else ffi.NULL
        opts.func_name = name
        ptr = lib.bpf_program__attach_uprobe_opts(prog, pid, os.fsencode(path), offset, opts)
        err = errno_of(ptr)
        if err == errno.ENOENT and function:
            raise NotFound(f"{what}: {path} has no function {function!r} in its symbols",
                           errno=err)
        if err == errno.ESRCH:
            raise NotFound(f"{what}: no process with pid {pid}", errno=err)
        return self._made(ptr, f"bpf_program__attach_uprobe({self.name!r}, {where})", what,
                          f"{self.name} ({kind} {path}:{where})")

    def attach_uprobe_multi(self, binary: str | os.PathLike[str], pattern: str, *,
                            pid: int = -1, retprobe: bool = False) -> Link:
        """Attach to every function of ``binary`` matching glob ``pattern`` with one link."""
        prog = self._libbpf_program("uprobe_multi")
        path = _resolve_binary(binary)
        what = f"attaching uprobe_multi {self.name!r} to {pattern} in {path}"
        self._require_feature("uprobe_multi", what)
        opts = ffi.new("struct bpf_uprobe_multi_opts *")
        opts.sz = ffi.sizeof("struct bpf_uprobe_multi_opts")
        opts.retprobe = retprobe
        ptr = lib.bpf_program__attach_uprobe_multi(prog, pid, os.fsencode(path),
                                                   pattern.encode(), opts)
        if errno_of(ptr) == errno.ENOENT:
            raise NotFound(f"{what}: no function of {path} matches {pattern!r}",
                           errno=errno.ENOENT)
        return self._made(ptr, f"bpf_program__attach_uprobe_multi({self.name!r}, "
                               f"{pattern!r})", what,
                          f"{self.name} (uprobe_multi {path}:{pattern})")

    def attach_usdt(self, binary: str | os.PathLike[str], provider: str, name: str, *,
                    pid: int = -1, cookie: int = 0) -> Link:
        """Attach to the USDT probe ``provider:name`` of ``binary`` (``DTRACE_PROBE``)."""
        prog = self._libbpf_program("usdt")
        path = _resolve_binary(binary)
        what = f"attaching USDT {self.name!r} to {provider}:{name} in {path}"
        self._require_feature("usdt", what)
        opts = ffi.new("struct bpf_usdt_opts *")
        opts.sz = ffi.sizeof("struct bpf_usdt_opts")
        opts.usdt_cookie = cookie
        ptr = lib.bpf_program__attach_usdt(prog, pid, os.fsencode(path), provider.encode(),
                                           name.encode(), opts)
        if errno_of(ptr) == errno.ENOENT:
            raise NotFound(f"{what}: {path} has no USDT probe {provider}:{name}",
                           errno=errno.ENOENT)
        link = self._made(ptr, f"bpf_program__attach_usdt({provider}:{name})", what,
                          f"{self.name} (usdt {path}:{provider}:{name})")
        link._composite = True
        return link

    def attach_perf_event(self, event: str | int = "cpu-clock", *, frequency: int = 0,
                          period: int = 0, pid: int = 0, cpu: int = -1) -> Link:
        """Attach to a perf event: a software event by name (``"cpu-clock"``), or an
        already open perf event fd (the link works on a duplicate of it).

        ``frequency`` (samples per second) or ``period`` sets how often it fires;
        ``pid=0, cpu=-1`` (default) follow this process; ``pid=-1, cpu=N`` sample
        every process on CPU ``N``.
        """
        prog = self._libbpf_program("perf_event")
        what = f"attaching {self.name!r} to perf event {event}"
        self._require_feature("perf_event", what)
        if isinstance(event, int):
            pfd = os.dup(event)
        else:
            config = PERF_SOFTWARE_EVENTS.get(event)
            if config is None:
                raise NotFound(f"{what}: no software perf event {event!r}; one of "
                               f"{', '.join(PERF_SOFTWARE_EVENTS)}")
            freq = frequency if frequency else 0
            pfd = lib.lpy_perf_event_open(_PERF_TYPE_SOFTWARE, config, 0, 0,
                                          freq or period or 1_000_000, 1 if freq else 0,
                                          pid, cpu)
            if pfd < 0:
                raise raise_errno(-pfd, f"{what}: perf_event_open")
        ptr = lib.bpf_program__attach_perf_event_opts(prog, pfd, ffi.NULL)
        if errno_of(ptr):
            os.close(pfd)  # libbpf owns the fd only once the link exists
        return self._made(ptr, f"bpf_program__attach_perf_event({self.name!r}, {event})",
                          what, f"{self.name} (perf_event {event})")

    def attach_iter(self, map: Map | None = None) -> Link:
        """Make an iterator link; :meth:`Link.read` runs it. ``map`` for map iterators."""
        prog = self._libbpf_program("iter")
        what = f"attaching iterator {self.name!r}" + (f" to map {map.name!r}" if map else "")
        self._require_feature("iter", what)
        return self._made(lib.lpy_program_attach_iter(prog, map.fd if map is not None else -1),
                          f"bpf_program__attach_iter({self.name!r})", what,
                          f"{self.name} (iter {self.section})")

    # --- cgroups and sockets -------------------------------------------------------

    def attach_cgroup(self, cgroup: str | os.PathLike[str]) -> Link:
        """Attach to the cgroup v2 directory ``cgroup`` (at the attach type of the section)."""
        prog = self._libbpf_program("cgroup")
        path = os.fspath(cgroup)
        what = f"attaching {self.name!r} to cgroup {path}"
        if not Path(path, "cgroup.procs").exists():
            raise NotFound(f"{what}: {path} is not a cgroup v2 directory (cgroup v2 is "
                           f"mounted at {features.cgroup2_mount() or 'no place'})",
                           errno=errno.ENOENT)
        cg_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            return self._made(lib.bpf_program__attach_cgroup_opts(prog, cg_fd, ffi.NULL),
                              f"bpf_program__attach_cgroup({self.name!r}, {path})", what,
                              f"{self.name} ({self.expected_attach_type.label} on {path})")
        finally:
            os.close(cg_fd)

    def attach_sockmap(self, map: Map) -> Link:
        """Attach an sk_msg or sk_skb program to a sockmap or sockhash ``map``."""
        prog = self._libbpf_program("sockmap")
        what = f"attaching {self.name!r} to map {map.name!r}"
        return self._made(lib.bpf_program__attach_sockmap(prog, map.fd),
                          f"bpf_program__attach_sockmap({self.name!r}, {map.name!r})", what,
                          f"{self.name} ({self.expected_attach_type.label} on {map.name})")


# --- helpers -----------------------------------------------------------------------

def _direction(value: str, choices: dict[str, Any]) -> Any:
    try:
        return choices[value.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"{value!r} is not one of {', '.join(choices)}") from None


def _resolve_binary(binary: str | os.PathLike[str]) -> str:
    path = os.fspath(binary)
    if os.path.isfile(path):
        return os.path.abspath(path)
    if "/" not in path:
        found = shutil.which(path)
        if found:
            return found
    raise NotFound(f"no binary or library {path!r} (give a path, or a program name on "
                   "PATH)", errno=errno.ENOENT)


def _require_kernel_symbol(function: str, what: str) -> None:
    try:
        with open("/proc/kallsyms") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[2] == function:
                    return
    except OSError:
        return  # cannot tell: let the kernel answer
    raise NotFound(f"{what}: the kernel has no function {function!r} (see /proc/kallsyms)",
                   errno=errno.ENOENT)


def _destroy_clsact(ifindex: int) -> None:
    _clsact_users.pop(ifindex, None)
    hook = ffi.new("struct bpf_tc_hook *")
    hook.sz = ffi.sizeof("struct bpf_tc_hook")
    hook.ifindex = ifindex
    hook.attach_point = lib.BPF_TC_INGRESS | lib.BPF_TC_EGRESS
    lib.bpf_tc_hook_destroy(hook)  # the interface may be gone already: nothing to do


def _tc_detacher(ifindex: int, point: int, handle: int, priority: int) -> Any:
    def detach() -> None:
        hook = ffi.new("struct bpf_tc_hook *")
        hook.sz = ffi.sizeof("struct bpf_tc_hook")
        hook.ifindex = ifindex
        hook.attach_point = point
        opts = ffi.new("struct bpf_tc_opts *")
        opts.sz = ffi.sizeof("struct bpf_tc_opts")
        opts.handle = handle
        opts.priority = priority
        ret = lib.bpf_tc_detach(hook, opts)
        # Gone already (interface deleted, filter removed by hand): the state we want.
        if ret < 0 and -ret not in (errno.ENOENT, errno.ENODEV, errno.EINVAL):
            check(ret, f"removing tc filter handle {handle} priority {priority}")
        if ifindex in _clsact_users:
            _clsact_users[ifindex] -= 1
            if _clsact_users[ifindex] <= 0:
                _destroy_clsact(ifindex)
    return detach


def _xdp_netlink_detacher(ifindex: int, prog_fd: int, flags: int) -> Any:
    def detach() -> None:
        opts = ffi.new("struct bpf_xdp_attach_opts *")
        opts.sz = ffi.sizeof("struct bpf_xdp_attach_opts")
        opts.old_prog_fd = prog_fd
        # REPLACE with old_prog_fd: remove the program only if it is still ours.
        ret = lib.bpf_xdp_detach(ifindex, flags | _XDP_FLAGS_REPLACE, opts)
        if ret < 0 and -ret not in (errno.ENODEV, errno.EEXIST, errno.ENOENT):
            check(ret, f"removing the netlink XDP program of ifindex {ifindex}")
    return detach


def _xdp_attach_error(err: int, what: str, ifindex: int, name: str, mode: XdpMode) -> BpfError:
    if err in (errno.EBUSY, errno.EEXIST):
        holder = xdp_holder(ifindex)
        if not holder.program_id:
            return ResourceBusy(f"{what}: the hook is taken ({os.strerror(err)})", errno=err)
        if holder.link_id is not None:
            how = (f"by BPF link id {holder.link_id}: detach that link (its owner's "
                   f"Link.detach(), or 'bpftool link detach id {holder.link_id}'); to "
                   "swap programs without a gap use Link.update(program)")
        else:
            how = (f"through netlink: remove it with 'ip link set dev {name} "
                   f"{'xdpgeneric' if holder.mode == 'skb' else 'xdp'} off'")
        mode_note = ""
        if holder.mode and mode is not XdpMode.AUTO and holder.mode != mode.value:
            mode_note = (f"; an interface runs XDP in one mode at a time: {name} has a "
                         f"{holder.mode}-mode program, so a {mode.value}-mode attach cannot "
                         "join it")
        return ResourceBusy(f"{what}: {name} already has XDP program id {holder.program_id}"
                            f"{f' in {holder.mode} mode' if holder.mode else ''}, attached "
                            f"{how}{mode_note}", errno=err)
    if err in (errno.EOPNOTSUPP, errno.ENOTSUP) and mode is XdpMode.NATIVE:
        return NotSupported(f"{what}: the driver of {name} has no native XDP; use mode='skb'",
                            errno=err)
    return raise_errno(err, what)
