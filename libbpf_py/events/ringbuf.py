"""Phase 6, execute: ring buffers (``BPF_MAP_TYPE_RINGBUF``) read from Python.

One :class:`RingBuffer` polls one or more ring-buffer maps. Each ring either hands its
records to a callback (one record a call, or lists of them with ``batch=``), or keeps
them for :meth:`RingBuffer.drain` (a :class:`RecordBatch`, copied in C into one buffer),
for :meth:`RingBuffer.borrow` (a :class:`BorrowedBatch` viewing the ring's own pages),
for iteration, and for ``async for`` on the running asyncio loop (woken by the epoll fd
through ``loop.add_reader``; asyncio is imported only then).
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, overload

from libbpf_py._lowlevel import callbacks as _callbacks
from libbpf_py._lowlevel import errno_of, ffi, lib, libbpf_error
from libbpf_py._lowlevel import ringcore as _ringcore
from libbpf_py._lowlevel.inside import InsideC, poll_in_slices
from libbpf_py._lowlevel.owner import Owner
from libbpf_py.enums import MapType
from libbpf_py.errors import LayoutError, PhaseError
from libbpf_py.explain import narrate
from libbpf_py.query import types_of_map
from libbpf_py.types._records import RecordType, record_type

if TYPE_CHECKING:
    import numpy

    from libbpf_py.maps._map import Map

__all__ = ["BorrowedBatch", "RecordBatch", "RingBuffer", "RingState"]

_MODE_BATCH = int(lib.LPY_MODE_BATCH)
_MODE_CALLBACK = int(lib.LPY_MODE_CALLBACK)
_INT_MAX = 2**31 - 1
_SIZE_MAX = 2**64 - 1


@dataclass(frozen=True)
class RingState:
    """Where one ring stands (libbpf's ``ring__*`` view): positions grow forever."""

    size: int
    producer_pos: int
    consumer_pos: int
    available: int

    @property
    def fill(self) -> float:
        """How full the ring is, from 0.0 to 1.0."""
        return self.available / self.size if self.size else 0.0


class _Pool:
    """Arrays of finished batches, kept for the next drain: reusing pages already
    touched saves the page faults that fresh memory costs (most of a copy's time)."""

    def __init__(self) -> None:
        self.data: tuple[Any, int] | None = None
        self.offsets: tuple[Any, int] | None = None
        self.rings: tuple[Any, int] | None = None
        self.closed = False

    def _give(self, slot: str, size: int, ptr: Any) -> None:
        if self.closed or getattr(self, slot) is not None:
            lib.lpy_free(ptr)
        else:
            setattr(self, slot, (ptr, size))

    def give_data(self, capacity: int, ptr: Any) -> None:
        self._give("data", capacity, ptr)

    def give_offsets(self, slots: int, ptr: Any) -> None:
        self._give("offsets", slots, ptr)

    def give_rings(self, slots: int, ptr: Any) -> None:
        self._give("rings", slots, ptr)

    def refill(self, batch: Any) -> None:
        """Hand the spare arrays to an empty C batch."""
        if batch.count or batch.used:
            return
        data, capacity = self.data if self.data is not None else (ffi.NULL, 0)
        index_ok = (
            self.offsets is not None and self.rings is not None and self.offsets[1] == self.rings[1]
        )
        offsets, slots = self.offsets if index_ok and self.offsets else (ffi.NULL, 0)
        rings = self.rings[0] if index_ok and self.rings else ffi.NULL
        if data == ffi.NULL and offsets == ffi.NULL:
            return
        lib.lpy_batch_adopt(batch, data, capacity, offsets, rings, slots)
        self.data = None
        if index_ok:
            self.offsets = self.rings = None

    def close(self) -> None:
        self.closed = True
        for slot in ("data", "offsets", "rings"):
            spare = getattr(self, slot)
            if spare is not None:
                lib.lpy_free(spare[0])
                setattr(self, slot, None)


class _Memory:
    """Records moved out of a C batch; its arrays go back to the pool (or are freed)
    once nothing uses them."""

    __slots__ = ("count", "offsets", "rings", "view")

    def __init__(self, batch: Any, pool: _Pool) -> None:
        self.count = int(batch.count)
        used = int(batch.used)
        slots = int(batch.slots)
        data = (
            ffi.gc(batch.data, partial(pool.give_data, int(batch.capacity)))
            if batch.data != ffi.NULL
            else None
        )
        offsets = ffi.gc(batch.offsets, partial(pool.give_offsets, slots))
        rings = (
            ffi.gc(batch.rings, partial(pool.give_rings, slots))
            if batch.rings != ffi.NULL
            else None
        )
        # memoryviews keep their ffi.buffer, which keeps the gc-owned pointer alive.
        self.view = memoryview(ffi.buffer(data, used)) if data is not None else memoryview(b"")
        self.offsets = memoryview(ffi.buffer(offsets, (self.count + 1) * 8)).cast("Q")
        self.rings = (
            memoryview(ffi.buffer(rings, self.count * 4)).cast("I")
            if rings is not None
            else memoryview(b"").cast("I")
        )


class RecordBatch(Sequence[Any]):
    """Records drained at once: one buffer and an offsets array, made in C.

    ``batch[i]`` is a ``memoryview`` of record ``i`` (or its decoded value, when its ring
    was given a ``record_type``); no Python object exists for a record until asked for.
    :meth:`to_numpy` views fixed-size records as a numpy array without copying.
    """

    def __init__(
        self, memory: _Memory | None, start: int, stop: int, types: Sequence[RecordType | None]
    ) -> None:
        self._memory = memory
        self._start = start
        self._stop = stop
        self._types = tuple(types)
        self._typed = any(t is not None for t in self._types)

    def __repr__(self) -> str:
        return f"<RecordBatch {len(self)} records, {self.nbytes} bytes>"

    def __len__(self) -> int:
        return self._stop - self._start

    @property
    def nbytes(self) -> int:
        """The bytes of all records together."""
        m = self._memory
        return 0 if m is None else m.offsets[self._stop] - m.offsets[self._start]

    def raw(self, index: int) -> memoryview:
        """Record ``index`` as a read-only ``memoryview``, never decoded."""
        m, j = self._memory, self._index(index)
        assert m is not None
        return m.view[m.offsets[j] : m.offsets[j + 1]]

    def ring(self, index: int) -> int:
        """Which ring of the poller (the order of ``add``) record ``index`` came from."""
        m, j = self._memory, self._index(index)
        assert m is not None
        return int(m.rings[j])

    def _index(self, index: int) -> int:
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"record {index} of a batch of {n}")
        return self._start + index

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> RecordBatch: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                raise ValueError("a RecordBatch slices with step 1 only")
            return RecordBatch(
                self._memory, self._start + start, self._start + max(start, stop), self._types
            )
        m, j = self._memory, self._index(index)
        assert m is not None
        view = m.view[m.offsets[j] : m.offsets[j + 1]]
        if self._typed:
            rtype = self._types[m.rings[j]]
            if rtype is not None:
                return rtype.decode(view)
        return view

    def __iter__(self) -> Iterator[Any]:
        m = self._memory
        if m is None:
            return
        view, offsets, rings, types = m.view, m.offsets, m.rings, self._types
        for j in range(self._start, self._stop):
            record = view[offsets[j] : offsets[j + 1]]
            rtype = types[rings[j]] if self._typed else None
            yield rtype.decode(record) if rtype is not None else record

    def sizes(self, *, ring: int | None = None) -> list[int]:
        """The size of every record, in bytes (with ``ring``: of that ring's records only,
        in the order of ``to_numpy(ring=ring)``'s rows)."""
        m = self._memory
        if m is None:
            return []
        offs, rings = m.offsets, m.rings
        return [
            offs[j + 1] - offs[j]
            for j in range(self._start, self._stop)
            if ring is None or rings[j] == ring
        ]

    def to_numpy(self, dtype: Any = None, *, ring: int | None = None) -> numpy.ndarray[Any, Any]:
        """The records as a numpy array of ``dtype`` (by default the BTF record type's).

        Every record must be ``dtype.itemsize`` bytes, except that with the BTF record
        type a record cut inside its struct's trailing array (as tools send them) is
        padded with zeros to a full row; :meth:`sizes` keeps every record's length. With
        ``ring`` only the records of that ring are taken (copied); otherwise the array
        views the batch's buffer (copied too when a record was padded).
        """
        import numpy as np

        rtype: RecordType | None = None
        if dtype is None:
            if ring is None:
                # Only the rings that contributed records to this batch need a type.
                m = self._memory
                present = (
                    set()
                    if m is None or not len(self)
                    else {
                        int(r)
                        for r in set(
                            np.frombuffer(m.rings, dtype=np.uint32)[self._start : self._stop]
                        )
                    }
                )
                wanted = {self._types[r] for r in present} or set(self._types[:1])
            else:
                wanted = set(self._types[ring : ring + 1])
            if len(wanted) != 1 or None in wanted:
                raise LayoutError(
                    "these records have no single BTF record type: give "
                    "to_numpy a dtype (or add the ring with record_type=...)"
                )
            rtype = next(iter(wanted))
            assert rtype is not None
            dt = rtype.dtype()
        else:
            dt = np.dtype(dtype)
        m = self._memory
        if m is None or not len(self):
            return np.empty(0, dtype=dt)
        offsets = np.frombuffer(m.offsets, dtype=np.uint64)[self._start : self._stop + 1]
        starts = offsets[:-1]
        sizes = np.diff(offsets)
        if ring is not None:
            chosen = np.frombuffer(m.rings, dtype=np.uint32)[self._start : self._stop] == ring
            starts, sizes = starts[chosen], sizes[chosen]
        data = np.frombuffer(m.view, dtype=np.uint8)
        if len(sizes) and (sizes != dt.itemsize).any():
            odd = sorted({int(s) for s in sizes if s != dt.itemsize})
            if rtype is None or odd[-1] > dt.itemsize:
                raise LayoutError(
                    f"records of {odd[:5]} bytes do not fit a dtype of "
                    f"{dt.itemsize} bytes; every record must be that size"
                )
            for size in odd:
                rtype.trailing_size(size)  # raises for a record cut before the trailing array
            return _padded(data, starts, sizes, dt)
        if ring is None:
            return data[int(offsets[0]) : int(offsets[-1])].view(dt)
        picks = starts.astype(np.intp)[:, None] + np.arange(dt.itemsize, dtype=np.intp)
        return np.ascontiguousarray(data[picks]).view(dt).reshape(-1)


def _padded(
    data: numpy.ndarray[Any, Any],
    starts: numpy.ndarray[Any, Any],
    sizes: numpy.ndarray[Any, Any],
    dt: numpy.dtype[Any],
) -> numpy.ndarray[Any, Any]:
    """Records of any size up to ``dt.itemsize`` copied into zeroed rows of ``dt``: byte
    ``k`` of record ``i`` goes to byte ``k`` of row ``i``, all in one numpy copy."""
    import numpy as np

    lengths = sizes.astype(np.intp)
    out = np.zeros(len(lengths) * dt.itemsize, dtype=np.uint8)
    total = int(lengths.sum())
    if total:
        k = np.arange(total, dtype=np.intp) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        rows = np.arange(len(lengths), dtype=np.intp) * dt.itemsize
        out[np.repeat(rows, lengths) + k] = data[np.repeat(starts.astype(np.intp), lengths) + k]
    return out.view(dt)


class BorrowedBatch(_ringcore.Batch):  # type: ignore[misc]
    """Records borrowed from the rings by :meth:`RingBuffer.borrow`: no copy is made.

    ``batch[i]`` is record ``i`` as a read-only buffer in the ring's own pages: pass it to
    ``bytes()``, ``memoryview()``, ``struct.unpack_from`` or a record type's ``decode``;
    ``len(batch)`` and iteration work as for a sequence. :attr:`sizes`, :attr:`offsets`
    and :attr:`rings` say where each record is; :meth:`numpy` views fixed-size records of
    one ring as a numpy array with strides, without copying.

    The producers cannot reuse the records' space until the batch is released: by
    :meth:`release`, by leaving its ``with`` block, or by the RingBuffer's next
    ``borrow()``, ``drain()``, ``consume()``, ``poll()`` or iteration, which release it
    first. After that every access — an index, iteration, :meth:`numpy`, a record kept
    from it — raises :class:`~libbpf_py.errors.PhaseError`, never reads memory the
    producers reuse. A memoryview or numpy array made from it holds its memory, so while
    one is alive release refuses with ``PhaseError`` and moves nothing: drop such views
    (or copy what you keep) before releasing.
    """

    # Set by RingBuffer.borrow right after the C side made the instance.
    __slots__ = ("_types",)
    _types: tuple[RecordType | None, ...]

    def __enter__(self) -> BorrowedBatch:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.release()
            return
        with suppress(PhaseError):  # the error in flight matters more; the ring retries
            self.release()

    def __repr__(self) -> str:
        if self.released:
            return "<BorrowedBatch released>"
        return f"<BorrowedBatch {len(self)} records from {self.ring_count} ring(s)>"

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]

    def _array(self, which: int, code: Literal["I", "Q"]) -> memoryview:
        view: memoryview = memoryview(self.arrays()[which]).cast(code)
        return view

    @property
    def sizes(self) -> memoryview:
        """Every record's size in bytes, a ``memoryview`` of ``uint32`` (a copy)."""
        return self._array(1, "I")

    @property
    def offsets(self) -> memoryview:
        """Where every record starts in its ring's :meth:`span`, a ``memoryview`` of
        ``uint64`` (a copy)."""
        return self._array(0, "Q")

    @property
    def rings(self) -> memoryview:
        """Which ring of the poller (the order of ``add``) each record came from, a
        ``memoryview`` of ``uint32`` (a copy)."""
        return self._array(2, "I")

    def numpy(self, dtype: Any = None, *, ring: int = 0) -> numpy.ndarray[Any, Any]:
        """Ring ``ring``'s records as a numpy array viewing the ring's pages (no copy).

        ``dtype`` defaults to the ring's BTF record type. Records must all be
        ``dtype.itemsize`` bytes and evenly spaced (no discarded record between them);
        otherwise :class:`~libbpf_py.errors.LayoutError` says to use ``drain()``. The
        array holds the batch: delete it before the batch is released.
        """
        import numpy as np

        if dtype is None:
            types = self._types
            rtype = types[ring] if 0 <= ring < len(types) else None
            if rtype is None:
                raise LayoutError(
                    f"ring {ring} has no BTF record type: give numpy() a dtype "
                    "(or add the ring with record_type=...)"
                )
            dt = rtype.dtype()
        else:
            dt = np.dtype(dtype)
        span = self.span(ring)
        offsets = np.frombuffer(self.arrays()[0], dtype=np.uint64)
        sizes = np.frombuffer(self.arrays()[1], dtype=np.uint32)
        chosen = np.frombuffer(self.arrays()[2], dtype=np.uint32) == ring
        offsets, sizes = offsets[chosen], sizes[chosen]
        if not len(offsets):
            return np.empty(0, dtype=dt)
        if (sizes != dt.itemsize).any():
            odd = sorted({int(x) for x in sizes if x != dt.itemsize})
            raise LayoutError(
                f"records of {odd[:5]} bytes do not fit a dtype of {dt.itemsize} bytes; "
                "a borrowed view needs every record that size (drain().to_numpy() pads "
                "records cut in a trailing array)"
            )
        stride = (dt.itemsize + 8 + 7) & ~7  # the ring's 8-byte header, 8-byte aligned
        if len(offsets) > 1 and (np.diff(offsets) != stride).any():
            raise LayoutError(
                "these records are not evenly spaced in the ring (a discarded record "
                "lies between them): use drain().to_numpy(), which copies"
            )
        return np.ndarray(
            shape=(len(offsets),),
            dtype=dt,
            # An array as the buffer, not a memoryview: numpy keeps it as the base, and
            # it holds the export that keeps release() from freeing these pages.
            buffer=np.frombuffer(span, dtype=np.uint8),
            offset=int(offsets[0]),
            strides=(stride,),
        )


_ringcore.bind(BorrowedBatch, PhaseError)


class _Ring:
    """One ring-buffer map of a poller."""

    def __init__(
        self,
        poller: RingBuffer,
        index: int,
        ring_map: Map,
        callback: Callable[[Any], object] | None,
        rtype: RecordType | None,
        batch: int | None = None,
    ) -> None:
        self.poller = poller
        self.index = index
        self.map = ring_map
        self.callback = callback
        self.record_type = rtype
        self.batch = batch
        # Records of a batched ring that libbpf's reader met (during poll's wait), each
        # decoded, waiting to go to the callback in lists (flush).
        self.waiting: list[Any] = []
        self.core_map: Any = None
        self.handle = ffi.new_handle(self)
        self.ctx = ffi.new("struct lpy_ring_ctx *")
        self.ctx.batch = poller._current
        self.ctx.handle = self.handle
        self.ctx.index = index
        self.ctx.mode = _MODE_CALLBACK if callback is not None else _MODE_BATCH
        self.deliver = (
            self._make_deliver(callback, rtype)
            if batch is None
            else self._make_deliver(self.waiting.append, rtype)
        )
        self.rmap: Any = None

    def core(self) -> Any:
        """The ring mapped for borrow() and batched callbacks, mapped on first use."""
        if self.core_map is None:
            try:
                self.core_map = _ringcore.RingMapping(self.map.fd, self.map.max_entries)
            except OSError as exc:
                raise libbpf_error(
                    exc.errno or 0, f"mapping ring buffer {self.map.name!r}"
                ) from None
        return self.core_map

    def consume_in_c(self, max_records: int) -> int:
        """Records of a callback ring, decoded in place by the C loop, to the callback
        (in lists with ``batch``, else one a call)."""
        assert self.callback is not None
        self.flush()
        rtype = self.record_type
        if rtype is None:
            decode = short = None
            size = 0
        else:
            decode, short, size = rtype.decode_in_place, rtype.decode, rtype.size
        return int(
            _ringcore.consume_batches(
                self.core(), decode, short, size, self.callback, self.batch or 0, max_records
            )
        )

    def flush(self) -> None:
        """Hand the records libbpf's reader collected to the callback, in lists."""
        waiting, step = self.waiting, self.batch or 1
        if not waiting:
            return
        assert self.callback is not None
        while waiting:
            chunk = waiting[:step]
            del waiting[:step]
            self.callback(chunk)

    @staticmethod
    def _make_deliver(
        callback: Callable[[Any], object] | None, rtype: RecordType | None
    ) -> Callable[[Any, int], None]:
        if callback is None:
            return lambda data, size: None
        buffer = ffi.buffer
        if rtype is None:

            def deliver(data: Any, size: int) -> None:
                callback(buffer(data, size)[:])
        else:
            decode = rtype.decode

            # Decoded values hold copies only, never views: the ring's memory can be
            # read in place, without copying the record to bytes first.
            def deliver(data: Any, size: int) -> None:
                callback(decode(buffer(data, size)))

        return deliver

    def fail(self, exc: BaseException) -> None:
        self.poller._error = exc

    def mapped(self) -> Any:
        """The ring mapped for drain(), mapped on first use."""
        if self.rmap is None:
            rmap = ffi.new("struct lpy_ring_map *")
            ret = lib.lpy_ring_map_open(self.map.fd, self.map.max_entries, rmap)
            if ret < 0:
                raise libbpf_error(-ret, f"mapping ring buffer {self.map.name!r}")
            self.rmap = rmap
        return self.rmap

    def unmap(self) -> None:
        if self.rmap is not None:
            lib.lpy_ring_map_close(self.rmap)
            self.rmap = None
        self.core_map = None  # unmapped once no borrowed batch views it


class RingBuffer(Owner):
    """A poller of one or more ring-buffer maps.

    ``RingBuffer(map, callback=None, record_type=None, batch=None)`` starts with one ring;
    :meth:`add` adds more. Records of a ring with a callback go to the callback during
    :meth:`poll` and :meth:`consume` (with ``batch=n``, as lists of up to ``n``); the others
    are kept for :meth:`drain`, :meth:`borrow`, iteration and ``async for``. A callback
    that raises stops the poll, and the exception comes out of the call that polled, with
    its traceback (the records it got are consumed).

    While a :meth:`borrow` batch is out, the next ``borrow()``, ``drain()``,
    ``consume()``, ``poll()``, iteration or ``close()`` releases it first: each of them
    moves consumer positions, which would otherwise hand the same records out twice or
    the batch's memory to the producers. While views of the batch are alive that release
    is refused, and the call raises :class:`~libbpf_py.errors.PhaseError` having done
    nothing (``close()`` then leaves those records in the ring and keeps the memory
    mapped until the views are gone).
    """

    _phase_name = "open"

    def __init__(
        self,
        ring_map: Map | None = None,
        callback: Callable[[Any], object] | None = None,
        *,
        record_type: str | None = None,
        batch: int | None = None,
    ) -> None:
        self._rb: Any = None
        self._borrowed: BorrowedBatch | None = None
        self._inside = InsideC()
        self._rings: list[_Ring] = []
        self._current = ffi.new("struct lpy_batch *[1]")
        kept = lib.lpy_batch_new()
        if kept == ffi.NULL:
            raise MemoryError("allocating a ring buffer batch")
        self._current[0] = kept
        self._pending: deque[tuple[_Memory, int, int]] = deque()
        self._pool = _Pool()
        self._error: BaseException | None = None
        self._closed = False
        if ring_map is not None:
            try:
                self.add(ring_map, callback, record_type=record_type, batch=batch)
            except BaseException:
                self.close()
                raise

    def __repr__(self) -> str:
        names = ", ".join(r.map.name for r in self._rings)
        return f"<RingBuffer [{names}]{' closed' if self._closed else ''}>"

    @property
    def rings(self) -> tuple[Map, ...]:
        """The maps polled, in the order they were added (a record's ``ring`` index)."""
        return tuple(r.map for r in self._rings)

    def add(
        self,
        ring_map: Map,
        callback: Callable[[Any], object] | None = None,
        *,
        record_type: str | None = None,
        batch: int | None = None,
    ) -> int:
        """Poll ``ring_map`` too; returns its ring index.

        With ``callback``, each record is passed to it as ``bytes`` (or, with
        ``record_type="struct event"``, decoded from the map's BTF). With ``batch=n`` as
        well, the callback gets lists of up to ``n`` such values instead, one call per
        list: records are decoded in C straight from the ring's pages, which saves most
        of the per-record cost of a Python call (typed records reach several million a
        second). A record is consumed once its list is made.
        """
        self._require_open("RingBuffer.add()")
        fd = ring_map.fd  # raises PhaseError for a closed map
        if ring_map.type != MapType.RINGBUF:
            raise LayoutError(
                f"map {ring_map.name!r} is a {ring_map.type.label} map; a "
                "RingBuffer reads ringbuf maps (a perf_event_array map "
                "needs PerfBuffer, a user_ringbuf map UserRingBuffer)"
            )
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, not {type(callback).__name__}")
        if batch is not None:
            if callback is None:
                raise ValueError(
                    "batch= sets how many records a callback gets at once: give a callback"
                )
            if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
                raise ValueError(f"batch must be an int of 1 or more, not {batch!r}")
        rtype = record_type_of(ring_map, record_type) if record_type is not None else None
        ring = _Ring(self, len(self._rings), ring_map, callback, rtype, batch)
        if self._rb is None:
            ptr = lib.lpy_ring_buffer_new(fd, ring.ctx)
            err = errno_of(ptr)
            if err:
                raise libbpf_error(err, f"creating a ring buffer reader of map {ring_map.name!r}")
            self._rb = ptr
        else:
            ret = lib.lpy_ring_buffer_add(self._rb, fd, ring.ctx)
            if ret < 0:
                raise libbpf_error(-ret, f"adding map {ring_map.name!r} to a ring buffer reader")
        self._rings.append(ring)
        narrate(f"ring_buffer__add({ring_map.name!r})", f"ring {ring.index}", phase="execute")
        return ring.index

    def _ready(self, what: str) -> Any:
        self._require_open(what)
        if self._rb is None:
            raise LayoutError(f"{what}: this RingBuffer has no ring yet; add() a ringbuf map")
        for ring in self._rings:
            ring.map.fd  # noqa: B018 - raises PhaseError once the map's object is closed
        return self._rb

    def fileno(self) -> int:
        """The epoll fd that becomes readable when any ring has data."""
        return int(lib.ring_buffer__epoll_fd(self._ready("RingBuffer.fileno()")))

    def _finish(self, ret: int, action: str) -> int:
        error, self._error = self._error, None
        if error is not None:
            raise error
        if ret == _callbacks.STOP and self._current[0].failed:
            raise MemoryError(f"{action}: out of memory while copying records")
        if ret < 0:
            raise libbpf_error(-ret, action)
        return ret

    def poll(self, timeout: float | None = None) -> int:
        """Wait up to ``timeout`` seconds (None: forever) for records, then consume them.

        Returns how many records were consumed. Ctrl-C (any Python signal handler that
        raises) interrupts the wait.
        """
        self._inside.enter(self, "RingBuffer.poll()")
        try:
            rb = self._ready("RingBuffer.poll()")
            self._give_back("RingBuffer.poll()")
            done = self._consume_batched(_SIZE_MAX)
            if done:
                # Records were there: consume the other rings too, without waiting.
                ret = int(lib.ring_buffer__consume(rb))
                return done + self._finish(ret, "polling a ring buffer")
            ret = poll_in_slices(
                self,
                lambda ms: int(lib.ring_buffer__poll(rb, ms)),
                timeout,
                lambda: self._error is not None,
                "RingBuffer.poll()",
            )
            return self._finish(ret, "polling a ring buffer")
        finally:
            self._flush_batched()
            self._inside.leave()

    def consume(self, max_records: int | None = None) -> int:
        """Consume what is there now, without waiting; returns how many records."""
        if max_records is not None and max_records < 0:
            raise ValueError("max_records must be 0 or more")
        self._inside.enter(self, "RingBuffer.consume()")
        try:
            rb = self._ready("RingBuffer.consume()")
            self._give_back("RingBuffer.consume()")
            done = self._consume_batched(_SIZE_MAX if max_records is None else max_records)
            if max_records is None:
                ret = lib.ring_buffer__consume(rb)
            elif max_records - done > 0:
                ret = lib.ring_buffer__consume_n(rb, max_records - done)
            else:
                ret = 0
        finally:
            self._flush_batched()
            self._inside.leave()
        return done + self._finish(ret, "consuming a ring buffer")

    def _consume_batched(self, max_records: int) -> int:
        """The C loop over the rings with callbacks, ahead of libbpf's reader: it calls
        Python from C directly, without CFFI's callback trampoline and libbpf's loop."""
        done = 0
        for ring in self._rings:
            if ring.callback is not None and max_records - done > 0:
                done += ring.consume_in_c(max_records - done)
        return done

    def _flush_batched(self) -> None:
        if self._error is not None:
            return  # a callback raised: the exception comes out first
        for ring in self._rings:
            if ring.waiting:
                ring.flush()

    def _give_back(self, what: str) -> None:
        """Release the borrowed batch, if one is out (PhaseError while views live)."""
        batch = self._borrowed
        if batch is not None:
            try:
                batch.release()
            except PhaseError as exc:
                raise PhaseError(f"{what}: {exc}", phase="execute", needed="execute") from None
            self._borrowed = None

    def borrow(self, max_records: int | None = None) -> BorrowedBatch:
        """The records the rings hold now (up to ``max_records``), viewed in place.

        Nothing is copied and no consumer position moves until the batch is released
        (see :class:`BorrowedBatch`): ``with ring.borrow() as batch: ...``. Records of
        every ring are taken, in the order of the rings, each ring's in its order; rings
        with a callback are included. Records that ``consume()`` or ``poll()`` already
        took out of the rings for :meth:`drain` come first: a borrow raises
        :class:`~libbpf_py.errors.PhaseError` while such records wait.
        """
        if max_records is not None and max_records < 0:
            raise ValueError("max_records must be 0 or more")
        self._inside.enter(self, "RingBuffer.borrow()")
        try:
            self._ready("RingBuffer.borrow()")
            self._give_back("RingBuffer.borrow()")
            if self._pending or self._current[0].count:
                raise PhaseError(
                    "RingBuffer.borrow(): records consumed earlier wait for drain() or "
                    "iteration; take them first, so that records come in order",
                    phase="execute",
                    needed="execute",
                )
            rings = tuple(ring.core() for ring in self._rings)
            batch: BorrowedBatch = _ringcore.borrow(
                rings, _SIZE_MAX if max_records is None else max_records
            )
            batch._types = tuple(self._types())
            self._borrowed = batch
            return batch
        finally:
            self._inside.leave()

    def _seal(self) -> None:
        """Move the records kept in C so far to the Python-side queue."""
        current = self._current[0]
        if current.count:
            taken = ffi.new("struct lpy_batch *")
            lib.lpy_batch_take(current, taken)
            self._pending.append((_Memory(taken, self._pool), 0, int(taken.count)))

    def _types(self) -> list[RecordType | None]:
        return [r.record_type for r in self._rings]

    def drain(self, max_records: int | None = None) -> RecordBatch:
        """Consume up to ``max_records`` records (None: all there are now) into one batch.

        Every ring's records are taken, also those of rings with a callback; the batch
        says which ring each came from. The records are copied in C straight from the
        ring's pages, without a call per record.
        """
        if max_records is not None and max_records < 0:
            raise ValueError("max_records must be 0 or more")
        self._inside.enter(self, "RingBuffer.drain()")
        try:
            self._ready("RingBuffer.drain()")
            if self._borrowed is not None:
                self._give_back("RingBuffer.drain()")
            return self._drain(max_records)
        finally:
            self._inside.leave()

    def _drain(self, max_records: int | None) -> RecordBatch:
        if not self._pending:
            current = self._current[0]
            left = _SIZE_MAX if max_records is None else max_records - int(current.count)
            if left > 0:
                self._pool.refill(current)
                for ring in self._rings:
                    got = lib.lpy_ring_drain(ring.mapped(), ring.index, current, left)
                    if got < 0:
                        raise MemoryError("allocating memory for drained records")
                    left -= got
                    if left <= 0:
                        break
            self._seal()
        if not self._pending:
            return RecordBatch(None, 0, 0, self._types())
        memory, start, stop = self._pending[0]
        take = stop - start if max_records is None else min(max_records, stop - start)
        if start + take == stop:
            self._pending.popleft()
        else:
            self._pending[0] = (memory, start + take, stop)
        return RecordBatch(memory, start, start + take, self._types())

    def _next_kept(self) -> tuple[bool, Any]:
        if self._borrowed is not None:
            self._give_back("iterating a RingBuffer")
        if not self._pending:
            self._seal()
        if not self._pending:
            return False, None
        memory, start, stop = self._pending[0]
        if start + 1 == stop:
            self._pending.popleft()
        else:
            self._pending[0] = (memory, start + 1, stop)
        record = bytes(memory.view[memory.offsets[start] : memory.offsets[start + 1]])
        rtype = self._rings[memory.rings[start]].record_type
        return True, rtype.decode(record) if rtype is not None else record

    def __iter__(self) -> Iterator[Any]:
        """Records of callback-less rings as they come (``bytes`` or typed), forever."""
        while True:
            found, record = self._next_kept()
            if found:
                yield record
                continue
            self.poll(None)

    def __aiter__(self) -> AsyncIterator[Any]:
        """``async for record in ring``: woken by the epoll fd on the running loop."""
        return self._records_async()

    async def _records_async(self) -> AsyncIterator[Any]:
        while True:
            found, record = self._next_kept()
            if found:
                yield record
                continue
            if self.consume() == 0:
                await self.wait_readable()

    async def wait_readable(self, timeout: float | None = None) -> bool:
        """Wait on the running asyncio loop until a ring has data; False on timeout."""
        return await wait_fd_readable(self.fileno(), timeout)

    async def poll_async(self, timeout: float | None = None) -> int:
        """:meth:`poll` for asyncio: await data without blocking the loop, then consume."""
        done = self.consume()
        if done or not await self.wait_readable(timeout):
            return done
        return self.consume()

    def state(self, index: int = 0) -> RingState:
        """Positions and fill of ring ``index`` (libbpf's ``ring__*`` functions)."""
        rb = self._ready("RingBuffer.state()")
        if not 0 <= index < len(self._rings):
            raise IndexError(f"ring {index} of {len(self._rings)}")
        ring = lib.ring_buffer__ring(rb, index)
        return RingState(
            size=int(lib.ring__size(ring)),
            producer_pos=int(lib.ring__producer_pos(ring)),
            consumer_pos=int(lib.ring__consumer_pos(ring)),
            available=int(lib.ring__avail_data_size(ring)),
        )

    def _release(self) -> None:
        self._inside.release(self._free)

    def _free(self) -> None:
        batch, self._borrowed = self._borrowed, None
        if batch is not None:
            with suppress(PhaseError):  # views alive: records stay in the ring, mapped
                batch.release()
        rb, self._rb = self._rb, None
        if rb is not None:
            lib.ring_buffer__free(rb)
            narrate("ring_buffer__free()", "rings unmapped, epoll fd closed", phase="tear down")
        current, self._current[0] = self._current[0], ffi.NULL
        if current != ffi.NULL:
            lib.lpy_batch_free(current)
        self._pool.close()
        for ring in self._rings:
            ring.handle = None
            ring.unmap()
        self._pending.clear()


async def wait_fd_readable(fd: int, timeout: float | None) -> bool:
    """Wait until ``fd`` is readable on the running loop; the reader is removed after."""
    import asyncio  # only the async API needs it: importing it costs ~10 ms

    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        if timeout is None:
            await ready
            return True
        try:
            await asyncio.wait_for(ready, timeout)
        except TimeoutError:
            return False
        return True
    finally:
        loop.remove_reader(fd)


def record_type_of(m: Map, name: str) -> RecordType:
    """The BTF type ``name`` of the object ``m`` belongs to."""
    if not isinstance(name, str):
        raise TypeError(
            f"record_type is a C type name such as 'struct event', not {type(name).__name__}"
        )
    return record_type(types_of_map(m), name)
