"""Ring buffer records read in place, and batched callbacks: C types from csrc/ringcore.c.

CFFI cannot hand Python objects to C, so the C side puts its types and functions into
this module when it is imported (``lpy_ringcore_install``), as csrc/fastcall.c does.

- ``RingMapping(fd, max_entries)`` maps one ring-buffer map for reading in place; it is
  unmapped when the last batch viewing it is gone.
- ``borrow(rings, max_records)`` returns the bound :class:`Batch` subclass holding the
  committed records of every ``RingMapping`` of the tuple ``rings``, without moving any
  consumer position. ``batch[i]`` is a ``Record``: a read-only buffer that exists while
  the batch is not released; ``batch.release()`` moves the positions, and raises
  ``PhaseError`` (moving nothing) while buffers of its records are still held.
- ``consume_batches(ring, decode, short_decode, size, callback, batch, max_records)``
  consumes one ring, decoding each record in place and calling ``callback`` with lists of
  up to ``batch`` values.
- ``bind(batch_class, PhaseError)`` names the subclass ``borrow`` makes and the error it
  raises, once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from libbpf_py._lowlevel.loader import lib

__all__ = ["Batch", "Record", "RingMapping", "bind", "borrow", "consume_batches"]

# Set by lpy_ringcore_install below; the annotations are for type checkers.
RingMapping: type[Any]
Record: type[Any]
Batch: type[Any]
borrow: Callable[[tuple[Any, ...], int], Any]
consume_batches: Callable[
    [
        Any,
        Callable[[Any], Any] | None,
        Callable[[Any], Any] | None,
        int,
        Callable[[list[Any]], object],
        int,
        int,
    ],
    int,
]
bind: Callable[[type[Any], type[BaseException]], None]

if lib.lpy_ringcore_install(__name__.encode()) != 0:  # pragma: no cover - out of memory
    raise ImportError("libbpf_py: installing the ring buffer C types failed")
