"""Make a netkit pair through rtnetlink, for iproute2 builds that do not know netkit.

iproute2 learned ``ip link add ... type netkit`` in 6.7; Debian 12 ships 6.1. The kernel
side only needs one ``RTM_NEWLINK`` request, so this module sends it over a
``NETLINK_ROUTE`` socket. The numbers (message types, flags, ``IFLA_*`` attributes,
netkit modes) come from the kernel's uapi headers through the compiled module; the
layouts packed here (``struct nlmsghdr``, ``struct ifinfomsg``, ``struct nlattr``,
``struct nlmsgerr``) are the fixed netlink ABI.
"""

from __future__ import annotations

import errno
import itertools
import os
import socket
import struct

from libbpf_py._lowlevel import lib
from libbpf_py.errors import BpfError, NotSupported, PermissionDenied

__all__ = ["add_netkit_pair"]

_NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
_IFINFOMSG = struct.Struct("=BxHiII")  # family, pad, type, index, flags, change
_NLATTR = struct.Struct("=HH")  # len, type
_seq = itertools.count(1)


def _align(n: int) -> int:
    return (n + 3) & ~3


def _attr(kind: int, payload: bytes) -> bytes:
    """One netlink attribute, padded to 4 bytes."""
    size = _NLATTR.size + len(payload)
    return (_NLATTR.pack(size, kind) + payload).ljust(_align(size), b"\0")


def _nested(kind: int, *attrs: bytes) -> bytes:
    return _attr(kind | lib.NLA_F_NESTED, b"".join(attrs))


def _name(kind: int, name: str) -> bytes:
    data = name.encode()
    if not 0 < len(data) < lib.IFNAMSIZ:
        raise ValueError(f"an interface name has 1 to {lib.IFNAMSIZ - 1} bytes, not {name!r}")
    return _attr(kind, data + b"\0")


def _ifinfo() -> bytes:
    return _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)


def add_netkit_pair(primary: str, peer: str, *, peer_netns_fd: int, l2: bool = False) -> None:
    """Create netkit device ``primary`` in this thread's network namespace and its peer
    ``peer`` in the namespace open as ``peer_netns_fd``.

    ``l2=False`` makes an L3 pair (IP packets, no link-layer header, no ARP), netkit's
    default; ``l2=True`` an Ethernet-like one. Raises :class:`NotSupported` where the
    kernel has no netkit, :class:`PermissionDenied` without ``CAP_NET_ADMIN``, and
    :class:`BpfError` with the kernel's answer otherwise.
    """
    mode = lib.NETKIT_L2 if l2 else lib.NETKIT_L3
    peer_info = _ifinfo() + _name(lib.IFLA_IFNAME, peer)
    peer_info += _attr(lib.IFLA_NET_NS_FD, struct.pack("=I", peer_netns_fd))
    body = _ifinfo() + _name(lib.IFLA_IFNAME, primary)
    body += _nested(
        lib.IFLA_LINKINFO,
        _attr(lib.IFLA_INFO_KIND, b"netkit\0"),
        _nested(
            lib.IFLA_INFO_DATA,
            _attr(lib.IFLA_NETKIT_PEER_INFO, peer_info),
            _attr(lib.IFLA_NETKIT_MODE, struct.pack("=I", mode)),
        ),
    )
    flags = lib.NLM_F_REQUEST | lib.NLM_F_ACK | lib.NLM_F_CREATE | lib.NLM_F_EXCL
    seq = next(_seq)
    message = _NLMSGHDR.pack(_NLMSGHDR.size + len(body), lib.RTM_NEWLINK, flags, seq, 0) + body
    what = f"creating netkit pair {primary}/{peer}"
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0) as nl:
        nl.bind((0, 0))
        nl.sendall(message)
        err = _ack(nl, seq, what)
    if err == 0:
        return
    if err == errno.EOPNOTSUPP:
        raise NotSupported(
            f"{what}: this kernel has no netkit devices (Linux 6.7+, CONFIG_NETKIT)", errno=err
        )
    if err == errno.EPERM:
        raise PermissionDenied(f"{what}: needs CAP_NET_ADMIN: run as root", errno=err)
    raise BpfError(f"{what}: the kernel answered {os.strerror(err)}", errno=err)


def _ack(nl: socket.socket, seq: int, what: str) -> int:
    """The positive errno of the kernel's acknowledgement of request ``seq`` (0: done)."""
    while True:
        data = nl.recv(65536)
        offset = 0
        while offset + _NLMSGHDR.size <= len(data):
            size, kind, _flags, got_seq, _pid = _NLMSGHDR.unpack_from(data, offset)
            if size < _NLMSGHDR.size:
                raise BpfError(f"{what}: a malformed netlink answer ({size} bytes)")
            if got_seq == seq and kind == lib.NLMSG_ERROR:
                (code,) = struct.unpack_from("=i", data, offset + _NLMSGHDR.size)
                return -int(code)
            offset += _align(size)
