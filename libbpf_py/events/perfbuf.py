"""Phase 6, execute: perf buffers (``BPF_MAP_TYPE_PERF_EVENT_ARRAY``) read from Python.

The kernel gives every CPU its own buffer; a full buffer drops samples and later says how
many. A :class:`PerfBuffer` always reports those losses: to ``on_lost``, or — without
it — as :class:`LostSamples` items among the iterated samples, or as a
:class:`LostSamplesWarning` when samples go to ``on_sample``. :attr:`PerfBuffer.lost`
counts them all.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from libbpf_py._lowlevel import libbpf_error
from libbpf_py._lowlevel.inside import InsideC, poll_in_slices
from libbpf_py._lowlevel.owner import Owner
from libbpf_py._lowlevel.perfcore import PerfReader
from libbpf_py.enums import MapType
from libbpf_py.errors import LayoutError
from libbpf_py.events.ringbuf import record_type_of, wait_fd_readable
from libbpf_py.explain import narrate
from libbpf_py.types._records import RecordType

if TYPE_CHECKING:
    from libbpf_py.maps._map import Map

__all__ = ["LostSamples", "LostSamplesWarning", "PerfBuffer", "PerfSample"]

_INT_MAX = 2**31 - 1


@dataclass(frozen=True)
class PerfSample:
    """One sample: the CPU whose buffer held it, and the record (``bytes`` or typed)."""

    cpu: int
    record: Any


@dataclass(frozen=True)
class LostSamples:
    """The kernel's report that ``count`` samples did not fit the buffer of ``cpu``."""

    cpu: int
    count: int


class LostSamplesWarning(UserWarning):
    """Samples were lost and no ``on_lost`` callback was given to hear about it."""


class PerfBuffer(Owner):
    """Per-CPU perf buffers of one ``perf_event_array`` map.

    ``on_sample(cpu, record)`` receives each sample (``bytes``, or typed with
    ``record_type``); without it samples are kept for iteration and ``async for``.
    ``on_lost(cpu, count)`` hears of lost samples. A callback that raises stops the
    delivery: the exception comes out of the poll with its traceback, and the samples
    that came after it wait for the next poll (none is dropped). Both callbacks are
    fixed when the buffer is made.

    Samples for ``on_sample`` are read, decoded and handed over by C
    (:mod:`libbpf_py._lowlevel.perfcore`), one call per sample.
    """

    def __init__(
        self,
        perf_map: Map,
        on_sample: Callable[[int, Any], object] | None = None,
        on_lost: Callable[[int, int], object] | None = None,
        *,
        page_count: int = 8,
        record_type: str | None = None,
    ) -> None:
        self._reader: PerfReader | None = None
        self._inside = InsideC()
        self._closed = True
        fd = perf_map.fd
        if perf_map.type != MapType.PERF_EVENT_ARRAY:
            raise LayoutError(
                f"map {perf_map.name!r} is a {perf_map.type.label} map; a "
                "PerfBuffer reads perf_event_array maps (a ringbuf map needs "
                "RingBuffer)"
            )
        if page_count <= 0 or page_count & (page_count - 1):
            raise ValueError(f"page_count must be a power of two, got {page_count}")
        for name, cb in (("on_sample", on_sample), ("on_lost", on_lost)):
            if cb is not None and not callable(cb):
                raise TypeError(f"{name} must be callable, not {type(cb).__name__}")
        self.map = perf_map
        self._on_sample = on_sample
        self._on_lost = on_lost
        self.record_type: RecordType | None = (
            record_type_of(perf_map, record_type) if record_type is not None else None
        )
        self.lost = 0
        self.lost_by_cpu: dict[int, int] = {}
        self._delivered = 0  # by the Python side; the reader counts its own
        self._kept: deque[PerfSample | LostSamples] = deque()
        self._backlog: deque[tuple[str, int, Any]] = deque()
        decode = self.record_type.decode if self.record_type is not None else None
        try:
            self._reader = PerfReader(
                fd, page_count, on_sample, decode, self._take_sample, self._take_lost
            )
        except OSError as exc:
            raise libbpf_error(
                exc.errno or 0, f"creating perf buffers for map {perf_map.name!r}"
            ) from None
        self._closed = False
        narrate(
            f"perf_buffer__new({perf_map.name!r}, {page_count} pages)",
            f"{self.buffer_count} per-CPU buffers",
            phase="execute",
        )

    def __repr__(self) -> str:
        return f"<PerfBuffer {self.map.name!r} lost={self.lost}{' closed' if self._closed else ''}>"

    @property
    def on_sample(self) -> Callable[[int, Any], object] | None:
        """The callback samples go to (None: they are kept for iteration)."""
        return self._on_sample

    @property
    def on_lost(self) -> Callable[[int, int], object] | None:
        """The callback loss reports go to (None: see the class)."""
        return self._on_lost

    @property
    def buffer_count(self) -> int:
        """How many per-CPU buffers there are."""
        return self._ready("PerfBuffer.buffer_count").buffer_count()

    # The reader's side: what C leaves to Python (see libbpf_py._lowlevel.perfcore).
    def _take_sample(self, cpu: int, raw: bytes, pending: bool) -> None:
        if pending:
            self._backlog.append(("sample", cpu, raw))
            return
        self._deliver_sample(cpu, raw)

    def _deliver_sample(self, cpu: int, raw: bytes) -> None:
        record = self.record_type.decode(raw) if self.record_type is not None else raw
        self._delivered += 1
        if self._on_sample is None:
            self._kept.append(PerfSample(cpu, record))
        else:
            self._on_sample(cpu, record)

    def _take_lost(self, cpu: int, count: int, pending: bool) -> None:
        self.lost += count
        self.lost_by_cpu[cpu] = self.lost_by_cpu.get(cpu, 0) + count
        if pending:
            self._backlog.append(("lost", cpu, count))
            return
        self._deliver_lost(cpu, count)

    def _deliver_lost(self, cpu: int, count: int) -> None:
        if self._on_lost is not None:
            self._on_lost(cpu, count)
        elif self._on_sample is None:
            self._kept.append(LostSamples(cpu, count))
        else:
            warnings.warn(
                f"perf buffer of map {self.map.name!r}: {count} samples lost on "
                f"CPU {cpu} (pass on_lost to handle this, or a larger page_count)",
                LostSamplesWarning,
                stacklevel=4,
            )

    def _ready(self, what: str) -> PerfReader:
        self._require_open(what)
        self.map.fd  # noqa: B018 - raises PhaseError once the map's object is closed
        assert self._reader is not None
        return self._reader

    def _count(self) -> int:
        """Samples delivered so far, by C and by the Python side."""
        reader = self._reader
        return self._delivered + (reader.delivered() if reader is not None else 0)

    def _replay(self) -> None:
        """Deliver what came after a callback raised, before anything new."""
        while self._backlog:
            kind, cpu, value = self._backlog[0]
            self._backlog.popleft()
            if kind == "sample":
                self._deliver_sample(cpu, value)
            else:
                self._deliver_lost(cpu, value)

    def poll(self, timeout: float | None = None) -> int:
        """Wait up to ``timeout`` seconds (None: forever) for samples and handle them.

        Returns how many samples were delivered. Ctrl-C interrupts the wait.
        """
        self._inside.enter(self, "PerfBuffer.poll()")
        try:
            reader = self._ready("PerfBuffer.poll()")
            before = self._count()
            self._replay()
            if self._count() > before:
                return self._count() - before
            ret = poll_in_slices(self, reader.poll, timeout, lambda: False, "PerfBuffer.poll()")
            if ret < 0:
                raise libbpf_error(-ret, "polling perf buffers")
            return self._count() - before
        finally:
            self._inside.leave()

    def consume(self) -> int:
        """Handle every sample there is now, without waiting; returns how many."""
        self._inside.enter(self, "PerfBuffer.consume()")
        try:
            reader = self._ready("PerfBuffer.consume()")
            before = self._count()
            self._replay()
            ret = reader.consume()
        finally:
            self._inside.leave()
        if ret < 0:
            raise libbpf_error(-ret, "consuming perf buffers")
        return self._count() - before

    def fileno(self) -> int:
        """The epoll fd that becomes readable when a CPU's buffer has data."""
        return self._ready("PerfBuffer.fileno()").epoll_fd()

    def _next_kept(self) -> tuple[bool, PerfSample | LostSamples | None]:
        if self._kept:
            return True, self._kept.popleft()
        return False, None

    def __iter__(self) -> Iterator[PerfSample | LostSamples]:
        """Samples (and loss reports) as they come, forever, when there is no on_sample."""
        while True:
            found, item = self._next_kept()
            if found:
                assert item is not None
                yield item
                continue
            self.poll(None)

    def __aiter__(self) -> AsyncIterator[PerfSample | LostSamples]:
        """``async for sample in perf``: woken by the epoll fd on the running loop."""
        return self._samples_async()

    async def _samples_async(self) -> AsyncIterator[PerfSample | LostSamples]:
        while True:
            found, item = self._next_kept()
            if found:
                assert item is not None
                yield item
                continue
            self.consume()
            if not self._kept:
                await wait_fd_readable(self.fileno(), None)

    async def poll_async(self, timeout: float | None = None) -> int:
        """:meth:`poll` for asyncio: await data without blocking the loop."""
        done = self.consume()
        if done or not await wait_fd_readable(self.fileno(), timeout):
            return done
        return self.consume()

    def _release(self) -> None:
        self._inside.release(self._free)

    def _free(self) -> None:
        reader = self._reader
        if reader is not None:
            # The count stays readable; the reader keeps nothing alive once freed.
            self._delivered += reader.delivered()
            self._reader = None
            reader.free()
            narrate("perf_buffer__free()", "per-CPU buffers unmapped", phase="tear down")
        self._kept.clear()
        self._backlog.clear()
