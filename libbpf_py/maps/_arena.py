"""The memory of an arena map (``BPF_MAP_TYPE_ARENA``) as this process sees it.

An arena is a sparse region shared by BPF programs and user space: its pages exist only
once a program allocates them (``bpf_arena_alloc_pages``) or user space faults them in.
Touching a page that holds no memory through the mapping itself would kill the process
with SIGSEGV when the arena was made with ``BPF_F_SEGV_ON_FAULT`` (or when the kernel
cannot allocate the page), so :class:`Arena` never dereferences the mapping: it reads
and writes through ``/proc/self/mem``, where the same fault is an ``EIO`` that becomes
:class:`~libbpf_py.errors.ArenaPageError` naming the offset. An arena without
``BPF_F_SEGV_ON_FAULT`` gives a fresh zeroed page on first touch, as the kernel does
for any access from user space.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable
from typing import Any

from libbpf_py._lowlevel import lib
from libbpf_py.errors import ArenaPageError, LayoutError, PhaseError
from libbpf_py.types.typed import TypeCodecs, simple_type

__all__ = ["Arena"]

# Whether a fault from user space allocates a page (the default) or is SIGSEGV.
_SEGV_ON_FAULT = int(lib.BPF_F_SEGV_ON_FAULT)
_SIMPLE_WIDTH = {f"{s}{bits}": bits // 8 for s in "us" for bits in (8, 16, 32, 64)}


class Arena:
    """The user-space mapping of an arena map: ``m.arena``.

    Offsets count bytes from the arena's first page. :attr:`address` is where that page
    sits in this process, which is also the value of every ``__arena`` pointer a
    program stores (:meth:`offset_of` turns such a pointer into an offset).
    ``arena[off:off + n]`` reads bytes, ``arena[off:off + n] = data`` writes them;
    :meth:`read_value` and :meth:`write_value` go through the object's BTF types.
    Reading or writing a page that holds no memory raises
    :class:`~libbpf_py.errors.ArenaPageError`; an offset outside the arena raises
    :class:`~libbpf_py.errors.LayoutError`.
    """

    def __init__(
        self,
        name: str,
        address: int,
        size: int,
        flags: int,
        types: TypeCodecs | None,
        closed: Callable[[str], PhaseError],
    ) -> None:
        self.name = name
        self.address = address
        self.size = size
        self.page_size = os.sysconf("SC_PAGE_SIZE")
        self.flags = flags
        self._types = types
        self._closed = closed
        self._dead = False
        self._mem = -1
        self._pid = 0
        self._opening = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"<Arena of map {self.name!r} at {self.address:#x}, {self.size // self.page_size} "
            f"pages{' closed' if self._dead else ''}>"
        )

    def __len__(self) -> int:
        return self.size

    # -- bytes -------------------------------------------------------------------------

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes from ``offset``."""
        self._check(offset, size, "reading")
        out = bytearray()
        fd = self._fd()
        while len(out) < size:
            at = offset + len(out)
            try:
                chunk = os.pread(fd, size - len(out), self.address + at)
            except OSError as exc:
                raise self._page_error(at, "read", exc.errno) from None
            if not chunk:
                raise self._page_error(at, "read", errno.EIO)
            out += chunk
        return bytes(out)

    def write(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` at ``offset``; the programs see it at once."""
        raw = bytes(data)
        self._check(offset, len(raw), "writing")
        fd = self._fd()
        done = 0
        while done < len(raw):
            try:
                n = os.pwrite(fd, raw[done:], self.address + offset + done)
            except OSError as exc:
                raise self._page_error(offset + done, "written", exc.errno) from None
            if n <= 0:
                raise self._page_error(offset + done, "written", errno.EIO)
            done += n

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            start, stop = self._span(index)
            return self.read(start, stop - start)
        offset = self._index(index)
        return self.read(offset, 1)[0]

    def __setitem__(self, index: int | slice, value: Any) -> None:
        if isinstance(index, slice):
            start, stop = self._span(index)
            raw = bytes(value)
            if len(raw) != stop - start:
                raise LayoutError(
                    f"arena {self.name!r}: {len(raw)} bytes given for a slice of {stop - start}"
                )
            self.write(start, raw)
            return
        self.write(self._index(index), bytes([value]))

    # -- typed values ------------------------------------------------------------------

    def read_value(self, offset: int, type: Any) -> Any:
        """The value of ``type`` at ``offset``, decoded by the object's BTF engine.

        ``type`` is a type name of the object's BTF (``"struct point"``, ``"__u64"``),
        ``"u8"``...``"s64"``, or a codec such as a map's ``value_type``.
        """
        codec = self._codec(type, offset)
        return codec.decode(self.read(offset, codec.size))

    def write_value(self, offset: int, type: Any, value: Any) -> None:
        """Encode ``value`` as ``type`` (as for :meth:`read_value`) and write it at ``offset``."""
        codec = self._codec(type, offset)
        self.write(offset, codec.encode(value))

    # -- pointers ----------------------------------------------------------------------

    def offset_of(self, pointer: int) -> int:
        """The offset of what an ``__arena`` pointer of a program points at.

        Programs store arena pointers as this process's addresses; the kernel keeps only
        their low 32 bits, and so does this (a pointer whose upper half was cut off
        works too).
        """
        offset = (pointer - self.address) & 0xFFFFFFFF
        if offset >= self.size:
            raise LayoutError(
                f"pointer {pointer:#x} is outside arena {self.name!r} "
                f"({self.address:#x}, {self.size} bytes)"
            )
        return offset

    def pointer(self, offset: int) -> int:
        """The ``__arena`` pointer a program uses for ``offset`` (this process's address)."""
        self._check(offset, 0, "pointing into")
        return self.address + offset

    # -- life --------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether the map (and so this view) is closed."""
        return self._dead

    def _invalidate(self) -> None:
        self._dead = True
        if self._mem >= 0:
            os.close(self._mem)
            self._mem = -1

    # -- internals ---------------------------------------------------------------------

    def _fd(self) -> int:
        # /proc/self/mem names the memory of the process that opened it: a forked child
        # opens its own.
        pid = os.getpid()
        if self._mem < 0 or self._pid != pid:
            with self._opening:  # two threads' first reads open it once
                if self._mem < 0 or self._pid != pid:
                    if self._mem >= 0:
                        os.close(self._mem)  # the parent's, inherited by a fork
                    self._mem = os.open("/proc/self/mem", os.O_RDWR | os.O_CLOEXEC)
                    self._pid = pid
        return self._mem

    def _check(self, offset: int, size: int, what: str) -> None:
        if self._dead:
            raise self._closed(f"{what} arena {self.name!r}")
        if not isinstance(offset, int) or not isinstance(size, int):
            raise TypeError(f"arena {self.name!r}: offsets and sizes are ints")
        if offset < 0 or size < 0 or offset + size > self.size:
            raise LayoutError(
                f"{what} arena {self.name!r}: {size} bytes at offset {offset} do not fit "
                f"in its {self.size} bytes"
            )

    def _index(self, index: int) -> int:
        if not isinstance(index, int):
            raise TypeError(f"arena {self.name!r} is indexed by byte offsets, not {index!r}")
        return index + self.size if index < 0 else index

    def _span(self, index: slice) -> tuple[int, int]:
        start, stop, step = index.indices(self.size)
        if step != 1:
            raise ValueError(f"arena {self.name!r}: slices take no step")
        return start, max(start, stop)

    def _page_error(self, offset: int, verb: str, err: int | None) -> ArenaPageError:
        page = offset // self.page_size
        why = (
            "the arena was made with BPF_F_SEGV_ON_FAULT, so only pages a program allocated "
            "(bpf_arena_alloc_pages) exist"
            if self.flags & _SEGV_ON_FAULT
            else "the kernel would not give it a page (reserved, or out of memory)"
        )
        return ArenaPageError(
            f"arena {self.name!r}: offset {offset} (page {page}) cannot be {verb}: the page "
            f"holds no memory; {why}",
            offset=offset,
            errno=err,
        )

    def _codec(self, type: Any, offset: int) -> Any:
        what = f"the value at offset {offset} of arena {self.name!r}"
        if hasattr(type, "codec"):
            type = type.codec  # a TypeRef
        if hasattr(type, "decode") and hasattr(type, "size"):
            return type
        if not isinstance(type, str):
            raise TypeError(f"{what}: a type is a name or a codec, not {type!r}")
        if type in _SIMPLE_WIDTH or type == "bytes":
            if type == "bytes":
                raise ValueError(f"{what}: read bytes with read(offset, size)")
            return simple_type(type, _SIMPLE_WIDTH[type], what)
        if self._types is not None:
            # "struct point" is found by its bare name, then told from a var or a
            # function of the same name by its C name.
            for type_id in self._types.btf.ids_by_name(type.rpartition(" ")[2]):
                if self._types.type_name(type_id) == type:
                    return self._types.codec(type_id, what)
        raise LayoutError(f"{what}: no type {type!r} in the BTF of the map's object")
