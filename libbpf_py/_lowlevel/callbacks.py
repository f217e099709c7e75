"""The Python end of the ring buffer trampoline in csrc/events.c (perf buffers call
Python from C directly: csrc/perfcore.c).

libbpf calls a C function per record; these ``extern "Python"`` functions receive it with
a handle to the Python object that wants it. A callback must never let an exception
escape into C: it is stored on that object (with its traceback) and C is told to stop;
the poll then re-raises it in the caller.
"""

from __future__ import annotations

from typing import Any, Protocol

from libbpf_py._lowlevel import ffi, lib

__all__ = ["RecordSink"]

STOP = int(lib.LPY_STOP)


class RecordSink(Protocol):
    """What a ring of a RingBuffer offers to the record trampoline."""

    def deliver(self, data: Any, size: int) -> None:
        """Handle one record (``data`` is valid only during the call)."""

    def fail(self, exc: BaseException) -> None:
        """Keep ``exc`` to be re-raised once libbpf returns."""


@ffi.def_extern()  # type: ignore[untyped-decorator]
def lpy_on_ring_record(handle: Any, data: Any, size: int) -> int:
    """One ring buffer record for a Python callback."""
    sink: RecordSink = ffi.from_handle(handle)
    try:
        sink.deliver(data, size)
    except BaseException as exc:
        sink.fail(exc)
        return STOP
    return 0
