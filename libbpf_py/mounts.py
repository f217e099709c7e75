"""The pseudo file systems BPF work needs: bpffs for pins, tracefs for tracepoints.

Some machines boot without them mounted; these helpers mount them on first use (root
only) and say clearly what is missing otherwise.
"""

from __future__ import annotations

import os

from libbpf_py.errors import NotFound, NotOnBpffs

# subprocess is imported by the one function that mounts: every map and link imports this
# module, and ``import libbpf_py`` has an import-time budget (tests/test_import_time.py).

__all__ = [
    "BPFFS",
    "TRACEFS",
    "check_pin_path",
    "ensure_bpffs",
    "ensure_tracefs",
    "fstype_of",
    "is_mounted",
]

BPFFS = "/sys/fs/bpf"
TRACEFS = "/sys/kernel/tracing"


def is_mounted(path: str, fstype: str) -> bool:
    """Whether a file system of ``fstype`` is mounted exactly at ``path``."""
    try:
        with open("/proc/self/mounts") as mounts:
            return any(line.split()[1:3] == [path, fstype] for line in mounts)
    except OSError:  # pragma: no cover - /proc is always there on Linux
        return False


def _ensure(path: str, fstype: str, purpose: str) -> str:
    if is_mounted(path, fstype):
        return path
    os.makedirs(path, exist_ok=True)
    import subprocess

    proc = subprocess.run(["mount", "-t", fstype, fstype, path], capture_output=True, text=True)
    if proc.returncode != 0 and not is_mounted(path, fstype):
        raise NotFound(
            f"{fstype} is not mounted at {path} and mounting it failed "
            f"({proc.stderr.strip()}); {purpose} needs it: as root, run "
            f"'mount -t {fstype} {fstype} {path}'"
        )
    return path


def ensure_bpffs() -> str:
    """Make sure bpffs is mounted at /sys/fs/bpf; return the path."""
    return _ensure(BPFFS, "bpf", "pinning")


def ensure_tracefs() -> str:
    """Make sure tracefs is mounted at /sys/kernel/tracing; return the path."""
    return _ensure(TRACEFS, "tracefs", "attaching tracepoints")


def fstype_of(path: str | os.PathLike[str]) -> str:
    """The type of the file system ``path`` is on (``"bpf"`` for bpffs), from mountinfo."""
    real = os.path.realpath(path)
    best, fstype = "", ""
    with open("/proc/self/mountinfo") as mounts:
        for line in mounts:
            fields = line.split()
            # mount point is field 5; the file system type follows the " - " separator.
            point = fields[4].replace("\\040", " ")
            sep = fields.index("-")
            inside = real == point or real.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best):
                best, fstype = point, fields[sep + 1]
    return fstype


def check_pin_path(path: str | os.PathLike[str], what: str) -> str:
    """Refuse, with a clear error, a pin path whose folder is missing or not on bpffs.

    The kernel answers EPERM for a path outside bpffs, which would read as a missing
    capability; this says what is really wrong. Returns the path as a string.
    """
    where = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(where)) or "/"
    if not os.path.isdir(folder):
        raise NotFound(
            f"{what}: the folder {folder} does not exist (create it on a bpffs "
            f"mount such as {BPFFS} first)"
        )
    fstype = fstype_of(folder)
    if fstype != "bpf":
        raise NotOnBpffs(
            f"{what}: {where} is on a {fstype or 'unknown'} file system, not "
            f"on bpffs; BPF objects are pinned under a bpffs mount such as "
            f"{BPFFS} (libbpf_py.mounts.ensure_bpffs() mounts it)"
        )
    return where


def check_pin_mode(mode: int, what: str) -> None:
    """Refuse a pin mode with bits beyond rwx (checked before anything is pinned)."""
    if not isinstance(mode, int) or isinstance(mode, bool) or mode & ~0o777:
        raise ValueError(f"{what}: mode {mode!r} is not permission bits (0o000..0o777)")


def set_pin_mode(path: str, mode: int) -> None:
    """Give a fresh pin exactly ``mode`` (the kernel applies the umask to its 0600)."""
    os.chmod(path, mode)
