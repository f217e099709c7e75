"""Phase 5's result: a link keeps a program attached to its hook while it is held."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from libbpf_py._lowlevel import check, ffi, lib
from libbpf_py._owner import Owner
from libbpf_py.enums import AttachType, LinkType
from libbpf_py.explain import narrate

if TYPE_CHECKING:
    from libbpf_py.program import Program

__all__ = ["Link", "LinkInfo", "link_info"]


@dataclass(frozen=True)
class LinkInfo:
    """What the kernel reports about a link (``bpf_link_get_info_by_fd``)."""

    id: int
    type: LinkType
    program_id: int
    attach_type: AttachType | None
    ifindex: int
    interface: str | None
    cgroup_id: int
    target: str


class Link(Owner):
    """A program attached to a hook, owned by whoever holds this handle.

    :meth:`detach` removes the attachment; :meth:`disconnect` lets it outlive this
    handle (useful with :meth:`pin`). A link dropped without either detaches and emits
    ``ResourceWarning``, like an unclosed file. Links are always destroyed before the
    object whose program they attach.
    """

    _phase_name = "attached"

    def __init__(self, *, ptr: Any = None, fd: int = -1, program: Program | None = None,
                 description: str = "", owned_by_object: bool = False) -> None:
        self._ptr = ptr
        self._fd = fd
        self._program = program
        self._description = description
        self._owned_by_object = owned_by_object
        self._disconnected = False
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("disconnected" if self._disconnected
                                               else "attached")
        return f"<Link {self._description} {state}>"

    @property
    def program(self) -> Program | None:
        """The program this link attaches, when it was made from one."""
        return self._program

    @property
    def fd(self) -> int:
        """The link's file descriptor."""
        self._require_open("Link.fd")
        return int(lib.bpf_link__fd(self._ptr)) if self._ptr is not None else self._fd

    def info(self) -> LinkInfo:
        """Ask the kernel about this link: its id, kind, program and target."""
        return link_info(self.fd, self._description)

    @property
    def id(self) -> int:
        """The kernel's id for this link (``bpftool link show id N``)."""
        return self.info().id

    def detach(self) -> None:
        """Detach the program from its hook now, even if the link is pinned, and close."""
        if self._closed:
            return
        ret = lib.bpf_link_detach(self.fd)
        # Links that predate BPF_LINK_DETACH (perf events, legacy kinds) detach on close.
        if ret < 0 and -ret not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOTSUP):
            check(ret, f"detaching {self._description}")
        narrate(f"bpf_link_detach({self._description})", "detached", phase="tear down")
        self.close()

    def disconnect(self) -> None:
        """Let the attachment outlive this handle: closing only releases the fd.

        A link outlives its fd only if it is pinned (or its kind does so by kernel
        design); otherwise the kernel detaches it when the last fd closes.
        """
        self._require_open("Link.disconnect()")
        self._disconnected = True
        if self._ptr is not None:
            lib.bpf_link__disconnect(self._ptr)

    def pin(self, path: str | os.PathLike[str]) -> None:
        """Pin the link in bpffs, so it (and the attachment) outlives this process."""
        self._require_open("Link.pin()")
        if self._ptr is not None:
            check(lib.bpf_link__pin(self._ptr, os.fsencode(path)), f"pinning link at {path}")
        else:
            check(lib.bpf_obj_pin(self._fd, os.fsencode(path)), f"pinning link at {path}")

    def _release(self) -> None:
        if self._ptr is not None:
            ptr, self._ptr = self._ptr, None
            fd = int(lib.bpf_link__fd(ptr))
            lib.bpf_link__destroy(ptr)
            if self._disconnected and fd >= 0:
                # libbpf closes a link's fd only in its detach step, which a disconnected
                # link skips; the fd is still ours to release.
                os.close(fd)
        elif self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)
        narrate(f"bpf_link__destroy({self._description})",
                "fd released" if self._disconnected else "detached", phase="tear down")

    def __del__(self) -> None:
        if not self._closed and not self._disconnected and not self._owned_by_object:
            super().__del__()
        elif not self._closed:
            with contextlib.suppress(Exception):  # never raise from a finalizer
                self.close()


def link_info(fd: int, description: str = "") -> LinkInfo:
    """Ask the kernel about the link behind ``fd`` (``bpf_link_get_info_by_fd``)."""
    out = ffi.new("struct lpy_link_info *")
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
        try:
            interface = socket.if_indextoname(out.ifindex)
        except OSError:
            interface = None
    try:
        link_type = LinkType(out.type)
    except ValueError:
        link_type = LinkType.UNSPEC
    return LinkInfo(id=out.id, type=link_type, program_id=out.prog_id,
                    attach_type=attach, ifindex=out.ifindex, interface=interface,
                    cgroup_id=out.cgroup_id,
                    target=ffi.string(out.target).decode(errors="replace"))
