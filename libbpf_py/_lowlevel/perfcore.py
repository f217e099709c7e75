"""libbpf's perf buffer read with C callbacks: :class:`PerfReader`, from csrc/perfcore.c.

``PerfReader(map_fd, page_count, on_sample, decode, take_sample, take_lost)`` makes the
per-CPU buffers of a ``perf_event_array`` map (``OSError`` with libbpf's errno if it
cannot). ``consume()`` and ``poll(ms)`` run libbpf with the GIL held (``poll`` releases
it while it waits on the epoll fd); each sample becomes ``bytes``, is decoded by
``decode`` (None: the bytes themselves) and is given to ``on_sample(cpu, record)``
straight from C. Without ``on_sample``, and for every sample after a callback raised,
C calls ``take_sample(cpu, raw, pending)``; loss reports go to ``take_lost(cpu, count,
pending)``. ``pending`` is True once a callback of this call raised: that first
exception is raised by the ``consume()``/``poll()`` itself, and the Python side keeps
what is pending for the next call. ``delivered()`` counts the samples C gave
``on_sample``; ``free()`` unmaps the buffers. The class reads no Python attribute.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from libbpf_py._lowlevel.loader import lib

__all__ = ["PerfReader"]

if TYPE_CHECKING:

    class PerfReader:
        """libbpf's perf buffer with its sample callback in C."""

        def __init__(
            self,
            map_fd: int,
            page_count: int,
            on_sample: Callable[[int, Any], object] | None,
            decode: Callable[[bytes], Any] | None,
            take_sample: Callable[[int, bytes, bool], object],
            take_lost: Callable[[int, int, bool], object],
        ) -> None: ...

        def consume(self) -> int:
            """Handle every sample there is now: 0, or -errno."""
            return 0

        def poll(self, ms: int) -> int:
            """Wait up to ``ms`` ms: how many buffers had data, or -errno."""
            return 0

        def epoll_fd(self) -> int:
            """The fd that becomes readable when a buffer has data."""
            return 0

        def buffer_count(self) -> int:
            """How many per-CPU buffers there are."""
            return 0

        def delivered(self) -> int:
            """How many samples C gave ``on_sample``."""
            return 0

        def free(self) -> None:
            """Unmap the buffers and drop the callbacks."""

elif lib.lpy_perfcore_install(__name__.encode()) != 0:  # pragma: no cover - out of memory
    raise ImportError("libbpf_py: installing the C perf buffer reader failed")
