"""Attach to a cgroup v2 directory, at the attach type the program's section names."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from libbpf_py import features
from libbpf_py._lowlevel import ffi, lib
from libbpf_py.attach._base import AttachBase
from libbpf_py.errors import NotFound
from libbpf_py.link._link import Link

__all__ = ["CgroupAttach"]


class CgroupAttach(AttachBase):
    """The attach method for cgroup programs."""

    def attach_cgroup(self, cgroup: str | os.PathLike[str]) -> Link:
        """Attach to the cgroup v2 directory ``cgroup`` (at the attach type of the section)."""
        prog = self._libbpf_program("cgroup")
        path = os.fspath(cgroup)
        what = f"attaching {self.name!r} to cgroup {path}"
        if not Path(path, "cgroup.procs").exists():
            raise NotFound(
                f"{what}: {path} is not a cgroup v2 directory (cgroup v2 is "
                f"mounted at {features.cgroup2_mount() or 'no place'})",
                errno=errno.ENOENT,
            )
        cg_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            return self._made(
                lib.bpf_program__attach_cgroup_opts(prog, cg_fd, ffi.NULL),
                f"bpf_program__attach_cgroup({self.name!r}, {path})",
                what,
                f"{self.name} ({self.expected_attach_type.label} on {path})",
            )
        finally:
            os.close(cg_fd)
