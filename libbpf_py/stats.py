"""Run statistics of BPF programs: switched on for a while with ``BPF_ENABLE_STATS``.

The kernel counts each program's runs and run time only while some process holds the
fd that ``bpf_enable_stats(BPF_STATS_RUN_TIME)`` returns (counting costs a little on
every run). :func:`stats_enabled` holds one for the length of a ``with`` block;
:meth:`Program.stats() <libbpf_py.program.Program.stats>` reads the counts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from libbpf_py._lowlevel import lib, libbpf_error
from libbpf_py.explain import narrate

__all__ = ["stats_enabled"]


@contextmanager
def stats_enabled() -> Iterator[None]:
    """Count run time and runs of every BPF program while the block runs.

    >>> with stats_enabled():          # doctest: +SKIP
    ...     prog.test_run(packet, repeat=1000)
    ...     prog.stats().run_count
    1000
    """
    fd = lib.bpf_enable_stats(lib.BPF_STATS_RUN_TIME)
    if fd < 0:
        raise libbpf_error(-fd, "enabling BPF run-time statistics (BPF_ENABLE_STATS)")
    narrate("bpf_enable_stats(BPF_STATS_RUN_TIME)", f"fd {fd}", phase="execute")
    try:
        yield
    finally:
        os.close(fd)
        narrate(
            "close(stats fd)",
            "statistics off (unless another holder keeps them on)",
            phase="execute",
        )
