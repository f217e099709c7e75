"""Phase 5, attach: one method per hook kind, each returning a :class:`~libbpf_py.Link`.

:class:`AttachMixin` is part of :class:`~libbpf_py.Program`; it is its own module so that
each attach kind stays short and the program module stays about the program.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING, Any

from libbpf_py._lowlevel import errno_of, ffi, lib, raise_errno
from libbpf_py.enums import AttachType, LinkType, XdpMode
from libbpf_py.errors import BpfError, NotSupported, ResourceBusy
from libbpf_py.explain import narrate
from libbpf_py.link import Link
from libbpf_py.netdev import interface_index, interface_name

if TYPE_CHECKING:
    from libbpf_py.loaded import LoadedObject

__all__ = ["AttachMixin", "xdp_holder"]

_XDP_MODE_FLAGS = {XdpMode.AUTO: 0, XdpMode.SKB: 1 << 1, XdpMode.NATIVE: 1 << 2}


class AttachMixin:
    """The attach methods of a loaded program."""

    name: str
    section: str
    _ptr: Any
    _owner: LoadedObject

    @property
    def fd(self) -> int:  # provided by Program
        """The program's file descriptor."""
        raise NotImplementedError

    def _link(self, ptr: Any, description: str, *, owned_by_object: bool = False) -> Link:
        link = Link(ptr=ptr, program=self, description=description,  # type: ignore[arg-type]
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
                link = Link(fd=ret, program=self, description=  # type: ignore[arg-type]
                            f"{self.name} (xdp on {name})")
                self._owner._track(link)
                return link
            err = -ret
        raise _xdp_attach_error(err, what, ifindex, name, xdp_mode)


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
