"""The kernel's view: every program, map, link and BTF object loaded, and what is attached
to each network interface — what ``bpftool prog|map|link|btf|net show`` print.

The kernel loads programs of its own (and other processes do) at any time: entries can
vanish between listing and asking, and :meth:`~ProgramEntry.info` then raises
:class:`~libbpf_py.errors.NotFound`.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from libbpf_py._lowlevel import check, ffi, lib
from libbpf_py.errors import NotFound
from libbpf_py.link import LinkInfo, link_info
from libbpf_py.maps import MapInfo, map_info
from libbpf_py.netdev import interface_index, interface_name, tc_filters, tcx_programs, xdp_holder
from libbpf_py.program import ProgramInfo, program_info

if TYPE_CHECKING:
    from libbpf_py.link import Link

__all__ = ["BtfEntry", "BtfInfo", "LinkEntry", "MapEntry", "NetAttachment", "ProgramEntry",
           "btf_objects", "links", "maps", "net", "programs"]


def _ids(next_id: Callable[[int, object], int]) -> Iterator[int]:
    out = ffi.new("__u32 *")
    current = 0
    while next_id(current, out) == 0:
        current = int(out[0])
        yield current


def _with_fd(kind: str, obj_id: int, get_fd: Callable[[int], int]) -> int:
    fd = int(get_fd(obj_id))
    if fd < 0:
        if -fd == errno.ENOENT:
            raise NotFound(f"the kernel has no {kind} with id {obj_id} (any more)", errno=-fd)
        check(fd, f"opening {kind} id {obj_id}")
    return fd


@dataclass(frozen=True)
class ProgramEntry:
    """A program the kernel has loaded, by id."""

    id: int

    def info(self) -> ProgramInfo:
        """Ask the kernel about this program now."""
        fd = _with_fd("program", self.id, lib.bpf_prog_get_fd_by_id)
        try:
            return program_info(fd, f"id {self.id}")
        finally:
            os.close(fd)


@dataclass(frozen=True)
class MapEntry:
    """A map the kernel holds, by id."""

    id: int

    def info(self) -> MapInfo:
        """Ask the kernel about this map now."""
        fd = _with_fd("map", self.id, lib.bpf_map_get_fd_by_id)
        try:
            return map_info(fd, f"id {self.id}")
        finally:
            os.close(fd)


@dataclass(frozen=True)
class LinkEntry:
    """A BPF link the kernel holds, by id."""

    id: int

    def info(self) -> LinkInfo:
        """Ask the kernel about this link now."""
        fd = _with_fd("link", self.id, lib.bpf_link_get_fd_by_id)
        try:
            return link_info(fd, f"link id {self.id}")
        finally:
            os.close(fd)

    def open(self) -> Link:
        """A :class:`~libbpf_py.Link` handle of this link (to detach, update or pin it)."""
        from libbpf_py.link import Link

        return Link.from_id(self.id)


@dataclass(frozen=True)
class BtfInfo:
    """What the kernel reports about a BTF object (``bpf_btf_get_info_by_fd``)."""

    id: int
    name: str
    size: int
    kernel_btf: bool


@dataclass(frozen=True)
class BtfEntry:
    """A BTF object the kernel holds (vmlinux, modules, programs' own), by id."""

    id: int

    def info(self) -> BtfInfo:
        """Ask the kernel about this BTF object now."""
        fd = _with_fd("BTF object", self.id, lib.bpf_btf_get_fd_by_id)
        try:
            name = ffi.new("char[]", 256)
            info = ffi.new("struct bpf_btf_info *")
            info.name = int(ffi.cast("uintptr_t", name))
            info.name_len = 256
            size = ffi.new("__u32 *", ffi.sizeof("struct bpf_btf_info"))
            check(lib.bpf_btf_get_info_by_fd(fd, info, size),
                  f"reading the info of BTF id {self.id}")
            return BtfInfo(id=int(info.id), name=ffi.string(name).decode(errors="replace"),
                           size=int(info.btf_size), kernel_btf=bool(info.kernel_btf))
        finally:
            os.close(fd)


def programs() -> Iterator[ProgramEntry]:
    """Every program loaded in the kernel (``bpftool prog show``), by ascending id."""
    return (ProgramEntry(i) for i in _ids(lib.bpf_prog_get_next_id))


def maps() -> Iterator[MapEntry]:
    """Every map in the kernel (``bpftool map show``), by ascending id."""
    return (MapEntry(i) for i in _ids(lib.bpf_map_get_next_id))


def links() -> Iterator[LinkEntry]:
    """Every BPF link in the kernel (``bpftool link show``), by ascending id."""
    return (LinkEntry(i) for i in _ids(lib.bpf_link_get_next_id))


def btf_objects() -> Iterator[BtfEntry]:
    """Every BTF object in the kernel (``bpftool btf show``), by ascending id."""
    return (BtfEntry(i) for i in _ids(lib.bpf_btf_get_next_id))


@dataclass(frozen=True)
class NetAttachment:
    """One program attached to a network interface's XDP, tc or tcx hook."""

    interface: str
    ifindex: int
    kind: str  # "xdp", "tcx" or "tc"
    direction: str  # "ingress" for XDP
    program_id: int
    link_id: int | None
    detail: str  # XDP mode, or tc "priority N handle 0xH"


def net(dev: str | int | None = None) -> list[NetAttachment]:
    """What is attached to ``dev`` (or every interface of this network namespace):
    XDP (with its mode), tcx and legacy tc programs (``bpftool net show``)."""
    if dev is None:
        devices = [(name, index) for index, name in socket.if_nameindex()]
    else:
        index = interface_index(dev)
        devices = [(interface_name(index), index)]
    out: list[NetAttachment] = []
    for name, index in devices:
        holder = xdp_holder(index)
        if holder.program_id:
            out.append(NetAttachment(name, index, "xdp", "ingress", holder.program_id,
                                     holder.link_id, holder.mode))
        for direction in ("ingress", "egress"):
            for entry in tcx_programs(index, direction):
                out.append(NetAttachment(name, index, "tcx", direction, entry.program_id,
                                         entry.link_id, ""))
            for entry in tc_filters(name, direction):
                out.append(NetAttachment(name, index, "tc", direction, entry.program_id,
                                         None, f"priority {entry.priority} handle "
                                               f"{entry.handle:#x}"))
    return out
