"""The pseudo file systems BPF work needs: bpffs for pins, tracefs for tracepoints.

Some machines boot without them mounted; these helpers mount them on first use (root
only) and say clearly what is missing otherwise.
"""

from __future__ import annotations

import os
import subprocess

from libbpf_py.errors import NotFound

__all__ = ["BPFFS", "TRACEFS", "ensure_bpffs", "ensure_tracefs", "is_mounted"]

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
    proc = subprocess.run(["mount", "-t", fstype, fstype, path], capture_output=True, text=True)
    if proc.returncode != 0 and not is_mounted(path, fstype):
        raise NotFound(f"{fstype} is not mounted at {path} and mounting it failed "
                       f"({proc.stderr.strip()}); {purpose} needs it: as root, run "
                       f"'mount -t {fstype} {fstype} {path}'")
    return path


def ensure_bpffs() -> str:
    """Make sure bpffs is mounted at /sys/fs/bpf; return the path."""
    return _ensure(BPFFS, "bpf", "pinning")


def ensure_tracefs() -> str:
    """Make sure tracefs is mounted at /sys/kernel/tracing; return the path."""
    return _ensure(TRACEFS, "tracefs", "attaching tracepoints")
