"""The unsafe layer: the compiled CFFI module, the error funnel and libbpf's log.

This package is the only importer of the compiled module (``libbpf_py._libbpf``,
through ``loader``, which checks its version). It owns the error funnel (``funnel``),
libbpf's print callback (``printlog``), the C test_run fast path (``fastcall``), the C
callbacks of the event channels (``callbacks``) and running them with signals
delivered (``inside``), the owner of a ``struct bpf_object *`` (``handle``), the base
of every owner of a kernel resource and the one fd owner, owned or borrowed (``owner``).
Names here keep libbpf's C names. Nothing above this layer touches ``lib`` without
going through :func:`check` or :func:`check_ptr`.
"""

from __future__ import annotations

from libbpf_py._lowlevel.funnel import check, check_ptr, errno_of, libbpf_error
from libbpf_py._lowlevel.loader import ffi, lib
from libbpf_py._lowlevel.printlog import capture_program_logs, capture_warnings, update_print_level

__all__ = [
    "capture_program_logs",
    "capture_warnings",
    "check",
    "check_ptr",
    "errno_of",
    "ffi",
    "lib",
    "libbpf_error",
    "update_print_level",
]
