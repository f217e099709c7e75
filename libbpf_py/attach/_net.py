"""Attach to the packet path: XDP, tc and tcx on a network interface, netkit devices,
netfilter hooks.

Legacy tc and netlink XDP are no BPF links: they outlive this process by kernel design,
so their handles (:class:`_TcFilter`, :class:`_NetlinkXdp`, private classes behind
:class:`~libbpf_py.Link`) remove them on detach.
"""

from __future__ import annotations

import errno
import os
from typing import Any

from libbpf_py._lowlevel import check, ffi, lib, libbpf_error
from libbpf_py.attach._base import AttachBase, _opts
from libbpf_py.attach._order import Placement, placement, placement_error
from libbpf_py.enums import AttachType, XdpMode
from libbpf_py.errors import BpfError, NotFound, NotSupported, ResourceBusy
from libbpf_py.explain import narrate
from libbpf_py.link._link import Attachment, Link, LinkedProgram
from libbpf_py.netdev import interface_index, interface_name, xdp_holder

__all__ = ["NetworkAttach"]

_XDP_MODE_FLAGS = {
    XdpMode.AUTO: 0,
    XdpMode.SKB: lib.XDP_FLAGS_SKB_MODE,
    XdpMode.NATIVE: lib.XDP_FLAGS_DRV_MODE,
}
_NF_FAMILIES = {"ipv4": lib.NFPROTO_IPV4, "ipv6": lib.NFPROTO_IPV6}
_NF_HOOKS = {
    "prerouting": lib.NF_INET_PRE_ROUTING,
    "local_in": lib.NF_INET_LOCAL_IN,
    "forward": lib.NF_INET_FORWARD,
    "local_out": lib.NF_INET_LOCAL_OUT,
    "postrouting": lib.NF_INET_POST_ROUTING,
}

# Legacy tc: the clsact qdiscs this process created, and how many of its filters use
# each, so the last detach removes the qdisc it added (never one it found).
_clsact_users: dict[int, int] = {}


class NetworkAttach(AttachBase):
    """Attach methods for network interfaces and netfilter."""

    def attach_xdp(
        self, dev: str | int, mode: XdpMode | str = "auto", *, netlink: bool = False
    ) -> Link:
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
        ifindex, name = _interface(dev)
        what = f"attaching XDP program {self.name!r} to {name}"
        flags = _XDP_MODE_FLAGS[xdp_mode]
        description = f"{self.name} (xdp {xdp_mode.value} on {name}" + (
            ", netlink)" if netlink else ")"
        )
        if netlink:
            ret = lib.bpf_xdp_attach(
                ifindex, prog_fd, flags | lib.XDP_FLAGS_UPDATE_IF_NOEXIST, ffi.NULL
            )
            if ret < 0:
                raise _xdp_attach_error(-ret, what, ifindex, name, xdp_mode)
            narrate(
                f"bpf_xdp_attach({self.name!r}, ifindex={ifindex}, {xdp_mode.value})",
                "attached through netlink",
                phase="attach",
            )
            return self._track(
                _NetlinkXdp(ifindex, prog_fd, flags, program=self, description=description)
            )
        opts = _opts("bpf_link_create_opts")
        opts.flags = flags
        ret = lib.bpf_link_create(prog_fd, ifindex, AttachType.XDP, opts)
        if ret < 0:
            raise _xdp_attach_error(-ret, what, ifindex, name, xdp_mode)
        narrate(
            f"bpf_link_create({self.name!r}, ifindex={ifindex}, BPF_XDP, mode={xdp_mode.value})",
            f"link fd {ret}",
            phase="attach",
        )
        return self._fd_link(ret, description)

    def attach_tc(
        self,
        dev: str | int,
        direction: str = "ingress",
        *,
        priority: int = 0,
        handle: int = 0,
        replace: bool = False,
    ) -> Link:
        """Attach a classifier to the clsact qdisc of ``dev`` (legacy tc, through netlink).

        ``direction`` is ``"ingress"`` or ``"egress"``; ``priority`` and ``handle`` name
        the filter (0 lets the kernel choose). The clsact qdisc is created when missing.
        The filter outlives this process by kernel design; :meth:`Link.detach`, closing
        the link, or closing the object removes it (and the qdisc, if this process
        created it). Prefer :meth:`attach_tcx`, whose link goes away with its owner.
        """
        prog_fd = self.fd
        point = _direction(direction, {"ingress": lib.BPF_TC_INGRESS, "egress": lib.BPF_TC_EGRESS})
        ifindex, name = _interface(dev)
        what = f"attaching tc program {self.name!r} to {name} {direction}"
        hook = _tc_hook(ifindex, point)
        ret = lib.bpf_tc_hook_create(hook)
        created = ret == 0
        if ret < 0 and -ret != errno.EEXIST:
            check(ret, f"{what}: creating the clsact qdisc")
        if created:
            _clsact_users[ifindex] = 0
        opts = _opts("bpf_tc_opts")
        opts.prog_fd = prog_fd
        opts.priority = priority
        opts.handle = handle
        opts.flags = 1 if replace else 0  # BPF_TC_F_REPLACE
        ret = lib.bpf_tc_attach(hook, opts)
        if ret < 0:
            if ifindex in _clsact_users and _clsact_users[ifindex] == 0:
                _destroy_clsact(ifindex)
            if -ret == errno.EEXIST:
                raise ResourceBusy(
                    f"{what}: a filter with handle {handle} and priority "
                    f"{priority} is already there; pick other numbers or pass "
                    "replace=True",
                    errno=-ret,
                )
            check(ret, what)
        if ifindex in _clsact_users:
            _clsact_users[ifindex] += 1
        got_handle, got_priority = int(opts.handle), int(opts.priority)
        narrate(
            f"bpf_tc_attach({self.name!r}, {name} {direction})",
            f"handle {got_handle} priority {got_priority}",
            phase="attach",
        )
        return self._track(
            _TcFilter(
                ifindex,
                point,
                got_handle,
                got_priority,
                program=self,
                description=f"{self.name} (tc {direction} on {name}, handle {got_handle}, "
                f"priority {got_priority})",
            )
        )

    def attach_tcx(
        self,
        dev: str | int,
        direction: str = "ingress",
        *,
        before: Any = None,
        after: Any = None,
        expected_revision: int = 0,
    ) -> Link:
        """Attach to the tcx hook of ``dev`` with a BPF link (kernel 6.6+).

        ``before``/``after`` place the program next to another :class:`Program` or
        :class:`Link` attached there, or one named by its ``ProgramInfo``/``LinkInfo``,
        or first/last with ``before=True``/``after=True``; ``expected_revision`` makes
        the attach fail if the hook changed since you looked.
        """
        prog_fd = self.fd
        attach = _direction(
            direction, {"ingress": AttachType.TCX_INGRESS, "egress": AttachType.TCX_EGRESS}
        )
        where = placement(before, after, expected_revision)
        ifindex, name = _interface(dev)
        what = f"attaching tcx program {self.name!r} to {name} {direction}"
        self._require_feature("tcx", what)
        return self._ordered_link(
            prog_fd, ifindex, attach, where, what, f"{self.name} (tcx {direction} on {name})"
        )

    def attach_netkit(
        self,
        dev: str | int,
        direction: str = "primary",
        *,
        before: Any = None,
        after: Any = None,
        expected_revision: int = 0,
    ) -> Link:
        """Attach to netkit device ``dev``, the primary end of a netkit pair (kernel 6.7+).

        ``direction="primary"`` runs the program on the primary device's hook,
        ``"peer"`` on its peer's (the end usually inside a container's namespace); both
        are reached through the primary device. ``before``/``after`` and
        ``expected_revision`` order the programs there as :meth:`attach_tcx` does. Any
        ``SCHED_CLS`` program may go on either side: the side comes from ``direction``,
        not from the section name.
        """
        prog_fd = self.fd
        attach = _direction(
            direction, {"primary": AttachType.NETKIT_PRIMARY, "peer": AttachType.NETKIT_PEER}
        )
        where = placement(before, after, expected_revision)
        ifindex, name = _interface(dev)
        what = f"attaching netkit program {self.name!r} to {name} {direction}"
        self._require_feature("netkit", what)
        return self._ordered_link(
            prog_fd, ifindex, attach, where, what, f"{self.name} (netkit {direction} on {name})"
        )

    def _ordered_link(
        self,
        prog_fd: int,
        ifindex: int,
        attach: AttachType,
        where: Placement,
        what: str,
        description: str,
    ) -> Link:
        """A tcx or netkit link, placed at ``where`` among the hook's programs.

        Made with ``bpf_link_create`` rather than ``bpf_program__attach_tcx``/``_netkit``,
        which take the hook from the program's section: this way ``direction`` decides,
        and programs opened by id attach too.
        """
        ret = lib.lpy_link_create_ordered(
            prog_fd,
            ifindex,
            attach,
            where.flags,
            where.relative_fd,
            where.relative_id,
            where.expected_revision,
        )
        if ret < 0:
            err = -ret
            if attach in (AttachType.NETKIT_PRIMARY, AttachType.NETKIT_PEER):
                # netkit's own answers about the device (drivers/net/netkit.c).
                if err == errno.ENXIO:
                    raise NotFound(
                        f"{what}: the device is no netkit device (make a pair with "
                        "'ip link add NAME type netkit', iproute2 6.7+)",
                        errno=err,
                    )
                if err == errno.EACCES:
                    raise BpfError(
                        f"{what}: the device is the peer end of its netkit pair; attach "
                        "to the primary end with direction='peer' instead",
                        errno=err,
                    )
            raise placement_error(err, what, where)
        narrate(
            f"bpf_link_create({self.name!r}, ifindex={ifindex}, {attach.name}, "
            f"flags={where.flags:#x})",
            f"link fd {ret}",
            phase="attach",
        )
        return self._fd_link(ret, description)

    def attach_netfilter(
        self,
        hook: str = "local_in",
        *,
        family: str = "ipv4",
        priority: int = 0,
        defrag: bool = False,
    ) -> Link:
        """Attach a netfilter program at ``hook`` (``"prerouting"``, ``"local_in"``,
        ``"forward"``, ``"local_out"``, ``"postrouting"``) of ``family`` (``"ipv4"`` or
        ``"ipv6"``) in this network namespace, at ``priority`` (lower runs first; the
        kernel refuses the extremes). ``defrag`` asks for reassembled packets."""
        fd = self.fd
        hooknum = _direction(hook, _NF_HOOKS)
        pf = _direction(family, _NF_FAMILIES)
        what = f"attaching netfilter program {self.name!r} at {family} {hook}"
        self._require_feature("netfilter", what)
        ret = lib.lpy_link_create_netfilter(
            fd, pf, hooknum, priority, lib.BPF_F_NETFILTER_IP_DEFRAG if defrag else 0
        )
        if ret < 0:
            hint = ""
            if -ret == errno.EBUSY:
                hint = f"another netfilter program holds priority {priority} exclusively"
            elif -ret == errno.ERANGE:
                hint = "priority must lie strictly between INT_MIN and INT_MAX"
            raise libbpf_error(-ret, what, hint=hint)
        narrate(
            f"bpf_link_create({self.name!r}, BPF_NETFILTER, {family} {hook}, priority {priority})",
            f"link fd {ret}",
            phase="attach",
        )
        return self._fd_link(ret, f"{self.name} (netfilter {family} {hook} priority {priority})")


# --- helpers -----------------------------------------------------------------------


def _interface(dev: str | int) -> tuple[int, str]:
    """The ifindex and the name of interface ``dev`` (a name or an ifindex)."""
    ifindex = interface_index(dev)
    return ifindex, dev if isinstance(dev, str) else interface_name(ifindex)


def _direction(value: str, choices: dict[str, Any]) -> Any:
    try:
        return choices[value.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"{value!r} is not one of {', '.join(choices)}") from None


def _tc_hook(ifindex: int, point: int) -> Any:
    hook = _opts("bpf_tc_hook")
    hook.ifindex = ifindex
    hook.attach_point = point
    return hook


def _destroy_clsact(ifindex: int) -> None:
    _clsact_users.pop(ifindex, None)
    # The interface may be gone already: nothing to do then.
    lib.bpf_tc_hook_destroy(_tc_hook(ifindex, lib.BPF_TC_INGRESS | lib.BPF_TC_EGRESS))


class _TcFilter(Attachment):
    """A legacy tc filter on a clsact qdisc: not a BPF link, found again by its interface,
    direction, handle and priority. Removing the last one this process added also
    removes the qdisc, if this process created it."""

    _instead = "use attach_tcx() for a link (Linux 6.6+)"

    def __init__(
        self,
        ifindex: int,
        point: int,
        handle: int,
        priority: int,
        *,
        program: LinkedProgram,
        description: str,
    ) -> None:
        self._ifindex = ifindex
        self._point = point
        self._handle = handle
        self._priority = priority
        super().__init__(program=program, description=description)

    def _remove(self) -> None:
        hook = _tc_hook(self._ifindex, self._point)
        opts = _opts("bpf_tc_opts")
        opts.handle = self._handle
        opts.priority = self._priority
        ret = lib.bpf_tc_detach(hook, opts)
        # Gone already (interface deleted, filter removed by hand): the state we want.
        if ret < 0 and -ret not in (errno.ENOENT, errno.ENODEV, errno.EINVAL):
            check(ret, f"removing tc filter handle {self._handle} priority {self._priority}")
        if self._ifindex in _clsact_users:
            _clsact_users[self._ifindex] -= 1
            if _clsact_users[self._ifindex] <= 0:
                _destroy_clsact(self._ifindex)


class _NetlinkXdp(Attachment):
    """An XDP program attached through netlink: not a BPF link, found again by its
    interface and its program's fd."""

    _instead = "attach_xdp() without netlink=True makes a link"

    def __init__(
        self, ifindex: int, prog_fd: int, flags: int, *, program: LinkedProgram, description: str
    ) -> None:
        self._ifindex = ifindex
        # The program's fd, borrowed: links are destroyed before their program's object.
        self._prog_fd = prog_fd
        self._flags = flags
        super().__init__(program=program, description=description)

    def _remove(self) -> None:
        opts = _opts("bpf_xdp_attach_opts")
        opts.old_prog_fd = self._prog_fd
        # REPLACE with old_prog_fd: remove the program only if it is still ours.
        ret = lib.bpf_xdp_detach(self._ifindex, self._flags | lib.XDP_FLAGS_REPLACE, opts)
        if ret < 0 and -ret not in (errno.ENODEV, errno.EEXIST, errno.ENOENT):
            check(ret, f"removing the netlink XDP program of ifindex {self._ifindex}")


def _xdp_attach_error(err: int, what: str, ifindex: int, name: str, mode: XdpMode) -> BpfError:
    if err in (errno.EBUSY, errno.EEXIST):
        holder = xdp_holder(ifindex)
        if not holder.program_id:
            return ResourceBusy(f"{what}: the hook is taken ({os.strerror(err)})", errno=err)
        if holder.link_id is not None:
            how = (
                f"by BPF link id {holder.link_id}: detach that link (its owner's "
                f"Link.detach(), or 'bpftool link detach id {holder.link_id}'); to "
                "swap programs without a gap use Link.update(program)"
            )
        else:
            how = (
                f"through netlink: remove it with 'ip link set dev {name} "
                f"{'xdpgeneric' if holder.mode == 'skb' else 'xdp'} off'"
            )
        mode_note = ""
        if holder.mode and mode is not XdpMode.AUTO and holder.mode != mode.value:
            mode_note = (
                f"; an interface runs XDP in one mode at a time: {name} has a "
                f"{holder.mode}-mode program, so a {mode.value}-mode attach cannot "
                "join it"
            )
        return ResourceBusy(
            f"{what}: {name} already has XDP program id {holder.program_id}"
            f"{f' in {holder.mode} mode' if holder.mode else ''}, attached "
            f"{how}{mode_note}",
            errno=err,
        )
    if err in (errno.EOPNOTSUPP, errno.ENOTSUP) and mode is XdpMode.NATIVE:
        return NotSupported(
            f"{what}: the driver of {name} has no native XDP; use mode='skb'", errno=err
        )
    return libbpf_error(err, what)
