"""Phase 5's result: a link keeps a program attached to its hook while it is held.

:class:`Link` is the one public type; what is behind it is chosen by the attach method
that makes it, as a private subclass holding only its own state:

- a BPF link whose fd the handle owns (``bpf_link_create``, :meth:`Link.from_pin`,
  :meth:`Link.from_id`): the kernel detaches it when its last fd closes, unless it is
  pinned;
- a BPF link made by libbpf (``struct bpf_link *``, :class:`LibbpfLink`), which keeps
  more beside the fd (a perf event, a legacy probe) and frees it on destroy;
- libbpf's USDT link (:class:`UsdtLinks`), a group of uprobe links, one per call site,
  with no single fd;
- an attachment that is not a BPF link (:class:`Attachment`: legacy tc and XDP through
  netlink, socket filters, in :mod:`libbpf_py.attach`): it outlives every fd by kernel
  design, so the library removes it itself on :meth:`Link.detach`, on close, and when
  its object closes.

What a kind cannot do (pin a netlink attachment, ask for the info of a USDT group) it
refuses with :class:`~libbpf_py.errors.NotSupported`, like cilium/ebpf's
``RawAttachment``.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from typing import Any, Protocol

from libbpf_py._lowlevel import check, ffi, lib
from libbpf_py._lowlevel.owner import OwnedFd, Owner, fork_count
from libbpf_py.enums import AttachType, LinkType, ProgType
from libbpf_py.errors import BpfError, NotFound, NotSupported, PhaseError
from libbpf_py.explain import narrate
from libbpf_py.mounts import check_pin_mode, check_pin_path, set_pin_mode
from libbpf_py.query import LinkInfo, link_info

__all__ = [
    "Attachment",
    "LibbpfLink",
    "Link",
    "LinkInfo",
    "LinkedProgram",
    "OpsMap",
    "StructOpsLink",
    "StructOpsRegistration",
    "UsdtLinks",
    "link_info",
]


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


class OpsMap(Protocol):
    """What :meth:`Link.update_map` needs of a map; :class:`~libbpf_py.Map` has this shape.

    Maps sit a layer above their links, so a link names a map by this shape rather than
    by importing it.
    """

    @property
    def name(self) -> str:
        """The map's name."""
        ...

    def _struct_ops_ptr(self, what: str) -> Any:
        """libbpf's ``struct bpf_map *`` of a loaded struct_ops map; raises
        :class:`~libbpf_py.errors.PhaseError` or :class:`~libbpf_py.errors.NotSupported`
        (naming ``what``) for any other map."""
        ...


class Link(Owner):
    """A program attached to a hook, owned by whoever holds this handle.

    :meth:`detach` removes the attachment; :meth:`disconnect` lets it outlive this
    handle (useful with :meth:`pin`). A link dropped without either detaches and emits
    ``ResourceWarning``, like an unclosed file. Links are always destroyed before the
    object whose program they attach.

    This class itself is a BPF link on an fd it owns; the attach methods make the
    private subclasses of this module and of :mod:`libbpf_py.attach` for the other kinds.
    """

    _phase_name = "attached"
    _type_name = "Link"

    def __init__(
        self, fd: int, *, program: LinkedProgram | None = None, description: str = ""
    ) -> None:
        self._fd = OwnedFd(fd)
        self._setup(program, description)

    def _setup(self, program: LinkedProgram | None, description: str) -> None:
        """The state every kind shares; each subclass's ``__init__`` ends with it."""
        self._program = program
        self._description = description
        self._pin_path: str | None = None
        self._disconnected = False
        # The kind the kernel reported (0: not asked yet), or the one libbpf makes for the
        # program: knowing it lets info() ask the kernel once (see lpy_link_get_info).
        self._kind: int = _expected_kind(program)
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("disconnected" if self._disconnected else "attached")
        return f"<Link {self._description} {state}>"

    @classmethod
    def from_pin(cls, path: str | os.PathLike[str]) -> Link:
        """Open the link pinned at ``path`` (made by this or another process)."""
        fd = lib.bpf_obj_get(os.fsencode(path))
        if fd < 0:
            if -fd == errno.ENOENT:
                raise NotFound(f"nothing is pinned at {os.fspath(path)}", errno=-fd)
            check(fd, f"opening the pin {os.fspath(path)}")
        return Link._checked(int(fd), f"pinned at {os.fspath(path)}", os.fspath(path))

    @classmethod
    def from_id(cls, link_id: int) -> Link:
        """Open the link the kernel knows by ``link_id`` (``bpftool link show``)."""
        fd = lib.bpf_link_get_fd_by_id(link_id)
        if fd < 0:
            if -fd == errno.ENOENT:
                raise NotFound(f"the kernel has no link with id {link_id}", errno=-fd)
            check(fd, f"opening link id {link_id}")
        return Link._checked(int(fd), f"id {link_id}", None)

    @staticmethod
    def _checked(fd: int, what: str, pin: str | None) -> Link:
        try:
            info = link_info(fd)
        except BpfError:
            os.close(fd)
            raise NotFound(f"the BPF object {what} is not a link (a program or a map?)") from None
        link = Link(fd, description=f"{info.type.label} link {info.id} ({what})")
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
        return True

    @property
    def fd(self) -> int:
        """The link's file descriptor (-1 for attachments that are not BPF links)."""
        self._require_open("Link.fd")
        return self._fd.number

    @property
    def pin_path(self) -> str | None:
        """Where this link is pinned, if it is."""
        return self._pin_path

    def _need_bpf_link(self, what: str) -> int:
        """The fd ``what`` works on; kinds without one refuse here."""
        self._require_open(what)
        return self._fd.number

    def info(self) -> LinkInfo:
        """Ask the kernel about this link: its id, kind, program and target.

        Raises :class:`~libbpf_py.errors.NotSupported` for an attachment that is not a
        BPF link, and for a USDT group.
        """
        info = link_info(self._need_bpf_link("Link.info()"), self._description, expect=self._kind)
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
        link_id = self._detach_from_hook()
        if self._pin_path is not None:
            self.unpin()  # a pin of a detached link would only name a dead link
        self._disconnected = False  # a detached attachment is removed on close, always
        self.close()
        if link_id and _link_exists(link_id):
            raise NotSupported(
                f"detaching {self._description}: the kernel cannot force this "
                f"kind of link off its hook; link id {link_id} stays attached "
                "while a pin or another process's fd holds it (unpin it, or "
                "close those fds)",
                errno=errno.EOPNOTSUPP,
            )

    def _detach_from_hook(self) -> int:
        """Force the link off its hook (``BPF_LINK_DETACH``) before close; the id of the
        link when its kind cannot be forced and must end with its last fd, else 0."""
        fd = self._fd.number
        ret = lib.bpf_link_detach(fd)
        if ret < 0 and -ret not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOTSUP):
            check(ret, f"detaching {self._description}")
        narrate(f"bpf_link_detach({self._description})", "detached", phase="tear down")
        # This kind detaches only when its last fd closes: see later if ours was last.
        return self.info().id if ret < 0 else 0

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
        otherwise. A path outside bpffs raises :class:`~libbpf_py.errors.NotOnBpffs`;
        an attachment that is not a BPF link, or a USDT group, raises
        :class:`~libbpf_py.errors.NotSupported`.
        """

        fd = self._need_bpf_link("Link.pin()")
        what = f"pinning {self._description} at {os.fspath(path)}"
        check_pin_mode(mode, what)
        where = check_pin_path(path, what)
        if self._pin_path is not None:
            raise PhaseError(
                f"{self._description} is already pinned at {self._pin_path}; unpin() it first",
                phase="pinned",
                needed="attached",
            )
        ret = self._pin_at(fd, os.fsencode(where))
        if ret < 0 and -ret == errno.ENOENT:
            raise NotFound(
                f"pinning {self._description} at {where}: its folder does not "
                "exist, or is not on a bpffs mount",
                errno=-ret,
            )
        check(
            ret,
            f"pinning {self._description} at {where}",
            hint="pins live on a bpffs mount such as /sys/fs/bpf "
            "(libbpf_py.mounts.ensure_bpffs() mounts it)"
            if -ret == errno.EINVAL
            else "",
        )
        self._pin_path = where
        set_pin_mode(where, mode)
        narrate(f"bpf_obj_pin({self._description}, {where!r})", "pinned", phase="attach")

    def _pin_at(self, fd: int, path: bytes) -> int:
        return int(lib.bpf_obj_pin(fd, path))

    def unpin(self) -> None:
        """Remove this link's pin; the attachment then lasts as long as its fds."""
        self._need_bpf_link("Link.unpin()")
        if self._pin_path is None:
            raise PhaseError(
                f"{self._description} is not pinned", phase="attached", needed="pinned"
            )
        self._remove_pin(self._pin_path)
        narrate(f"unlink({self._pin_path!r})", "unpinned", phase="tear down")
        self._pin_path = None

    def _remove_pin(self, path: str) -> None:
        # Someone removed it already: the state we want.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    def update(self, program: LinkedProgram) -> None:
        """Replace the attached program with ``program`` in one step (``BPF_LINK_UPDATE``).

        The hook is never empty in between: every event runs either the old or the new
        program. This is the way to replace an XDP program, which cannot be attached
        over another one. An attachment that is not a BPF link, or a USDT group, raises
        :class:`~libbpf_py.errors.NotSupported`.
        """
        fd = self._need_bpf_link("Link.update()")
        new_fd = program.fd
        ret = lib.bpf_link_update(fd, new_fd, ffi.NULL)
        if ret < 0:
            hint = ""
            if -ret == errno.EINVAL:
                hint = (
                    "the new program must have the same type and attach type as the "
                    "attached one, and this link kind must support updates"
                )
            check(
                ret,
                f"replacing the program of {self._description} with {program.name!r}",
                hint=hint,
            )
        narrate(
            f"bpf_link_update({self._description}, {program.name!r})", "replaced", phase="attach"
        )
        self._program = program

    def update_map(self, map: OpsMap) -> None:
        """Swap the struct_ops map this link registers for ``map`` (``bpf_link__update_map``).

        Only a link of :meth:`Map.attach_struct_ops <libbpf_py.Map.attach_struct_ops>`
        (or of :meth:`LoadedObject.attach() <libbpf_py.LoadedObject.attach>`) holds a
        struct_ops map; every other link raises :class:`~libbpf_py.errors.NotSupported`.
        """
        self._require_open("Link.update_map()")
        raise NotSupported(
            f"Link.update_map(): {self._description} registers no struct_ops map; only "
            "the links of Map.attach_struct_ops() and LoadedObject.attach() can swap one"
        )

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
                raise NotSupported(
                    f"{self._description} is not an iterator link; only "
                    "links from attach_iter() can be read",
                    errno=-iter_fd,
                )
            check(iter_fd, f"starting iterator {self._description}")
        try:
            while True:
                try:
                    chunk = os.read(iter_fd, 65536)
                except OSError as exc:
                    if exc.errno == errno.EAGAIN:
                        continue  # the kernel asks to retry after an internal restart
                    raise BpfError(
                        f"reading iterator {self._description}: {os.strerror(exc.errno or 0)}",
                        errno=exc.errno,
                    ) from None
                if not chunk:
                    return
                yield chunk
        finally:
            os.close(iter_fd)

    def _release(self) -> None:
        # Closing our fd ends the link unless it is pinned or another fd holds it (a
        # forked parent's copy, for one: so a child's close never detaches the parent's).
        self._fd.close()
        narrate(
            f"close({self._description})",
            "fd released" if self._disconnected else "detached",
            phase="tear down",
        )

    def _warns_when_dropped(self) -> bool:
        # A disconnected link was let go on purpose: collecting it is no leak.
        return not self._disconnected


class LibbpfLink(Link):
    """A BPF link libbpf made (``struct bpf_link *``), which this handle destroys.

    libbpf may keep more beside the link's fd (the perf event of a tracepoint, kprobe or
    uprobe link), so the fd is handed back to libbpf's destroy, which frees it all.
    """

    def __init__(
        self,
        ptr: Any,
        *,
        program: LinkedProgram | None = None,
        description: str = "",
        kept_by_object: bool = False,
    ) -> None:
        self._ptr = ptr
        self._fd = OwnedFd(int(lib.bpf_link__fd(ptr)))
        # Made by LoadedObject.attach(), which keeps it until it closes: no warning if
        # the caller drops its handle.
        self._kept_by_object = kept_by_object
        self._setup(program, description)

    def _pin_at(self, fd: int, path: bytes) -> int:
        return int(lib.bpf_link__pin(self._ptr, path))

    def _remove_pin(self, path: str) -> None:
        if lib.bpf_link__pin_path(self._ptr) != ffi.NULL:
            check(lib.bpf_link__unpin(self._ptr), f"unpinning {self._description}")
        else:
            super()._remove_pin(path)

    def _release(self) -> None:
        ptr, self._ptr = self._ptr, None
        # libbpf's destroy closes the fd, or we do below: either way it is no longer ours.
        fd = self._fd.disown(f"link {self._description}")
        if self._fd.inherited:
            # In a forked child (multiprocessing, a daemon's fork) the attachment is still
            # the parent's: closing the inherited handle, by hand or by the garbage
            # collector, must not disable a perf event the parent uses (libbpf's destroy
            # of a perf link does). Only an explicit detach() in the child acts on it.
            lib.bpf_link__disconnect(ptr)
            lib.bpf_link__destroy(ptr)
            os.close(fd)
            narrate(
                f"bpf_link__destroy({self._description})",
                "inherited by fork: only this process's fd released",
                phase="tear down",
            )
            return
        if (
            self._disconnected
            and self._pin_path is None
            and lib.bpf_link__pin_path(ptr) == ffi.NULL
        ):
            # Unpinned, the attachment ends with our fd anyway (kernel design); the normal
            # destroy also frees what libbpf keeps beside the link.
            lib.bpf_link__destroy(ptr)
            narrate(
                f"bpf_link__destroy({self._description})",
                "detached (not pinned)",
                phase="tear down",
            )
            return
        if self._disconnected:
            # libbpf closes a link's fd only in its detach step, which a disconnected link
            # skips; the fd is still ours to release.
            lib.bpf_link__disconnect(ptr)
            lib.bpf_link__destroy(ptr)
            os.close(fd)
        else:
            lib.bpf_link__destroy(ptr)
        narrate(
            f"bpf_link__destroy({self._description})",
            "fd released" if self._disconnected else "detached",
            phase="tear down",
        )

    def _warns_when_dropped(self) -> bool:
        return not self._disconnected and not self._kept_by_object


class StructOpsLink(LibbpfLink):
    """The registration of a struct_ops map (``bpf_map__attach_struct_ops``): a BPF link
    whose target is the map, swappable for another map of the same type."""

    def update_map(self, map: OpsMap) -> None:
        """Register ``map`` in place of the current struct_ops map, in one step.

        The kernel checks that ``map`` has the same struct_ops type and was made as a
        link map (``SEC(".struct_ops.link")``); the subsystem may ask more (TCP
        congestion controls must keep their name). Every user of the registration sees
        either the old implementation or the new one, never none.
        """
        self._require_open("Link.update_map()")
        what = f"swapping the struct_ops map of {self._description} for {map.name!r}"
        ptr = map._struct_ops_ptr(what)
        ret = lib.bpf_link__update_map(self._ptr, ptr)
        if ret < 0:
            hint = ""
            if -ret == errno.EINVAL:
                hint = (
                    "the new map must be a struct_ops map of the same type, made from a "
                    ".struct_ops.link section, and the subsystem must accept it (a TCP "
                    "congestion control must keep its name)"
                )
            check(ret, what, hint=hint)
        narrate(
            f"bpf_link__update_map({self._description}, {map.name!r})", "swapped", phase="attach"
        )
        self._description = f"struct_ops {map.name}"


class UsdtLinks(Link):
    """libbpf's USDT link: one uprobe link per call site of the probe, and no single fd.

    It cannot be pinned, updated or asked for its info; :meth:`Link.detach` and close
    detach every call site.
    """

    def __init__(
        self,
        ptr: Any,
        *,
        program: LinkedProgram | None = None,
        description: str = "",
        kept_by_object: bool = False,
    ) -> None:
        self._ptr = ptr
        self._kept_by_object = kept_by_object
        # Which process made it: a forked child must not disable the parent's probes.
        self._forks = fork_count()
        self._setup(program, description)

    @property
    def fd(self) -> int:
        """-1: the group has no fd of its own (each call site's uprobe link has one)."""
        self._require_open("Link.fd")
        return -1

    def _need_bpf_link(self, what: str) -> int:
        self._require_open(what)
        raise NotSupported(
            f"{what}: {self._description} is a group of links (libbpf "
            "makes one uprobe link per USDT call site) with no single fd"
        )

    def _detach_from_hook(self) -> int:
        return 0  # destroying the group detaches every call site

    def _release(self) -> None:
        ptr, self._ptr = self._ptr, None
        # A group cannot be pinned, so even a disconnected one ends with its fds: the
        # normal destroy. In a forked child the fds are copies, and libbpf's destroy
        # would disable the probes the parent still uses: only release ours.
        inherited = fork_count() != self._forks
        if inherited:
            lib.bpf_link__disconnect(ptr)
        lib.bpf_link__destroy(ptr)
        narrate(
            f"bpf_link__destroy({self._description})",
            "inherited by fork: only this process's fds released" if inherited else "detached",
            phase="tear down",
        )

    def _warns_when_dropped(self) -> bool:
        return not self._disconnected and not self._kept_by_object


class Attachment(Link):
    """Base of the attachments that are not BPF links (legacy tc, netlink XDP, socket
    filters): no fd, no pin, no info, no update; the library removes them itself.

    A subclass holds what it needs to find its attachment again and implements
    :meth:`_remove`. It outlives every fd by kernel design, so a forked child closing
    its inherited handle leaves it alone: it is still the parent's.
    """

    #: The ``what to use instead`` a refusal ends with.
    _instead = "use attach_tcx/attach_xdp for a link"

    def __init__(self, *, program: LinkedProgram | None = None, description: str = "") -> None:
        self._forks = fork_count()
        self._setup(program, description)

    @property
    def is_bpf_link(self) -> bool:
        """False: the kernel has no BPF link for this attachment."""
        return False

    @property
    def fd(self) -> int:
        """-1: an attachment that is not a BPF link has no link fd."""
        self._require_open("Link.fd")
        return -1

    def _need_bpf_link(self, what: str) -> int:
        self._require_open(what)
        raise NotSupported(
            f"{what}: {self._description} is not a BPF link (legacy tc, "
            f"netlink XDP and socket filters have no link fd); {self._instead}"
        )

    def _detach_from_hook(self) -> int:
        return 0  # close removes it (see _release)

    def _remove(self) -> None:
        """Remove the attachment from its hook; gone already is success."""
        raise NotImplementedError

    def _release(self) -> None:
        # Only an explicit detach() in a forked child acts on the parent's attachment.
        kept = self._disconnected or fork_count() != self._forks
        if not kept:
            self._remove()
        narrate(
            f"removing {self._description}",
            "left attached" if kept else "detached",
            phase="tear down",
        )


class StructOpsRegistration(Attachment):
    """A struct_ops map of a plain ``SEC(".struct_ops")`` section, registered with its
    subsystem by writing the map's value (``bpf_map__attach_struct_ops``), with no BPF
    link: the registration outlives every fd by kernel design, until the map's entry is
    deleted, which :meth:`Link.detach` and close do (libbpf's destroy deletes it).
    """

    _instead = 'declare the map in SEC(".struct_ops.link") for a BPF link (Linux 6.4+)'

    def __init__(self, ptr: Any, *, description: str = "", kept_by_object: bool = False) -> None:
        self._ptr = ptr
        self._kept_by_object = kept_by_object
        super().__init__(description=description)

    def update_map(self, map: OpsMap) -> None:
        """Refused: only a struct_ops BPF link can swap its map."""
        self._require_open("Link.update_map()")
        raise NotSupported(
            f"Link.update_map(): {self._description} is registered without a BPF link, "
            f"which has no map to swap; {self._instead}"
        )

    def _remove(self) -> None:
        ptr, self._ptr = self._ptr, None
        lib.bpf_link__destroy(ptr)  # deletes the map's entry: unregistered

    def _release(self) -> None:
        if self._disconnected or fork_count() != self._forks:
            # Left registered (on purpose, or it is the parent's): free libbpf's record only.
            ptr, self._ptr = self._ptr, None
            lib.bpf_link__disconnect(ptr)
            lib.bpf_link__destroy(ptr)
            narrate(f"bpf_link__destroy({self._description})", "left registered", phase="tear down")
            return
        self._remove()
        narrate(f"bpf_link__destroy({self._description})", "unregistered", phase="tear down")

    def _warns_when_dropped(self) -> bool:
        return not self._disconnected and not self._kept_by_object


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
    kind = _LINK_KINDS.get((program.type, program.expected_attach_type)) or _LINK_KINDS.get(
        (program.type, None)
    )
    return int(kind or 0)
