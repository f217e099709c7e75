"""A loaded program: attach it (phase 5), run it with ``test_run``, ask the kernel about it.

This package owns :class:`Program` (with the attach methods of :mod:`libbpf_py.attach`
mixed in) and the results of ``test_run``. It sits above attach, links and maps and
below the objects that load programs, which it names by the ``ParentObject`` Protocol.
"""

from __future__ import annotations

from libbpf_py.program._flags import ProgramFlag
from libbpf_py.program._program import (
    Program,
    ProgramInfo,
    ProgramStats,
    TestRunFlag,
    TestRunResult,
    program_info,
)

__all__ = [
    "Program",
    "ProgramFlag",
    "ProgramInfo",
    "ProgramStats",
    "TestRunFlag",
    "TestRunResult",
    "program_info",
]
