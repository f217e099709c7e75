"""Program load flags (``prog_flags`` of ``BPF_PROG_LOAD``), as :class:`ProgramFlag`.

The values are read from the compiled module's declarations of ``linux/bpf.h``, so
they cannot drift from the kernel headers the pinned libbpf ships. This is why the
class lives here and not in the pure-Python :mod:`libbpf_py.enums`.
"""

from __future__ import annotations

import enum

from libbpf_py._lowlevel import lib

__all__ = ["ProgramFlag"]


class ProgramFlag(enum.IntFlag):
    """``BPF_F_*`` flags a program is loaded with; set them on
    :attr:`OpenProgram.flags <libbpf_py.OpenProgram.flags>` before load.

    Members combine with ``|``; :attr:`OpenProgram.flags` reads them back as this type.
    """

    #: Reject unaligned accesses even where the CPU allows them.
    STRICT_ALIGNMENT = lib.BPF_F_STRICT_ALIGNMENT
    #: Let the verifier accept unaligned accesses (for testing; unsafe on strict CPUs).
    ANY_ALIGNMENT = lib.BPF_F_ANY_ALIGNMENT
    #: Fill the upper halves of 32-bit registers with random bits (verifier testing).
    TEST_RND_HI32 = lib.BPF_F_TEST_RND_HI32
    #: Make the verifier save its states more often (verifier testing).
    TEST_STATE_FREQ = lib.BPF_F_TEST_STATE_FREQ
    #: A sleepable program (fentry, LSM, uprobe, ... ``.s`` sections set it).
    SLEEPABLE = lib.BPF_F_SLEEPABLE
    #: An XDP program that handles multi-buffer frames (``SEC("xdp.frags")`` sets it).
    XDP_HAS_FRAGS = lib.BPF_F_XDP_HAS_FRAGS
    #: Bind an XDP program to the device of :attr:`OpenProgram.ifindex` without
    #: offloading it: it may call that driver's metadata kfuncs and attaches only there.
    XDP_DEV_BOUND_ONLY = lib.BPF_F_XDP_DEV_BOUND_ONLY
    #: Make the verifier check its register bounds (verifier testing).
    TEST_REG_INVARIANTS = lib.BPF_F_TEST_REG_INVARIANTS
