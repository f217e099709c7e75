"""What the kernel says about its objects: ``*_info`` by fd, BTF by id.

Like libbpf-rs's ``query.rs``, one low module that the phase classes (a
:class:`~libbpf_py.Map`, a :class:`~libbpf_py.Program`, a :class:`~libbpf_py.Link`)
and the kernel view (:mod:`libbpf_py.kernel`) all ask, so none of them has to import
another to describe a kernel object. It is also where BTF held by the kernel or by
libbpf meets the value engine: :func:`kernel_btf`, :func:`libbpf_btf` and
:func:`types_of_map` hand out the engine (:mod:`libbpf_py.types`, pure Python below
the C layer) of a BTF object, and :func:`possible_cpus` sizes per-CPU values.
"""

from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from libbpf_py._lowlevel import check, ffi, lib
from libbpf_py.enums import AttachType, LinkType, MapType, ProgType
from libbpf_py.errors import BpfError, LayoutError, NotFound
from libbpf_py.explain import narrate
from libbpf_py.types._map_btf import types_of_data
from libbpf_py.types.typed import TypeCodecs

if TYPE_CHECKING:
    from datetime import datetime

# datetime and socket are imported by the few methods that use them: maps and links
# import this module, and ``import libbpf_py`` has an import-time budget
# (tests/test_import_time.py).

__all__ = [
    "BtfInfo",
    "LinkInfo",
    "MapInfo",
    "ProgramInfo",
    "btf_data",
    "kernel_btf",
    "libbpf_btf",
    "link_info",
    "map_info",
    "possible_cpus",
    "program_info",
    "read_btf_info",
    "types_of_btf_id",
    "types_of_map",
]


# -- programs ------------------------------------------------------------------------


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
    recursion_misses: int = 0
    created_by_uid: int = 0
    #: The device an offloaded program runs on (0: none; the kernel reports no device
    #: for a program only bound to one with ``ProgramFlag.XDP_DEV_BOUND_ONLY``).
    ifindex: int = 0

    @property
    def loaded_at(self) -> datetime:
        """When the program was loaded (``load_time_ns`` counts from boot)."""
        from datetime import UTC, datetime

        boot = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
        return datetime.fromtimestamp(boot + self.load_time_ns / 1e9, tz=UTC)


def program_info(fd: int, name: str = "") -> ProgramInfo:
    """Ask the kernel about the program behind ``fd`` (``bpf_prog_get_info_by_fd``)."""
    what = f"program {name!r}" if name else f"the program of fd {fd}"
    info = ffi.new("struct bpf_prog_info *")
    size = ffi.new("__u32 *", ffi.sizeof("struct bpf_prog_info"))
    check(lib.bpf_prog_get_info_by_fd(fd, info, size), f"reading the info of {what}")
    count = info.nr_map_ids
    map_ids: tuple[int, ...] = ()
    if count:
        ids = ffi.new("__u32[]", count)
        again = ffi.new("struct bpf_prog_info *")
        again.nr_map_ids = count
        again.map_ids = int(ffi.cast("uintptr_t", ids))
        size[0] = ffi.sizeof("struct bpf_prog_info")
        check(lib.bpf_prog_get_info_by_fd(fd, again, size), f"reading the map ids of {what}")
        map_ids = tuple(ids[i] for i in range(min(count, again.nr_map_ids)))
    return ProgramInfo(
        id=info.id,
        name=ffi.string(info.name).decode(errors="replace"),
        type=ProgType.coerce(info.type),
        tag=bytes(info.tag).hex(),
        jited_size=info.jited_prog_len,
        xlated_size=info.xlated_prog_len,
        load_time_ns=info.load_time,
        map_ids=map_ids,
        btf_id=info.btf_id,
        run_count=info.run_cnt,
        run_time_ns=info.run_time_ns,
        verified_insns=info.verified_insns,
        recursion_misses=info.recursion_misses,
        created_by_uid=info.created_by_uid,
        ifindex=info.ifindex,
    )


# -- maps ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MapInfo:
    """What the kernel reports about a map (``bpf_map_get_info_by_fd``)."""

    id: int
    name: str
    type: MapType
    key_size: int
    value_size: int
    max_entries: int
    flags: int
    btf_id: int
    btf_key_type_id: int = 0
    btf_value_type_id: int = 0
    #: the map type's extra (bloom filter: hash count; arena: user address)
    map_extra: int = 0


def map_info(fd: int, name: str = "") -> MapInfo:
    """Ask the kernel about the map behind ``fd`` (``bpf_map_get_info_by_fd``)."""
    info = ffi.new("struct bpf_map_info *")
    size = ffi.new("__u32 *", ffi.sizeof("struct bpf_map_info"))
    what = f"map {name!r}" if name else f"the map of fd {fd}"
    check(lib.bpf_map_get_info_by_fd(fd, info, size), f"reading the info of {what}")
    return MapInfo(
        id=info.id,
        name=ffi.string(info.name).decode(errors="replace"),
        type=MapType.coerce(info.type),
        key_size=info.key_size,
        value_size=info.value_size,
        max_entries=info.max_entries,
        flags=info.map_flags,
        btf_id=info.btf_id,
        btf_key_type_id=info.btf_key_type_id,
        btf_value_type_id=info.btf_value_type_id,
        map_extra=info.map_extra,
    )


# -- links ---------------------------------------------------------------------------

_PERF_EVENT_KINDS = {
    lib.BPF_PERF_EVENT_UNSPEC: "",
    lib.BPF_PERF_EVENT_UPROBE: "uprobe",
    lib.BPF_PERF_EVENT_URETPROBE: "uretprobe",
    lib.BPF_PERF_EVENT_KPROBE: "kprobe",
    lib.BPF_PERF_EVENT_KRETPROBE: "kretprobe",
    lib.BPF_PERF_EVENT_TRACEPOINT: "tracepoint",
    lib.BPF_PERF_EVENT_EVENT: "event",
}
_NF_FAMILIES = {lib.NFPROTO_IPV4: "ipv4", lib.NFPROTO_IPV6: "ipv6"}
_NF_HOOKS = {
    lib.NF_INET_PRE_ROUTING: "prerouting",
    lib.NF_INET_LOCAL_IN: "local_in",
    lib.NF_INET_FORWARD: "forward",
    lib.NF_INET_LOCAL_OUT: "local_out",
    lib.NF_INET_POST_ROUTING: "postrouting",
}


@dataclass(frozen=True)
class LinkInfo:
    """What the kernel reports about a link (``bpf_link_get_info_by_fd``).

    ``target`` names what the link attaches to in words: a tracepoint, a file, an
    iterator target, a netfilter hook, an interface. Fields that do not apply to the
    link's kind are 0 or empty.
    """

    id: int
    type: LinkType
    program_id: int
    attach_type: AttachType | None
    ifindex: int
    interface: str | None
    cgroup_id: int
    target: str
    map_id: int = 0
    netns_ino: int = 0
    perf_event: str = ""
    offset: int = 0
    count: int = 0
    pid: int = 0
    priority: int = 0
    target_program_id: int = 0


def link_info(fd: int, description: str = "", *, expect: int = 0) -> LinkInfo:
    """Ask the kernel about the link behind ``fd`` (``bpf_link_get_info_by_fd``).

    ``expect`` is the :class:`LinkType` the link is believed to be, if known: right, the
    kernel is asked once; wrong or 0, the answer is the same, after a call or two more.
    """
    out = ffi.new("struct lpy_link_info *")
    out.expect = expect
    what = description or f"the link of fd {fd}"
    check(lib.lpy_link_get_info(fd, out), f"reading the info of {what}")
    attach: AttachType | None = None
    if out.attach_type or out.type == LinkType.CGROUP:
        try:
            attach = AttachType(out.attach_type)
        except ValueError:
            attach = None
    interface = None
    if out.ifindex:
        import socket

        try:
            interface = socket.if_indextoname(out.ifindex)
        except OSError:
            interface = None
    try:
        link_type = LinkType(out.type)
    except ValueError:
        link_type = LinkType.UNSPEC
    target = ffi.string(out.name).decode(errors="replace")
    perf = ""
    if link_type is LinkType.PERF_EVENT:
        perf = _PERF_EVENT_KINDS.get(out.perf_type, str(out.perf_type))
        if perf == "event":
            target = f"perf event type {out.event_type} config {out.config}"
    elif link_type is LinkType.NETFILTER:
        target = f"{_NF_FAMILIES.get(out.pf, out.pf)} {_NF_HOOKS.get(out.hooknum, out.hooknum)}"
    elif link_type in (LinkType.XDP, LinkType.TCX, LinkType.NETKIT) and not target:
        target = interface or (f"ifindex {out.ifindex}" if out.ifindex else "")
    return LinkInfo(
        id=out.id,
        type=link_type,
        program_id=out.prog_id,
        attach_type=attach,
        ifindex=out.ifindex,
        interface=interface,
        cgroup_id=out.cgroup_id,
        target=target,
        map_id=out.map_id,
        netns_ino=out.netns_ino,
        perf_event=perf,
        offset=out.offset,
        count=out.count,
        pid=out.pid,
        priority=out.priority,
        target_program_id=out.target_obj_id,
    )


# -- BTF -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BtfInfo:
    """What the kernel reports about a BTF object (``bpf_btf_get_info_by_fd``)."""

    id: int
    name: str
    size: int
    kernel_btf: bool


def _btf_info(fd: int, what: str, *, name: Any = None, data: Any = None) -> Any:
    """``bpf_btf_get_info_by_fd``, filling the name and data buffers given (char arrays)."""
    info = ffi.new("struct bpf_btf_info *")
    if name is not None:
        info.name = int(ffi.cast("uintptr_t", name))
        info.name_len = len(name)
    if data is not None:
        info.btf = int(ffi.cast("uintptr_t", data))
        info.btf_size = len(data)
    size = ffi.new("__u32 *", ffi.sizeof("struct bpf_btf_info"))
    check(lib.bpf_btf_get_info_by_fd(fd, info, size), f"reading {what}")
    return info


def read_btf_info(fd: int, what: str) -> BtfInfo:
    """Ask the kernel about the BTF object behind ``fd``; ``what`` names it in errors."""
    name = ffi.new("char[]", 256)
    info = _btf_info(fd, f"the info of BTF {what}", name=name)
    return BtfInfo(
        id=int(info.id),
        name=ffi.string(name).decode(errors="replace"),
        size=int(info.btf_size),
        kernel_btf=bool(info.kernel_btf),
    )


def btf_data(btf_id: int) -> bytes:
    """The BTF object of ``btf_id`` as the kernel holds it; NotFound if it is gone."""
    what = f"BTF id {btf_id}"
    fd = int(lib.bpf_btf_get_fd_by_id(btf_id))
    if fd < 0:
        if -fd == errno.ENOENT:
            raise NotFound(f"there is no BTF object with id {btf_id}", errno=-fd)
        check(fd, f"opening BTF object id {btf_id}")
    narrate(f"bpf_btf_get_fd_by_id({btf_id})", f"fd {fd}", phase="inspect")
    try:
        length = int(_btf_info(fd, f"the size of {what}").btf_size)
        buf = ffi.new("char[]", max(length, 1))
        again = _btf_info(fd, what, data=buf)
    finally:
        os.close(fd)
    narrate(f"bpf_btf_get_info_by_fd({what})", f"{length} bytes of BTF", phase="inspect")
    return bytes(ffi.buffer(buf, min(length, int(again.btf_size))))


def kernel_btf(btf_id: int) -> TypeCodecs | None:
    """The engine of the kernel's BTF object ``btf_id``, or None if it cannot be read."""
    try:
        return types_of_data(btf_data(btf_id))
    except BpfError:
        return None  # gone since the map was opened, or BTF we cannot parse


def libbpf_btf(btf: Any) -> TypeCodecs | None:
    """The engine of a libbpf ``struct btf *`` (an object's BTF), or None."""
    if btf == ffi.NULL:
        return None
    size = ffi.new("__u32 *")
    data = lib.btf__raw_data(btf, size)
    if data == ffi.NULL:
        return None
    return types_of_data(ffi.unpack(ffi.cast("char *", data), size[0]))


def types_of_btf_id(btf_id: int) -> TypeCodecs:
    """The engine of the BTF the kernel holds under ``btf_id`` (of a map or program)."""
    if not btf_id:
        raise LayoutError("this map or program carries no BTF: use bytes")
    types = kernel_btf(btf_id)
    if types is None:
        raise LayoutError(f"cannot read the kernel's BTF object id {btf_id}")
    return types


def types_of_map(m: Any) -> TypeCodecs:
    """The engine of the BTF a map came with: its object's, or the kernel's BTF object."""
    types: TypeCodecs | None = getattr(m, "_types", None)
    if types is not None:
        return types
    if not m._fd.owned:  # a map of an object knows no other BTF than its object's
        raise LayoutError(
            f"the object of map {m.name!r} has no BTF: compile it with -g to use types by name"
        )
    return types_of_btf_id(m.info().btf_id)


# -- CPUs ----------------------------------------------------------------------------


def possible_cpus() -> int:
    """How many CPUs the kernel may ever bring up (the per-CPU slot count)."""
    return int(lib.libbpf_num_possible_cpus())
