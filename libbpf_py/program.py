"""A loaded program: attach it (phase 5), run it with test_run, ask the kernel about it."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from libbpf_py._handle import c_string
from libbpf_py._lowlevel import check, errno_of, ffi, lib, raise_errno
from libbpf_py.enums import AttachType, LinkType, ProgType, XdpMode
from libbpf_py.errors import BpfError, LayoutError, NotSupported, PhaseError, ResourceBusy
from libbpf_py.explain import narrate
from libbpf_py.link import Link
from libbpf_py.netdev import interface_index, interface_name

if TYPE_CHECKING:
    from libbpf_py.loaded import LoadedObject

__all__ = ["Program", "ProgramInfo", "TestRunResult"]

_XDP_MODE_FLAGS = {XdpMode.AUTO: 0, XdpMode.SKB: 1 << 1, XdpMode.NATIVE: 1 << 2}
_TEST_RUN_HEADROOM = 4096  # room for programs that grow the packet (adjust_head/tail)


@dataclass(frozen=True)
class TestRunResult:
    """What one ``BPF_PROG_TEST_RUN`` returned."""

    __test__ = False  # not a pytest test class

    retval: int
    data_out: bytes
    ctx_out: bytes | None
    duration_ns: int


@dataclass(frozen=True)
class ProgramInfo:
    """What the kernel reports about a loaded program (``bpf_prog_get_info_by_fd``)."""

    id: int
    name: str
    type: ProgType
    tag: str
    jited_size: int
    xlated_size: int
    load_time_ns: int
    map_ids: tuple[int, ...]
    btf_id: int
    run_count: int
    run_time_ns: int
    verified_insns: int


class Program:
    """A program of a :class:`~libbpf_py.LoadedObject`, loaded into the kernel.

    It stays valid while its object is open; it keeps the object alive.
    """

    def __init__(self, owner: LoadedObject, ptr: Any, verifier_log: list[str] | None) -> None:
        self._owner = owner
        self._ptr = ptr
        self.name = c_string(lib.bpf_program__name(ptr))
        self.section = c_string(lib.bpf_program__section_name(ptr))
        self.type = ProgType.coerce(lib.bpf_program__type(ptr))
        self.expected_attach_type = AttachType.coerce(lib.bpf_program__expected_attach_type(ptr))
        self.verifier_log = verifier_log or []
        self._fd = int(lib.bpf_program__fd(ptr))

    def __repr__(self) -> str:
        return f"<Program {self.name!r} {self.type.label}>"

    @property
    def loaded(self) -> bool:
        """Whether this program is in the kernel (False if its autoload was off)."""
        return self._fd >= 0 and not self._owner.closed

    @property
    def fd(self) -> int:
        """The program's file descriptor (owned by its object; do not close it)."""
        if self._owner.closed:
            raise PhaseError(f"program {self.name!r} belongs to a closed object",
                             phase="closed", needed="loaded")
        if self._fd < 0:
            raise PhaseError(f"program {self.name!r} was not loaded (its autoload was off)",
                             phase="open", needed="loaded")
        return self._fd

    def info(self) -> ProgramInfo:
        """Ask the kernel about this program: id, tag, sizes, maps, run statistics."""
        fd = self.fd
        info = ffi.new("struct bpf_prog_info *")
        size = ffi.new("__u32 *", ffi.sizeof("struct bpf_prog_info"))
        check(lib.bpf_prog_get_info_by_fd(fd, info, size), f"reading the info of {self.name!r}")
        count = info.nr_map_ids
        map_ids: tuple[int, ...] = ()
        if count:
            ids = ffi.new("__u32[]", count)
            again = ffi.new("struct bpf_prog_info *")
            again.nr_map_ids = count
            again.map_ids = int(ffi.cast("uintptr_t", ids))
            size[0] = ffi.sizeof("struct bpf_prog_info")
            check(lib.bpf_prog_get_info_by_fd(fd, again, size),
                  f"reading the map ids of {self.name!r}")
            map_ids = tuple(ids[i] for i in range(min(count, again.nr_map_ids)))
        return ProgramInfo(
            id=info.id, name=ffi.string(info.name).decode(errors="replace"),
            type=ProgType.coerce(info.type), tag=bytes(info.tag).hex(),
            jited_size=info.jited_prog_len, xlated_size=info.xlated_prog_len,
            load_time_ns=info.load_time, map_ids=map_ids, btf_id=info.btf_id,
            run_count=info.run_cnt, run_time_ns=info.run_time_ns,
            verified_insns=info.verified_insns)

    @property
    def id(self) -> int:
        """The kernel's id for this program (``bpftool prog show id N``)."""
        return self.info().id

    @property
    def tag(self) -> str:
        """The program's tag: a hash of its instructions, as hex."""
        return self.info().tag

    def _link(self, ptr: Any, description: str, *, owned_by_object: bool = False) -> Link:
        link = Link(ptr=ptr, program=self, description=description,
                    owned_by_object=owned_by_object)
        self._owner._track(link)
        return link

    def attach(self) -> Link:
        """Attach where the section name says (``bpf_program__attach``).

        Sections that name no target (``xdp``, ``tc``, ...) need the kind's own method,
        e.g. :meth:`attach_xdp`.
        """
        fd = self.fd
        ptr = lib.bpf_program__attach(self._ptr)
        err = errno_of(ptr)
        if err:
            hint = ""
            if err in (errno.EOPNOTSUPP, errno.ENOTSUP):
                hint = (f"section {self.section!r} names no target to attach to; use the "
                        "attach method of its kind (e.g. attach_xdp(dev))")
            raise raise_errno(err, f"attaching program {self.name!r}", hint=hint)
        narrate(f"bpf_program__attach({self.name!r})", f"link fd {lib.bpf_link__fd(ptr)}",
                phase="attach")
        del fd
        return self._link(ptr, f"{self.name} ({self.section})")

    def attach_xdp(self, dev: str | int, mode: XdpMode | str = "auto") -> Link:
        """Attach an XDP program to interface ``dev`` (a name or an ifindex) with a BPF link.

        ``mode`` is ``"auto"`` (the kernel picks the driver mode when it can), ``"skb"``
        (generic XDP, works everywhere) or ``"native"`` (in the driver). If a program is
        already attached there, raises :class:`~libbpf_py.errors.ResourceBusy` naming it.
        """
        prog_fd = self.fd
        xdp_mode = XdpMode(mode) if isinstance(mode, str) else mode
        ifindex = interface_index(dev)
        name = dev if isinstance(dev, str) else interface_name(ifindex)
        what = f"attaching XDP program {self.name!r} to {name}"
        if xdp_mode is XdpMode.AUTO:
            ptr = lib.bpf_program__attach_xdp(self._ptr, ifindex)
            err = errno_of(ptr)
            if not err:
                narrate(f"bpf_program__attach_xdp({self.name!r}, ifindex={ifindex})",
                        f"link fd {lib.bpf_link__fd(ptr)}", phase="attach")
                return self._link(ptr, f"{self.name} (xdp on {name})")
        else:
            opts = ffi.new("struct bpf_link_create_opts *")
            opts.sz = ffi.sizeof("struct bpf_link_create_opts")
            opts.flags = _XDP_MODE_FLAGS[xdp_mode]
            ret = lib.bpf_link_create(prog_fd, ifindex, AttachType.XDP, opts)
            if ret >= 0:
                narrate(f"bpf_link_create({self.name!r}, ifindex={ifindex}, BPF_XDP, "
                        f"mode={xdp_mode.value})", f"link fd {ret}", phase="attach")
                link = Link(fd=ret, program=self, description=f"{self.name} (xdp on {name})")
                self._owner._track(link)
                return link
            err = -ret
        raise _xdp_attach_error(err, what, ifindex, name, xdp_mode)

    def test_run(self, data: bytes = b"", *, ctx: bytes | None = None, repeat: int = 1,
                 cpu: int | None = None, flags: int = 0,
                 batch_size: int | None = None) -> TestRunResult:
        """Run the program once per ``repeat`` on ``data`` in the kernel (BPF_PROG_TEST_RUN).

        Returns the program's return value, the packet as it left the program, the
        context as it left (when ``ctx`` was given), and the mean run time.
        """
        fd = self.fd
        if repeat < 0:
            raise ValueError("repeat must be 0 or more")
        raw = bytes(data)
        opts = ffi.new("struct bpf_test_run_opts *")
        opts.sz = ffi.sizeof("struct bpf_test_run_opts")
        data_in = ffi.from_buffer(raw)
        out_size = len(raw) + _TEST_RUN_HEADROOM if raw else 0
        data_out = ffi.new("char[]", out_size) if out_size else ffi.NULL
        if raw:
            opts.data_in = data_in
            opts.data_size_in = len(raw)
            opts.data_out = data_out
            opts.data_size_out = out_size
        ctx_in = ctx_out = None
        if ctx is not None:
            ctx_in = ffi.from_buffer(bytes(ctx))
            ctx_out = ffi.new("char[]", len(ctx))
            opts.ctx_in = ctx_in
            opts.ctx_size_in = len(ctx)
            opts.ctx_out = ctx_out
            opts.ctx_size_out = len(ctx)
        opts.repeat = repeat
        opts.flags = flags
        if cpu is not None:
            opts.cpu = cpu
            opts.flags |= 1 << 1  # BPF_F_TEST_RUN_ON_CPU
        if batch_size is not None:
            opts.batch_size = batch_size
        ret = lib.bpf_prog_test_run_opts(fd, opts)
        if ret < 0:
            err = -ret
            if err == errno.ENOSPC:
                raise LayoutError(f"test_run of {self.name!r}: the program's output is larger "
                                  f"than {out_size} bytes", errno=err)
            if err == errno.EINVAL and raw and len(raw) < 14 and self.type in (
                    ProgType.XDP, ProgType.SCHED_CLS, ProgType.SCHED_ACT):
                raise LayoutError(f"test_run of {self.name!r}: a packet must hold at least an "
                                  f"Ethernet header (14 bytes), got {len(raw)}", errno=err)
            exc = raise_errno(err, f"test_run of {self.type.label} program {self.name!r}")
            if err in (524, errno.EOPNOTSUPP, errno.ENOTSUP):
                raise NotSupported(f"test_run of {self.type.label} program {self.name!r}: the "
                                   "kernel cannot test-run this program type", errno=err)
            raise exc
        narrate(f"bpf_prog_test_run_opts({self.name!r}, {len(raw)} bytes, repeat={repeat})",
                f"retval {opts.retval}", phase="execute")
        return TestRunResult(
            retval=opts.retval,
            data_out=bytes(ffi.buffer(data_out, opts.data_size_out)) if raw else b"",
            ctx_out=bytes(ffi.buffer(ctx_out, opts.ctx_size_out)) if ctx_out is not None
            else None,
            duration_ns=opts.duration)


def xdp_holder(ifindex: int) -> tuple[int, int | None, str]:
    """Who holds XDP on ``ifindex``: (program id, link id or None, mode)."""
    opts = ffi.new("struct bpf_xdp_query_opts *")
    opts.sz = ffi.sizeof("struct bpf_xdp_query_opts")
    if lib.bpf_xdp_query(ifindex, 0, opts) < 0:
        return 0, None, ""
    prog_id = opts.prog_id or opts.drv_prog_id or opts.skb_prog_id
    mode = {1: "native", 2: "skb", 3: "offload", 4: "multi"}.get(opts.attach_mode, "")
    link_id = None
    next_id = ffi.new("__u32 *")
    current = 0
    info = ffi.new("struct lpy_link_info *")
    while lib.bpf_link_get_next_id(current, next_id) == 0:
        current = next_id[0]
        fd = lib.bpf_link_get_fd_by_id(current)
        if fd < 0:
            continue
        try:
            if (lib.lpy_link_get_info(fd, info) == 0 and info.type == LinkType.XDP
                    and info.ifindex == ifindex):
                link_id = info.id
                break
        finally:
            os.close(fd)
    return prog_id, link_id, mode


def _xdp_attach_error(err: int, what: str, ifindex: int, name: str, mode: XdpMode) -> BpfError:
    if err in (errno.EBUSY, errno.EEXIST):
        prog_id, link_id, held_mode = xdp_holder(ifindex)
        if link_id is not None:
            how = (f"by BPF link id {link_id}: detach that link (its owner's Link.detach(), "
                   f"or 'bpftool link detach id {link_id}')")
        else:
            how = f"through netlink: remove it with 'ip link set dev {name} xdp off'"
        return ResourceBusy(f"{what}: {name} already has XDP program id {prog_id}"
                            f"{f' in {held_mode} mode' if held_mode else ''}, attached {how}",
                            errno=err)
    if err in (errno.EOPNOTSUPP, errno.ENOTSUP) and mode is XdpMode.NATIVE:
        return NotSupported(f"{what}: the driver of {name} has no native XDP; use mode='skb'",
                            errno=err)
    return raise_errno(err, what)
