"""Attach to sockets and network namespaces: socket filters, sk_lookup and flow dissector
programs, sk_msg/sk_skb programs on a sockmap."""

from __future__ import annotations

import errno
import os
import socket
from typing import TYPE_CHECKING

from libbpf_py._lowlevel import lib, libbpf_error
from libbpf_py.attach._base import AttachBase
from libbpf_py.errors import NotFound
from libbpf_py.explain import narrate
from libbpf_py.link._link import Attachment, Link, LinkedProgram

if TYPE_CHECKING:
    from libbpf_py.maps._map import Map

__all__ = ["SocketAttach"]


class SocketAttach(AttachBase):
    """Attach methods for sockets, sockmaps and network namespaces."""

    def attach_socket(self, sock: socket.socket) -> Link:
        """Attach a socket filter to the Python socket ``sock`` (``SO_ATTACH_BPF``).

        Not a BPF link: the filter lasts as long as the socket; :meth:`Link.detach`
        removes it (``SO_DETACH_BPF``).
        """
        fd = self.fd
        try:
            sock.setsockopt(socket.SOL_SOCKET, lib.SO_ATTACH_BPF, fd)
        except OSError as exc:
            raise libbpf_error(
                exc.errno or errno.EINVAL, f"attaching socket filter {self.name!r} to {sock!r}"
            ) from None
        narrate(f"setsockopt(SO_ATTACH_BPF, {self.name!r})", "attached", phase="attach")
        return self._track(
            _SocketFilter(
                sock, program=self, description=f"{self.name} (socket filter on fd {sock.fileno()})"
            )
        )

    def attach_netns(self, netns: str | int | None = None) -> Link:
        """Attach an sk_lookup or flow dissector program to a network namespace.

        ``netns`` is ``None`` (this process's), a name from ``ip netns``, a path to a
        namespace file, or an open fd of one.
        """
        prog = self._libbpf_program("netns")
        if isinstance(netns, int):
            return self._made(
                lib.bpf_program__attach_netns(prog, netns),
                f"bpf_program__attach_netns({self.name!r}, fd {netns})",
                f"attaching {self.name!r} to netns fd {netns}",
                f"{self.name} (netns fd {netns})",
            )
        if netns is None:
            path = "/proc/self/ns/net"
        elif "/" in netns:
            path = netns
        else:
            path = f"/run/netns/{netns}"
        try:
            ns_fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise NotFound(
                f"no network namespace {netns!r} (no {path}; see 'ip netns list')",
                errno=errno.ENOENT,
            ) from None
        try:
            return self._made(
                lib.bpf_program__attach_netns(prog, ns_fd),
                f"bpf_program__attach_netns({self.name!r}, {path})",
                f"attaching {self.name!r} to network namespace {path}",
                f"{self.name} (netns {netns or 'self'})",
            )
        finally:
            os.close(ns_fd)

    def attach_sockmap(self, map: Map) -> Link:
        """Attach an sk_msg or sk_skb program to a sockmap or sockhash ``map``.

        The attachment is a BPF link (Linux 6.10+); older kernels raise
        :class:`~libbpf_py.errors.NotSupported`.
        """
        prog = self._libbpf_program("sockmap")
        what = f"attaching {self.name!r} to map {map.name!r}"
        self._require_feature("sockmap", what)
        return self._made(
            lib.bpf_program__attach_sockmap(prog, map.fd),
            f"bpf_program__attach_sockmap({self.name!r}, {map.name!r})",
            what,
            f"{self.name} ({self.expected_attach_type.label} on {map.name})",
        )


class _SocketFilter(Attachment):
    """A socket filter (``SO_ATTACH_BPF``): not a BPF link, it lasts as long as its
    socket, which this handle keeps to remove it (``SO_DETACH_BPF``)."""

    _instead = "a socket filter lasts as long as its socket"

    def __init__(self, sock: socket.socket, *, program: LinkedProgram, description: str) -> None:
        self._socket = sock
        super().__init__(program=program, description=description)

    def _remove(self) -> None:
        if self._socket.fileno() >= 0:  # a closed socket took its filter with it
            self._socket.setsockopt(socket.SOL_SOCKET, lib.SO_DETACH_BPF, 0)
