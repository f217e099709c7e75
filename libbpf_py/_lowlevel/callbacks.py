"""The Python ends of the C trampolines in csrc/events.c.

libbpf calls a C function per record; these ``extern "Python"`` functions receive it with
a handle to the Python object that wants it. A callback must never let an exception
escape into C: it is stored on that object (with its traceback) and C is told to stop;
the poll then re-raises it in the caller.
"""

from __future__ import annotations

from typing import Any, Protocol

from libbpf_py._lowlevel import ffi, lib

__all__ = ["RecordSink", "SampleSink"]

STOP = int(lib.LPY_STOP)


class RecordSink(Protocol):
    """What a ring of a RingBuffer offers to the record trampoline."""

    def deliver(self, data: Any, size: int) -> None:
        """Handle one record (``data`` is valid only during the call)."""

    def fail(self, exc: BaseException) -> None:
        """Keep ``exc`` to be re-raised once libbpf returns."""


class SampleSink(Protocol):
    """What a PerfBuffer offers to the sample and lost trampolines."""

    def take_sample(self, cpu: int, data: Any, size: int) -> None:
        """Handle one sample (``data`` is valid only during the call)."""

    def take_lost(self, cpu: int, count: int) -> None:
        """Handle a report of ``count`` samples lost on ``cpu``."""

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


@ffi.def_extern()  # type: ignore[untyped-decorator]
def lpy_on_perf_sample(handle: Any, cpu: int, data: Any, size: int) -> None:
    """One perf buffer sample."""
    sink: SampleSink = ffi.from_handle(handle)
    try:
        sink.take_sample(cpu, data, size)
    except BaseException as exc:
        sink.fail(exc)


@ffi.def_extern()  # type: ignore[untyped-decorator]
def lpy_on_perf_lost(handle: Any, cpu: int, count: int) -> None:
    """A perf buffer's report of lost samples."""
    sink: SampleSink = ffi.from_handle(handle)
    try:
        sink.take_lost(cpu, count)
    except BaseException as exc:
        sink.fail(exc)
