"""Attach to a cgroup v2 directory, at the attach type the program's section names."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

from libbpf_py import features
from libbpf_py._lowlevel import errno_of, lib
from libbpf_py.attach._base import AttachBase, _opts
from libbpf_py.attach._order import placement, placement_error
from libbpf_py.errors import (
    NotFound,
    NotSupported,
    PermissionDenied,
    _has_admin_capabilities,
    missing_capability_hint,
)
from libbpf_py.explain import narrate
from libbpf_py.link._link import Link

__all__ = ["CgroupAttach"]


class CgroupAttach(AttachBase):
    """The attach method for cgroup programs."""

    def attach_cgroup(
        self,
        cgroup: str | os.PathLike[str],
        *,
        before: Any = None,
        after: Any = None,
        expected_revision: int = 0,
    ) -> Link:
        """Attach to the cgroup v2 directory ``cgroup`` (at the attach type of the section).

        Several programs may share a cgroup hook; by default a new one runs after those
        already there. ``before``/``after`` place it next to a :class:`Link` at the same
        hook of this cgroup, or one named by its ``LinkInfo`` (the kernel finds a
        program attached through a link only by its link; one attached without a
        link, by its :class:`Program` or ``ProgramInfo``), or first/last with
        ``before=True``/``after=True``; ``expected_revision`` makes the attach fail if
        the hook changed since you looked. Placing needs Linux 6.16 or a stable kernel
        that took the change (probed as ``attach:cgroup_ordering``); a kernel without
        it raises :class:`~libbpf_py.errors.NotSupported`. The kernel has no
        replace-on-attach for cgroup links: swap a program with :meth:`Link.update`.
        """
        prog = self._libbpf_program("cgroup")
        where = placement(before, after, expected_revision)
        path = os.fspath(cgroup)
        what = f"attaching {self.name!r} to cgroup {path}"
        if not Path(path, "cgroup.procs").exists():
            raise NotFound(
                f"{what}: {path} is not a cgroup v2 directory (cgroup v2 is "
                f"mounted at {features.cgroup2_mount() or 'no place'})",
                errno=errno.ENOENT,
            )
        if where.requested:
            self._require_ordering(what)
        opts = where.fill(_opts("bpf_cgroup_opts"))
        cg_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            ptr = lib.bpf_program__attach_cgroup_opts(prog, cg_fd, opts)
        finally:
            os.close(cg_fd)
        err = errno_of(ptr)
        if err:
            raise placement_error(err, what, where)
        narrate(
            f"bpf_program__attach_cgroup_opts({self.name!r}, {path}, flags={where.flags:#x})",
            f"link fd {lib.bpf_link__fd(ptr)}",
            phase="attach",
        )
        return self._link(ptr, f"{self.name} ({self.expected_attach_type.label} on {path})")

    def _require_ordering(self, what: str) -> None:
        """Refuse a placement the kernel cannot make: a kernel without cgroup ordering
        refuses a cgroup link's flags (EINVAL) and silently drops an expected revision."""
        reason = features.check("attach:cgroup_ordering")
        if reason:
            if not _has_admin_capabilities():
                raise PermissionDenied(f"{what}: {missing_capability_hint()}", errno=errno.EPERM)
            raise NotSupported(
                f"{what}: this kernel cannot place programs in a cgroup hook "
                f"(features.check('attach:cgroup_ordering')): {reason}"
            )
