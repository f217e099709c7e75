"""Order in a hook that runs several programs: where a new link goes among the others.

tcx, netkit and (from Linux 6.16, and stable kernels that took it) cgroup hooks keep
an ordered list of programs, and a link-create call may say where the new one goes:
before or after a program or link that is already there, or first or last. The kernel
takes that as a flag (``BPF_F_BEFORE`` or ``BPF_F_AFTER``, with ``BPF_F_LINK`` when
the anchor is a link) and the anchor as a file descriptor or, with ``BPF_F_ID``, as an
id. tcx and netkit find an anchor program however it was attached; a cgroup hook finds
a program attached through a link only by that link (naming the program is EINVAL
there). libbpf sets
``BPF_F_ID`` itself when it is given an id, so :class:`Placement` carries only the
other flags. An ``expected_revision`` makes the kernel refuse the change if the hook's
list changed since the caller looked (``ESTALE``).

Every attach method with ``before=``/``after=`` builds its :class:`Placement` here, and
reads the kernel's refusals through :func:`placement_error`.
"""

from __future__ import annotations

import errno
import operator
from typing import Any, NamedTuple

from libbpf_py._lowlevel import lib, libbpf_error
from libbpf_py.attach._base import AttachBase
from libbpf_py.errors import BpfError
from libbpf_py.link._link import Link
from libbpf_py.query import LinkInfo, ProgramInfo

__all__ = ["Placement", "placement", "placement_error"]

_ANCHORS = (
    "a Program, a Link, a ProgramInfo or LinkInfo (by id, e.g. from another process), "
    "or True (first for before=, last for after=)"
)


class Placement(NamedTuple):
    """Where a new link goes: the kernel's flags and its anchor (an fd or an id, never
    both; both 0 with a flag means first or last)."""

    flags: int
    relative_fd: int
    relative_id: int
    expected_revision: int

    @property
    def anchored(self) -> bool:
        """Whether the placement names a program or link to go next to."""
        return bool(self.relative_fd or self.relative_id)

    def fill(self, opts: Any) -> Any:
        """Set the fields of a libbpf ordering options struct (``bpf_tcx_opts``,
        ``bpf_netkit_opts``, ``bpf_cgroup_opts``: one layout) and return it."""
        opts.flags = self.flags
        opts.relative_fd = self.relative_fd
        opts.relative_id = self.relative_id
        opts.expected_revision = self.expected_revision
        return opts

    @property
    def by_link(self) -> bool:
        """Whether the anchor is a link (else a program)."""
        return bool(self.flags & lib.BPF_F_LINK)

    @property
    def requested(self) -> bool:
        """Whether the caller asked for more than the default (append, no revision)."""
        return bool(self.flags or self.expected_revision)


def placement(before: Any, after: Any, expected_revision: int = 0) -> Placement:
    """The :class:`Placement` that ``before=``/``after=`` and ``expected_revision`` ask for.

    Raises ``ValueError`` when both are given or the revision is negative, ``TypeError``
    for an anchor of another kind.
    """
    if before is not None and after is not None:
        raise ValueError("give before= or after=, not both")
    if isinstance(expected_revision, bool):
        raise TypeError("expected_revision is an int (the hook's revision), not a bool")
    revision = operator.index(expected_revision)
    if revision < 0:
        raise ValueError(f"expected_revision is a hook revision (>= 0), not {revision}")
    anchor, side, flag = (
        (before, "before", lib.BPF_F_BEFORE)
        if before is not None
        else (after, "after", lib.BPF_F_AFTER)
    )
    if anchor is None:
        return Placement(0, 0, 0, revision)
    if anchor is True:
        return Placement(flag, 0, 0, revision)
    if isinstance(anchor, Link):
        return Placement(flag | lib.BPF_F_LINK, anchor.fd, 0, revision)
    if isinstance(anchor, AttachBase):
        return Placement(flag, anchor.fd, 0, revision)
    if isinstance(anchor, LinkInfo):
        return Placement(flag | lib.BPF_F_LINK, 0, anchor.id, revision)
    if isinstance(anchor, ProgramInfo):
        return Placement(flag, 0, anchor.id, revision)
    raise TypeError(f"{side}= is {_ANCHORS}; not {type(anchor).__name__}")


def placement_error(err: int, what: str, where: Placement) -> BpfError:
    """The library error for a kernel's refusal ``err`` of an attach placed at ``where``,
    with a hint where the errno says something about the placement."""
    hint = ""
    if err == errno.ESTALE:
        hint = (
            f"the hook changed: its revision is no longer {where.expected_revision}; "
            "query it again and retry"
        )
    elif err == errno.ENOENT and where.anchored:
        hint = "the program or link to place it next to is not attached there"
    elif err == errno.EINVAL and where.anchored and not where.by_link:
        hint = (
            "that program is not attached there, or (in a cgroup hook) it is attached "
            "through a BPF link: name its Link (or LinkInfo) instead"
        )
    elif err == errno.ERANGE:
        hint = "the hook holds its maximum number of programs"
    elif err == errno.EEXIST:
        hint = "this program is already attached there"
    return libbpf_error(err, what, hint=hint)
