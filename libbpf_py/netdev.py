"""Network interfaces by name or index, and what is attached to their XDP, tc and tcx hooks.

Errors say which namespace was searched."""

from __future__ import annotations

import errno
import os
from typing import NamedTuple

from libbpf_py.errors import NotFound, NotSupported

# socket, json and subprocess are imported by the functions that use them: Map imports
# this module, and ``import libbpf_py`` has an import-time budget (tests/test_import_time.py).

__all__ = [
    "HookEntry",
    "XdpHolder",
    "interface_index",
    "interface_name",
    "tc_filters",
    "tcx_programs",
    "xdp_holder",
]


def _netns() -> str:
    try:
        return os.readlink("/proc/self/ns/net")
    except OSError:  # pragma: no cover - /proc is always there on Linux
        return "this network namespace"


def interface_index(dev: str | int) -> int:
    """Return the ifindex of ``dev`` (a name or an index) in this network namespace."""
    if isinstance(dev, bool) or not isinstance(dev, int | str):
        raise TypeError(f"an interface is a name or an index, not {type(dev).__name__}")
    if isinstance(dev, int):
        interface_name(dev)  # raises NotFound for an index that does not exist
        return dev
    import socket

    try:
        return socket.if_nametoindex(dev)
    except OSError:
        raise NotFound(
            f"no network interface named {dev!r} in {_netns()} "
            "(see 'ip link show' for the ones that exist)"
        ) from None


def interface_name(ifindex: int) -> str:
    """Return the name of the interface with index ``ifindex``."""
    import socket

    try:
        return socket.if_indextoname(ifindex)
    except OSError:
        raise NotFound(f"no network interface with index {ifindex} in {_netns()}") from None


class XdpHolder(NamedTuple):
    """Who holds XDP on an interface: program id (0: nobody), link id, mode."""

    program_id: int
    link_id: int | None
    mode: str


class HookEntry(NamedTuple):
    """One program attached at a tc or tcx hook of an interface."""

    program_id: int
    link_id: int | None
    kind: str  # "tcx" or "tc"
    direction: str  # "ingress" or "egress"
    priority: int = 0
    handle: int = 0


_XDP_MODES = {1: "native", 2: "skb", 3: "offload", 4: "multi"}


def xdp_holder(dev: str | int) -> XdpHolder:
    """Who holds XDP on ``dev``: ``(program id, link id or None, mode)``; id 0 if nobody."""
    from libbpf_py._lowlevel import ffi, lib
    from libbpf_py.enums import LinkType

    ifindex = interface_index(dev) if isinstance(dev, str) else dev
    opts = ffi.new("struct bpf_xdp_query_opts *")
    opts.sz = ffi.sizeof("struct bpf_xdp_query_opts")
    if lib.bpf_xdp_query(ifindex, 0, opts) < 0:
        return XdpHolder(0, None, "")
    prog_id = opts.prog_id or opts.drv_prog_id or opts.skb_prog_id
    if not prog_id:
        return XdpHolder(0, None, "")
    mode = _XDP_MODES.get(opts.attach_mode, "")
    if not mode:
        mode = "skb" if opts.skb_prog_id else ("native" if opts.drv_prog_id else "")
    # The netlink answer has no link id: find the XDP link on this interface, if any.
    next_id = ffi.new("__u32 *")
    current = 0
    info = ffi.new("struct lpy_link_info *")
    while lib.bpf_link_get_next_id(current, next_id) == 0:
        current = next_id[0]
        fd = lib.bpf_link_get_fd_by_id(current)
        if fd < 0:
            continue
        try:
            if (
                lib.lpy_link_get_info(fd, info) == 0
                and info.type == LinkType.XDP
                and info.ifindex == ifindex
            ):
                return XdpHolder(prog_id, int(info.id), mode)
        finally:
            os.close(fd)
    return XdpHolder(prog_id, None, mode)


def tcx_programs(dev: str | int, direction: str = "ingress") -> list[HookEntry]:
    """The programs at the tcx ``direction`` hook of ``dev``, in run order."""
    from libbpf_py._lowlevel import check, ffi, lib
    from libbpf_py.enums import AttachType

    ifindex = interface_index(dev)
    attach = {"ingress": AttachType.TCX_INGRESS, "egress": AttachType.TCX_EGRESS}[direction]
    count = 64
    while True:
        opts = ffi.new("struct bpf_prog_query_opts *")
        opts.sz = ffi.sizeof("struct bpf_prog_query_opts")
        prog_ids = ffi.new("__u32[]", count)
        link_ids = ffi.new("__u32[]", count)
        opts.prog_ids = prog_ids
        opts.link_ids = link_ids
        opts.prog_cnt = count
        ret = lib.bpf_prog_query_opts(ifindex, attach, opts)
        if ret < 0 and -ret == errno.ENOSPC:
            count *= 4
            continue
        if ret < 0 and -ret == errno.EINVAL:
            # The interface exists (looked up above), so the kernel does not know the
            # attach type: tcx hooks came in Linux 6.6.
            raise NotSupported(
                f"querying the tcx {direction} hook of {dev}: this kernel "
                "has no tcx hooks (Linux 6.6+); legacy tc filters are "
                "listed by tc_filters()",
                errno=-ret,
            )
        check(ret, f"querying the tcx {direction} hook of {dev}")
        return [
            HookEntry(int(prog_ids[i]), int(link_ids[i]) or None, "tcx", direction)
            for i in range(opts.prog_cnt)
        ]


def tc_filters(dev: str | int, direction: str = "ingress") -> list[HookEntry]:
    """The BPF classifiers on the clsact ``direction`` hook of ``dev`` (legacy tc).

    Read with iproute2's ``tc -json filter show``; empty if there is no clsact qdisc.
    """
    name = dev if isinstance(dev, str) else interface_name(dev)
    interface_index(name)
    import json
    import subprocess

    try:
        proc = subprocess.run(
            ["tc", "-json", "filter", "show", "dev", name, direction],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except FileNotFoundError:
        raise NotFound("the 'tc' command (iproute2) is missing: apt-get install iproute2") from None
    if proc.returncode != 0 or not proc.stdout.strip():
        return []
    entries: list[HookEntry] = []
    for item in json.loads(proc.stdout):
        options = item.get("options") or {}
        prog = options.get("prog") or {}
        if item.get("kind") != "bpf" or "id" not in prog:
            continue
        handle = options.get("handle", "0")
        entries.append(
            HookEntry(
                int(prog["id"]),
                None,
                "tc",
                direction,
                int(item.get("pref", 0)),
                int(handle, 16) if isinstance(handle, str) else int(handle),
            )
        )
    return entries
