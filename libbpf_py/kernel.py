"""The kernel's view: every program, map, link and BTF object loaded, and what is attached
to each network interface — what ``bpftool prog|map|link|btf|net show`` print.

The kernel loads programs of its own (and other processes do) at any time: entries can
vanish between listing and asking, and :meth:`~ProgramEntry.info` then raises
:class:`~libbpf_py.errors.NotFound`. Each system call is narrated in teaching mode
(:func:`libbpf_py.explain`).
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple, TypeVar

from libbpf_py import features
from libbpf_py._lowlevel import check, ffi, lib
from libbpf_py.errors import BpfError, NotFound
from libbpf_py.explain import narrate
from libbpf_py.netdev import interface_index, interface_name, tc_filters, tcx_programs, xdp_holder
from libbpf_py.query import (
    BtfInfo,
    LinkInfo,
    MapInfo,
    ProgramInfo,
    btf_data,
    link_info,
    map_info,
    program_info,
    read_btf_info,
)

if TYPE_CHECKING:
    from libbpf_py.link import Link

__all__ = [
    "BtfEntry",
    "BtfInfo",
    "LinkEntry",
    "MapEntry",
    "NetAttachment",
    "ProgramEntry",
    "btf_objects",
    "links",
    "maps",
    "net",
    "pinned",
    "programs",
]

_I = TypeVar("_I")
_NAME_LEN = 15  # the kernel keeps this many characters of a program's or map's name


class _Kind(NamedTuple):
    """What differs between kinds of kernel object: words and calls."""

    word: str  # "program", in messages
    next_id: str  # the libbpf calls that list and open this kind
    fd_by_id: str
    read: Callable[[int, str], Any]  # (fd, "id N") -> the info dataclass


@dataclass(frozen=True)
class _Entry(Generic[_I]):
    """An object the kernel holds, by id; each subclass names its kind (a ``_Kind``)."""

    id: int

    _kind: ClassVar[_Kind]

    def open_fd(self) -> int:
        """A new fd for this object (close it with :func:`os.close`); NotFound if it is gone."""
        kind = self._kind
        fd = int(getattr(lib, kind.fd_by_id)(self.id))
        if fd < 0:
            if -fd == errno.ENOENT:
                raise NotFound(f"there is no {kind.word} with id {self.id}", errno=-fd)
            check(fd, f"opening {kind.word} id {self.id}")
        narrate(f"{kind.fd_by_id}({self.id})", f"fd {fd}", phase="inspect")
        return fd

    def info(self) -> _I:
        """Ask the kernel about this object now; NotFound if it is gone."""
        fd = self.open_fd()
        try:
            found: _I = self._kind.read(fd, f"id {self.id}")
        finally:
            os.close(fd)
        return found


def _ids(entry: type[_Entry[Any]]) -> Iterator[int]:
    """The ids of one kind, ascending: ENOENT ends the list, any other error raises."""
    kind = entry._kind
    call = getattr(lib, kind.next_id)
    out = ffi.new("__u32 *")
    current = count = 0
    while True:
        ret = call(current, out)
        if ret < 0:
            if -ret == errno.ENOENT:
                break
            check(ret, f"listing {kind.word}s ({kind.next_id})")
        current = int(out[0])
        count += 1
        yield current
    narrate(f"{kind.next_id}() x{count + 1}", f"{count} ids", phase="inspect")


@dataclass(frozen=True)
class ProgramEntry(_Entry[ProgramInfo]):
    """A program the kernel has loaded, by id; :meth:`info` gives its :class:`ProgramInfo`."""

    _kind = _Kind("program", "bpf_prog_get_next_id", "bpf_prog_get_fd_by_id", program_info)


@dataclass(frozen=True)
class MapEntry(_Entry[MapInfo]):
    """A map the kernel holds, by id; :meth:`info` gives its :class:`MapInfo`."""

    _kind = _Kind("map", "bpf_map_get_next_id", "bpf_map_get_fd_by_id", map_info)


@dataclass(frozen=True)
class LinkEntry(_Entry[LinkInfo]):
    """A BPF link the kernel holds, by id; :meth:`info` gives its :class:`LinkInfo`."""

    _kind = _Kind(
        "link",
        "bpf_link_get_next_id",
        "bpf_link_get_fd_by_id",
        lambda fd, what: link_info(fd, f"link {what}"),
    )

    def open(self) -> Link:
        """A :class:`~libbpf_py.Link` handle of this link (to detach, update or pin it)."""
        from libbpf_py.link import Link

        return Link.from_id(self.id)


@dataclass(frozen=True)
class BtfEntry(_Entry[BtfInfo]):
    """A BTF object the kernel holds (vmlinux, modules, programs' own), by id."""

    _kind = _Kind("BTF object", "bpf_btf_get_next_id", "bpf_btf_get_fd_by_id", read_btf_info)

    def data(self) -> bytes:
        """The BTF itself, as the kernel holds it: parse it with
        :func:`~libbpf_py.inspect.read_btf` (a module's BTF lists only what it adds to
        vmlinux's)."""
        return btf_data(self.id)


_E = TypeVar("_E", ProgramEntry, MapEntry)


def _named(entries: Iterator[_E], name: str | None) -> Iterator[_E]:
    if name is None:
        yield from entries
        return
    for entry in list(entries):
        try:
            if entry.info().name == name[:_NAME_LEN]:
                yield entry
        except NotFound:
            continue  # gone between listing and asking


def programs(name: str | None = None) -> Iterator[ProgramEntry]:
    """Every program loaded in the kernel (``bpftool prog show``), by ascending id; with
    ``name``, only the programs of that name (the kernel keeps its first 15 characters)."""
    return _named((ProgramEntry(i) for i in _ids(ProgramEntry)), name)


def maps(name: str | None = None) -> Iterator[MapEntry]:
    """Every map in the kernel (``bpftool map show``), by ascending id; with ``name``,
    only the maps of that name (the kernel keeps its first 15 characters)."""
    return _named((MapEntry(i) for i in _ids(MapEntry)), name)


def links() -> Iterator[LinkEntry]:
    """Every BPF link in the kernel (``bpftool link show``), by ascending id."""
    return (LinkEntry(i) for i in _ids(LinkEntry))


def btf_objects() -> Iterator[BtfEntry]:
    """Every BTF object in the kernel (``bpftool btf show``), by ascending id."""
    return (BtfEntry(i) for i in _ids(BtfEntry))


# What /proc/self/fd/N names the file of each kind (links were "bpf-link" once).
_PIN_KINDS: dict[str, type[ProgramEntry | MapEntry | LinkEntry]] = {
    "anon_inode:bpf-prog": ProgramEntry,
    "anon_inode:bpf-map": MapEntry,
    "anon_inode:bpf_link": LinkEntry,
    "anon_inode:bpf-link": LinkEntry,
}


def pinned(path: str | os.PathLike[str]) -> ProgramEntry | MapEntry | LinkEntry:
    """What is pinned at ``path`` on a bpffs: the entry of that program, map or link."""
    where = os.fspath(path)
    fd = int(lib.bpf_obj_get(os.fsencode(where)))
    if fd < 0:
        if -fd == errno.ENOENT:
            raise NotFound(f"no pin at {where}", errno=-fd)
        check(fd, f"opening the pin {where}", hint="is it on a bpffs (/sys/fs/bpf)?")
    narrate(f"bpf_obj_get({where!r})", f"fd {fd}", phase="inspect")
    try:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = "?"
        if target not in _PIN_KINDS:
            raise BpfError(f"{where} pins {target}, not a program, map or link")
        entry = _PIN_KINDS[target]
        return entry(entry._kind.read(fd, where).id)
    finally:
        os.close(fd)


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
    # Before Linux 6.6 there are no tcx hooks to ask about: the query itself is EINVAL.
    has_tcx = features.check("attach:tcx") is None
    for name, index in devices:
        holder = xdp_holder(index)
        if holder.program_id:
            out.append(
                NetAttachment(
                    name, index, "xdp", "ingress", holder.program_id, holder.link_id, holder.mode
                )
            )
        for direction in ("ingress", "egress"):
            for entry in tcx_programs(index, direction) if has_tcx else []:
                out.append(
                    NetAttachment(
                        name, index, "tcx", direction, entry.program_id, entry.link_id, ""
                    )
                )
            for entry in tc_filters(name, direction):
                out.append(
                    NetAttachment(
                        name,
                        index,
                        "tc",
                        direction,
                        entry.program_id,
                        None,
                        f"priority {entry.priority} handle {entry.handle:#x}",
                    )
                )
    return out
