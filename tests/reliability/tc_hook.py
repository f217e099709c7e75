"""A program on an interface's tc hook, on every kernel of the matrix.

tcx links came in Linux 6.6. On older kernels (Debian 12's 6.1) the reliability tests
put the same classifier on the hook as a legacy tc filter, which is not a BPF link: the
library removes it itself on detach and on close, and a killed process leaves it behind
by kernel design.
"""

from __future__ import annotations

import functools

import libbpf_py
from libbpf_py import features, netdev


@functools.cache
def tcx_missing() -> str | None:
    """Why this kernel has no tcx links (the probed reason), or None where it has them."""
    return features.check("attach:tcx")


def attach_tc_hook(
    program: libbpf_py.Program, dev: str | int, direction: str = "ingress"
) -> libbpf_py.Link:
    """A tcx link where the kernel has them, else a legacy tc filter."""
    if tcx_missing() is None:
        return program.attach_tcx(dev, direction)
    return program.attach_tc(dev, direction)


def tc_hook_programs(dev: str | int, direction: str = "ingress") -> list[int]:
    """The ids of the programs at ``dev``'s tc hook: tcx links and legacy filters alike."""
    entries = netdev.tc_filters(dev, direction)
    if tcx_missing() is None:
        entries += netdev.tcx_programs(dev, direction)
    return [entry.program_id for entry in entries]
