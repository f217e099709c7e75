"""Phase 5's result: a link keeps a program attached to its hook while it is held.

Three kinds of attachment hide behind :class:`Link`:

- a BPF link made by libbpf (``struct bpf_link *``) or by ``bpf_link_create`` (an fd):
  the kernel detaches it when its last fd closes, unless it is pinned;
- an attachment that is not a BPF link (legacy tc through netlink, XDP through netlink,
  a socket filter): it outlives every fd by kernel design, so the library removes it
  itself on :meth:`Link.detach`, on close, and when its object closes.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from libbpf_py._lowlevel import check, ffi, lib
from libbpf_py._lowlevel.owner import Owner
from libbpf_py.enums import AttachType, LinkType, ProgType
from libbpf_py.errors import BpfError, NotFound, NotSupported, PhaseError
from libbpf_py.explain import narrate
from libbpf_py.mounts import check_pin_mode, check_pin_path, set_pin_mode
from libbpf_py.query import LinkInfo, link_info

__all__ = ["Link", "LinkInfo", "LinkedProgram", "link_info"]


class LinkedProgram(Protocol):
    """What a link needs of its program; :class:`~libbpf_py.Program` has this shape.

    Programs sit a layer above their links, so a link names its program by this shape
    rather than by importing it.
    """

    @property
    def fd(self) -> int:
        """The program's fd."""
        ...

    @property
    def name(self) -> str:
        """The program's name."""
        ...

    @property
    def type(self) -> ProgType:
        """The program's type."""
        ...

    @property
    def expected_attach_type(self) -> AttachType | None:
        """The attach type the program was loaded for."""
        ...



# A detach step of an attachment that is not a BPF link: returns nothing, raises on error.
Detacher = Callable[[], None]


class Link(Owner):
    """A program attached to a hook, owned by whoever holds this handle.

    :meth:`detach` removes the attachment; :meth:`disconnect` lets it outlive this
    handle (useful with :meth:`pin`). A link dropped without either detaches and emits
    ``ResourceWarning``, like an unclosed file. Links are always destroyed before the
    object whose program they attach.
    """

    _phase_name = "attached"

    def __init__(self, *, ptr: Any = None, fd: int = -1, program: LinkedProgram | None = None,
                 description: str = "", owned_by_object: bool = False,
                 detacher: Detacher | None = None) -> None:
        self._ptr = ptr
        self._fd = fd
        self._program = program
        self._description = description
        self._owned_by_object = owned_by_object
        self._detacher = detacher
        self._pin_path: str | None = None
        # libbpf's USDT link groups one uprobe link per call site and has no fd of its own.
        self._composite = False
        self._disconnected = False
        # A forked child inherits the handle but shares the attachment with its parent:
        # closing there must release only the child's copies (see _release).
        self._process = _process[0]
        self._closed = False
        # The kind the kernel reported (0: not asked yet), or the one libbpf makes for the
        # program: knowing it lets info() ask the kernel once (see lpy_link_get_info).
        self._kind: int = _expected_kind(program)

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("disconnected" if self._disconnected
                                               else "attached")
        return f"<Link {self._description} {state}>"

    @classmethod
    def from_pin(cls, path: str | os.PathLike[str]) -> Link:
        """Open the link pinned at ``path`` (made by this or another process)."""
        fd = lib.bpf_obj_get(os.fsencode(path))
        if fd < 0:
            if -fd == errno.ENOENT:
                raise NotFound(f"nothing is pinned at {os.fspath(path)}", errno=-fd)
            check(fd, f"opening the pin {os.fspath(path)}")
        return cls._checked(int(fd), f"pinned at {os.fspath(path)}", os.fspath(path))

    @classmethod
    def from_id(cls, link_id: int) -> Link:
        """Open the link the kernel knows by ``link_id`` (``bpftool link show``)."""
        fd = lib.bpf_link_get_fd_by_id(link_id)
        if fd < 0:
            if -fd == errno.ENOENT:
                raise NotFound(f"the kernel has no link with id {link_id}", errno=-fd)
            check(fd, f"opening link id {link_id}")
        return cls._checked(int(fd), f"id {link_id}", None)

    @classmethod
    def _checked(cls, fd: int, what: str, pin: str | None) -> Link:
        try:
            info = link_info(fd)
        except BpfError:
            os.close(fd)
            raise NotFound(f"the BPF object {what} is not a link (a program or a map?)") \
                from None
        link = cls(fd=fd, description=f"{info.type.label} link {info.id} ({what})")
        link._pin_path = pin
        link._kind = info.type
        return link

    @property
    def program(self) -> LinkedProgram | None:
        """The program this link attaches, when it was made from one."""
        return self._program

    @property
    def is_bpf_link(self) -> bool:
        """Whether this is a kernel BPF link (False for netlink tc/XDP, socket filters)."""
        return self._detacher is None

    @property
    def fd(self) -> int:
        """The link's file descriptor (-1 for attachments that are not BPF links)."""
        self._require_open("Link.fd")
        if self._composite:
            return -1
        return int(lib.bpf_link__fd(self._ptr)) if self._ptr is not None else self._fd

    @property
    def pin_path(self) -> str | None:
        """Where this link is pinned, if it is."""
        return self._pin_path

    def _need_bpf_link(self, what: str) -> int:
        self._require_open(what)
        if self._detacher is not None:
            raise NotSupported(f"{what}: {self._description} is not a BPF link (legacy tc, "
                               "netlink XDP and socket filters have no link fd); use "
                               "attach_tcx/attach_xdp for a link")
        fd = self.fd
        if fd < 0:
            raise NotSupported(f"{what}: {self._description} is a group of links (libbpf "
                               "makes one uprobe link per USDT call site) with no single fd")
        return fd

    def info(self) -> LinkInfo:
        """Ask the kernel about this link: its id, kind, program and target."""
        info = link_info(self._need_bpf_link("Link.info()"), self._description,
                         expect=self._kind)
        self._kind = info.type
        return info

    @property
    def id(self) -> int:
        """The kernel's id for this link (``bpftool link show id N``)."""
        return self.info().id

    def detach(self) -> None:
        """Detach the program from its hook now, even if the link is pinned, and close.

        The pin this handle made (or was opened from) is removed too.

        Some link kinds (perf events, raw tracepoints, tracing) cannot be detached by
        force: for them this closes this handle, and raises
        :class:`~libbpf_py.errors.NotSupported` if a pin or another fd keeps the
        attachment alive.
        """
        if self._closed:
            return
        link_id = 0
        if self._detacher is None and self.fd >= 0:
            ret = lib.bpf_link_detach(self.fd)
            if ret < 0 and -ret not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOTSUP):
                check(ret, f"detaching {self._description}")
            if ret < 0:
                # This kind detaches only when its last fd closes: see if ours was last.
                link_id = self.info().id
            narrate(f"bpf_link_detach({self._description})", "detached", phase="tear down")
        if self._pin_path is not None:
            self.unpin()  # a pin of a detached link would only name a dead link
        self._disconnected = False  # a detached attachment is removed on close, always
        self.close()
        if link_id and _link_exists(link_id):
            raise NotSupported(f"detaching {self._description}: the kernel cannot force this "
                               f"kind of link off its hook; link id {link_id} stays attached "
                               "while a pin or another process's fd holds it (unpin it, or "
                               "close those fds)", errno=errno.EOPNOTSUPP)

    def disconnect(self) -> None:
        """Let the attachment outlive this handle: closing only releases the fd.

        A BPF link outlives its fd only if it is pinned; legacy tc, netlink XDP and
        socket filters outlive it by kernel design (see docs/attach.md).
        """
        self._require_open("Link.disconnect()")
        self._disconnected = True

    def pin(self, path: str | os.PathLike[str], *, mode: int = 0o600) -> None:
        """Pin the link in bpffs, so it (and the attachment) outlives this process.

        The pin is readable and writable by its owner only, unless ``mode`` says
        otherwise. A path outside bpffs raises :class:`~libbpf_py.errors.NotOnBpffs`.
        """

        fd = self._need_bpf_link("Link.pin()")
        what = f"pinning {self._description} at {os.fspath(path)}"
        check_pin_mode(mode, what)
        where = check_pin_path(path, what)
        if self._pin_path is not None:
            raise PhaseError(f"{self._description} is already pinned at {self._pin_path}; "
                             "unpin() it first", phase="pinned", needed="attached")
        if self._ptr is not None:
            ret = lib.bpf_link__pin(self._ptr, os.fsencode(where))
        else:
            ret = lib.bpf_obj_pin(fd, os.fsencode(where))
        if ret < 0 and -ret == errno.ENOENT:
            raise NotFound(f"pinning {self._description} at {where}: its folder does not "
                           "exist, or is not on a bpffs mount", errno=-ret)
        check(ret, f"pinning {self._description} at {where}",
              hint="pins live on a bpffs mount such as /sys/fs/bpf "
                   "(libbpf_py.mounts.ensure_bpffs() mounts it)" if -ret == errno.EINVAL else "")
        self._pin_path = where
        set_pin_mode(where, mode)
        narrate(f"bpf_obj_pin({self._description}, {where!r})", "pinned", phase="attach")

    def unpin(self) -> None:
        """Remove this link's pin; the attachment then lasts as long as its fds."""
        self._need_bpf_link("Link.unpin()")
        if self._pin_path is None:
            raise PhaseError(f"{self._description} is not pinned", phase="attached",
                             needed="pinned")
        if self._ptr is not None and lib.bpf_link__pin_path(self._ptr) != ffi.NULL:
            check(lib.bpf_link__unpin(self._ptr), f"unpinning {self._description}")
        else:
            # Someone removed it already: the state we want.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._pin_path)
        narrate(f"unlink({self._pin_path!r})", "unpinned", phase="tear down")
        self._pin_path = None

    def update(self, program: LinkedProgram) -> None:
        """Replace the attached program with ``program`` in one step (``BPF_LINK_UPDATE``).

        The hook is never empty in between: every event runs either the old or the new
        program. This is the way to replace an XDP program, which cannot be attached
        over another one.
        """
        fd = self._need_bpf_link("Link.update()")
        new_fd = program.fd
        ret = lib.bpf_link_update(fd, new_fd, ffi.NULL)
        if ret < 0:
            hint = ""
            if -ret == errno.EINVAL:
                hint = ("the new program must have the same type and attach type as the "
                        "attached one, and this link kind must support updates")
            check(ret, f"replacing the program of {self._description} with "
                       f"{program.name!r}", hint=hint)
        narrate(f"bpf_link_update({self._description}, {program.name!r})", "replaced",
                phase="attach")
        self._program = program

    def read(self) -> bytes:
        """Run an iterator link once and return everything it wrote (``bpf_iter_create``)."""
        return b"".join(self._chunks())

    def __iter__(self) -> Iterator[bytes]:
        """Run an iterator link and yield its output line by line, as it is produced."""
        rest = b""
        for chunk in self._chunks():
            rest += chunk
            *lines, rest = rest.split(b"\n")
            for line in lines:
                yield line + b"\n"
        if rest:
            yield rest

    def _chunks(self) -> Iterator[bytes]:
        fd = self._need_bpf_link("reading an iterator")
        iter_fd = lib.bpf_iter_create(fd)
        if iter_fd < 0:
            if -iter_fd == errno.EINVAL:
                raise NotSupported(f"{self._description} is not an iterator link; only "
                                   "links from attach_iter() can be read", errno=-iter_fd)
            check(iter_fd, f"starting iterator {self._description}")
        try:
            while True:
                try:
                    chunk = os.read(iter_fd, 65536)
                except OSError as exc:
                    if exc.errno == errno.EAGAIN:
                        continue  # the kernel asks to retry after an internal restart
                    raise BpfError(f"reading iterator {self._description}: "
                                   f"{os.strerror(exc.errno or 0)}",
                                   errno=exc.errno) from None
                if not chunk:
                    return
                yield chunk
        finally:
            os.close(iter_fd)

    def _release(self) -> None:
        # In a forked child (multiprocessing, a daemon's fork) the attachment is still the
        # parent's: closing the inherited handle, by hand or by the garbage collector,
        # must neither remove a netlink attachment nor disable a perf event the parent
        # uses (libbpf's destroy of a perf link disables the shared event). Only an
        # explicit detach() in the child acts on the attachment.
        inherited = _process[0] != self._process
        if self._detacher is not None:
            detacher, self._detacher = self._detacher, None
            kept = self._disconnected or inherited
            if not kept:
                detacher()
            narrate(f"removing {self._description}",
                    "left attached" if kept else "detached", phase="tear down")
            # Keep reporting "not a BPF link" after close.
            self._detacher = _closed_detacher
            return
        if self._ptr is not None:
            ptr, self._ptr = self._ptr, None
            fd = -1 if self._composite else int(lib.bpf_link__fd(ptr))
            if inherited:
                lib.bpf_link__disconnect(ptr)
                lib.bpf_link__destroy(ptr)
                if fd >= 0:
                    os.close(fd)
                narrate(f"bpf_link__destroy({self._description})",
                        "inherited by fork: only this process's fd released",
                        phase="tear down")
                return
            if self._disconnected and self._pin_path is None and \
                    lib.bpf_link__pin_path(ptr) == ffi.NULL:
                # Unpinned, the attachment ends with our fd anyway (kernel design); the
                # normal destroy also frees what libbpf keeps beside the link (the perf
                # event fd of tracepoint, uprobe and perf-event links).
                lib.bpf_link__destroy(ptr)
                narrate(f"bpf_link__destroy({self._description})", "detached (not pinned)",
                        phase="tear down")
                return
            if self._disconnected:
                lib.bpf_link__disconnect(ptr)
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


# Which process this is, counted by forks rather than asked with getpid(): a getpid()
# per link would show up in what programs attached to sys_enter_getpid count.
_process = [0]


def _count_fork() -> None:
    _process[0] += 1


os.register_at_fork(after_in_child=_count_fork)


def _closed_detacher() -> None:
    return None


def _link_exists(link_id: int) -> bool:
    fd = lib.bpf_link_get_fd_by_id(link_id)
    if fd < 0:
        return False
    os.close(fd)
    return True


# The kind of link libbpf makes for a program, by program type and expected attach type
# (None: any other), where it matters to info(): kinds that report a name.
_LINK_KINDS = {
    (ProgType.RAW_TRACEPOINT, None): LinkType.RAW_TRACEPOINT,
    (ProgType.RAW_TRACEPOINT_WRITABLE, None): LinkType.RAW_TRACEPOINT,
    (ProgType.TRACING, AttachType.TRACE_RAW_TP): LinkType.RAW_TRACEPOINT,
    (ProgType.TRACING, AttachType.TRACE_ITER): LinkType.ITER,
    (ProgType.KPROBE, AttachType.TRACE_KPROBE_MULTI): LinkType.KPROBE_MULTI,
    (ProgType.KPROBE, AttachType.TRACE_KPROBE_SESSION): LinkType.KPROBE_MULTI,
    (ProgType.KPROBE, AttachType.TRACE_UPROBE_MULTI): LinkType.UPROBE_MULTI,
    (ProgType.KPROBE, AttachType.TRACE_UPROBE_SESSION): LinkType.UPROBE_MULTI,
    (ProgType.KPROBE, None): LinkType.PERF_EVENT,
    (ProgType.TRACEPOINT, None): LinkType.PERF_EVENT,
    (ProgType.PERF_EVENT, None): LinkType.PERF_EVENT,
}


def _expected_kind(program: LinkedProgram | None) -> int:
    if program is None:
        return 0
    kind = _LINK_KINDS.get((program.type, program.expected_attach_type)) or \
        _LINK_KINDS.get((program.type, None))
    return int(kind or 0)


