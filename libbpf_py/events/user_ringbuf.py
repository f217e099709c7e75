"""Phase 6, execute: user ring buffers (``BPF_MAP_TYPE_USER_RINGBUF``), written from Python.

User space reserves a record, fills it, and submits it (or discards it); a BPF program
reads the submitted records with ``bpf_user_ringbuf_drain``.
"""

from __future__ import annotations

import errno
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from libbpf_py._lowlevel import errno_of, ffi, lib, libbpf_error
from libbpf_py._lowlevel.owner import Owner
from libbpf_py.enums import MapType
from libbpf_py.errors import LayoutError, MapFullError, PhaseError
from libbpf_py.events.ringbuf import record_type_of
from libbpf_py.explain import narrate
from libbpf_py.types._records import RecordType

if TYPE_CHECKING:
    from libbpf_py.maps._map import Map

__all__ = ["UserRecord", "UserRingBuffer"]

_INT_MAX = 2**31 - 1


class UserRecord:
    """A reserved record: write into :attr:`data`, then :meth:`submit` or :meth:`discard`.

    As a context manager it submits when the block ends and discards when it raises.
    """

    def __init__(self, ring: UserRingBuffer, ptr: Any, size: int) -> None:
        self._ring: UserRingBuffer | None = ring
        self._ptr = ptr
        self.size = size
        self.data = memoryview(ffi.buffer(ptr, size))

    def __repr__(self) -> str:
        state = "reserved" if self._ring is not None else "done"
        return f"<UserRecord {self.size} bytes {state}>"

    def write(self, value: Any, offset: int = 0) -> None:
        """Copy ``value`` (bytes, or a typed value when the ring has a record type) in."""
        ring = self._live("UserRecord.write()")
        raw = (
            ring.record_type.encode(value)
            if (
                ring.record_type is not None
                and not isinstance(value, bytes | bytearray | memoryview)
            )
            else bytes(value)
        )
        if offset < 0 or offset + len(raw) > self.size:
            raise LayoutError(
                f"{len(raw)} bytes at offset {offset} do not fit a record of {self.size} bytes"
            )
        self.data[offset : offset + len(raw)] = raw

    def _live(self, what: str) -> UserRingBuffer:
        if self._ring is None:
            raise PhaseError(
                f"{what}: this record was already submitted or discarded",
                phase="closed",
                needed="reserved",
            )
        return self._ring

    def submit(self) -> None:
        """Hand the record to the BPF side."""
        self._live("UserRecord.submit()")._finish(self, submit=True)

    def discard(self) -> None:
        """Give the space back unread."""
        self._live("UserRecord.discard()")._finish(self, submit=False)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._ring is None:
            return
        if exc_type is None:
            self.submit()
        else:
            self.discard()


class UserRingBuffer(Owner):
    """The user-space producer side of one ``user_ringbuf`` map."""

    def __init__(self, ring_map: Map, *, record_type: str | None = None) -> None:
        self._urb: Any = None
        self._closed = True
        fd = ring_map.fd
        if ring_map.type != MapType.USER_RINGBUF:
            raise LayoutError(
                f"map {ring_map.name!r} is a {ring_map.type.label} map; a "
                "UserRingBuffer writes user_ringbuf maps"
            )
        self.map = ring_map
        self.record_type: RecordType | None = (
            record_type_of(ring_map, record_type) if record_type is not None else None
        )
        self._outstanding: set[UserRecord] = set()
        ptr = lib.user_ring_buffer__new(fd, ffi.NULL)
        err = errno_of(ptr)
        if err:
            raise libbpf_error(err, f"opening user ring buffer {ring_map.name!r}")
        self._urb = ptr
        self._closed = False
        narrate(f"user_ring_buffer__new({ring_map.name!r})", "ring mapped", phase="execute")

    def __repr__(self) -> str:
        return f"<UserRingBuffer {self.map.name!r}{' closed' if self._closed else ''}>"

    def _ready(self, what: str) -> Any:
        self._require_open(what)
        self.map.fd  # noqa: B018 - raises PhaseError once the map's object is closed
        return self._urb

    def reserve(self, size: int | None = None, *, timeout: float | None = None) -> UserRecord:
        """Reserve a record of ``size`` bytes (default: the record type's size).

        Without ``timeout`` it does not wait: a full ring raises :class:`MapFullError`.
        With ``timeout`` (seconds) it waits that long for the BPF side to make room.
        """
        urb = self._ready("UserRingBuffer.reserve()")
        if size is None:
            if self.record_type is None:
                raise TypeError("reserve() needs a size (or a record_type on the ring)")
            size = self.record_type.size
        if not isinstance(size, int) or size <= 0 or size > self.map.max_entries:
            raise LayoutError(
                f"a record of user ring buffer {self.map.name!r} is 1 to "
                f"{self.map.max_entries} bytes, got {size!r}"
            )
        if timeout is None:
            ptr = lib.user_ring_buffer__reserve(urb, size)
        else:
            ms = max(0, min(_INT_MAX, int(timeout * 1000)))
            ptr = lib.user_ring_buffer__reserve_blocking(urb, size, ms)
        if ptr == ffi.NULL:
            err = ffi.errno
            if err == errno.ENOSPC or err == errno.ETIMEDOUT:
                waited = f" after waiting {timeout} s" if timeout is not None else ""
                raise MapFullError(
                    f"user ring buffer {self.map.name!r} has no room for "
                    f"{size} bytes{waited}: the BPF side has not drained it "
                    "(or pass timeout= to wait)",
                    errno=errno.ENOSPC,
                )
            if err == errno.E2BIG:
                raise LayoutError(
                    f"a record of {size} bytes does not fit user ring buffer "
                    f"{self.map.name!r} of {self.map.max_entries} bytes",
                    errno=err,
                )
            raise libbpf_error(
                err or errno.EINVAL, f"reserving {size} bytes in user ring buffer {self.map.name!r}"
            )
        record = UserRecord(self, ptr, size)
        self._outstanding.add(record)
        return record

    def _finish(self, record: UserRecord, *, submit: bool) -> None:
        self._require_open("submitting a user ring buffer record")
        record.data.release()
        record._ring = None
        self._outstanding.discard(record)
        if submit:
            lib.user_ring_buffer__submit(self._urb, record._ptr)
        else:
            lib.user_ring_buffer__discard(self._urb, record._ptr)

    def submit(self, record: UserRecord) -> None:
        """Hand ``record`` to the BPF side (same as ``record.submit()``)."""
        record.submit()

    def discard(self, record: UserRecord) -> None:
        """Give ``record``'s space back unread (same as ``record.discard()``)."""
        record.discard()

    def write(self, value: Any, *, timeout: float | None = None) -> None:
        """Reserve, fill and submit one record holding ``value`` (bytes or typed)."""
        raw = (
            self.record_type.encode(value)
            if (
                self.record_type is not None
                and not isinstance(value, bytes | bytearray | memoryview)
            )
            else bytes(value)
        )
        with self.reserve(len(raw), timeout=timeout) as record:
            record.data[:] = raw

    def _release(self) -> None:
        for record in list(self._outstanding):
            record.data.release()
            record._ring = None
            lib.user_ring_buffer__discard(self._urb, record._ptr)
        self._outstanding.clear()
        urb, self._urb = self._urb, None
        if urb is not None:
            lib.user_ring_buffer__free(urb)
